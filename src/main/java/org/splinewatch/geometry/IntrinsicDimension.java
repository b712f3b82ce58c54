package org.splinewatch.geometry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.splinewatch.embedding.EmbeddingMetrics;

/** Intrinsic dimension estimators of a point cloud {@code x} ({@code n × d}, row-major). */
public final class IntrinsicDimension {
  /** Below this many usable points the TwoNN estimate is undefined (metrics.md §5.1). */
  public static final int MIN_GOOD_POINTS = 20;
  /** Rows of distances per block in {@link #twoNn}: its work array holds {@code BLOCK × n} values, not n × n. */
  static final int BLOCK = 256;

  private IntrinsicDimension() {
  }

  /**
   * Work arrays kept between calls of {@link #twoNn} and {@link #pcaDimension}, so that a caller measuring one layer
   * after another allocates its {@code BLOCK × n} distances and {@code n × d} standardised data once instead of per
   * call. Each array grows only when a call needs more than it holds. Not thread-safe: one per thread of work (each
   * analyzer owns one, and an analyzer is run by one actor at a time).
   */
  public static final class Scratch {
    private double[] distances = new double[0]; // BLOCK × n: one block of rows of the distances, upper triangle
    private double[] standardized = new double[0]; // n × m
    private double[] blockRows = new double[0]; // ⌊n/b⌋ × d: the rows of one block of the block analysis
    private final EmbeddingMetrics.Scratch singularValues = new EmbeddingMetrics.Scratch();

    double[] distances(int size) {
      return distances = distances.length >= size ? distances : new double[size];
    }

    double[] blockRows(int size) {
      return blockRows = blockRows.length >= size ? blockRows : new double[size];
    }

    double[] standardized(int size) {
      return standardized = standardized.length >= size ? standardized : new double[size];
    }
  }

  /**
   * TwoNN result.
   *
   * @param dimension         the estimate, NaN when fewer than {@link #MIN_GOOD_POINTS} usable points remain or a
   *                          value is NaN or infinite
   * @param goodPoints        points kept (nearest neighbour at a positive distance, no tie with the second)
   * @param duplicateFraction fraction of points whose nearest neighbour is at distance 0 (NaN for non-finite values)
   */
  public record TwoNn(double dimension, int goodPoints, double duplicateFraction) {
  }

  /**
   * TwoNN (Facco et al. 2017, the protocol of metrics.md §5.1): {@code μ = r2/r1} per point; points with
   * {@code r1 = 0} (duplicates) or {@code r1 = r2} (ties) are dropped; the 10 % largest {@code μ} are discarded; the
   * dimension is the least-squares slope through the origin of {@code −log(1 − F)} against {@code log μ}. Distances are
   * computed from coordinate differences, so identical rows are exactly at distance 0.
   */
  public static TwoNn twoNn(double[] x, int n, int d) {
    return twoNn(x, n, d, new Scratch());
  }

