package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Edge cases of the ridge probe (metrics.md §4.2) that a diverging run produces. */
class LinearProbeAuditTest {
  private static final int N = 100;
  private static final int D = 6;
  private static final int C = 3;

  private static double[] blobs(int[] labels) {
    Random r = new Random(1);
    double[] x = new double[N * D];
    for (int i = 0; i < N; i++) {
      labels[i] = i % C;
      for (int k = 0; k < D; k++) {
        x[i * D + k] = r.nextGaussian() + (k == labels[i] ? 2 : 0);
      }
    }
    return x;
  }

  /**
   * A NaN feature (in the fit set or among the probes) leaves no defined prediction: the accuracy is NaN, not the
   * share of class 0, which every NaN score comparison fell back to and which was exported as a real accuracy.
   */
  @Test
  void nonFiniteFeaturesGiveNaNAccuracy() {
    int[] y = new int[N];
    double[] x = blobs(y);
    double[] bad = x.clone();
    bad[3] = Double.NaN;
    assertTrue(Double.isNaN(LinearProbe.fit(bad, N, D, y, C, 1e-2).accuracy(x, N, y)));
    double[] inf = x.clone();
    inf[7] = Double.POSITIVE_INFINITY;
    assertTrue(Double.isNaN(LinearProbe.fit(x, N, D, y, C, 1e-2).accuracy(inf, N, y)));
    assertTrue(Double.isNaN(LinearProbe.fit(inf, N, D, y, C, 1e-2).accuracy(x, N, y)));
  }

  /** The probe standardises its features, so features at 1e200 are classified as the same ones at 1 (0.85 here). */
  @Test
  void hugeFiniteFeaturesAreStandardisedWithoutOverflow() {
    int[] y = new int[N];
    double[] x = blobs(y);
    double[] big = x.clone();
    for (int i = 0; i < big.length; i++) {
      big[i] *= 1e200;
    }
    double expected = LinearProbe.fit(x, N, D, y, C, 1e-2).accuracy(x, N, y);
    assertEquals(expected, LinearProbe.fit(big, N, D, y, C, 1e-2).accuracy(big, N, y), 0);
  }
}
