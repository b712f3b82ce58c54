package org.splinewatch.embedding;

/**
 * The first two principal components of a set of embeddings, for a 2D view: rows are centred, the covariance
 * {@code C = XᵀX/n} is formed ({@code d × d}; with more dimensions than rows, the {@code n × n} Gram matrix instead)
 * and its two leading eigenvectors found by power iteration with deflation. Each axis's sign is fixed so that its
 * largest-magnitude entry is positive, so consecutive snapshots do not flip at random.
 */
public final class Pca2 {
  private static final int ITERATIONS = 300;

  private Pca2() {
  }

  /**
   * Projects the {@code n × d} row-major {@code z} onto its first two principal axes: {@code [x0, y0, x1, y1, …]}.
   * A degenerate set (all rows equal, or rank one) gives zeros on the missing axes.
   */
  public static double[] project(double[] z, int n, int d) {
    return project(z, n, d, d > n);
  }

  /**
   * As above; {@code gram}: find the axes through the {@code n × n} Gram matrix {@code K = X_c X_cᵀ} instead of the
   * {@code d × d} covariance. Both have the same nonzero eigenvalues, and an eigenvector {@code u} of K gives the
   * covariance's axis {@code X_cᵀu / |X_cᵀu|}; with more dimensions than rows that needs n² values instead of d²
   * (a layer 65,536 wide would need 34 GB, and d² overflows an array index past 46,340).
   */
  static double[] project(double[] z, int n, int d, boolean gram) {
    if (n <= 0 || d <= 0 || z.length != (long) n * d) {
      throw new IllegalArgumentException("expected " + n + " x " + d + " values, got " + z.length);
    }
    double[] mean = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        mean[j] += z[i * d + j] / n;
      }
    }
    double[] v1;
    double[] v2;
    if (gram) {
      double[] xc = new double[z.length];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          xc[i * d + j] = z[i * d + j] - mean[j];
        }
      }
      double[] k = EmbeddingMetrics.gram(xc, n, d); // X_c X_cᵀ: the scale 1/n does not change its eigenvectors
      double[] u1 = leading(k, n, null);
      double[] u2 = leading(k, n, u1);
      v1 = axisOf(xc, n, d, u1, null);
      v2 = axisOf(xc, n, d, u2, v1);
    } else {
      double[] c = new double[d * d];
      double[] row = new double[d];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
          row[j] = z[i * d + j] - mean[j];
        }
        for (int a = 0; a < d; a++) {
          double ra = row[a] / n;
          if (ra != 0) {
            for (int b = a; b < d; b++) {
              c[a * d + b] += ra * row[b];
            }
          }
        }
      }
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < a; b++) {
          c[a * d + b] = c[b * d + a];
        }
      }
      v1 = leading(c, d, null);
      v2 = leading(c, d, v1);
    }
    double[] out = new double[2 * n];
    for (int i = 0; i < n; i++) {
      double x = 0;
      double y = 0;
      for (int j = 0; j < d; j++) {
        double r = z[i * d + j] - mean[j];
        x += r * v1[j];
        y += r * v2[j];
      }
      out[2 * i] = x;
      out[2 * i + 1] = y;
    }
    return out;
  }

  /** Leading eigenvector of the symmetric PSD {@code c}, orthogonal to {@code except} when given; zeros if none. */
  private static double[] leading(double[] c, int d, double[] except) {
    double[] v = new double[d];
    for (int j = 0; j < d; j++) {
      v[j] = 1.0 / Math.sqrt(d) * (1 + 0.01 * j); // not orthogonal to any axis in practice
    }
    double[] w = new double[d];
    for (int it = 0; it < ITERATIONS; it++) {
      if (except != null) {
        deflate(v, except);
      }
      for (int a = 0; a < d; a++) {
        double s = 0;
        for (int b = 0; b < d; b++) {
          s += c[a * d + b] * v[b];
        }
        w[a] = s;
      }
      if (except != null) {
        deflate(w, except);
      }
      double norm = Math.sqrt(dot(w, w));
      if (norm < 1e-300) {
        return new double[d];
      }
      double change = 0;
      for (int j = 0; j < d; j++) {
        double next = w[j] / norm;
        change += (next - v[j]) * (next - v[j]);
        v[j] = next;
      }
      if (change < 1e-20) {
        break; // converged to double precision (for a view, far more than enough)
      }
    }
    return signed(v);
  }

  /** The covariance's axis {@code X_cᵀu}, normalised, orthogonal to {@code except} when given; zeros if none. */
  private static double[] axisOf(double[] xc, int n, int d, double[] u, double[] except) {
    double[] v = new double[d];
    for (int i = 0; i < n; i++) {
      if (u[i] != 0) {
        for (int j = 0; j < d; j++) {
          v[j] += u[i] * xc[i * d + j];
        }
      }
    }
    if (except != null) {
      deflate(v, except); // exact for distinct eigenvalues; removes what the power iteration left
    }
    double norm = Math.sqrt(dot(v, v));
    if (norm < 1e-300) {
      return new double[d];
    }
    for (int j = 0; j < d; j++) {
      v[j] /= norm;
    }
    return signed(v);
  }

  /** {@code v} with the sign that makes its largest-magnitude entry positive. */
  private static double[] signed(double[] v) {
    int big = 0;
    for (int j = 1; j < v.length; j++) {
      big = Math.abs(v[j]) > Math.abs(v[big]) ? j : big;
    }
    if (v[big] < 0) {
      for (int j = 0; j < v.length; j++) {
        v[j] = -v[j];
      }
    }
    return v;
  }

  private static void deflate(double[] v, double[] u) {
    double p = dot(v, u);
    for (int j = 0; j < v.length; j++) {
      v[j] -= p * u[j];
    }
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int j = 0; j < a.length; j++) {
      s += a[j] * b[j];
    }
    return s;
  }
}
