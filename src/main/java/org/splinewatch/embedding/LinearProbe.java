package org.splinewatch.embedding;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * The monitor's linear probe (metrics.md §4.2): ridge regression on standardised features against centred one-hot
 * labels, {@code W = (XᵀX + λ·n·I)⁻¹ XᵀY}, prediction {@code argmax(x̃W + ȳ)}. Deterministic and closed form.
 */
public final class LinearProbe {
  /** The λ grid of metrics.md §4.2. */
  public static final double[] LAMBDAS = {1e-4, 1e-3, 1e-2, 1e-1};

  private final double[] mean;
  private final double[] std;
  private final DMatrixRMaj w;
  private final double[] ybar;
  private final int d;
  private final int classes;

  private LinearProbe(double[] mean, double[] std, DMatrixRMaj w, double[] ybar, int classes) {
    this.mean = mean;
    this.std = std;
    this.w = w;
    this.ybar = ybar;
    this.d = mean.length;
    this.classes = classes;
  }

  /** Fits the probe on {@code n × d} features {@code x} with labels {@code y} in {@code [0, classes)}. */
  public static LinearProbe fit(double[] x, int n, int d, int[] y, int classes, double lambda) {
    return fitOverwriting(Arrays.copyOf(x, n * d), n, d, y, classes, lambda);
  }

  /**
   * {@link #fit} that standardises the first {@code n × d} values of {@code x} in place and solves on them, instead of
   * on an {@code n × d} copy: for a caller that no longer needs its features (they are overwritten, each value with
   * the one the copy would hold).
   */
  public static LinearProbe fitOverwriting(double[] x, int n, int d, int[] y, int classes, double lambda) {
    double[] mean = new double[d];
    double[] std = new double[d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        mean[k] += x[i * d + k] / n;
      }
    }
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        double t = x[i * d + k] - mean[k];
        std[k] += t * t / n;
      }
    }
    for (int k = 0; k < d; k++) {
      if (std[k] == Double.POSITIVE_INFINITY && Double.isFinite(mean[k])) {
        // deviations too large to square in float64 (above about 1e154): scale by the largest first
        double max = 0;
        for (int i = 0; i < n; i++) {
          max = Math.max(max, Math.abs(x[i * d + k] - mean[k]));
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
          double t = (x[i * d + k] - mean[k]) / max;
          s += t * t / n;
        }
        std[k] = max * Math.sqrt(s);
      } else {
        std[k] = Math.sqrt(std[k]);
      }
      std[k] = Math.max(1e-6, std[k]);
    }
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        x[i * d + k] = (x[i * d + k] - mean[k]) / std[k];
      }
    }
    DMatrixRMaj xs = DMatrixRMaj.wrap(n, d, x); // EJML reads the first n × d values of a longer array
    double[] ybar = new double[classes];
    for (int i = 0; i < n; i++) {
      ybar[y[i]] += 1.0 / n;
    }
    DMatrixRMaj yc = new DMatrixRMaj(n, classes);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < classes; c++) {
        yc.unsafe_set(i, c, (y[i] == c ? 1 : 0) - ybar[c]);
      }
    }
    DMatrixRMaj a = new DMatrixRMaj(d, d);
    CommonOps_DDRM.multTransA(xs, xs, a);
    for (int k = 0; k < d; k++) {
      a.add(k, k, lambda * n);
    }
    DMatrixRMaj b = new DMatrixRMaj(d, classes);
    CommonOps_DDRM.multTransA(xs, yc, b);
    DMatrixRMaj w = new DMatrixRMaj(d, classes);
    LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.symmPosDef(d);
    if (!solver.setA(a)) {
      throw new IllegalStateException("the probe's normal equations are singular (λ = " + lambda + ")");
    }
    solver.solve(b, w);
    return new LinearProbe(mean, std, w, ybar, classes);
  }

  /** The ridge weights {@code W} ({@code d × classes}, row-major), a copy. */
  public double[] weights() {
    return Arrays.copyOf(w.getData(), d * classes);
  }

  /** The offsets {@code ȳ} of the prediction {@code argmax(x̃W + ȳ)} (the label frequencies), a copy. */
  public double[] offsets() {
    return ybar.clone();
  }

  /** The {@code m} rows of {@code x} standardised with the fit set's mean and std: the probe's coordinates. */
  public double[] standardise(double[] x, int m) {
    double[] out = new double[m * d];
    for (int i = 0; i < m; i++) {
      for (int k = 0; k < d; k++) {
        out[i * d + k] = (x[i * d + k] - mean[k]) / std[k];
      }
    }
    return out;
  }

  /** Predicted class of each of the {@code m} rows of {@code x}. */
  public int[] predict(double[] x, int m) {
    int[] out = new int[m];
    double[] row = new double[d];
    for (int i = 0; i < m; i++) {
      for (int k = 0; k < d; k++) {
        row[k] = (x[i * d + k] - mean[k]) / std[k];
      }
      int best = 0;
      double bestV = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        double v = ybar[c];
        for (int k = 0; k < d; k++) {
          v += row[k] * w.unsafe_get(k, c);
        }
        if (v > bestV) {
          bestV = v;
          best = c;
        }
      }
      out[i] = best;
    }
    return out;
  }

  /**
   * Fraction of rows predicted as their label; NaN when a feature of {@code x} or of the fit set (so the probe itself)
   * is NaN or infinite, where no prediction is defined.
   */
  public double accuracy(double[] x, int m, int[] labels) {
    if (!finite(x, m * d) || !finite(mean, d) || !finite(std, d) || !finite(w.getData(), d * classes)) {
      return Double.NaN;
    }
    int[] p = predict(x, m);
    int ok = 0;
    for (int i = 0; i < m; i++) {
      ok += p[i] == labels[i] ? 1 : 0;
    }
    return m == 0 ? Double.NaN : (double) ok / m;
  }

  private static boolean finite(double[] a, int size) {
    for (int i = 0; i < size; i++) {
      if (!Double.isFinite(a[i])) {
        return false;
      }
    }
    return true;
  }

  /**
   * λ from {@link #LAMBDAS} with the best accuracy on the last 20 % of the training rows, fitted on the rest; NaN when
   * no accuracy is defined (non-finite features), so that a caller choosing once chooses again on its next fit.
   */
  public static double chooseLambda(double[] x, int n, int d, int[] y, int classes) {
    int fitRows = (int) Math.round(0.8 * n);
    double[] xv = Arrays.copyOfRange(x, fitRows * d, n * d);
    int[] yv = Arrays.copyOfRange(y, fitRows, n);
    double best = Double.NaN;
    double bestAcc = -1;
    // each λ's fit standardises a copy of the first fitRows rows in place: one array for all of them (a copy a λ
    // was 4 × 8 MB at the default 5,000 fit images and width 256)
    double[] work = new double[fitRows * d];
    for (double lambda : LAMBDAS) {
      System.arraycopy(x, 0, work, 0, fitRows * d);
      double acc = fitOverwriting(work, fitRows, d, y, classes, lambda).accuracy(xv, n - fitRows, yv);
      if (acc > bestAcc) {
        bestAcc = acc;
        best = lambda;
      }
    }
    return best;
  }
}
