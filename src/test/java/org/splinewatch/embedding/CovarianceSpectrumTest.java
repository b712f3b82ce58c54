package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The embedding covariance spectrum of metrics.md §3.2: closed forms, numpy's values, and the edge cases. */
class CovarianceSpectrumTest {
  private static final double[] NAN5 = {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN};

  /** The 8 × 8 Sylvester–Hadamard matrix: orthogonal rows of ±1. */
  private static double[][] hadamard8() {
    double[][] h = new double[8][8];
    for (int i = 0; i < 8; i++) {
      for (int j = 0; j < 8; j++) {
        h[i][j] = Integer.bitCount(i & j) % 2 == 0 ? 1 : -1;
      }
    }
    return h;
  }

  /**
   * Rows {@code ±c·h_j} for the first r rows {@code h_j} of the Hadamard matrix, each sign {@code reps} times: mean 0
   * and {@code Cov = (c²/r)·Σ_j h_j h_jᵀ}, whose eigenvalues are r equal values {@code 8c²/r} and {@code 8 − r} zeros.
   */
  private static double[] rankR(int r, int reps, double c) {
    double[][] h = hadamard8();
    int n = 2 * r * reps;
    double[] z = new double[n * 8];
    int i = 0;
    for (int rep = 0; rep < reps; rep++) {
      for (int j = 0; j < r; j++) {
        for (int sign = -1; sign <= 1; sign += 2) {
          for (int k = 0; k < 8; k++) {
            z[i * 8 + k] = sign * c * h[j][k];
          }
          i++;
        }
      }
    }
    return z;
  }

  @Test
  void rowsSpanningROrthogonalDirectionsWithEqualVarianceCollapseTheOtherDMinusR() {
    int d = 8;
    for (int r = 1; r <= d; r++) {
      int reps = 3;
      int n = 2 * r * reps;
      EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(rankR(r, reps, 0.37), n, d);
      int m = Math.min(n - 1, d);
      assertEquals(m, s.dims());
      // λ_1 = … = λ_r, the rest 0: log10 ratio 0 up to k = r, then the floor −30
      for (int j = 0; j < EmbeddingMetrics.SPECTRUM_Q.length; j++) {
        int k = (int) Math.ceil(EmbeddingMetrics.SPECTRUM_Q[j] * m);
        double expected = k <= r ? 0 : -30;
        assertEquals(expected, s.log10Ratios()[j], 1e-12, "r = " + r + ", k = " + k);
      }
      assertArrayEquals(new double[] {m - r, m - r}, s.collapsedDims(), "r = " + r);
    }
  }

  /**
   * Rows {@code ±a_j e_j}: {@code Cov = diag(2a_j²/n)}. With {@code a_j² = 10^(−1.25j)}, in shuffled order, the
   * sorted eigenvalues are {@code λ_k ∝ 10^(−1.25(k−1))}: at {@code k = 1, 2, 4, 6, 8} (d = 8) log10 ratios 0, −1.25,
   * −3.75, −6.25, −8.75; below 1e-3 those with {@code 1.25(k−1) > 3} (k ≥ 4: 5 of them), below 1e-6 k ≥ 6 (3).
   */
  @Test
  void aDiagonalCovarianceWithKnownVariances() {
    int d = 8;
    int[] order = {5, 2, 7, 0, 3, 6, 1, 4};
    double[] z = new double[2 * d * d];
    for (int j = 0; j < d; j++) {
      double a = Math.sqrt(Math.pow(10, -1.25 * j));
      int dim = order[j];
      z[(2 * j) * d + dim] = a;
      z[(2 * j + 1) * d + dim] = -a;
    }
    EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(z, 2 * d, d);
    assertEquals(d, s.dims());
    assertArrayEquals(new double[] {0, -1.25, -3.75, -6.25, -8.75}, s.log10Ratios(), 1e-9);
    assertArrayEquals(new double[] {5, 3}, s.collapsedDims());
  }

