package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackendTest {

  @Test
  void theTestClasspathTrainsOnTheCpuBackend() {
    Backend.Info info = Backend.start();
    assertEquals("CPU", info.backend());
    assertEquals("CPU", info.describe());
  }

  @Test
  void gpusTheShippedKernelsFitAreAccepted() {
    // SASS for sm_37..sm_86 runs on the same major version with an equal or higher minor
    for (int[] cc : new int[][] {{3, 7}, {7, 0}, {7, 5}, {8, 0}, {8, 6}, {8, 9}}) {
      assertDoesNotThrow(() -> Backend.checkCapability("gpu", cc[0], cc[1]));
    }
  }

  @Test
  void hopperAndOlderThanKeplerAreRefusedWithOneLine() {
    // seen on an H100 (9.0): a kernel built as SASS for sm_86 only fails with "no kernel image is available"
    String hopper = assertThrows(IllegalStateException.class,
        () -> Backend.checkCapability("NVIDIA H100 80GB HBM3", 9, 0)).getMessage();
    assertTrue(hopper.startsWith("GPU NVIDIA H100 80GB HBM3 has compute capability 9.0,"), hopper);
    assertTrue(hopper.contains("Hopper"), hopper);
    assertFalse(hopper.contains("\n"), hopper);
    assertTrue(assertThrows(IllegalStateException.class, () -> Backend.checkCapability("old", 3, 5))
        .getMessage().contains("capability 3.5"));
    assertTrue(assertThrows(IllegalStateException.class, () -> Backend.checkCapability("new", 10, 0))
        .getMessage().contains("capability 10.0"));
  }

  @Test
  void aBackendThatCannotLoadIsOneLineNamingTheMissingLibrary() {
    // the shape ND4J gives for a cuda build without libcuda.so.1: the link error wrapped under "no backend"
    Throwable thrown = new ExceptionInInitializerError(new RuntimeException("wrapped",
        new RuntimeException("Please ensure that you have an nd4j backend on your classpath.\nSee the docs",
            new UnsatisfiedLinkError("libjnicudart.so: libcuda.so.1: cannot open shared object file"))));
    String cuda = Backend.failure(thrown, "", true);
    assertTrue(cuda.startsWith("the ND4J backend could not start (UnsatisfiedLinkError: libjnicudart.so:"
        + " libcuda.so.1: cannot open shared object file); the cuda build"), cuda);
    assertTrue(cuda.contains("CUDA 11.6"), cuda);
    assertFalse(cuda.contains("\n"), cuda);
    String cpu = Backend.failure(new ExceptionInInitializerError(new RuntimeException("no backend\nmore")), "",
        false);
    assertEquals("the ND4J backend could not start (RuntimeException: no backend); " + Backend.CPU_NEEDS, cpu);
  }

  @Test
  void aLinkErrorNd4jOnlyPrintedIsNamedInsteadOfItsNoBackendException() {
    // what ND4J does in fact (seen with the cuda build on a machine without a driver): it prints the link error's
    // stack trace and throws an exception chain that only says no backend is on the classpath
    String printed = "java.lang.UnsatisfiedLinkError: /cache/libjnicudart.so: libcuda.so.1: cannot open shared"
        + " object file: No such file or directory\n\tat java.base/jdk.internal.loader.NativeLibraries.load(Native"
        + " Method)\n";
    Throwable thrown = new ExceptionInInitializerError(new RuntimeException(
        new IllegalStateException("Please ensure that you have an nd4j backend on your classpath.")));
    assertEquals("the ND4J backend could not start (UnsatisfiedLinkError: /cache/libjnicudart.so: libcuda.so.1:"
        + " cannot open shared object file: No such file or directory); " + Backend.CUDA_NEEDS,
        Backend.failure(thrown, printed, true));
  }
}
