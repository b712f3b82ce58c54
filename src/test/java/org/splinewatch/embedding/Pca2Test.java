package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The 2D view's PCA against data with known principal axes. */
class Pca2Test {
  @Test
  void recoversTheTwoLeadingAxesInOrderWithAFixedSign() {
    int n = 400;
    int d = 6;
    Random rnd = new Random(3);
    // x = 3a·u + 1b·v + 0.01 noise, u and v orthonormal: PC1 ∝ a, PC2 ∝ b
    double[] u = {1 / Math.sqrt(2), 1 / Math.sqrt(2), 0, 0, 0, 0};
    double[] v = {0, 0, 0.6, 0.8, 0, 0};
    double[] z = new double[n * d];
    double[] a = new double[n];
    double[] b = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = rnd.nextGaussian();
      b[i] = rnd.nextGaussian();
      for (int j = 0; j < d; j++) {
        z[i * d + j] = 5 + 3 * a[i] * u[j] + b[i] * v[j] + 0.01 * rnd.nextGaussian();
      }
    }
    double[] xy = Pca2.project(z, n, d);
    double[] x = new double[n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = xy[2 * i];
      y[i] = xy[2 * i + 1];
    }
    assertTrue(Math.abs(corr(x, a)) > 0.999, "PC1 follows a: " + corr(x, a));
    // (the sample a and b are slightly correlated, so PC2 is b up to that mixing)
    assertTrue(Math.abs(corr(y, b)) > 0.98, "PC2 follows b: " + corr(y, b));
    // the largest entry of u and of v is positive, so both axes keep the sign of a and b
    assertTrue(corr(x, a) > 0 && corr(y, b) > 0, "fixed signs");
    assertEquals(0, mean(x), 1e-9, "centred");
    // the axes' signs depend on the axes only, not on the data: negated data gives the mirrored view
    double[] flipped = Pca2.project(java.util.Arrays.stream(z).map(t -> -t).toArray(), n, d);
    assertEquals(-xy[0], flipped[0], 1e-6);
  }

  @Test
  void degenerateInputGivesZerosAndBadShapesAreErrors() {
    double[] same = new double[5 * 3];
    java.util.Arrays.fill(same, 2.0);
    for (double t : Pca2.project(same, 5, 3)) {
      assertEquals(0, t, 0);
    }
    assertThrows(IllegalArgumentException.class, () -> Pca2.project(new double[7], 2, 3));
  }

  private static double mean(double[] x) {
    double s = 0;
    for (double t : x) {
      s += t;
    }
    return s / x.length;
  }

  private static double corr(double[] x, double[] y) {
    double mx = mean(x);
    double my = mean(y);
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / Math.sqrt(sxx * syy);
  }

  @Test
  void theGramPathGivesTheCovariancePathsProjection() {
    Random rnd = new Random(11);
    for (int[] nd : new int[][] {{30, 20}, {10, 50}}) {
      int n = nd[0];
      int d = nd[1];
      double[] z = new double[n * d];
      for (int k = 0; k < z.length; k++) {
        z[k] = rnd.nextGaussian() * (1 + k % d); // distinct variances: distinct leading eigenvalues
      }
      double[] viaCovariance = Pca2.project(z, n, d, false);
      double[] viaGram = Pca2.project(z, n, d, true);
      for (int k = 0; k < viaGram.length; k++) {
        assertEquals(viaCovariance[k], viaGram[k], 1e-6 * (1 + Math.abs(viaCovariance[k])), n + "x" + d + " at " + k);
      }
    }
  }

  @Test
  void aLayerWiderThanAnArrayOfItsCovarianceIsProjected() {
    // 65,537 dimensions (d² would overflow an int index): x = mean + 3a·u + b·v with known orthogonal a, b
    int n = 8;
    int d = 65_537;
    double[] a = {1, -1, 1, -1, 1, -1, 1, -1};
    double[] b = {1, 1, -1, -1, 1, 1, -1, -1};
    double[] z = new double[n * d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        z[i * d + j] = 0.5;
      }
      z[i * d] += 3 * a[i] / Math.sqrt(2);
      z[i * d + 1] += 3 * a[i] / Math.sqrt(2);
      z[i * d + d - 2] += 0.6 * b[i];
      z[i * d + d - 1] += 0.8 * b[i];
    }
    double[] xy = Pca2.project(z, n, d);
    for (int i = 0; i < n; i++) {
      assertEquals(3 * a[i], xy[2 * i], 1e-9, "PC1 of row " + i);
      assertEquals(b[i], xy[2 * i + 1], 1e-9, "PC2 of row " + i);
    }
  }
}
