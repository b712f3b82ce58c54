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
}
