package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Edge cases of a live run checked against values worked out by hand or with an independent numpy implementation
 * (metrics.md §1: {@code unif(t) = log(mean_{i<k} exp(−t‖ẑ_i − ẑ_k‖²))} with {@code ẑ_i = z_i / max(‖z_i‖, 1e-12)}).
 */
class EmbeddingMetricsAuditTest {

  /**
   * A dead representation (every probe embedding exactly zero) is complete collapse: every {@code ẑ_i} is the zero
   * vector, all distances are 0 and uniformity is {@code log 1 = 0}, not the {@code −4} of {@code 2 − 2·0} (which
   * assumes unit rows and reads like a healthy embedding of {@code d ≈ 2}).
   */
  @Test
  void uniformityOfAllZeroEmbeddingsIsZero() {
    int n = 10;
    int d = 4;
    double[] z = new double[n * d];
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    assertEquals(0, EmbeddingMetrics.uniformity(zh, n, d, 2), 1e-12);
    EmbeddingMetrics.Result r = EmbeddingMetrics.compute(z, z.clone(), n, d, null, 0);
    assertEquals(0, r.uniformity(), 1e-12);
    assertEquals(n, r.zeroRows());
  }

  /** Rows e1, 0, −e1: squared distances 1, 4, 1, so unif(2) = log((2e^−2 + e^−8)/3) (checked with numpy). */
  @Test
  void uniformityWithAZeroRowUsesTheTrueDistances() {
    double[] z = {1, 0, 0, 0, -1, 0};
    double[] zh = EmbeddingMetrics.normalizeRows(z, 3, 2);
    double expected = Math.log((2 * Math.exp(-2) + Math.exp(-8)) / 3);
    assertEquals(expected, EmbeddingMetrics.uniformity(zh, 3, 2, 2), 1e-12);
    assertEquals(expected, EmbeddingMetrics.compute(z, null, 3, 2, null, 0).uniformity(), 1e-12);
  }

  private static double[] gaussian(int size, long seed, double scale) {
    java.util.Random r = new java.util.Random(seed);
    double[] z = new double[size];
    for (int i = 0; i < z.length; i++) {
      z[i] = scale * r.nextGaussian();
    }
    return z;
  }

  /**
   * A diverging network can hand the analyzer a NaN or infinite embedding. Every metric is then NaN (the detector
   * skips NaN), not an {@code IllegalStateException} from the eigen-decomposition that fails the embedding analyzer
   * on every snapshot, and not a RankMe of 1 that would read as collapse.
   */
  @Test
  void nonFiniteEmbeddingsGiveNaNNotAnException() {
    int n = 40;
    int d = 8;
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 3;
    }
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
      double[] z = gaussian(n * d, 3, 1);
      z[5 * d + 2] = bad;
      EmbeddingMetrics.Result r = EmbeddingMetrics.compute(z, z.clone(), n, d, labels, 3);
      assertTrue(Double.isNaN(r.rankMe()), "rankMe with " + bad);
      assertTrue(Double.isNaN(r.rankMeRatio()));
      assertTrue(Double.isNaN(r.stdNormalized()));
      assertTrue(Double.isNaN(r.uniformity()));
      assertTrue(Double.isNaN(r.alignment()));
      assertTrue(Double.isNaN(r.knnAccuracy()));
      assertTrue(Double.isNaN(EmbeddingMetrics.rankMe(z, n, d)));
    }
  }

  /**
   * Every metric of §1–4 is scale-invariant (RankMe explicitly, §3.1; the rest work on l2-normalised rows), so finite
   * embeddings of a diverging network at 1e200 give the values of the same embeddings at 1: no overflow of the squared
   * norms to ∞ (which normalised every row to 0) or of the Gram matrix (an eigen-decomposition failure).
   */
  @Test
  void hugeFiniteEmbeddingsGiveTheValuesOfTheRescaledOnes() {
    int n = 40;
    int d = 8;
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 3;
    }
    double[] z = gaussian(n * d, 4, 1);
    double[] p = gaussian(n * d, 5, 1);
    EmbeddingMetrics.Result one = EmbeddingMetrics.compute(z, p, n, d, labels, 3);
    double[] zBig = z.clone();
    double[] pBig = p.clone();
    for (int i = 0; i < zBig.length; i++) {
      zBig[i] *= 1e200;
      pBig[i] *= 1e200;
    }
    EmbeddingMetrics.Result big = EmbeddingMetrics.compute(zBig, pBig, n, d, labels, 3);
    assertEquals(one.rankMe(), big.rankMe(), 1e-9 * one.rankMe());
    assertEquals(one.stdNormalized(), big.stdNormalized(), 1e-12);
    assertEquals(one.uniformity(), big.uniformity(), 1e-12);
    assertEquals(one.alignment(), big.alignment(), 1e-12);
    assertEquals(one.knnAccuracy(), big.knnAccuracy(), 0);
    assertEquals(0, big.zeroRows());
  }
}