  /** {@link #twoNn(double[], int, int)} with the pairwise distances in the arrays of {@code scratch}. */
  public static TwoNn twoNn(double[] x, int n, int d, Scratch scratch) {
    if (!allFinite(x, n * d)) {
      return new TwoNn(Double.NaN, 0, Double.NaN); // overflowed activations: no distances to measure
    }
    x = rescaledIfHuge(x, n * d); // the estimate uses distance ratios only
    double[] r1 = new double[n];
    double[] r2 = new double[n];
    Arrays.fill(r1, Double.POSITIVE_INFINITY);
    Arrays.fill(r2, Double.POSITIVE_INFINITY);
    // the distances BLOCK rows at a time (metrics.md §5.1 and §9: O(n) state, here O(BLOCK·n)), the pairs i < j
    // visited in the same order as in the full matrix
    int block = Math.max(1, Math.min(BLOCK, n));
    double[] dist = scratch.distances(block * n);
    for (int i0 = 0; i0 < n; i0 += block) {
      int i1 = Math.min(n, i0 + block);
      int w = n - i0;
      squaredDistanceStrip(x, d, i0, i1, n, dist);
      for (int i = i0; i < i1; i++) {
        int row = (i - i0) * w - i0;
        for (int j = i + 1; j < n; j++) {
          double s = dist[row + j];
          insert(r1, r2, i, s);
          insert(r1, r2, j, s);
        }
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
    if (good < MIN_GOOD_POINTS) {
      return new TwoNn(Double.NaN, good, dupFraction);
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
    return new TwoNn(sxx > 0 ? sxy / sxx : Double.NaN, good, dupFraction);
  }

  /**
   * The random split of the TwoNN block analysis (metrics.md §5.1), drawn once and kept for the whole run so that
   * every snapshot's blocks hold the same probes (metrics.md §9): for each block count {@code b} its own permutation
   * of {@code 0..n−1}; block {@code k} is positions {@code k·m .. (k+1)·m − 1} of it, {@code m = ⌊n/b⌋}; the
   * {@code n − b·m} points after the last block are left out (as in Ansuini et al.'s {@code block_analysis}).
   *
   * @param n      points
   * @param blocks the block counts {@code b}, each at least 1
   * @param order  per block count, a permutation of {@code 0..n−1}
   */
  public record BlockSplit(int n, int[] blocks, int[][] order) {
    public BlockSplit {
      if (n < 0 || blocks.length != order.length) {
        throw new IllegalArgumentException("block split: " + n + " points, " + blocks.length + " block counts and "
            + order.length + " permutations");
      }
      blocks = blocks.clone();
      order = order.clone();
      for (int i = 0; i < blocks.length; i++) {
        if (blocks[i] < 1 || order[i].length != n) {
          throw new IllegalArgumentException("block split: block count " + blocks[i] + " with a permutation of "
              + order[i].length + " for " + n + " points; expected a count >= 1 and a permutation of all points");
        }
        order[i] = order[i].clone();
      }
    }

    /**
     * The split drawn from {@code seed}: the permutation of block count {@code b} depends only on {@code seed},
     * {@code b} and {@code n} (Fisher–Yates with a {@link SplittableRandom} seeded from both), so listing other block
     * counts does not change it.
     */
    public static BlockSplit of(int n, int[] blocks, long seed) {
      int[][] order = new int[blocks.length][];
      for (int i = 0; i < blocks.length; i++) {
        SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (blocks[i] + 1L)));
        int[] p = new int[n];
        for (int j = 0; j < n; j++) {
          p[j] = j;
        }
        for (int j = n - 1; j > 0; j--) {
          int k = r.nextInt(j + 1);
          int t = p[j];
          p[j] = p[k];
          p[k] = t;
        }
        order[i] = p;
      }
      return new BlockSplit(n, blocks, order);
    }
  }

  /**
   * One block count of the block analysis.
   *
   * @param blocks    {@code b}
   * @param blockSize {@code ⌊n/b⌋}, the points per block
   * @param mean      mean of the {@code b} TwoNN estimates; NaN when any block's is NaN (fewer than
   *                  {@link #MIN_GOOD_POINTS} usable points, or a non-finite value), so that a mean is always over all
   *                  {@code b} blocks
   * @param std       their standard deviation (population, divided by {@code b} as numpy's {@code np.std}; 0 for
   *                  {@code b = 1}); NaN with the mean
   */
  public record BlockDimension(int blocks, int blockSize, double mean, double std) {
  }

  /**
   * TwoNN block analysis, the scale check of metrics.md §5.1: for each block count {@code b} of {@code split}, the
   * TwoNN estimate of each of its {@code b} blocks of {@code ⌊n/b⌋} points, as mean ± std. A plateau across block
   * sizes means the ID is stable at that scale; a strong trend means noise or curvature dominates. Blocks smaller
   * than {@link #MIN_GOOD_POINTS} are NaN without computing anything. Cost: {@code n²d·Σ 1/b} for the pairwise
   * distances ({@code b = 1} is the full TwoNN, equal to {@link #twoNn} on the same points).
   */
  public static List<BlockDimension> twoNnBlocks(double[] x, int n, int d, BlockSplit split, Scratch scratch) {
    return twoNnBlocks(x, n, d, split, scratch, null);
  }

  /**
   * {@link #twoNnBlocks(double[], int, int, BlockSplit, Scratch)} reusing {@code whole}, the {@link #twoNn} of the
   * same {@code x} (null: none), for {@code b = 1}: one block of all {@code n} points in another order has the same
   * distances, nearest neighbours and ratios, so the same estimate bit for bit; this halves the cost of the default
   * block counts ({@code Σ 1/b} = 1.99 → 0.99 full TwoNN).
   */
  public static List<BlockDimension> twoNnBlocks(double[] x, int n, int d, BlockSplit split, Scratch scratch,
      TwoNn whole) {
    if (split.n() != n) {
      throw new IllegalArgumentException("block split of " + split.n() + " points for " + n);
    }
    boolean finite = allFinite(x, n * d);
    List<BlockDimension> out = new ArrayList<>(split.blocks().length);
    for (int i = 0; i < split.blocks().length; i++) {
      int b = split.blocks()[i];
      int m = n / b;
      if (!finite || m < MIN_GOOD_POINTS) {
        out.add(new BlockDimension(b, m, Double.NaN, Double.NaN));
        continue;
      }
      if (b == 1 && whole != null) {
        out.add(new BlockDimension(1, n, whole.dimension(), Double.isNaN(whole.dimension()) ? Double.NaN : 0));
        continue;
      }
      int[] order = split.order()[i];
      double[] ids = new double[b];
      boolean defined = true;
      for (int k = 0; k < b && defined; k++) {
        double[] rows = scratch.blockRows(m * d);
        for (int r = 0; r < m; r++) {
          System.arraycopy(x, order[k * m + r] * d, rows, r * d, d);
        }
        ids[k] = twoNn(rows, m, d, scratch).dimension();
        defined = !Double.isNaN(ids[k]);
      }
      if (!defined) {
        out.add(new BlockDimension(b, m, Double.NaN, Double.NaN));
        continue;
      }
      double mean = 0;
      for (double v : ids) {
        mean += v;
      }
      mean /= b;
      double ss = 0;
      for (double v : ids) {
        ss += (v - mean) * (v - mean);
      }
      out.add(new BlockDimension(b, m, mean, Math.sqrt(ss / b)));
    }
    return out;
  }

  /**
   * {@code x} itself, or for values too large to square in float64 (above 1e150, a diverging network) a copy divided
   * by the largest magnitude, for the estimators here, which do not depend on a global scale.
   */
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

  /** Whether the first {@code size} values of {@code x} are all finite. */
  public static boolean allFinite(double[] x, int size) {
    for (int i = 0; i < size; i++) {
      if (!Double.isFinite(x[i])) {
        return false;
      }
    }
    return true;
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

  /**
   * PC-ID: standardise each feature (constant features are dropped), then the smallest number of principal
   * components whose cumulative explained-variance ratio reaches {@code fraction} (0.9 in metrics.md §5.1). 0 when
   * every feature is constant.
   */
  public static int pcaDimension(double[] x, int n, int d, double fraction) {
    return pcaDimension(x, n, d, fraction, new Scratch());
  }

  /** {@link #pcaDimension(double[], int, int, double)} with its matrices in the arrays of {@code scratch}. */
  public static int pcaDimension(double[] x, int n, int d, double fraction, Scratch scratch) {
    x = rescaledIfHuge(x, n * d); // the features are standardised
    double[] mean = new double[d];
    double[] sd = new double[d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        mean[k] += x[i * d + k];
      }
    }
    for (int k = 0; k < d; k++) {
      mean[k] /= n;
    }
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        double t = x[i * d + k] - mean[k];
        sd[k] += t * t;
      }
    }
    int[] kept = new int[d];
    int m = 0;
    for (int k = 0; k < d; k++) {
      sd[k] = Math.sqrt(sd[k] / Math.max(1, n - 1));
      if (sd[k] > 1e-12 * Math.max(1, Math.abs(mean[k]))) {
        kept[m++] = k;
      }
    }
    if (m == 0 || n < 2) {
      return 0;
    }
    // standardised data z (n × m); its correlation matrix C = zᵀz/(n−1) has trace m
    double[] z = scratch.standardized(n * m);
    for (int i = 0; i < n; i++) {
      for (int q = 0; q < m; q++) {
        int k = kept[q];
        z[i * m + q] = (x[i * d + k] - mean[k]) / sd[k];
      }
    }
    // eigenvalues of the correlation matrix are the squared singular values of z (up to 1/(n−1))
    double[] sv = EmbeddingMetrics.singularValues(z, n, m, scratch.singularValues);
    int s = sv.length;
    double[] ev = new double[s];
    double total = 0;
    for (int k = 0; k < s; k++) {
      ev[k] = sv[k] * sv[k];
      total += ev[k];
    }
    Arrays.sort(ev);
    double cum = 0;
    for (int k = 0; k < s; k++) {
      cum += ev[s - 1 - k];
      if (cum >= fraction * total * (1 - 1e-12)) {
        return k + 1;
      }
    }
    return s;
  }

  /**
   * Squared Euclidean distances {@code ‖x_i − x_j‖²} for {@code i < j}, in the upper triangle of an {@code n × n}
   * row-major array (tests; {@link #twoNn} takes them {@link #BLOCK} rows at a time). Each is summed over
   * {@code k = 0..d−1} in order with one accumulator, exactly as the plain loop (no {@code ‖x‖² + ‖y‖² − 2x·y}, which
   * cancels for near neighbours); 4 × 4 tiles of rows give the processor 16 independent sums instead of one
   * dependency chain.
   */
  static double[] squaredDistances(double[] x, int n, int d) {
    return squaredDistances(x, n, d, new double[n * n]);
  }

  /**
   * {@link #squaredDistances(double[], int, int)} into {@code out} (at least {@code n × n}); returns it. Only the upper
   * triangle is written: the diagonal, the lower triangle and the tail keep what they held.
   */
  static double[] squaredDistances(double[] x, int n, int d, double[] out) {
    squaredDistanceStrip(x, d, 0, n, n, out);
    return out;
  }

  /**
   * Rows {@code i0 ≤ i < i1} of {@link #squaredDistances}: {@code ‖x_i − x_j‖²} for {@code i < j < n} at
   * {@code out[(i − i0)·(n − i0) + (j − i0)]}, each the same in-order sum; the rest of {@code out} keeps what it held.
   */
  static void squaredDistanceStrip(double[] x, int d, int i0, int i1, int n, double[] out) {
    int w = n - i0;
    int tiledRows = i0 + (i1 - i0) / 4 * 4;
    for (int i = i0; i < tiledRows; i += 4) {
      int a0 = i * d;
      int a1 = a0 + d;
      int a2 = a1 + d;
      int a3 = a2 + d;
      int tiledCols = i + 4 + Math.max(0, n - i - 4) / 4 * 4;
      for (int j = i + 4; j < tiledCols; j += 4) {
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
        int r0 = (i - i0) * w + (j - i0);
        out[r0] = s00;
        out[r0 + 1] = s01;
        out[r0 + 2] = s02;
        out[r0 + 3] = s03;
        out[r0 + w] = s10;
        out[r0 + w + 1] = s11;
        out[r0 + w + 2] = s12;
        out[r0 + w + 3] = s13;
        out[r0 + 2 * w] = s20;
        out[r0 + 2 * w + 1] = s21;
        out[r0 + 2 * w + 2] = s22;
        out[r0 + 2 * w + 3] = s23;
        out[r0 + 3 * w] = s30;
        out[r0 + 3 * w + 1] = s31;
        out[r0 + 3 * w + 2] = s32;
        out[r0 + 3 * w + 3] = s33;
      }
      for (int r = 0; r < 4; r++) { // the diagonal tile and the columns after the last whole tile, the plain way
        for (int j = i + r + 1; j < i + 4; j++) {
          out[(i + r - i0) * w + (j - i0)] = squaredDistance(x, d, i + r, j);
        }
        for (int j = tiledCols; j < n; j++) {
          out[(i + r - i0) * w + (j - i0)] = squaredDistance(x, d, i + r, j);
        }
      }
    }
    for (int i = tiledRows; i < i1; i++) { // the rows after the last whole tile, the plain way
      for (int j = i + 1; j < n; j++) {
        out[(i - i0) * w + (j - i0)] = squaredDistance(x, d, i, j);
      }
    }
  }

  /** {@code ‖x_i − x_j‖²} summed over {@code k = 0..d−1} in order. */
  private static double squaredDistance(double[] x, int d, int i, int j) {
    double s = 0;
    for (int k = 0; k < d; k++) {
      double t = x[i * d + k] - x[j * d + k];
      s += t * t;
    }
    return s;
  }
}
