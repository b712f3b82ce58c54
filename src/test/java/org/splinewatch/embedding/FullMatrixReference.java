package org.splinewatch.embedding;

import java.util.Arrays;
import org.splinewatch.geometry.IntrinsicDimension;

/**
 * The pairwise metrics as they were computed before they went block-wise: uniformity and kNN accuracy from the full
 * {@code n × n} Gram matrix ({@link EmbeddingMetrics#gram}), TwoNN from the full {@code n × n} distance matrix. Kept
 * verbatim as the reference the block-wise code must equal bit for bit, and as the "before" of
 * {@link PairwiseMetricsHarness}. O(n²) memory: tests only.
 */
public final class FullMatrixReference {
  private FullMatrixReference() {
  }

  /** Uniformity (metrics.md §1) of the normalised rows {@code zh} from the full Gram matrix. */
  public static double uniformity(double[] zh, int n, int d, double t) {
    return uniformityOfGram(EmbeddingMetrics.gram(zh, n, d), n, t);
  }

  /** Leave-one-out kNN accuracy (metrics.md §4.1) of the normalised rows {@code zh} from the full Gram matrix. */
  public static double knnAccuracy(double[] zh, int n, int d, int[] labels, int classes, int k, double temperature) {
    return knnAccuracyOfGram(EmbeddingMetrics.gram(zh, n, d), n, labels, classes, k, temperature);
  }

  /** {@link EmbeddingMetrics#compute} with uniformity and kNN from the full Gram matrix of each view. */
  public static EmbeddingMetrics.Result compute(double[] z, double[] pairs, int n, int d, int[] labels, int classes) {
    for (int i = 0; i < n * d; i++) {
      if (!Double.isFinite(z[i]) || (pairs != null && !Double.isFinite(pairs[i]))) {
        double nan = Double.NaN;
        return new EmbeddingMetrics.Result(nan, nan, nan, nan, nan, nan, EmbeddingMetrics.zeroRows(z, n, d));
      }
    }
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    double[] cos = EmbeddingMetrics.gram(zh, n, d);
    double unif = uniformityOfGram(cos, n, 2);
    double knn = labels == null ? Double.NaN : knnAccuracyOfGram(cos, n, labels, classes, 20, 0.07);
    double align = Double.NaN;
    if (pairs != null) { // the pairs' Gram matrix in the same array, as before
      double[] ph = EmbeddingMetrics.normalizeRows(pairs, n, d);
      align = EmbeddingMetrics.alignment(zh, ph, n, d);
      unif = (unif + uniformityOfGram(EmbeddingMetrics.gram(ph, n, d, cos), n, 2)) / 2;
    }
    double rank = EmbeddingMetrics.rankMe(z, n, d);
    return new EmbeddingMetrics.Result(align, unif, EmbeddingMetrics.stdNormalized(zh, n, d), rank,
        rank / Math.min(n, d), knn, EmbeddingMetrics.zeroRows(z, n, d));
  }

  /** {@link #uniformity} from the Gram matrix of the normalised rows ({@link EmbeddingMetrics#gram}). */
  public static double uniformityOfGram(double[] g, int n, double t) {
    if (n < 2) {
      return Double.NaN;
    }
    // log-sum-exp with a running maximum, pairs in the order i < k
    double max = Double.NEGATIVE_INFINITY;
    double s = 0; // Σ exp(v − max) over the pairs so far
    for (int i = 0; i < n; i++) {
      for (int k = i + 1; k < n; k++) {
        // ‖ẑ_i‖² + ‖ẑ_k‖² − 2⟨ẑ_i, ẑ_k⟩ (1 + 1 − 2⟨·,·⟩ for unit rows; a zero row has norm 0, not 1)
        double v = -t * Math.max(0, g[i * n + i] + g[k * n + k] - 2 * g[i * n + k]);
        if (v > max) {
          s = s * Math.exp(max - v) + 1;
          max = v;
        } else {
          s += Math.exp(v - max);
        }
      }
    }
    return max + Math.log(s / ((double) n * (n - 1) / 2));
  }

