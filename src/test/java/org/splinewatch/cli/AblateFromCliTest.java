package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/** {@code --ablate-from} on the command line: without an ablation or below 0 it is a one-line error, exit code 2. */
class AblateFromCliTest {
  private static String run(int expected, String... args) {
    PrintStream err = System.err;
    PrintStream out = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buf, true);
    System.setErr(capture);
    System.setOut(capture);
    int code;
    try {
      code = Main.execute(args);
    } finally {
      System.setErr(err);
      System.setOut(out);
    }
    assertEquals(expected, code, buf.toString());
    return buf.toString();
  }

  @Test
  void anOnsetNeedsAnAblationAndAStepOfAtLeastZero() {
    String none = run(2, "train", "--method", "simclr", "--ablate-from", "600");
    assertTrue(none.contains("--ablate-from 600 needs an ablation option of simclr; expected one of"), none);
    String healthy = run(2, "train", "--method", "simsiam", "--ablate-from", "600");
    assertTrue(healthy.contains("needs an ablation option of simsiam"), healthy);
    String negative = run(2, "train", "--method", "vicreg", "--vicreg-std-coeff", "0", "--ablate-from", "-5");
    assertTrue(negative.contains("--ablate-from -5 is negative; expected a step >= 0"), negative);
  }
}
