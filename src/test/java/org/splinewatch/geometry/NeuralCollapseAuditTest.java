package org.splinewatch.geometry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Neural-collapse edge cases of a live run, against values worked out by hand or with numpy (metrics.md §6). */
class NeuralCollapseAuditTest {

  /**
   * A probe set with a single class present (a run declared with one class, or an unlabelled self-supervised run whose
   * labels are all 0) has no between-class scatter: {@code Σ_B = 0} and NC1 is undefined, so every value is NaN, as
   * for complete collapse, instead of an exception that fails the geometry analyzer on every snapshot and loses its
   * TwoNN and PC-ID samples with it.
   */
  @Test
  void aSingleClassGivesNaNNotAnException() {
    int n = 30;
    int d = 5;
    double[] h = new double[n * d];
    Random r = new Random(1);
    for (int i = 0; i < h.length; i++) {
      h[i] = r.nextGaussian();
    }
    NeuralCollapse.Result nc = NeuralCollapse.compute(h, n, d, new int[n], 1, null, null);
    assertTrue(Double.isNaN(nc.nc1()));
    assertTrue(Double.isNaN(nc.equinormCov()));
    assertTrue(Double.isNaN(nc.nccAccuracy()));
    NeuralCollapse.Result none = NeuralCollapse.compute(new double[0], 0, d, new int[0], 3, null, null);
    assertTrue(Double.isNaN(none.nc1()));
  }

  /**
   * A simplex ETF of class means with no within-class scatter: every off-diagonal cosine is exactly −1/(C−1), so the
   * std of the cosines is 0 up to rounding (numpy: 1e-16), not the 1e-8 that a one-pass variance leaves after the
   * square root of a cancelled difference.
   */
  @Test
  void equiangularityStdOfASimplexIsZeroToRounding() {
    int c = 4;
    int d = 4;
    int per = 10;
    int n = c * per;
    double[] h = new double[n * d];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % c;
      for (int k = 0; k < d; k++) {
        h[i * d + k] = 5 * ((labels[i] == k ? 1 : 0) - 1.0 / c);
      }
    }
    NeuralCollapse.Result nc = NeuralCollapse.compute(h, n, d, labels, c, null, null);
    assertEquals(0, nc.nc1(), 1e-12);
    assertEquals(0, nc.equiangularityGap(), 1e-12);
    assertEquals(0, nc.equiangularityStd(), 1e-12);
  }
}