  /** {@link #knnAccuracy} from the Gram matrix of the normalised rows ({@link EmbeddingMetrics#gram}). */
  public static double knnAccuracyOfGram(double[] g, int n, int[] labels, int classes, int k, double temperature) {
    if (n < 2) {
      return Double.NaN;
    }
    int kk = Math.min(k, n - 1);
    int correct = 0;
    int[] topIdx = new int[kk];
    double[] topSim = new double[kk];
    double[] score = new double[classes];
    for (int q = 0; q < n; q++) {
      int row = q * n;
      int filled = 0;
      for (int i = 0; i < n; i++) {
        if (i == q) {
          continue;
        }
        double s = g[row + i];
        if (filled < kk) {
          int pos = filled++;
          while (pos > 0 && topSim[pos - 1] < s) {
            topSim[pos] = topSim[pos - 1];
            topIdx[pos] = topIdx[pos - 1];
            pos--;
          }
          topSim[pos] = s;
          topIdx[pos] = i;
        } else if (s > topSim[kk - 1]) {
          int pos = kk - 1;
          while (pos > 0 && topSim[pos - 1] < s) {
            topSim[pos] = topSim[pos - 1];
            topIdx[pos] = topIdx[pos - 1];
            pos--;
          }
          topSim[pos] = s;
          topIdx[pos] = i;
        }
      }
      Arrays.fill(score, 0);
      double maxSim = topSim[0];
      for (int t = 0; t < filled; t++) {
        score[labels[topIdx[t]]] += Math.exp((topSim[t] - maxSim) / temperature);
      }
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (score[c] > score[best]) {
          best = c;
        }
      }
      if (best == labels[q]) {
        correct++;
      }
    }
    return (double) correct / n;
  }

  /** TwoNN (metrics.md §5.1) from the full matrix of squared distances. */
  public static IntrinsicDimension.TwoNn twoNn(double[] x, int n, int d) {
    if (!IntrinsicDimension.allFinite(x, n * d)) {
      return new IntrinsicDimension.TwoNn(Double.NaN, 0, Double.NaN);
    }
    x = rescaledIfHuge(x, n * d);
    double[] r1 = new double[n];
    double[] r2 = new double[n];
    Arrays.fill(r1, Double.POSITIVE_INFINITY);
    Arrays.fill(r2, Double.POSITIVE_INFINITY);
    double[] dist = squaredDistances(x, n, d, new double[n * n]);
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        double s = dist[i * n + j];
        insert(r1, r2, i, s);
        insert(r1, r2, j, s);
      }
    }
    double[] mu = new double[n];
    int good = 0;
    int duplicates = 0;
    for (int i = 0; i < n; i++) {
      if (r1[i] == 0) {
        duplicates++;
      } else if (r2[i] > r1[i] && Double.isFinite(r2[i])) {
        mu[good++] = Math.sqrt(r2[i] / r1[i]);
      }
    }
    double dupFraction = n == 0 ? 0 : (double) duplicates / n;
    if (good < IntrinsicDimension.MIN_GOOD_POINTS) {
      return new IntrinsicDimension.TwoNn(Double.NaN, good, dupFraction);
    }
    Arrays.sort(mu, 0, good);
    int keep = (int) Math.floor(0.9 * good);
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < keep && i < good - 1; i++) {
      double f = (i + 1) / (double) good;
      double xi = Math.log(mu[i]);
      double yi = -Math.log(1 - f);
      sxy += xi * yi;
      sxx += xi * xi;
    }
    return new IntrinsicDimension.TwoNn(sxx > 0 ? sxy / sxx : Double.NaN, good, dupFraction);
  }

  private static double[] rescaledIfHuge(double[] x, int size) {
    double max = 0;
    for (int i = 0; i < size; i++) {
      max = Math.max(max, Math.abs(x[i]));
    }
    if (!(max > 1e150)) {
      return x;
    }
    double[] scaled = new double[size];
    for (int i = 0; i < size; i++) {
      scaled[i] = x[i] / max;
    }
    return scaled;
  }

  /** Keeps the two smallest squared distances of point {@code i}. */
  private static void insert(double[] r1, double[] r2, int i, double s) {
    if (s < r1[i]) {
      r2[i] = r1[i];
      r1[i] = s;
    } else if (s < r2[i]) {
      r2[i] = s;
    }
  }

  /** The upper triangle of the squared distances, 4 × 4 tiles (as IntrinsicDimension had it). */
  static double[] squaredDistances(double[] x, int n, int d, double[] out) {
    int tiled = n / 4 * 4;
    for (int i = 0; i < tiled; i += 4) {
      int a0 = i * d;
      int a1 = a0 + d;
      int a2 = a1 + d;
      int a3 = a2 + d;
      for (int j = i + 4; j < tiled; j += 4) {
        int b0 = j * d;
        int b1 = b0 + d;
        int b2 = b1 + d;
        int b3 = b2 + d;
        double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (int k = 0; k < d; k++) {
          double x0 = x[a0 + k];
          double x1 = x[a1 + k];
          double x2 = x[a2 + k];
          double x3 = x[a3 + k];
          double y0 = x[b0 + k];
          double y1 = x[b1 + k];
          double y2 = x[b2 + k];
          double y3 = x[b3 + k];
          double t;
          t = x0 - y0;
          s00 += t * t;
          t = x0 - y1;
          s01 += t * t;
          t = x0 - y2;
          s02 += t * t;
          t = x0 - y3;
          s03 += t * t;
          t = x1 - y0;
          s10 += t * t;
          t = x1 - y1;
          s11 += t * t;
          t = x1 - y2;
          s12 += t * t;
          t = x1 - y3;
          s13 += t * t;
          t = x2 - y0;
          s20 += t * t;
          t = x2 - y1;
          s21 += t * t;
          t = x2 - y2;
          s22 += t * t;
          t = x2 - y3;
          s23 += t * t;
          t = x3 - y0;
          s30 += t * t;
          t = x3 - y1;
          s31 += t * t;
          t = x3 - y2;
          s32 += t * t;
          t = x3 - y3;
          s33 += t * t;
        }
        int r0 = i * n + j;
        out[r0] = s00;
        out[r0 + 1] = s01;
        out[r0 + 2] = s02;
        out[r0 + 3] = s03;
        out[r0 + n] = s10;
        out[r0 + n + 1] = s11;
        out[r0 + n + 2] = s12;
        out[r0 + n + 3] = s13;
        out[r0 + 2 * n] = s20;
        out[r0 + 2 * n + 1] = s21;
        out[r0 + 2 * n + 2] = s22;
        out[r0 + 2 * n + 3] = s23;
        out[r0 + 3 * n] = s30;
        out[r0 + 3 * n + 1] = s31;
        out[r0 + 3 * n + 2] = s32;
        out[r0 + 3 * n + 3] = s33;
      }
    }
    // the diagonal tiles and the rows and columns beyond the last whole tile, the plain way
    for (int i = 0; i < n; i++) {
      int tileEnd = i < tiled ? i / 4 * 4 + 4 : n;
      for (int j = i + 1; j < n; j++) {
        if (j >= tileEnd && j < tiled && i < tiled) {
          continue; // done by a tile
        }
        double s = 0;
        for (int k = 0; k < d; k++) {
          double t = x[i * d + k] - x[j * d + k];
          s += t * t;
        }
        out[i * n + j] = s;
      }
    }
    return out;
  }
}
