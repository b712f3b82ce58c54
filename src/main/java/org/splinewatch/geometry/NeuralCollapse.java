package org.splinewatch.geometry;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/** Neural-collapse metrics of labelled features (Papyan, Han, Donoho 2020; metrics.md §6). */
public final class NeuralCollapse {
  private NeuralCollapse() {
  }

  /**
   * NC metrics; every value is NaN when the class means coincide (complete representation collapse, {@code M = 0})
   * or fewer than two classes occur among the labels (no between-class scatter).
   *
   * @param nc1                 {@code (1/C)·tr(Σ_W Σ_B^†)}
   * @param equinormCov         CoV of {@code ‖μ_c − μ_G‖} (NC2)
   * @param equiangularityStd   std over {@code c ≠ c'} of the cosines between centred means (NC2)
   * @param equiangularityGap   mean over {@code c ≠ c'} of {@code |cos + 1/(C−1)|}: 0 for a simplex ETF (NC2)
   * @param weightEquinormCov   CoV of the classifier rows' norms (NaN without a classifier)
   * @param selfDuality         NC3 {@code ‖W/‖W‖_F − Mᵀ/‖M‖_F‖_F²} (NaN without a classifier)
   * @param nccMismatch         NC4: fraction where the classifier and the nearest class centre disagree (NaN without)
   * @param nccAccuracy         accuracy of the nearest-class-centre rule on the same points
   */
  public record Result(double nc1, double equinormCov, double equiangularityStd, double equiangularityGap,
      double weightEquinormCov, double selfDuality, double nccMismatch, double nccAccuracy) {
  }

