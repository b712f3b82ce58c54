package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NativeMemoryAdviceTest {
  /** What JavaCPP threw for {@code ./trainer --hidden 200000} with the launchers' limits (copied from a real run). */
  private static final String JAVACPP = "Cannot allocate new LongPointer(2): totalBytes = 256, physicalBytes = 1685M";

  @Test
  void javaCppsRefusalNamesTheOptionsThatSizeTheNetwork() {
    String direct = TrainerActor.nativeMemoryAdvice(new OutOfMemoryError(JAVACPP));
    assertTrue(direct.contains("does not fit ND4J's native memory limit") && direct.contains("--hidden")
        && direct.contains("SPLINEWATCH_OFF_HEAP"), direct);
    // ND4J wraps it: the cause is found
    assertEquals(direct, TrainerActor.nativeMemoryAdvice(new RuntimeException("op failed",
        new RuntimeException(new OutOfMemoryError(JAVACPP)))));
  }

  @Test
  void otherErrorsGetNoAdvice() {
    assertEquals("", TrainerActor.nativeMemoryAdvice(new OutOfMemoryError("Java heap space")));
    assertEquals("", TrainerActor.nativeMemoryAdvice(new IllegalStateException("Cannot allocate physicalBytes")));
    assertEquals("", TrainerActor.nativeMemoryAdvice(new RuntimeException((String) null)));
  }
}