  /** The data of the numpy check: uniforms from a 64-bit LCG, column q scaled by 10^(−2q/d), mixed by I + 0.5·U. */
  private static double[] lcgData(int n, int d, long seed) {
    long[] x = {seed};
    java.util.function.DoubleSupplier next = () -> {
      x[0] = x[0] * 6364136223846793005L + 1442695040888963407L;
      return (x[0] >>> 11) * 0x1.0p-53 - 0.5;
    };
    double[][] a = new double[d][d];
    for (int q = 0; q < d; q++) {
      for (int c = 0; c < d; c++) {
        a[q][c] = (q == c ? 1.0 : 0.0) + 0.5 * next.getAsDouble();
      }
    }
    double[] z = new double[n * d];
    double[] u = new double[d];
    for (int i = 0; i < n; i++) {
      for (int q = 0; q < d; q++) {
        u[q] = next.getAsDouble() * Math.pow(10, -2.0 * q / d);
      }
      for (int c = 0; c < d; c++) {
        double acc = 0;
        for (int q = 0; q < d; q++) {
          acc += u[q] * a[q][c];
        }
        z[i * d + c] = acc;
      }
    }
    return z;
  }

  /**
   * Against numpy: {@code c = z − z.mean(0); ev = eigvalsh(c.T @ c / n)} sorted descending, {@code m = min(n−1, d)},
   * {@code log10(max(ev[⌈q·m⌉−1]/ev[0], 1e-30))} and {@code sum(ev[:m] < τ·ev[0])}, on the same data (the LCG in
   * Python): a tall case (n > d, the d × d covariance), and two with n ≤ d (the n × n Gram of the centred rows).
   */
  @Test
  void equalsNumpyOnRandomData() {
    Object[][] cases = {
        {200, 16, 1L, new double[] {-0.1680808227439754, -0.7846264332985793, -1.7860914636396936,
            -2.9475091690380806, -4.221041755376276}, new double[] {4, 0}},
        {10, 16, 2L, new double[] {-0.6012903399685607, -0.9052118850987254, -1.471763884690763,
            -2.2435745631824267, -3.5598441619628796}, new double[] {1, 0}},
        {40, 40, 3L, new double[] {-0.5160284764612154, -1.1561375829373521, -2.411808401127373,
            -3.8499940351499284, -6.969879802127807}, new double[] {16, 2}}};
    for (Object[] c : cases) {
      int n = (int) c[0];
      int d = (int) c[1];
      EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(lcgData(n, d, (long) c[2]), n, d);
      assertEquals(Math.min(n - 1, d), s.dims());
      assertArrayEquals((double[]) c[3], s.log10Ratios(), 1e-9, "n = " + n + ", d = " + d);
      assertArrayEquals((double[]) c[4], s.collapsedDims(), "n = " + n + ", d = " + d);
    }
  }

  /**
   * n ≤ d: the centring leaves at most n − 1 nonzero eigenvalues, so the spectrum is taken over m = n − 1 of them
   * (the d − n + 1 structural zeros are not collapse): n = 5 Gaussian rows in d = 64 collapse nothing, and the
   * same rows padded with zero columns give the same values.
   */
  @Test
  void withNoMoreRowsThanDimensionsOnlyTheFirstNMinusOneEigenvaluesCount() {
    Random rnd = new Random(4);
    int n = 5;
    double[] narrow = new double[n * 4];
    for (int i = 0; i < narrow.length; i++) {
      narrow[i] = rnd.nextGaussian();
    }
    double[] wide = new double[n * 64];
    for (int i = 0; i < n; i++) {
      System.arraycopy(narrow, i * 4, wide, i * 64 + 10, 4);
    }
    EmbeddingMetrics.Spectrum a = EmbeddingMetrics.spectrum(narrow, n, 4); // n > d: all 4
    EmbeddingMetrics.Spectrum b = EmbeddingMetrics.spectrum(wide, n, 64); // m = 4 of 64
    assertEquals(4, a.dims());
    assertEquals(4, b.dims());
    assertArrayEquals(a.log10Ratios(), b.log10Ratios(), 1e-9);
    assertArrayEquals(new double[] {0, 0}, b.collapsedDims());
    assertTrue(b.log10Ratios()[4] > -30 && b.log10Ratios()[4] < 0, Arrays.toString(b.log10Ratios()));
    // n = d: m = d − 1
    assertEquals(3, EmbeddingMetrics.spectrum(Arrays.copyOf(narrow, 16), 4, 4).dims());
  }

