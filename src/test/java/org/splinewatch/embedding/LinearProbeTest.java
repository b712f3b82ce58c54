package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The ridge probe of metrics.md §4.2 on separable blobs, on random labels, and its λ choice. */
class LinearProbeTest {
  private static double[][] blobs(Random r, int n, int d, int classes, double spread, int[] labels) {
    double[] x = new double[n * d];
    for (int i = 0; i < n; i++) {
      labels[i] = i % classes;
      for (int k = 0; k < d; k++) {
        x[i * d + k] = (k == labels[i] ? 4 : 0) + spread * r.nextGaussian();
      }
    }
    return new double[][] {x};
  }

  @Test
  void separableBlobsAreClassifiedAndRandomLabelsAreNot() {
    Random r = new Random(1);
    int n = 600;
    int d = 6;
    int[] y = new int[n];
    double[] x = blobs(r, n, d, 3, 0.5, y)[0];
    int[] yt = new int[300];
    double[] xt = blobs(r, 300, d, 3, 0.5, yt)[0];
    double lambda = LinearProbe.chooseLambda(x, n, d, y, 3);
    assertTrue(java.util.Arrays.stream(LinearProbe.LAMBDAS).anyMatch(l -> l == lambda));
    assertEquals(1.0, LinearProbe.fit(x, n, d, y, 3, lambda).accuracy(xt, 300, yt), 0.01);
    // labels unrelated to the features: accuracy near chance on fresh data
    int[] shuffled = new int[n];
    for (int i = 0; i < n; i++) {
      shuffled[i] = r.nextInt(3);
    }
    int[] fresh = new int[300];
    for (int i = 0; i < 300; i++) {
      fresh[i] = r.nextInt(3);
    }
    double chance = LinearProbe.fit(x, n, d, shuffled, 3, 1e-2).accuracy(xt, 300, fresh);
    assertTrue(chance < 0.45, "random labels predict fresh random labels at chance: " + chance);
  }

  @Test
  void constantFeaturesDoNotBreakTheSolve() {
    int n = 40;
    double[] x = new double[n * 2];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      x[i * 2] = y[i] == 0 ? -1 : 1; // informative
      x[i * 2 + 1] = 7; // constant: std floored at 1e-6, ridge keeps the system solvable
    }
    assertEquals(1.0, LinearProbe.fit(x, n, 2, y, 2, 1e-3).accuracy(x, n, y), 1e-12);
  }

  /**
   * Standardising the caller's array in place (it may be longer than {@code n × d}) solves the same system as the
   * copy {@link LinearProbe#fit} makes: the weights are equal bit for bit, and the features are overwritten.
   */
  @Test
  void fitOverwritingSolvesTheSameSystemBitForBit() {
    Random r = new Random(4);
    for (int[] shape : new int[][] {{200, 7, 3}, {61, 30, 10}, {12, 2, 2}}) {
      int n = shape[0];
      int d = shape[1];
      int classes = shape[2];
      int[] y = new int[n];
      double[] x = blobs(r, n, d, classes, 1.5, y)[0];
      double[] longer = java.util.Arrays.copyOf(x, n * d + 17);
      for (double lambda : LinearProbe.LAMBDAS) {
        System.arraycopy(x, 0, longer, 0, x.length);
        LinearProbe copied = LinearProbe.fit(x, n, d, y, classes, lambda);
        LinearProbe inPlace = LinearProbe.fitOverwriting(longer, n, d, y, classes, lambda);
        org.junit.jupiter.api.Assertions.assertArrayEquals(copied.weights(), inPlace.weights(), "d=" + d);
        assertTrue(!java.util.Arrays.equals(x, 0, x.length, longer, 0, x.length), "standardised in place");
      }
    }
  }

  /**
   * Choosing λ fits each candidate on a copy of the first 80 % of the rows: one array for all of them, not a copy a
   * λ; the choice is that of the fits on separate copies.
   */
  @Test
  void chooseLambdaCopiesTheFitRowsOnce() {
    Random r = new Random(5);
    int n = 4000;
    int d = 16;
    int[] y = new int[n];
    double[] x = blobs(r, n, d, 4, 3.0, y)[0];
    int fitRows = (int) Math.round(0.8 * n);
    double[] xv = java.util.Arrays.copyOfRange(x, fitRows * d, n * d);
    int[] yv = java.util.Arrays.copyOfRange(y, fitRows, n);
    double expected = Double.NaN;
    double bestAcc = -1;
    for (double lambda : LinearProbe.LAMBDAS) {
      double acc = LinearProbe.fit(x, fitRows, d, y, 4, lambda).accuracy(xv, n - fitRows, yv);
      if (acc > bestAcc) {
        bestAcc = acc;
        expected = lambda;
      }
    }
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) { // the least of a few: the first call's JIT allocates too
      long before = threads.getCurrentThreadAllocatedBytes();
      assertEquals(expected, LinearProbe.chooseLambda(x, n, d, y, 4));
      least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
    }
    // one copy of the fit rows, the held-out fifth and its standardised copy for each λ's accuracy (another copy's
    // worth in all); a copy a λ was five copies' worth
    long copy = 8L * fitRows * d;
    assertTrue(least < 3 * copy, "choosing λ allocated " + least + " bytes; expected under three copies of the fit"
        + " rows (" + 3 * copy + ")");
  }
}
