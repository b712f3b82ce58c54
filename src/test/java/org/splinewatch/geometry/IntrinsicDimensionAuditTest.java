package org.splinewatch.geometry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** TwoNN edge cases of a live run, against an independent numpy implementation of metrics.md §5.1. */
class IntrinsicDimensionAuditTest {

  private static double[] gaussian(int n, int d, long seed) {
    Random r = new Random(seed);
    double[] x = new double[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    return x;
  }

  /**
   * Activations that overflowed (an infinite or NaN value in one row) have no defined distances: the estimate is NaN,
   * not the TwoNN dimension of the remaining rows exported as if all the probes had been measured.
   */
  @Test
  void nonFiniteActivationsGiveNaN() {
    int n = 60;
    int d = 5;
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
      double[] x = gaussian(n, d, 2);
      x[7 * d + 1] = bad;
      IntrinsicDimension.TwoNn id = IntrinsicDimension.twoNn(x, n, d);
      assertTrue(Double.isNaN(id.dimension()), "with " + bad + ": " + id);
    }
  }

  /**
   * Ten copies of one point among 60 Gaussian points in R^8: the ten have r1 = 0 and are dropped (duplicate fraction
   * 1/6); a point whose two nearest neighbours are two of the copies has r1 = r2 and is dropped as a tie (the numpy
   * reference of metrics.md §5.1 agreed to 1e-15 on such a cloud, 49 good points).
   */
  @Test
  void duplicatesAreDroppedAsInTheReference() {
    int n = 60;
    int d = 8;
    double[] x = gaussian(n, d, 9);
    for (int i = 1; i < 10; i++) {
      System.arraycopy(x, 0, x, i * d, d);
    }
    IntrinsicDimension.TwoNn id = IntrinsicDimension.twoNn(x, n, d);
    assertEquals(10.0 / 60, id.duplicateFraction(), 1e-15);
    assertTrue(id.goodPoints() == 50 || id.goodPoints() == 49, "good points " + id.goodPoints());
    assertTrue(Double.isFinite(id.dimension()));
  }

  /**
   * TwoNN uses distance ratios and PC-ID standardised features, so both are scale-invariant: finite activations at
   * 1e200 (a diverging network) give the values of the same activations at 1, not NaN (squared distances overflowed
   * to ∞) and a PC-ID of 1 (variances overflowed, every standardised feature 0).
   */
  @Test
  void hugeFiniteActivationsGiveTheValuesOfTheRescaledOnes() {
    int n = 60;
    int d = 8;
    double[] x = gaussian(n, d, 4);
    double[] big = x.clone();
    for (int i = 0; i < big.length; i++) {
      big[i] *= 1e200;
    }
    assertEquals(IntrinsicDimension.twoNn(x, n, d).dimension(), IntrinsicDimension.twoNn(big, n, d).dimension(),
        1e-9);
    assertEquals(IntrinsicDimension.pcaDimension(x, n, d, 0.9), IntrinsicDimension.pcaDimension(big, n, d, 0.9));
  }
}
