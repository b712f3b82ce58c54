package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The dense product's kernels against the plain row-by-row loop, bit for bit: both sum {@code b_j + Σ_k x_k·W_kj} in
 * ascending {@code k} with a rounded multiply and add per non-zero term, so any other order, a fused multiply-add, a
 * wrong tile offset or a dropped remainder column shows as a differing bit.
 */
class DenseKernelTest {
  /** The oracle: one row, one output at a time. */
  private static double[] plain(int inDim, int outDim, double[] w, double[] b, double[] in, int rows) {
    double[] out = new double[rows * outDim];
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < outDim; j++) {
        double s = b[j];
        for (int k = 0; k < inDim; k++) {
          double x = in[r * inDim + k];
          if (x != 0) {
            s += x * w[k * outDim + j];
          }
        }
        out[r * outDim + j] = s;
      }
    }
    return out;
  }

  private static List<DenseKernel> kernels() {
    List<DenseKernel> ks = new ArrayList<>(List.of(new ScalarDenseKernel()));
    DenseKernel vector = DenseKernel.vectorOrNull();
    if (vector != null) {
      ks.add(vector);
      ks.add(WarmingDenseKernel.of(vector, new ScalarDenseKernel()));
    }
    return ks;
  }

  @Test
  void everyKernelEqualsThePlainLoopBitForBit() {
    Random rnd = new Random(7);
    int[] ins = {1, 3, 17, 64, 200};
    int[] outs = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 100, 256};
    int[] rowCounts = {1, 5, 31, 32, 33, 70};
    for (DenseKernel kernel : kernels()) {
      for (int inDim : ins) {
        for (int outDim : outs) {
          int rows = rowCounts[rnd.nextInt(rowCounts.length)];
          double[] w = new double[inDim * outDim];
          double[] b = new double[outDim];
          double[] in = new double[rows * inDim];
          for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextGaussian() * Math.pow(10, rnd.nextInt(7) - 3); // magnitudes that make rounding order matter
          }
          for (int j = 0; j < outDim; j++) {
            b[j] = rnd.nextGaussian();
          }
          for (int i = 0; i < in.length; i++) {
            int kind = rnd.nextInt(8);
            in[i] = kind < 3 ? 0 : kind == 3 ? -0.0 : rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5) - 2);
          }
          double[] out = new double[rows * outDim + 5]; // longer than needed: the tail stays untouched
          out[rows * outDim] = 42;
          kernel.apply(inDim, outDim, w, b, in, out, rows);
          double[] expected = plain(inDim, outDim, w, b, in, rows);
          for (int i = 0; i < expected.length; i++) {
            if (Double.doubleToRawLongBits(expected[i]) != Double.doubleToRawLongBits(out[i])
                && !(expected[i] == 0 && out[i] == 0)) { // ±0 only where every term was 0
              throw new AssertionError(kernel + " in " + inDim + " out " + outDim + " rows " + rows + " entry " + i
                  + ": " + out[i] + " instead of " + expected[i]);
            }
          }
          assertEquals(42, out[rows * outDim], kernel + " wrote past its rows");
        }
      }
    }
  }

  @Test
  void theScalarLoopDoesMostRowsUntilTheVectorRowsAllocateNothing() {
    // stand-ins: a vector kernel that "allocates" 1 KB a call until it is "compiled", a scalar one; the rows each did
    StringBuilder ran = new StringBuilder();
    long[] allocated = {0};
    boolean[] compiledByJit = {false};
    DenseKernel vector = (inDim, outDim, w, b, in, out, rows) -> {
      ran.append("v").append(rows).append(' ');
      allocated[0] += compiledByJit[0] ? 0 : 1024;
    };
    WarmingDenseKernel.RowRange scalar = (inDim, outDim, w, b, in, out, from, to) ->
        ran.append("s").append(from).append('-').append(to).append(' ');
    WarmingDenseKernel kernel = new WarmingDenseKernel(vector, scalar, () -> allocated[0]);
    double[] none = new double[0];
    for (int rows : new int[] {64, 1, 17, 1024}) {
      kernel.apply(0, 0, none, none, none, none, rows);
    }
    // a sixteenth of the rows, rounded up, from the first: "v4 s4-64" is the vector's rows 0..4, the scalar's 4..64
    assertEquals("v4 s4-64 v1 s1-1 v2 s2-17 v64 s64-1024 ", ran.toString());
    assertFalse(kernel.compiled());
    compiledByJit[0] = true;
    ran.setLength(0);
    for (int rows : new int[] {64, 64, 1024}) {
      kernel.apply(0, 0, none, none, none, none, rows);
    }
    // the first call's vector rows allocate nothing: from the next call on the vector kernel does every row
    assertEquals("v4 s4-64 v64 v1024 ", ran.toString());
    assertTrue(kernel.compiled());
  }

  @Test
  void denseOpUsesTheSelectedKernel() {
    Random rnd = new Random(3);
    int inDim = 50;
    int outDim = 70;
    double[] w = rnd.doubles(inDim * outDim).toArray();
    double[] b = rnd.doubles(outDim).toArray();
    double[] in = rnd.doubles(9 * inDim).map(v -> v < 0.5 ? 0 : v).toArray();
    double[] out = new double[9 * outDim];
    AffineOp.dense(inDim, outDim, w, b).apply(in, out, 9);
    assertArrayEquals(plain(inDim, outDim, w, b, in, 9), out);
  }

  @Test
  void theVectorKernelIsChosenWhereTheJvmHasTheModuleAndNotWhenSwitchedOff() {
    boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    DenseKernel vector = DenseKernel.vectorOrNull();
    if (module) {
      // the tests' JVM is started with --add-modules jdk.incubator.vector (pom.xml), as the launchers start theirs
      assertNotNull(vector, "the module is there, so the Vector API kernel loads");
      assertEquals(vector.toString(), DenseKernel.selectedName());
    } else {
      assertNull(vector);
      assertEquals("scalar", DenseKernel.selectedName());
    }
    String before = System.getProperty(DenseKernel.VECTOR_PROPERTY);
    System.setProperty(DenseKernel.VECTOR_PROPERTY, "false");
    try {
      assertNull(DenseKernel.vectorOrNull(), "-Dsplinewatch.regions.vector=false turns it off");
    } finally {
      if (before == null) {
        System.clearProperty(DenseKernel.VECTOR_PROPERTY);
      } else {
        System.setProperty(DenseKernel.VECTOR_PROPERTY, before);
      }
    }
  }
}
