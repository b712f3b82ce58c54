package org.splinewatch.embedding;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Embedding metrics on an {@code n × d} row-major matrix. All sums are accumulated in float64 (metrics.md §0).
 */
public final class EmbeddingMetrics {
  /** Rows with a norm below this are zero rows (metrics.md §0). */
  public static final double ZERO_NORM = 1e-12;
  /** The ε of RankMe (metrics.md §3.1). */
  public static final double RANKME_EPS = 1e-7;

  private EmbeddingMetrics() {
  }

  /** Result of {@link #compute}. */
  public record Result(double alignment, double uniformity, double stdNormalized, double rankMe,
      double rankMeRatio, double knnAccuracy, int zeroRows) {
  }

  /**
   * All metrics at once. {@code pairs} (the augmented views of the same probe inputs, same shape) may be null, in
   * which case alignment is NaN and uniformity uses {@code z} alone; {@code labels} may be null (kNN NaN).
   */
  public static Result compute(double[] z, double[] pairs, int n, int d, int[] labels, int classes) {
    double[] zh = normalizeRows(z, n, d);
    double align = Double.NaN;
    double unif = uniformity(zh, n, d, 2);
    if (pairs != null) {
      double[] ph = normalizeRows(pairs, n, d);
      align = alignment(zh, ph, n, d);
      unif = (unif + uniformity(ph, n, d, 2)) / 2;
    }
    double rank = rankMe(z, n, d);
    double knn = labels == null ? Double.NaN : knnAccuracy(zh, n, d, labels, classes, 20, 0.07);
    return new Result(align, unif, stdNormalized(zh, n, d), rank, rank / Math.min(n, d), knn, zeroRows(z, n, d));
  }

