package org.splinewatch.embedding;

import java.util.Arrays;
import java.util.List;
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
   * Work arrays kept between calls of {@link #compute} and {@link #singularValues}, so that a caller analysing one
   * snapshot after another allocates its {@code BLOCK × n} and {@code n × d} matrices once instead of per call (an
   * {@code n × n} one only for the spectrum of a wide {@code Z}, {@code n < d}, where it is smaller than Z). Each array
   * grows only when a call needs more than it holds, and is then used from its start (its tail holds stale values that
   * no one reads). Not thread-safe: one per thread of work (each analyzer owns one, and an analyzer is run by one actor
   * at a time).
   */
  public static final class Scratch {
    private double[] rows = new double[0]; // n × d: the normalised rows of z
    private double[] pairRows = new double[0]; // n × d: the normalised rows of the pairs
    private double[] pairwise = new double[0]; // n × n: the row Gram matrix of a wide Z (n < d; centred: n ≤ d)
    private double[] strip = new double[0]; // BLOCK × n: one block of rows of the cosine matrix
    private double[] norms = new double[0]; // n: the squared norms of the normalised rows
    private double[] topSim = new double[0]; // n × k: each row's k largest cosines so far (kNN)
    private int[] topIdx = new int[0]; // n × k: their columns
    private int[] filled = new int[0]; // n: how many of each row's k are filled
    private double[] columns = new double[0]; // d × n: Z transposed (centred for the covariance), for ZᵀZ
    private double[] columnGram = new double[0]; // d × d: ZᵀZ

    double[] rows(int size) {
      return rows = atLeast(rows, size);
    }

    double[] pairRows(int size) {
      return pairRows = atLeast(pairRows, size);
    }

    double[] pairwise(int size) {
      return pairwise = atLeast(pairwise, size);
    }

    double[] strip(int size) {
      return strip = atLeast(strip, size);
    }

    double[] norms(int size) {
      return norms = atLeast(norms, size);
    }

    double[] topSim(int size) {
      return topSim = atLeast(topSim, size);
    }

    int[] topIdx(int size) {
      return topIdx = topIdx.length >= size ? topIdx : new int[size];
    }

    /** At least {@code size} counts, the first {@code size} set to 0. */
    int[] filled(int size) {
      filled = filled.length >= size ? filled : new int[size];
      Arrays.fill(filled, 0, size, 0);
      return filled;
    }

    double[] columns(int size) {
      return columns = atLeast(columns, size);
    }

    double[] columnGram(int size) {
      return columnGram = atLeast(columnGram, size);
    }

    /** {@code a} when it holds at least {@code size} values, else a new array of {@code size}. */
    private static double[] atLeast(double[] a, int size) {
      return a.length >= size ? a : new double[size];
    }
  }

  /**
   * All metrics at once. {@code pairs} (the augmented views of the same probe inputs, same shape) may be null, in
   * which case alignment is NaN and uniformity uses {@code z} alone; {@code labels} may be null (kNN NaN). A NaN or
   * infinite value in {@code z} or {@code pairs} (a diverging network) makes every metric NaN but the zero-row count.
   */
  public static Result compute(double[] z, double[] pairs, int n, int d, int[] labels, int classes) {
    return compute(z, pairs, n, d, labels, classes, new Scratch());
  }

  /** {@link #compute(double[], double[], int, int, int[], int)} in the arrays of {@code scratch}. */
  public static Result compute(double[] z, double[] pairs, int n, int d, int[] labels, int classes,
      Scratch scratch) {
    if (!allFinite(z, n * d) || (pairs != null && !allFinite(pairs, n * d))) {
      double nan = Double.NaN;
      return new Result(nan, nan, nan, nan, nan, nan, zeroRows(z, n, d));
    }
    double[] zh = normalizeRows(z, n, d, scratch.rows(n * d));
    // the pairwise cosines, one block of rows at a time, for uniformity and kNN together; then those of the pairs
    double[] unifKnn = uniformityAndKnn(zh, n, d, 2, labels, classes, 20, 0.07, scratch);
    double unif = unifKnn[0];
    double knn = unifKnn[1];
    double align = Double.NaN;
    if (pairs != null) {
      double[] ph = normalizeRows(pairs, n, d, scratch.pairRows(n * d));
      align = alignment(zh, ph, n, d);
      unif = (unif + uniformityAndKnn(ph, n, d, 2, null, 0, 0, 0, scratch)[0]) / 2;
    }
    double rank = rankMe(z, n, d, scratch);
    return new Result(align, unif, stdNormalized(zh, n, d), rank, rank / Math.min(n, d), knn, zeroRows(z, n, d));
  }

  /** Whether the first {@code size} values of {@code a} are all finite. */
  private static boolean allFinite(double[] a, int size) {
    for (int i = 0; i < size; i++) {
      if (!Double.isFinite(a[i])) {
        return false;
      }
    }
    return true;
  }

  /** Rows divided by {@code max(‖z_i‖, 1e-12)}. */
  public static double[] normalizeRows(double[] z, int n, int d) {
    return normalizeRows(z, n, d, new double[n * d]);
  }

  /** {@link #normalizeRows(double[], int, int)} into the first {@code n × d} values of {@code out}; returns it. */
  static double[] normalizeRows(double[] z, int n, int d, double[] out) {
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int k = 0; k < d; k++) {
        s += z[i * d + k] * z[i * d + k];
      }
      double inv = 1 / Math.max(Math.sqrt(s), ZERO_NORM);
      if (s == Double.POSITIVE_INFINITY) { // finite entries whose squares overflow (above about 1e154): scale first
        double max = 0;
        for (int k = 0; k < d; k++) {
          max = Math.max(max, Math.abs(z[i * d + k]));
        }
        double scaled = 0;
        for (int k = 0; k < d; k++) {
          double t = z[i * d + k] / max;
          scaled += t * t;
        }
        inv = 1 / (max * Math.sqrt(scaled));
      }
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
   * with {@code d² = max(0, ‖ẑ_i‖² + ‖ẑ_k‖² − 2⟨ẑ_i, ẑ_k⟩)} (metrics.md §1; {@code 2 − 2⟨ẑ_i, ẑ_k⟩} for unit rows, but
   * a zero row stays zero after normalisation, so all-zero embeddings give 0, complete collapse).
   */
  public static double uniformity(double[] zh, int n, int d, double t) {
    return uniformityAndKnn(zh, n, d, t, null, 0, 0, 0, new Scratch())[0];
  }

  /**
   * Rows per block of the pairwise metrics (uniformity, kNN): their work array holds {@code BLOCK × n} cosines
   * instead of {@code n × n} (metrics.md §1 and §9: block-wise above 4096 points; here at every n, with the same
   * results bit for bit). A multiple of 4, the tile size of {@link #gramStrip}.
   */
  static final int BLOCK = 256;

  /**
   * Uniformity (metrics.md §1, with {@code t}) and, when {@code labels} is not null, the leave-one-out kNN accuracy
   * (§4.1, {@code k} neighbours at {@code temperature}; NaN without labels) of the normalised rows {@code xh}, from
   * the cosines of {@link #BLOCK} rows at a time: {@code O(BLOCK·n + n·k)} memory.
   *
   * <p>Equal bit for bit to the metrics of the full Gram matrix ({@link #gram}): each cosine is the same in-order dot
   * product; uniformity visits the pairs {@code i < k} in the same order (row by row, each row's columns ascending);
   * and each row's top-k list receives its columns in ascending order as the full matrix's row scan did (the columns
   * before the current block were handed to it, ascending, while their own blocks were processed, from the symmetric
   * entries), with the same insertion, so ties still go to the lower index.
   */
  static double[] uniformityAndKnn(double[] xh, int n, int d, double t, int[] labels, int classes, int k,
      double temperature, Scratch scratch) {
    if (n < 2) {
      return new double[] {Double.NaN, Double.NaN};
    }
    boolean knn = labels != null;
    int kk = Math.min(k, n - 1);
    double[] norms = scratch.norms(n);
    for (int i = 0; i < n; i++) { // the diagonal of the Gram matrix, summed as gram sums it
      double v = 0;
      for (int q = 0; q < d; q++) {
        v += xh[i * d + q] * xh[i * d + q];
      }
      norms[i] = v;
    }
    int block = Math.min(BLOCK, n);
    double[] strip = scratch.strip(block * n);
    double[] topSim = knn ? scratch.topSim(n * kk) : null;
    int[] topIdx = knn ? scratch.topIdx(n * kk) : null;
    int[] filled = knn ? scratch.filled(n) : null;
    double[] score = knn ? new double[classes] : null;
    int correct = 0;
    // log-sum-exp with a running maximum over the pairs i < k in row order, as in the full-matrix form
    double max = Double.NEGATIVE_INFINITY;
    double sum = 0; // Σ exp(v − max) over the pairs so far
    for (int i0 = 0; i0 < n; i0 += block) {
      int i1 = Math.min(n, i0 + block);
      int w = n - i0;
      gramStrip(xh, d, i0, i1, n, strip); // strip[(i − i0)·w + (c − i0)] = ⟨x̂_i, x̂_c⟩ for c ≥ i0
      for (int i = i0; i < i1; i++) {
        int row = (i - i0) * w - i0;
        for (int c = i + 1; c < n; c++) {
          // ‖ẑ_i‖² + ‖ẑ_c‖² − 2⟨ẑ_i, ẑ_c⟩ (1 + 1 − 2⟨·,·⟩ for unit rows; a zero row has norm 0, not 1)
          double v = -t * Math.max(0, norms[i] + norms[c] - 2 * strip[row + c]);
          if (v > max) {
            sum = sum * Math.exp(max - v) + 1;
            max = v;
          } else {
            sum += Math.exp(v - max);
          }
        }
      }
      if (!knn) {
        continue;
      }
      for (int i = i0; i < i1; i++) {
        int row = (i - i0) * w - i0;
        for (int c = i0; c < n; c++) { // row i: its columns from i0 on (those before came with earlier blocks)
          if (c != i) {
            offer(topSim, topIdx, filled, kk, i, strip[row + c], c);
          }
        }
        for (int c = i1; c < n; c++) { // the rows after this block: their column i, from the symmetric entry
          offer(topSim, topIdx, filled, kk, c, strip[row + c], i);
        }
      }
      for (int q = i0; q < i1; q++) { // every column seen: the rows of this block vote
        int base = q * kk;
        Arrays.fill(score, 0);
        double maxSim = topSim[base];
        for (int r = 0; r < filled[q]; r++) {
          score[labels[topIdx[base + r]]] += Math.exp((topSim[base + r] - maxSim) / temperature);
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
    }
    double unif = max + Math.log(sum / ((double) n * (n - 1) / 2));
    return new double[] {unif, knn ? (double) correct / n : Double.NaN};
  }

  /**
   * Offers column {@code c} at cosine {@code s} to the top-{@code kk} list of row {@code q} (descending, a new value
   * after the equal ones already there, and kept once the list is full only when larger than its last): fed the
   * columns in ascending order, ties go to the lower index (metrics.md §4.1).
   */
  private static void offer(double[] topSim, int[] topIdx, int[] filled, int kk, int q, double s, int c) {
    int base = q * kk;
    int pos;
    if (filled[q] < kk) {
      pos = filled[q]++;
    } else if (s > topSim[base + kk - 1]) {
      pos = kk - 1;
    } else {
      return;
    }
    while (pos > 0 && topSim[base + pos - 1] < s) {
      topSim[base + pos] = topSim[base + pos - 1];
      topIdx[base + pos] = topIdx[base + pos - 1];
      pos--;
    }
    topSim[base + pos] = s;
    topIdx[base + pos] = c;
  }

  /**
   * Rows {@code i0 ≤ i < i1} of the Gram matrix of the {@code n × d} row-major {@code x}, columns {@code i0..n−1},
   * into {@code out} with row stride {@code n − i0}. Each entry is the plain in-order dot product, as in {@link #gram},
   * so equal to it bit for bit; the columns from each row's own 4-row tile on come in 4 × 4 tiles, those of the
   * block before the diagonal are copied from their symmetric entries.
   */
  static void gramStrip(double[] x, int d, int i0, int i1, int n, double[] out) {
    int w = n - i0;
    int tiledRows = i0 + (i1 - i0) / 4 * 4;
    for (int i = i0; i < tiledRows; i += 4) {
      int a0 = i * d;
      int a1 = a0 + d;
      int a2 = a1 + d;
      int a3 = a2 + d;
      int tiledCols = i + (n - i) / 4 * 4;
      for (int k = i; k < tiledCols; k += 4) {
        int b0 = k * d;
        int b1 = b0 + d;
        int b2 = b1 + d;
        int b3 = b2 + d;
        double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
        for (int q = 0; q < d; q++) {
          double x0 = x[a0 + q];
          double x1 = x[a1 + q];
          double x2 = x[a2 + q];
          double x3 = x[a3 + q];
          double y0 = x[b0 + q];
          double y1 = x[b1 + q];
          double y2 = x[b2 + q];
          double y3 = x[b3 + q];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
          s20 += x2 * y0;
          s21 += x2 * y1;
          s22 += x2 * y2;
          s23 += x2 * y3;
          s30 += x3 * y0;
          s31 += x3 * y1;
          s32 += x3 * y2;
          s33 += x3 * y3;
        }
        int o = (i - i0) * w + (k - i0);
        out[o] = s00;
        out[o + 1] = s01;
        out[o + 2] = s02;
        out[o + 3] = s03;
        out[o + w] = s10;
        out[o + w + 1] = s11;
        out[o + w + 2] = s12;
        out[o + w + 3] = s13;
        out[o + 2 * w] = s20;
        out[o + 2 * w + 1] = s21;
        out[o + 2 * w + 2] = s22;
        out[o + 2 * w + 3] = s23;
        out[o + 3 * w] = s30;
        out[o + 3 * w + 1] = s31;
        out[o + 3 * w + 2] = s32;
        out[o + 3 * w + 3] = s33;
      }
      for (int r = 0; r < 4; r++) { // the columns after the last whole tile
        for (int k = tiledCols; k < n; k++) {
          out[(i + r - i0) * w + (k - i0)] = dot(x, d, i + r, k);
        }
      }
    }
    for (int i = tiledRows; i < i1; i++) { // the rows after the last whole tile
      for (int k = i; k < n; k++) {
        out[(i - i0) * w + (k - i0)] = dot(x, d, i, k);
      }
    }
    for (int i = i0; i < i1; i++) { // below the diagonal of the block (the first tiles wrote some: the same values)
      for (int k = i0; k < i; k++) {
        out[(i - i0) * w + (k - i0)] = out[(k - i0) * w + (i - i0)];
      }
    }
  }

  /** {@code ⟨x_i, x_k⟩} summed over {@code q = 0..d−1} in order. */
  private static double dot(double[] x, int d, int i, int k) {
    double s = 0;
    for (int q = 0; q < d; q++) {
      s += x[i * d + q] * x[k * d + q];
    }
    return s;
  }

  /**
   * The Gram matrix {@code X Xᵀ} of the {@code n × d} row-major {@code x}, {@code n × n} row-major. Each entry is
   * summed over {@code q = 0..d−1} in order with one accumulator, exactly as a plain dot product, so it equals one
   * bit for bit; 4 × 4 tiles of rows give the processor 16 independent sums instead of one dependency chain, and the
   * symmetry halves the work.
   */
  public static double[] gram(double[] x, int n, int d) {
    return gram(x, n, d, new double[n * n]);
  }

  /**
   * {@link #gram(double[], int, int)} into the first {@code n × n} values of {@code g}; returns it: the whole matrix
   * as one strip ({@link #gramStrip} with rows {@code 0..n−1}, row stride {@code n}).
   */
  static double[] gram(double[] x, int n, int d, double[] g) {
    gramStrip(x, d, 0, n, n, g);
    return g;
  }

  /** {@code sqrt(d) · mean_k σ_k} with {@code σ_k} the unbiased per-dimension std of normalised rows (§2). */
  public static double stdNormalized(double[] zh, int n, int d) {
    return n < 2 ? Double.NaN : Math.sqrt(d) * columnStdSum(zh, n, d) / d;
  }

  /**
   * The mean cosine of each row of {@code z1} with the same row of {@code z2} (n rows of d): for two views' outputs,
   * how well the views of one image agree (1: identical directions). NaN for a zero or non-finite row.
   */
  public static double crossViewCosine(double[] z1, double[] z2, int n, int d) {
    if (z1.length != (long) n * d || z2.length != (long) n * d) {
      throw new IllegalArgumentException("expected two views of " + n + "x" + d + " values, got " + z1.length
          + " and " + z2.length);
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      double dot = 0;
      double a = 0;
      double b = 0;
      for (int k = 0; k < d; k++) {
        double x = z1[i * d + k];
        double y = z2[i * d + k];
        dot += x * y;
        a += x * x;
        b += y * y;
      }
      sum += dot / Math.sqrt(a * b);
    }
    return sum / n;
  }

  /**
   * The mean cosine between different rows of l2-normalised {@code zh} (n ≥ 2 rows of d):
   * {@code (‖Σ_i ẑ_i‖² − n) / (n(n − 1))}, O(n·d). 1 when every row points one way; about 0 for spread rows.
   */
  public static double crossImageCosine(double[] zh, int n, int d) {
    if (n < 2) {
      return Double.NaN;
    }
    double squared = 0;
    for (int k = 0; k < d; k++) {
      double column = 0;
      for (int i = 0; i < n; i++) {
        column += zh[i * d + k];
      }
      squared += column * column;
    }
    return (squared - n) / ((double) n * (n - 1));
  }

  /** {@code Σ_k σ_k}, the unbiased std of each of the {@code d} columns summed (n ≥ 2). */
  private static double columnStdSum(double[] z, int n, int d) {
    double sum = 0;
    for (int k = 0; k < d; k++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += z[i * d + k];
      }
      mean /= n;
      double var = 0;
      for (int i = 0; i < n; i++) {
        double x = z[i * d + k] - mean;
        var += x * x;
      }
      sum += Math.sqrt(var / (n - 1));
    }
    return sum;
  }

  /**
   * The trainer's collapse statistics of one batch of outputs ({@link #batchCollapse}).
   *
   * @param stdNormalized  {@link #stdOfNormalizedRows}: 1 for orthonormal rows, 0 for rows pointing one way
   * @param effectiveRank  {@link #participationRatio}: d for d orthonormal rows, 1 for rows pointing one way (NaN
   *                       when not computed)
   * @param rankMe         RankMe (metrics.md §3.1) of the l2-normalised rows after centring each column: the
   *                       effective number of directions the batch spreads over, 1 when the rows lie on one line
   *                       through their mean (NaN when not computed)
   * @param scale          the mean per-dimension std of the raw rows (unbiased): 0 when all rows are one point,
   *                       whatever its direction; in the outputs' own units, so judged against its own history
   * @param crossImageCosine {@link #crossImageCosine}: the mean cosine between different rows, 1 when they point one
   *                       way
   */
  public record BatchCollapse(double stdNormalized, double effectiveRank, double rankMe, double scale,
      double crossImageCosine) {
  }

  /** {@link #batchCollapse(double[], int, int, boolean)} with the spectral statistics. */
  public static BatchCollapse batchCollapse(double[] z, int n, int d) {
    return batchCollapse(z, n, d, true);
  }

  /**
   * The collapse statistics of the raw batch outputs {@code z} (n rows of d), from one normalisation. Without
   * {@code spectral} only the O(n·d) ones ({@code stdNormalized}, {@code scale}, {@code crossImageCosine}); with it
   * also the participation ratio and the centred RankMe, O(n·d²) plus a d × d eigen-decomposition (a 256 × 128
   * batch: about 2 ms).
   * Non-finite outputs give NaN throughout.
   */
  public static BatchCollapse batchCollapse(double[] z, int n, int d, boolean spectral) {
    if (z.length != (long) n * d) {
      throw new IllegalArgumentException("expected " + n + "x" + d + " values, got " + z.length);
    }
    for (double v : z) {
      if (!Double.isFinite(v)) {
        return new BatchCollapse(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
      }
    }
    double[] zh = normalizeRows(z, n, d);
    double std = stdNormalized(zh, n, d);
    double scale = meanColumnStd(z, n, d);
    double crossImage = crossImageCosine(zh, n, d);
    if (!spectral) {
      return new BatchCollapse(std, Double.NaN, Double.NaN, scale, crossImage);
    }
    double pr = participationRatioOfNormalized(zh, n, d);
    centreColumns(zh, n, d);
    double rank;
    try {
      rank = rankMe(zh, n, d, new Scratch());
    } catch (IllegalStateException e) {
      rank = Double.NaN; // the eigen-decomposition did not converge
    }
    return new BatchCollapse(std, pr, rank, scale, crossImage);
  }

  /** The mean over columns of each column's unbiased std; NaN for fewer than two rows. */
  static double meanColumnStd(double[] z, int n, int d) {
    return n < 2 ? Double.NaN : columnStdSum(z, n, d) / d;
  }

  /** Subtracts each column's mean, in place. */
  static void centreColumns(double[] z, int n, int d) {
    for (int k = 0; k < d; k++) {
      double mean = 0;
      for (int i = 0; i < n; i++) {
        mean += z[i * d + k];
      }
      mean /= n;
      for (int i = 0; i < n; i++) {
        z[i * d + k] -= mean;
      }
    }
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
    double[] g = columnGram(zh, n, d); // the d x d second-moment matrix
    double trace = 0;
    double frob = 0;
    for (int a = 0; a < d; a++) {
      trace += g[a * d + a];
      for (int b = 0; b < d; b++) {
        frob += g[a * d + b] * g[a * d + b];
      }
    }
    return frob > 0 ? trace * trace / frob : Double.NaN;
  }

  /** {@code ZᵀZ} ({@code d × d}) of the {@code n × d} row-major {@code z}: the {@link #gram} of its columns. */
  static double[] columnGram(double[] z, int n, int d) {
    return columnGram(z, n, d, new double[d * n], new double[d * d]);
  }

  /**
   * {@link #columnGram(double[], int, int)} with the transposed copy in the first {@code d × n} values of
   * {@code columns} and the result in the first {@code d × d} of {@code g}; returns {@code g}.
   */
  static double[] columnGram(double[] z, int n, int d, double[] columns, double[] g) {
    for (int i = 0; i < n; i++) { // the columns as rows, each summed over i in order
      for (int q = 0; q < d; q++) {
        columns[q * n + i] = z[i * d + q];
      }
    }
    return gram(columns, d, n, g);
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
   * from the eigenvalues of the d×d Gram matrix {@code ZᵀZ} (or {@code ZZᵀ} when n < d). All-zero Z gives 1; a NaN
   * or infinite value gives NaN.
   */
  public static double rankMe(double[] z, int n, int d) {
    return rankMe(z, n, d, new Scratch());
  }

  private static double rankMe(double[] z, int n, int d, Scratch scratch) {
    if (!allFinite(z, n * d)) {
      return Double.NaN;
    }
    double max = 0;
    for (int i = 0; i < n * d; i++) {
      max = Math.max(max, Math.abs(z[i]));
    }
    if (max > 1e150 || (max > 0 && max < 1e-150)) {
      // RankMe is scale-invariant: rescale values whose Gram matrix would overflow (or underflow) in float64
      double[] scaled = new double[n * d];
      for (int i = 0; i < n * d; i++) {
        scaled[i] = z[i] / max;
      }
      z = scaled;
    }
    double[] sv = singularValues(z, n, d, scratch);
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
    return singularValues(z, n, d, new Scratch());
  }

  /** {@link #singularValues(double[], int, int)} with the Gram matrix in the arrays of {@code scratch}. */
  public static double[] singularValues(double[] z, int n, int d, Scratch scratch) {
    boolean wide = n < d;
    int m = wide ? n : d;
    double[] gram = wide
        ? gram(z, n, d, scratch.pairwise(n * n))
        : columnGram(z, n, d, scratch.columns(d * n), scratch.columnGram(d * d));
    double[] sv = descendingEigenvalues(gram, m);
    for (int k = 0; k < m; k++) {
      sv[k] = Math.sqrt(sv[k]);
    }
    return sv;
  }

  /**
   * The eigenvalues of the symmetric {@code m × m} matrix in the first {@code m × m} values of {@code a} (row-major),
   * negative ones clamped to 0, in descending order. A row (and column) of exact zeros, a dead unit's, is an
   * eigenvalue 0 on its own; those are taken out before EJML's symmetric QR, which at 0.44 fails to converge on some
   * matrices with many of them (a 256-wide layer with 24 live units, as VICReg without its variance term leaves).
   *
   * @throws IllegalStateException when the eigen-decomposition does not converge
   */
  static double[] descendingEigenvalues(double[] a, int m) {
    int[] live = new int[m];
    int k = 0;
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        if (a[i * m + j] != 0) {
          live[k++] = i;
          break;
        }
      }
    }
    double[] ev = new double[m]; // the m − k dead rows' eigenvalues stay 0
    if (k > 0) {
      double[] sub = a;
      if (k < m) {
        sub = new double[k * k];
        for (int i = 0; i < k; i++) {
          for (int j = 0; j < k; j++) {
            sub[i * k + j] = a[live[i] * m + live[j]];
          }
        }
      }
      DMatrixRMaj g = DMatrixRMaj.wrap(k, k, sub); // EJML reads the first k × k values of a longer array
      EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(k, false, true);
      if (!eig.decompose(g)) {
        throw new IllegalStateException("eigen-decomposition of the " + m + "x" + m + " Gram matrix failed"
            + (k < m ? " (" + k + " rows not zero)" : ""));
      }
      for (int i = 0; i < k; i++) {
        ev[i] = Math.max(0, eig.getEigenvalue(i).getReal());
      }
    }
    Arrays.sort(ev);
    for (int i = 0; i < m / 2; i++) {
      double t = ev[i];
      ev[i] = ev[m - 1 - i];
      ev[m - 1 - i] = t;
    }
    return ev;
  }

  /** The positions {@code q} of the covariance spectrum's exported eigenvalues, {@code k = ⌈q·m⌉} (metrics.md §3.2). */
  public static final double[] SPECTRUM_Q = {0.125, 0.25, 0.5, 0.75, 1};
  /** The {@code q} label values of {@link #SPECTRUM_Q}. */
  public static final List<String> SPECTRUM_Q_LABELS = List.of("0.125", "0.25", "0.5", "0.75", "1");
  /** The thresholds {@code τ} of the collapsed-dimension counts (metrics.md §3.2). */
  public static final double[] COLLAPSE_TAU = {1e-3, 1e-6};
  /** The {@code tau} label values of {@link #COLLAPSE_TAU}. */
  public static final List<String> COLLAPSE_TAU_LABELS = List.of("1e-3", "1e-6");
  /** The floor of {@code λ_k/λ_1} before its log10 (metrics.md §3.2): a zero eigenvalue exports −30. */
  public static final double SPECTRUM_RATIO_FLOOR = 1e-30;
  /**
   * {@code λ_1} at or below this fraction of the mean squared row norm {@code (1/n) Σ_i ‖z_i‖²} counts as 0: rows
   * equal up to the rounding of centring (about {@code ε² ≈ 5e-32} of it after the corrected mean) rather than rows
   * that differ (one float32 ulp in one entry of 10,000 × 512 rows: about {@code 1e-21}).
   */
  static final double SPECTRUM_ZERO = 1e-28;

  /**
   * The covariance spectrum of the probe embeddings (metrics.md §3.2, Jing et al. 2022).
   *
   * @param dims          {@code m = min(n − 1, d)}, the eigenvalues the n rows determine (after centring
   *                      {@code rank(Cov) ≤ n − 1}): {@code d} when {@code n > d}; with {@code n ≤ d} the
   *                      {@code d − n + 1} eigenvalues that are 0 whatever the embeddings are left out (0 for
   *                      {@code n < 2})
   * @param log10Ratios   {@code log10(max(λ_k/λ_1, 1e-30))} at {@code k = ⌈q·m⌉} for each {@link #SPECTRUM_Q}: 0 at
   *                      {@code k = 1}, falling with k, −30 for a zero eigenvalue (one within the eigen-solver's
   *                      rounding, {@code λ_k ≤ size·ε·λ_1}, counts as zero); NaN when {@code λ_1 = 0} (all rows
   *                      equal), for NaN or infinite input, or {@code n < 2}
   * @param collapsedDims {@code #{k ≤ m : λ_k < τ·λ_1}} for each {@link #COLLAPSE_TAU}: {@code m} when
   *                      {@code λ_1 = 0} (every direction collapsed); NaN for NaN or infinite input or {@code n < 2}
   */
  public record Spectrum(int dims, double[] log10Ratios, double[] collapsedDims) {
  }

  /** {@link #spectrum(double[], int, int, Scratch)} in fresh arrays. */
  public static Spectrum spectrum(double[] z, int n, int d) {
    return spectrum(z, n, d, new Scratch());
  }

  /**
   * The spectrum of {@code Cov = (1/n) Σ (z_i − z̄)(z_i − z̄)ᵀ} of the {@code n × d} row-major {@code z} (metrics.md
   * §3.2): the eigenvalues of the d × d {@code XᵀX} of the centred rows X, or, when {@code n ≤ d}, of the smaller
   * n × n {@code XXᵀ} (the same nonzero eigenvalues), in the arrays of {@code scratch}. {@code O(n·d·min(n, d))} plus
   * one {@code min(n, d)}-square eigen-decomposition; the ratios do not depend on the 1/n or on the scale of z.
   *
   * @throws IllegalStateException when the eigen-decomposition does not converge
   */
  public static Spectrum spectrum(double[] z, int n, int d, Scratch scratch) {
    int m = Math.max(0, Math.min(n - 1, d));
    double[] nan = new double[SPECTRUM_Q.length];
    Arrays.fill(nan, Double.NaN);
    double[] nanCounts = new double[COLLAPSE_TAU.length];
    Arrays.fill(nanCounts, Double.NaN);
    if (m == 0 || !allFinite(z, n * d)) {
      return new Spectrum(m, nan, nanCounts);
    }
    double max = 0;
    for (int i = 0; i < n * d; i++) {
      max = Math.max(max, Math.abs(z[i]));
    }
    double[] collapsedAll = new double[COLLAPSE_TAU.length];
    Arrays.fill(collapsedAll, m);
    if (max == 0) {
      return new Spectrum(m, nan, collapsedAll); // all-zero rows: λ_1 = 0
    }
    // scaled by a power of two (exact) so that the products neither overflow nor underflow
    double f = Math.scalb(1.0, -Math.getExponent(max));
    // X transposed (d × n), centred column by column; the mean corrected by the mean of the first residuals, so that
    // equal values centre to 0 up to an ulp rather than up to n ulps
    double[] x = scratch.columns(d * n);
    double second = 0; // Σ_i ‖f·z_i‖², n times the mean squared norm, as the eigenvalues of XᵀX are n times λ
    for (int q = 0; q < d; q++) {
      double sum = 0;
      for (int i = 0; i < n; i++) {
        double v = f * z[i * d + q];
        x[q * n + i] = v;
        sum += v;
        second += v * v;
      }
      double mean = sum / n;
      double residual = 0;
      for (int i = 0; i < n; i++) {
        residual += x[q * n + i] - mean;
      }
      mean += residual / n;
      for (int i = 0; i < n; i++) {
        x[q * n + i] -= mean;
      }
    }
    double[] ev;
    if (n > d) {
      ev = descendingEigenvalues(gram(x, d, n, scratch.columnGram(d * d)), d);
    } else {
      double[] g = scratch.pairwise(n * n);
      Arrays.fill(g, 0, n * n, 0);
      for (int q = 0; q < d; q++) { // XXᵀ, upper triangle, one column of X at a time
        int c = q * n;
        for (int i = 0; i < n; i++) {
          double xi = x[c + i];
          for (int j = i; j < n; j++) {
            g[i * n + j] += xi * x[c + j];
          }
        }
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
          g[i * n + j] = g[j * n + i];
        }
      }
      ev = descendingEigenvalues(g, n); // the last is the one the centring makes 0: only the first m are kept
    }
    double top = ev[0];
    if (!(top > SPECTRUM_ZERO * second)) {
      return new Spectrum(m, nan, collapsedAll); // all rows equal (to rounding): λ_1 = 0
    }
    // eigenvalues within the solver's rounding of λ_1 (size·ε·λ_1, below float32 noise and both τ) are 0, as are the
    // negative ones: an exactly rank-r spectrum exports −30 after its r-th value rather than rounding noise
    double resolution = ev.length * Math.ulp(1.0) * top;
    for (int k = 0; k < ev.length; k++) {
      if (ev[k] <= resolution) {
        ev[k] = 0;
      }
    }
    double[] ratios = new double[SPECTRUM_Q.length];
    for (int j = 0; j < SPECTRUM_Q.length; j++) {
      int k = Math.max(1, (int) Math.ceil(SPECTRUM_Q[j] * m));
      ratios[j] = Math.log10(Math.max(ev[k - 1] / top, SPECTRUM_RATIO_FLOOR));
    }
    double[] collapsed = new double[COLLAPSE_TAU.length];
    for (int j = 0; j < COLLAPSE_TAU.length; j++) {
      int count = 0;
      for (int k = 0; k < m; k++) {
        if (ev[k] < COLLAPSE_TAU[j] * top) {
          count++;
        }
      }
      collapsed[j] = count;
    }
    return new Spectrum(m, ratios, collapsed);
  }

  /**
   * Leave-one-out weighted cosine kNN accuracy on normalised rows (metrics.md §4.1): the bank is the probe set itself
   * without the query; class score {@code Σ exp(s_i / T)} over the top-k (ties to the lower index, then lower class).
   */
  public static double knnAccuracy(double[] zh, int n, int d, int[] labels, int classes, int k, double temperature) {
    return uniformityAndKnn(zh, n, d, 2, labels, classes, k, temperature, new Scratch())[1];
  }
}