  /**
   * @param h      features {@code n × d}, row-major
   * @param labels class of each row, in {@code [0, classes)}
   * @param w      classifier weights in the row convention {@code [d][C]} ({@code logits = h·W + b}), or null
   * @param b      classifier bias ({@code C}), or null
   */
  public static Result compute(double[] h, int n, int d, int[] labels, int classes, double[] w, double[] b) {
    int c = classes;
    double[] mu = new double[c * d];
    int[] count = new int[c];
    for (int i = 0; i < n; i++) {
      int y = labels[i];
      count[y]++;
      for (int k = 0; k < d; k++) {
        mu[y * d + k] += h[i * d + k];
      }
    }
    int present = 0;
    for (int y = 0; y < c; y++) {
      if (count[y] > 0) {
        present++;
        for (int k = 0; k < d; k++) {
          mu[y * d + k] /= count[y];
        }
      }
    }
    if (present < 2) {
      // no between-class scatter (Σ_B = 0): NC1 and the rest are undefined, as for complete collapse (metrics.md §6)
      return undefined();
    }
    // only classes present in the probes take part
    int[] cls = new int[present];
    for (int y = 0, q = 0; y < c; y++) {
      if (count[y] > 0) {
        cls[q++] = y;
      }
    }
    double[] muG = new double[d];
    for (int y : cls) {
      for (int k = 0; k < d; k++) {
        muG[k] += mu[y * d + k] / present;
      }
    }
    double[] m = new double[present * d]; // rows: μ_c − μ_G
    double mNorm2 = 0;
    for (int q = 0; q < present; q++) {
      for (int k = 0; k < d; k++) {
        m[q * d + k] = mu[cls[q] * d + k] - muG[k];
        mNorm2 += m[q * d + k] * m[q * d + k];
      }
    }
    double scale = 0;
    for (double v : h) {
      scale = Math.max(scale, Math.abs(v));
    }
    if (!(mNorm2 > 1e-24 * Math.max(1, scale * scale))) {
      return undefined();
    }
    // NC1 without d×d matrices (metrics.md §6): with rows m = Mᵀ, G = MᵀM (C×C) and P = R·M (n×C)
    DMatrixRMaj g = new DMatrixRMaj(present, present);
    for (int a = 0; a < present; a++) {
      for (int bb = a; bb < present; bb++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          s += m[a * d + k] * m[bb * d + k];
        }
        g.set(a, bb, s);
        g.set(bb, a, s);
      }
    }
    double[][] gPinv = pseudoInverse(g, present);
    double[] ptp = new double[present * present];
    double[] p = new double[present];
    int[] index = new int[c];
    for (int q = 0; q < present; q++) {
      index[cls[q]] = q;
    }
    int nccCorrect = 0;
    int mismatch = 0;
    for (int i = 0; i < n; i++) {
      int y = labels[i];
      for (int q = 0; q < present; q++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          s += (h[i * d + k] - mu[y * d + k]) * m[q * d + k];
        }
        p[q] = s;
      }
      for (int a = 0; a < present; a++) {
        for (int bb = 0; bb < present; bb++) {
          ptp[a * present + bb] += p[a] * p[bb];
        }
      }
      int nearest = nearestCentre(h, i, d, mu, cls);
      if (nearest == y) {
        nccCorrect++;
      }
      if (w != null && argmaxLogit(h, i, d, w, b, c) != nearest) {
        mismatch++;
      }
    }
    // Σ_W = RᵀR/n, Σ_B = M Mᵀ/C, Σ_B† = C·M G†² Mᵀ, so NC1 = (1/C)·tr(Σ_W Σ_B†) = tr(G† PᵀP G†) / n
    double trace = 0;
    for (int a = 0; a < present; a++) {
      for (int bb = 0; bb < present; bb++) {
        double gp = 0;
        for (int e = 0; e < present; e++) {
          gp += gPinv[a][e] * ptp[e * present + bb];
        }
        trace += gp * gPinv[bb][a];
      }
    }
    double nc1 = trace / n;
    double[] norms = new double[present];
    for (int q = 0; q < present; q++) {
      norms[q] = Math.sqrt(g.get(q, q));
    }
    double cosSum = 0;
    double gap = 0;
    int pairs = 0;
    for (int a = 0; a < present; a++) {
      for (int bb = 0; bb < present; bb++) {
        if (a != bb) {
          double cos = g.get(a, bb) / (norms[a] * norms[bb]);
          cosSum += cos;
          gap += Math.abs(cos + 1.0 / (present - 1));
          pairs++;
        }
      }
    }
    double cosMean = cosSum / pairs;
    // two passes: Σcos² − pairs·mean² cancels to rounding, and its square root turns 1e-16 into 1e-8 at a simplex
    double cosSq = 0;
    for (int a = 0; a < present; a++) {
      for (int bb = 0; bb < present; bb++) {
        if (a != bb) {
          double t = g.get(a, bb) / (norms[a] * norms[bb]) - cosMean;
          cosSq += t * t;
        }
      }
    }
    double cosStd = Math.sqrt(cosSq / Math.max(1, pairs - 1));
    double weightCov = Double.NaN;
    double selfDuality = Double.NaN;
    if (w != null) {
      double[] wn = new double[present];
      double wF = 0;
      for (int q = 0; q < present; q++) {
        double s = 0;
        for (int k = 0; k < d; k++) {
          double t = w[k * c + cls[q]];
          s += t * t;
        }
        wn[q] = Math.sqrt(s);
        wF += s;
      }
      weightCov = cov(wn);
      wF = Math.sqrt(wF);
      double mF = Math.sqrt(mNorm2);
      double s = 0;
      for (int q = 0; q < present; q++) {
        for (int k = 0; k < d; k++) {
          double t = w[k * c + cls[q]] / wF - m[q * d + k] / mF;
          s += t * t;
        }
      }
      selfDuality = s;
    }
    return new Result(nc1, cov(norms), cosStd, gap / pairs, weightCov, selfDuality,
        w == null ? Double.NaN : (double) mismatch / n, (double) nccCorrect / n);
  }

  /** Every value NaN: fewer than two classes among the probes, or the class means coincide. */
  private static Result undefined() {
    return new Result(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
  }

  private static int nearestCentre(double[] h, int i, int d, double[] mu, int[] cls) {
    int best = cls[0];
    double bestD = Double.POSITIVE_INFINITY;
    for (int y : cls) {
      double s = 0;
      for (int k = 0; k < d; k++) {
        double t = h[i * d + k] - mu[y * d + k];
        s += t * t;
      }
      if (s < bestD) {
        bestD = s;
        best = y;
      }
    }
    return best;
  }

  private static int argmaxLogit(double[] h, int i, int d, double[] w, double[] b, int c) {
    int best = 0;
    double bestV = Double.NEGATIVE_INFINITY;
    for (int y = 0; y < c; y++) {
      double s = b == null ? 0 : b[y];
      for (int k = 0; k < d; k++) {
        s += h[i * d + k] * w[k * c + y];
      }
      if (s > bestV) {
        bestV = s;
        best = y;
      }
    }
    return best;
  }

  /** Unbiased coefficient of variation. */
  private static double cov(double[] v) {
    double mean = 0;
    for (double x : v) {
      mean += x;
    }
    mean /= v.length;
    double s = 0;
    for (double x : v) {
      s += (x - mean) * (x - mean);
    }
    return Math.sqrt(s / Math.max(1, v.length - 1)) / mean;
  }

  /** Moore–Penrose inverse of a symmetric PSD matrix: eigenvalues {@code ≤ 1e-10·λ_max} are treated as zero. */
  private static double[][] pseudoInverse(DMatrixRMaj g, int size) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(size, true, true);
    if (!eig.decompose(g.copy())) {
      throw new IllegalStateException("eigen-decomposition of the class-mean Gram matrix failed");
    }
    double max = 0;
    for (int k = 0; k < size; k++) {
      max = Math.max(max, eig.getEigenvalue(k).getReal());
    }
    double[][] out = new double[size][size];
    for (int k = 0; k < size; k++) {
      double lambda = eig.getEigenvalue(k).getReal();
      if (lambda > 1e-10 * max) {
        DMatrixRMaj v = eig.getEigenVector(k);
        for (int a = 0; a < size; a++) {
          for (int bb = 0; bb < size; bb++) {
            out[a][bb] += v.get(a) * v.get(bb) / lambda;
          }
        }
      }
    }
    return out;
  }
}