  /** Rows divided by {@code max(‖z_i‖, 1e-12)}. */
  public static double[] normalizeRows(double[] z, int n, int d) {
    double[] out = new double[n * d];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int k = 0; k < d; k++) {
        s += z[i * d + k] * z[i * d + k];
      }
      double inv = 1 / Math.max(Math.sqrt(s), ZERO_NORM);
      for (int k = 0; k < d; k++) {
        out[i * d + k] = z[i * d + k] * inv;
      }
    }
    return out;
  }

  public static int zeroRows(double[] z, int n, int d) {
    int count = 0;
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int k = 0; k < d; k++) {
        s += z[i * d + k] * z[i * d + k];
      }
      if (Math.sqrt(s) < ZERO_NORM) {
        count++;
      }
    }
    return count;
  }

  /** {@code align(2) = (1/n) Σ ‖ẑ_i − ẑ'_i‖²} on normalised rows (metrics.md §1). */
  public static double alignment(double[] zh, double[] ph, int n, int d) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        double diff = zh[i * d + k] - ph[i * d + k];
        s += diff * diff;
      }
    }
    return s / n;
  }

  /**
   * {@code unif(t) = log((2/(n(n−1))) Σ_{i<k} exp(−t‖ẑ_i − ẑ_k‖²))} on normalised rows, as a shifted log-mean-exp
   * with {@code d² = max(0, 2 − 2⟨ẑ_i, ẑ_k⟩)} (metrics.md §1).
   */
  public static double uniformity(double[] zh, int n, int d, double t) {
    if (n < 2) {
      return Double.NaN;
    }
    // one pass, log-sum-exp with a running maximum: no n(n−1)/2 array (4 MB for 1,024 probes, per call)
    double max = Double.NEGATIVE_INFINITY;
    double s = 0; // Σ exp(v − max) over the pairs so far
    for (int i = 0; i < n; i++) {
      for (int k = i + 1; k < n; k++) {
        double dot = 0;
        for (int q = 0; q < d; q++) {
          dot += zh[i * d + q] * zh[k * d + q];
        }
        double v = -t * Math.max(0, 2 - 2 * dot);
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

  /** {@code sqrt(d) · mean_k σ_k} with {@code σ_k} the unbiased per-dimension std of normalised rows (§2). */
  public static double stdNormalized(double[] zh, int n, int d) {
    if (n < 2) {
      return Double.NaN;
    }
    double sum = 0;
    for (int k = 0; k < d; k++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += zh[i * d + k];
      }
      mean /= n;
      double var = 0;
      for (int i = 0; i < n; i++) {
        double x = zh[i * d + k] - mean;
        var += x * x;
      }
      sum += Math.sqrt(var / (n - 1));
    }
    return Math.sqrt(d) * sum / d;
  }

  /**
   * The trainer's collapse statistics of one batch of outputs ({@link #batchCollapse}).
   *
   * @param stdNormalized  {@link #stdOfNormalizedRows}: 1 for orthonormal rows, 0 for rows pointing one way
   * @param effectiveRank  {@link #participationRatio}: d for d orthonormal rows, 1 for rows pointing one way
   */
  public record BatchCollapse(double stdNormalized, double effectiveRank) {
  }

  /** Both collapse statistics of the raw batch outputs {@code z} (n rows of d), from one normalisation. */
  public static BatchCollapse batchCollapse(double[] z, int n, int d) {
    if (z.length != (long) n * d) {
      throw new IllegalArgumentException("expected " + n + "x" + d + " values, got " + z.length);
    }
    double[] zh = normalizeRows(z, n, d);
    return new BatchCollapse(stdNormalized(zh, n, d), participationRatioOfNormalized(zh, n, d));
  }

  /**
   * The participation ratio {@code (Σλ)² / Σλ²} of the eigenvalues of {@code ẐᵀẐ}, Ẑ the l2-normalised rows of
   * {@code z}: an effective dimension from the second moments alone (no eigen-decomposition: {@code Σλ = tr = n},
   * {@code Σλ² = ‖ẐᵀẐ‖²_F}). 1 when all rows point one way, {@code d} for {@code d} orthonormal rows; at most
   * {@code min(n, d)}. NaN for no rows or all-zero rows.
   */
  public static double participationRatio(double[] z, int n, int d) {
    if (z.length != (long) n * d) {
      throw new IllegalArgumentException("expected " + n + "x" + d + " values, got " + z.length);
    }
    return participationRatioOfNormalized(normalizeRows(z, n, d), n, d);
  }

  private static double participationRatioOfNormalized(double[] zh, int n, int d) {
    // the d x d second-moment matrix, upper triangle, accumulated row by row (contiguous reads)
    double[] g = new double[d * d];
    double trace = 0;
    for (int i = 0; i < n; i++) {
      int row = i * d;
      for (int a = 0; a < d; a++) {
        double za = zh[row + a];
        if (za == 0) {
          continue;
        }
        trace += za * za;
        int ga = a * d;
        for (int b = a; b < d; b++) {
          g[ga + b] += za * zh[row + b];
        }
      }
    }
    double frob = 0;
    for (int a = 0; a < d; a++) {
      frob += g[a * d + a] * g[a * d + a];
      for (int b = a + 1; b < d; b++) {
        frob += 2 * g[a * d + b] * g[a * d + b];
      }
    }
    return frob > 0 ? trace * trace / frob : Double.NaN;
  }

  /**
   * {@link #stdNormalized} of the rows of raw {@code z} after l2-normalisation (the SimSiam paper's collapse measure
   * on a batch, scaled by {@code sqrt(d)}): 0 when all rows point the same way (collapse), exactly 1 for {@code d}
   * orthonormal rows, about 1 for rows spread uniformly on the sphere. NaN for fewer than two rows.
   */
  public static double stdOfNormalizedRows(double[] z, int n, int d) {
    if (z.length != (long) n * d) {
      throw new IllegalArgumentException("expected " + n + "x" + d + " values, got " + z.length);
    }
    return stdNormalized(normalizeRows(z, n, d), n, d);
  }

  /**
   * RankMe (metrics.md §3.1): the entropy-based effective rank of the raw (uncentred) {@code Z}, with singular values
   * from the eigenvalues of the d×d Gram matrix {@code ZᵀZ} (or {@code ZZᵀ} when n < d). All-zero Z gives 1.
   */
  public static double rankMe(double[] z, int n, int d) {
    double[] sv = singularValues(z, n, d);
    double total = 0;
    for (double s : sv) {
      total += s;
    }
    if (!(total > 0)) {
      return 1;
    }
    double h = 0;
    for (double s : sv) {
      double p = s / total + RANKME_EPS;
      h -= p * Math.log(p);
    }
    return Math.exp(h);
  }

  /** Singular values of Z, descending, via the smaller Gram matrix. */
  public static double[] singularValues(double[] z, int n, int d) {
    boolean wide = n < d;
    int m = wide ? n : d;
    DMatrixRMaj g = new DMatrixRMaj(m, m);
    for (int a = 0; a < m; a++) {
      for (int b = a; b < m; b++) {
        double s = 0;
        if (wide) {
          for (int q = 0; q < d; q++) {
            s += z[a * d + q] * z[b * d + q];
          }
        } else {
          for (int i = 0; i < n; i++) {
            s += z[i * d + a] * z[i * d + b];
          }
        }
        g.set(a, b, s);
        g.set(b, a, s);
      }
    }
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, false, true);
    if (!eig.decompose(g)) {
      throw new IllegalStateException("eigen-decomposition of the " + m + "x" + m + " Gram matrix failed");
    }
    double[] sv = new double[m];
    for (int k = 0; k < m; k++) {
      sv[k] = Math.sqrt(Math.max(0, eig.getEigenvalue(k).getReal()));
    }
    Arrays.sort(sv);
    for (int i = 0; i < m / 2; i++) {
      double t = sv[i];
      sv[i] = sv[m - 1 - i];
      sv[m - 1 - i] = t;
    }
    return sv;
  }

  /**
   * Leave-one-out weighted cosine kNN accuracy on normalised rows (metrics.md §4.1): the bank is the probe set itself
   * without the query; class score {@code Σ exp(s_i / T)} over the top-k (ties to the lower index, then lower class).
   */
  public static double knnAccuracy(double[] zh, int n, int d, int[] labels, int classes, int k, double temperature) {
    if (n < 2) {
      return Double.NaN;
    }
    int kk = Math.min(k, n - 1);
    int correct = 0;
    double[] sims = new double[n];
    int[] topIdx = new int[kk];
    double[] topSim = new double[kk];
    double[] score = new double[classes];
    for (int q = 0; q < n; q++) {
      for (int i = 0; i < n; i++) {
        double dot = 0;
        for (int c = 0; c < d; c++) {
          dot += zh[q * d + c] * zh[i * d + c];
        }
        sims[i] = dot;
      }
      int filled = 0;
      for (int i = 0; i < n; i++) {
        if (i == q) {
          continue;
        }
        double s = sims[i];
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
}
