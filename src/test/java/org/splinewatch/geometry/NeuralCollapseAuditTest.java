package org.splinewatch.geometry;

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
}
