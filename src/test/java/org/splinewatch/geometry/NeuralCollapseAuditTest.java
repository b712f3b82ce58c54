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

  /**
   * A self-supervised encoder has no classifier, so the linear probe serves as one for NC3/NC4 (metrics.md §6), in
   * its standardised coordinates. Three tight clusters at the corners of a simplex (noise 0.01 against distances of
   * 1.4): the probe's weights line up with the centred class means (NC3 near 0: 1.4e-3 here, 3.7e-3 in numpy with another draw
   * of the noise; the residue is the ridge term and the noise across the simplex's plane) and it agrees with
   * the nearest class centre on every point (NC4 = 0). With the cluster labels shuffled, the probe has nothing to
   * line up with, and NC3 is far from 0.
   */
  @Test
  void theLinearProbeServesAsAnEncodersClassifier() {
    int c = 3;
    int n = 300;
    int d = 3;
    double[] h = new double[n * d];
    int[] y = new int[n];
    Random r = new Random(7);
    for (int i = 0; i < n; i++) {
      y[i] = i % c;
      for (int k = 0; k < d; k++) {
        h[i * d + k] = (k == y[i] ? 1 : 0) + 0.01 * r.nextGaussian();
      }
    }
    org.splinewatch.embedding.LinearProbe probe = org.splinewatch.embedding.LinearProbe.fit(h, n, d, y, c, 1e-4);
    NeuralCollapse.Result nc = NeuralCollapse.compute(probe.standardise(h, n), n, d, y, c, probe.weights(),
        probe.offsets());
    assertEquals(0, nc.nccMismatch(), 0.0);
    assertTrue(nc.selfDuality() < 0.01, "NC3 " + nc.selfDuality());
    assertEquals(0, nc.weightEquinormCov(), 0.01, "the simplex's classes are alike: equal weight norms");

    int[] shuffled = new int[n];
    for (int i = 0; i < n; i++) {
      shuffled[i] = r.nextInt(c);
    }
    org.splinewatch.embedding.LinearProbe noise = org.splinewatch.embedding.LinearProbe.fit(h, n, d, shuffled, c,
        1e-4);
    NeuralCollapse.Result random = NeuralCollapse.compute(noise.standardise(h, n), n, d, shuffled, c,
        noise.weights(), noise.offsets());
    assertTrue(random.selfDuality() > 0.1, "NC3 with labels that do not follow the clusters " + random.selfDuality());
  }
}