  @Test
  void equalRowsHaveNoRatiosAndEveryDimensionCollapsed() {
    int n = 50;
    int d = 8;
    double[] z = new double[n * d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        z[i * d + k] = 0.1 * (k + 1) + 1.0 / 3; // means not exact in float64: centring leaves rounding only
      }
    }
    EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(z, n, d);
    assertArrayEquals(NAN5, s.log10Ratios());
    assertArrayEquals(new double[] {d, d}, s.collapsedDims());
    // all zero, and equal rows with n ≤ d (m = n − 1)
    assertArrayEquals(new double[] {d, d}, EmbeddingMetrics.spectrum(new double[n * d], n, d).collapsedDims());
    EmbeddingMetrics.Spectrum few = EmbeddingMetrics.spectrum(Arrays.copyOf(z, 5 * d), 5, d);
    assertArrayEquals(NAN5, few.log10Ratios());
    assertArrayEquals(new double[] {4, 4}, few.collapsedDims());
    // equal rows but one entry of one row a float32 ulp away: not collapse to rounding, one direction left
    z[7 * d + 3] = Math.nextUp((float) z[7 * d + 3]);
    EmbeddingMetrics.Spectrum one = EmbeddingMetrics.spectrum(z, n, d);
    assertArrayEquals(new double[] {0, -30, -30, -30, -30}, one.log10Ratios(), 1e-12);
    assertArrayEquals(new double[] {d - 1, d - 1}, one.collapsedDims());
  }

  @Test
  void nonFiniteInputOrFewerThanTwoRowsGiveNaN() {
    double[] z = lcgData(30, 6, 5);
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      double[] y = z.clone();
      y[17] = bad;
      EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(y, 30, 6);
      assertArrayEquals(NAN5, s.log10Ratios());
      assertArrayEquals(new double[] {Double.NaN, Double.NaN}, s.collapsedDims());
    }
    EmbeddingMetrics.Spectrum one = EmbeddingMetrics.spectrum(Arrays.copyOf(z, 6), 1, 6);
    assertEquals(0, one.dims());
    assertArrayEquals(NAN5, one.log10Ratios());
    assertArrayEquals(new double[] {Double.NaN, Double.NaN}, one.collapsedDims());
  }

  /** The ratios do not depend on the scale: values near overflow or underflow give those of moderate ones. */
  @Test
  void scaleInvariantAcrossTheDoubleRange() {
    double[] z = lcgData(60, 12, 6);
    EmbeddingMetrics.Spectrum ref = EmbeddingMetrics.spectrum(z, 60, 12);
    for (double scale : new double[] {1e250, 1e-250, 3.7}) {
      double[] y = z.clone();
      for (int i = 0; i < y.length; i++) {
        y[i] *= scale;
      }
      EmbeddingMetrics.Spectrum s = EmbeddingMetrics.spectrum(y, 60, 12);
      assertArrayEquals(ref.log10Ratios(), s.log10Ratios(), 1e-9, "scale " + scale);
      assertArrayEquals(ref.collapsedDims(), s.collapsedDims(), "scale " + scale);
    }
  }

  /** The scratch arrays give the values of fresh ones, also after a larger call left stale values in them. */
  @Test
  void scratchArraysGiveTheValuesOfFreshOnes() {
    EmbeddingMetrics.Scratch scratch = new EmbeddingMetrics.Scratch();
    double[] big = lcgData(80, 24, 7);
    double[] small = lcgData(12, 20, 8);
    EmbeddingMetrics.spectrum(big, 80, 24, scratch);
    EmbeddingMetrics.compute(small, null, 12, 20, null, 0, scratch); // as the analyzer: the other metrics first
    EmbeddingMetrics.Spectrum fresh = EmbeddingMetrics.spectrum(small, 12, 20);
    EmbeddingMetrics.Spectrum kept = EmbeddingMetrics.spectrum(small, 12, 20, scratch);
    assertArrayEquals(fresh.log10Ratios(), kept.log10Ratios(), 0);
    assertArrayEquals(fresh.collapsedDims(), kept.collapsedDims(), 0);
  }
}
