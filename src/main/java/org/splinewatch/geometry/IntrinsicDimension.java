package org.splinewatch.geometry;

import java.util.Arrays;
import org.splinewatch.embedding.EmbeddingMetrics;

/** Intrinsic dimension estimators of a point cloud {@code x} ({@code n × d}, row-major). */
public final class IntrinsicDimension {
  /** Below this many usable points the TwoNN estimate is undefined (metrics.md §5.1). */
  public static final int MIN_GOOD_POINTS = 20;

  private IntrinsicDimension() {
  }

  /**
   * TwoNN result.
   *
   * @param dimension         the estimate, NaN when fewer than {@link #MIN_GOOD_POINTS} usable points remain
   * @param goodPoints        points kept (nearest neighbour at a positive distance, no tie with the second)
   * @param duplicateFraction fraction of points whose nearest neighbour is at distance 0
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
    double[] r1 = new double[n];
    double[] r2 = new double[n];
    Arrays.fill(r1, Double.POSITIVE_INFINITY);
    Arrays.fill(r2, Double.POSITIVE_INFINITY);
    for (int i = 0; i < n; i++) {
      int oi = i * d;
      for (int j = i + 1; j < n; j++) {
        int oj = j * d;
        double s = 0;
        for (int k = 0; k < d; k++) {
          double t = x[oi + k] - x[oj + k];
          s += t * t;
        }
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
    double[] z = new double[n * m];
    for (int i = 0; i < n; i++) {
      for (int q = 0; q < m; q++) {
        int k = kept[q];
        z[i * m + q] = (x[i * d + k] - mean[k]) / sd[k];
      }
    }
    // eigenvalues of the correlation matrix are the squared singular values of z (up to 1/(n−1))
    double[] sv = EmbeddingMetrics.singularValues(z, n, m);
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
}
