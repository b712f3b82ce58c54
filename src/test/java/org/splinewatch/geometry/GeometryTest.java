package org.splinewatch.geometry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** TwoNN and PC-ID on manifolds of known dimension; neural collapse on a simplex ETF and on random means. */
class GeometryTest {
  private static final int N = 1000;

  @Test
  void twoNnFindsAPlaneInTenDimensions() {
    Random r = new Random(1);
    double[] u = unit(r, 10);
    double[] v = unit(r, 10);
    double[] x = new double[N * 10];
    for (int i = 0; i < N; i++) {
      double a = r.nextDouble();
      double b = r.nextDouble();
      for (int k = 0; k < 10; k++) {
        x[i * 10 + k] = a * u[k] + b * v[k];
      }
    }
    assertEquals(2, IntrinsicDimension.twoNn(x, N, 10).dimension(), 0.25);
  }

  @Test
  void twoNnFindsAFiveDimensionalGaussian() {
    Random r = new Random(2);
    double[] x = new double[N * 5];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextGaussian();
    }
    // finite-sample bias is slightly negative at this n (metrics.md §5.1)
    assertEquals(5, IntrinsicDimension.twoNn(x, N, 5).dimension(), 0.6);
  }

  @Test
  void twoNnFindsACircleInFiftyDimensions() {
    Random r = new Random(3);
    double[] u = unit(r, 50);
    double[] v = unit(r, 50);
    double[] x = new double[N * 50];
    for (int i = 0; i < N; i++) {
      double t = 2 * Math.PI * r.nextDouble();
      for (int k = 0; k < 50; k++) {
        x[i * 50 + k] = Math.cos(t) * u[k] + Math.sin(t) * v[k];
      }
    }
    assertEquals(1, IntrinsicDimension.twoNn(x, N, 50).dimension(), 0.15);
  }

  @Test
  void duplicatesAreDroppedNotTurnedIntoInfinity() {
    Random r = new Random(4);
    double[] x = new double[N * 3];
    for (int i = 0; i < N; i++) {
      for (int k = 0; k < 3; k++) {
        // the first 300 rows come in identical pairs
        x[i * 3 + k] = i < 300 && i % 2 == 1 ? x[(i - 1) * 3 + k] : r.nextGaussian();
      }
    }
    IntrinsicDimension.TwoNn id = IntrinsicDimension.twoNn(x, N, 3);
    assertTrue(Double.isFinite(id.dimension()), "finite with duplicates: " + id);
    assertEquals(3, id.dimension(), 0.5);
    assertEquals(0.3, id.duplicateFraction(), 1e-12);
    // complete collapse: every row the same point, the ID is undefined (NaN), never infinite
    IntrinsicDimension.TwoNn collapsed = IntrinsicDimension.twoNn(new double[N * 3], N, 3);
    assertTrue(Double.isNaN(collapsed.dimension()));
    assertEquals(1.0, collapsed.duplicateFraction());
  }

  @Test
  void pcaDimensionCountsIndependentFactors() {
    Random r = new Random(5);
    // three independent signals, each copied (with 1 % noise) into six features: the correlation matrix has three
    // eigenvalues near 6 and fifteen near 0, so two components explain 2/3 and three explain > 90 %
    int d = 18;
    double[] x = new double[N * d];
    for (int i = 0; i < N; i++) {
      for (int f = 0; f < 3; f++) {
        double z = r.nextGaussian();
        for (int k = 0; k < 6; k++) {
          x[i * d + f * 6 + k] = z + 0.01 * r.nextGaussian();
        }
      }
    }
    assertEquals(3, IntrinsicDimension.pcaDimension(x, N, d, 0.9));
    // isotropic noise in 10 dimensions needs about 90 % of the components
    double[] noise = new double[N * 10];
    for (int i = 0; i < noise.length; i++) {
      noise[i] = r.nextGaussian();
    }
    int k = IntrinsicDimension.pcaDimension(noise, N, 10, 0.9);
    assertTrue(k >= 8 && k <= 10, "isotropic: " + k);
    assertEquals(0, IntrinsicDimension.pcaDimension(new double[20], 10, 2, 0.9), "constant features");
  }

  @Test
  void simplexEtfIsFullyCollapsed() {
    int c = 4;
    int d = 6;
    int perClass = 25;
    int n = c * perClass;
    // class means e_c − (1/C)·1 (a simplex ETF), points exactly at their means, classifier W = Mᵀ (self-dual)
    double[] h = new double[n * d];
    int[] labels = new int[n];
    double[] w = new double[d * c];
    for (int y = 0; y < c; y++) {
      for (int k = 0; k < c; k++) {
        w[k * c + y] = (k == y ? 1 : 0) - 1.0 / c;
      }
    }
    for (int i = 0; i < n; i++) {
      labels[i] = i % c;
      for (int k = 0; k < d; k++) {
        h[i * d + k] = k < c ? w[k * c + labels[i]] + 3.0 : 3.0; // a global offset changes nothing
      }
    }
    NeuralCollapse.Result nc = NeuralCollapse.compute(h, n, d, labels, c, w, new double[c]);
    assertEquals(0, nc.nc1(), 1e-12);
    assertEquals(0, nc.equinormCov(), 1e-12);
    assertEquals(0, nc.equiangularityStd(), 1e-12);
    assertEquals(0, nc.equiangularityGap(), 1e-12);
    assertEquals(0, nc.weightEquinormCov(), 1e-12);
    assertEquals(0, nc.selfDuality(), 1e-12);
    assertEquals(0, nc.nccMismatch(), 1e-12);
    assertEquals(1, nc.nccAccuracy(), 1e-12);
  }

  @Test
  void nc1MatchesTheDefinitionOnRandomClusters() {
    Random r = new Random(6);
    int c = 3;
    int d = 5;
    int n = 300;
    double[] means = new double[c * d];
    for (int i = 0; i < means.length; i++) {
      means[i] = 2 * r.nextGaussian();
    }
    double[] h = new double[n * d];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % c;
      for (int k = 0; k < d; k++) {
        h[i * d + k] = means[labels[i] * d + k] + r.nextGaussian();
      }
    }
    NeuralCollapse.Result nc = NeuralCollapse.compute(h, n, d, labels, c, null, null);
    assertEquals(direct(h, n, d, labels, c), nc.nc1(), 1e-9);
    assertTrue(nc.nc1() > 0.05, "unit within-class noise is not collapsed: " + nc.nc1());
    assertTrue(nc.equiangularityGap() > 0.05, "random means are not a simplex: " + nc.equiangularityGap());
    assertTrue(Double.isNaN(nc.selfDuality()), "no classifier, no NC3");
    NeuralCollapse.Result same = NeuralCollapse.compute(new double[n * d], n, d, labels, c, null, null);
    assertTrue(Double.isNaN(same.nc1()), "coinciding class means: undefined");
  }

  /** NC1 = (1/C)·tr(Σ_W Σ_B†) with explicit d×d matrices and a pseudo-inverse by eigen-decomposition. */
  private static double direct(double[] h, int n, int d, int[] labels, int c) {
    double[][] mu = new double[c][d];
    int[] count = new int[c];
    for (int i = 0; i < n; i++) {
      count[labels[i]]++;
      for (int k = 0; k < d; k++) {
        mu[labels[i]][k] += h[i * d + k];
      }
    }
    double[] g = new double[d];
    for (int y = 0; y < c; y++) {
      for (int k = 0; k < d; k++) {
        mu[y][k] /= count[y];
        g[k] += mu[y][k] / c;
      }
    }
    org.ejml.data.DMatrixRMaj sw = new org.ejml.data.DMatrixRMaj(d, d);
    org.ejml.data.DMatrixRMaj sb = new org.ejml.data.DMatrixRMaj(d, d);
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
          sw.add(a, b, (h[i * d + a] - mu[labels[i]][a]) * (h[i * d + b] - mu[labels[i]][b]) / n);
        }
      }
    }
    for (int y = 0; y < c; y++) {
      for (int a = 0; a < d; a++) {
        for (int b = 0; b < d; b++) {
          sb.add(a, b, (mu[y][a] - g[a]) * (mu[y][b] - g[b]) / c);
        }
      }
    }
    org.ejml.data.DMatrixRMaj pinv = new org.ejml.data.DMatrixRMaj(d, d);
    org.ejml.dense.row.CommonOps_DDRM.pinv(sb, pinv);
    org.ejml.data.DMatrixRMaj prod = new org.ejml.data.DMatrixRMaj(d, d);
    org.ejml.dense.row.CommonOps_DDRM.mult(sw, pinv, prod);
    return org.ejml.dense.row.CommonOps_DDRM.trace(prod) / c;
  }

  private static double[] unit(Random r, int d) {
    double[] u = new double[d];
    double s = 0;
    for (int k = 0; k < d; k++) {
      u[k] = r.nextGaussian();
      s += u[k] * u[k];
    }
    for (int k = 0; k < d; k++) {
      u[k] /= Math.sqrt(s);
    }
    return u;
  }

  @Test
  void tiledSquaredDistancesEqualThePlainSumBitForBit() {
    java.util.Random r = new java.util.Random(3);
    for (int n : new int[] {1, 3, 4, 5, 8, 13, 33}) {
      int d = 1 + r.nextInt(30);
      double[] x = new double[n * d];
      for (int i = 0; i < x.length; i++) {
        x[i] = r.nextGaussian();
      }
      double[] dist = IntrinsicDimension.squaredDistances(x, n, d);
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          double s = 0;
          for (int k = 0; k < d; k++) {
            double t = x[i * d + k] - x[j * d + k];
            s += t * t;
          }
          org.junit.jupiter.api.Assertions.assertEquals(Double.doubleToLongBits(s),
              Double.doubleToLongBits(dist[i * n + j]), "n=" + n + " (" + i + "," + j + ")");
        }
      }
    }
  }

  /**
   * One scratch through shapes that grow and shrink (stale values past what a call uses, in the distances' lower
   * triangle too), wide and tall, with duplicate points and constant features: TwoNN (records compare their doubles
   * bit for bit) and PC-ID equal the allocating calls.
   */
  @Test
  void twoNnAndPcaDimensionInAKeptScratchEqualTheAllocatingCalls() {
    Random r = new Random(23);
    IntrinsicDimension.Scratch scratch = new IntrinsicDimension.Scratch();
    int[][] shapes = {{90, 12}, {41, 60}, {120, 5}, {33, 3}, {90, 12}};
    for (int[] shape : shapes) {
      int n = shape[0];
      int d = shape[1];
      double[] x = new double[n * d];
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < d; k++) {
          x[i * d + k] = k == d - 1 ? 2.5 : (k + 1) * r.nextGaussian(); // the last feature constant
        }
      }
      System.arraycopy(x, 0, x, d, d); // a duplicate point
      String at = "n=" + n + " d=" + d;
      assertEquals(IntrinsicDimension.twoNn(x, n, d), IntrinsicDimension.twoNn(x, n, d, scratch), at);
      assertEquals(IntrinsicDimension.pcaDimension(x, n, d, 0.9),
          IntrinsicDimension.pcaDimension(x, n, d, 0.9, scratch), at);
      double[] fresh = IntrinsicDimension.squaredDistances(x, n, d);
      double[] stale = IntrinsicDimension.squaredDistances(x, n, d, unit(r, n * n + 7));
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          assertEquals(Double.doubleToLongBits(fresh[i * n + j]), Double.doubleToLongBits(stale[i * n + j]), at);
        }
      }
    }
  }
}
