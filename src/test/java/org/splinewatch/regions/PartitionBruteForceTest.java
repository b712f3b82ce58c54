package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * The engine against {@link BruteForce} (its own forward pass, point location over all faces, Euler, areas, convexity,
 * distinct patterns) on random small networks with the degeneracies of {@link DegenerateNets}: duplicate, negated,
 * parallel, zero, dead and always-on neurons, dead layers, lines through corners and along the boundary, weight scales
 * from 1e-8 to 1e8, planes from 1e-6 to 1e6.
 */
class PartitionBruteForceTest {

  @Property(tries = 250)
  void degenerateNetworksPassTheBruteForceCheck(@ForAll @LongRange(min = 0, max = 1_000_000) long seed) {
    DegenerateNets.Case c = DegenerateNets.random(seed);
    Partition p = Partition.compute(c.mlp().net(), c.plane(), 200_000);
    assertNull(BruteForce.check(c.mlp(), c.origin(), c.u(), c.v(), p, 32, seed), c.description());
  }

  /**
   * {@code mlp} with layer {@code l}'s weights and the biases of layer {@code l} and every later layer times
   * {@code alpha}: every pre-activation from layer {@code l} on is multiplied by {@code alpha} and no sign changes
   * (ReLU is positively homogeneous). A power of two keeps the float32 weights exact.
   */
  static BruteForce.Mlp scaledFrom(BruteForce.Mlp mlp, int l, double alpha) {
    float[][] w = mlp.w().clone();
    float[][] b = mlp.b().clone();
    w[l] = w[l].clone();
    for (int k = 0; k < w[l].length; k++) {
      w[l][k] = (float) (w[l][k] * alpha);
    }
    for (int m = l; m < b.length; m++) {
      b[m] = b[m].clone();
      for (int k = 0; k < b[m].length; k++) {
        b[m][k] = (float) (b[m][k] * alpha);
      }
    }
    return new BruteForce.Mlp(mlp.widths(), w, b);
  }

  static BruteForce.Mlp random(long seed, int... widths) {
    java.util.Random r = new java.util.Random(seed);
    float[][] w = new float[widths.length - 1][];
    float[][] b = new float[widths.length - 1][];
    for (int l = 0; l + 1 < widths.length; l++) {
      w[l] = PartitionOracleTest.randn(r, widths[l] * widths[l + 1], Math.sqrt(2.0 / widths[l]));
      b[l] = PartitionOracleTest.randn(r, widths[l + 1], 0.3);
    }
    return new BruteForce.Mlp(widths, w, b);
  }

  @Test
  void smallWeightsAndSmallPlanesGiveThePartitionOfTheRescaledNetwork() {
    // Scaling from a layer on by alpha > 0 changes no activation pattern (regions.md §7 oracle 8). With the zero
    // test's floor of 1, values below 1e-10 counted as zero: at 2^-27 (7e-9) lines snapped by about 1 % of the domain,
    // and a plane of width 2^-19 through a network scaled so had one region
    double[] o = {0, 0};
    double[] u = {1, 0};
    double[] v = {0, 1};
    double[] alphas = {0x1p-27, 0x1p-13, 0x1p13, 0x1p27};
    for (long seed = 1; seed <= 3; seed++) {
      BruteForce.Mlp mlp = random(seed, 2, 12, 10, 8, 3);
      Partition reference = Partition.compute(mlp.net(), Plane.explicit(o, u, v));
      assertNull(BruteForce.check(mlp, o, u, v, reference, 24, seed));
      for (int l = 0; l < 3; l++) {
        for (double alpha : alphas) {
          BruteForce.Mlp s = scaledFrom(mlp, l, alpha);
          Partition p = Partition.compute(s.net(), Plane.explicit(o, u, v));
          assertNull(BruteForce.check(s, o, u, v, p, 24, seed), "layer " + l + " on times " + alpha);
          assertArrayEquals(reference.regionsAfterLayer(), p.regionsAfterLayer(),
              "seed " + seed + ", layer " + l + " on times " + alpha);
        }
      }
      // a plane 2^20 times smaller with first-layer weights 2^20 times larger: the same lines in plane coordinates
      double[] su = {0x1p-20, 0};
      double[] sv = {0, 0x1p-20};
      float[][] w = mlp.w().clone();
      w[0] = w[0].clone();
      for (int k = 0; k < w[0].length; k++) {
        w[0][k] *= 0x1p20f;
      }
      BruteForce.Mlp zoomed = new BruteForce.Mlp(mlp.widths(), w, mlp.b());
      Partition small = Partition.compute(zoomed.net(), Plane.explicit(o, su, sv));
      assertArrayEquals(reference.regionsAfterLayer(), small.regionsAfterLayer(), "seed " + seed + ": small plane");
      BruteForce.Mlp tiny = scaledFrom(scaledFrom(zoomed, 0, 0x1p-27), 1, 0x1p-27);
      Partition both = Partition.compute(tiny.net(), Plane.explicit(o, su, sv));
      assertNull(BruteForce.check(tiny, o, su, sv, both, 24, seed), "seed " + seed);
      assertArrayEquals(reference.regionsAfterLayer(), both.regionsAfterLayer(),
          "seed " + seed + ": small plane, values from layer 0 times 2^-27 and from layer 1 times 2^-54");
    }
  }

  /**
   * A small convolutional network (conv, conv, average pooling into a dense layer, head) with layer {@code scaled}'s
   * weights and the biases of every layer from it on times {@code alpha}: as {@link #scaledFrom}, the same activation
   * patterns for any {@code alpha > 0}.
   */
  static PiecewiseLinearNet convNet(long seed, int scaled, double alpha) {
    java.util.Random r = new java.util.Random(seed);
    java.util.List<Layer> layers = new java.util.ArrayList<>();
    float[][] w = {
        PartitionOracleTest.randn(r, 3 * 9, Math.sqrt(2.0 / 9)),
        PartitionOracleTest.randn(r, 2 * 3 * 9, Math.sqrt(2.0 / 27)),
        PartitionOracleTest.randn(r, 8 * 5, Math.sqrt(2.0 / 8)),
        PartitionOracleTest.randn(r, 5 * 2, Math.sqrt(2.0 / 5))};
    float[][] b = {
        PartitionOracleTest.randn(r, 3, 0.3), PartitionOracleTest.randn(r, 2, 0.3),
        PartitionOracleTest.randn(r, 5, 0.3), PartitionOracleTest.randn(r, 2, 0.3)};
    for (int l = 0; l < w.length; l++) {
      for (int k = 0; k < w[l].length && l == scaled; k++) {
        w[l][k] = (float) (w[l][k] * alpha);
      }
      for (int k = 0; k < b[l].length && l >= scaled; k++) {
        b[l][k] = (float) (b[l][k] * alpha);
      }
    }
    layers.add(new Layer.Conv2D(1, 6, 6, 3, 3, 3, 1, 1, w[0], b[0]));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.Conv2D(3, 6, 6, 2, 3, 3, 1, 0, w[1], b[1]));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.AvgPool2D(2, 4, 4, 2, 2));
    layers.add(new Layer.Flatten(8));
    layers.add(new Layer.Dense(8, 5, w[2], b[2]));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.Dense(5, 2, w[3], b[3]));
    return new PiecewiseLinearNet(36, layers);
  }

  @Test
  void smallConvolutionWeightsGiveThePartitionOfTheRescaledNetwork() {
    // regions.md §7 oracle 8 for chains other than one dense operator (a convolution; average pooling into a dense
    // layer): their zero test kept rule 2's floor of 1, so values below 1e-10 counted as zero and a second
    // convolution scaled by 2^-27 lost or snapped its lines
    double[] alphas = {0x1p-40, 0x1p-27, 0x1p27};
    for (long seed = 1; seed <= 4; seed++) {
      java.util.Random r = new java.util.Random(100 + seed);
      double[] o = new double[36];
      double[] u = new double[36];
      double[] v = new double[36];
      for (int i = 0; i < 36; i++) {
        o[i] = r.nextGaussian() * 0.5;
        u[i] = r.nextGaussian();
        v[i] = r.nextGaussian();
      }
      Plane plane = Plane.explicit(o, u, v);
      Partition reference = Partition.compute(convNet(seed, 0, 1), plane);
      assertTrue(reference.regionsAfterLayer()[1] > reference.regionsAfterLayer()[0], "the second convolution splits");
      for (int l = 1; l < 3; l++) {
        for (double alpha : alphas) {
          Partition p = Partition.compute(convNet(seed, l, alpha), plane);
          assertArrayEquals(reference.regionsAfterLayer(), p.regionsAfterLayer(),
              "seed " + seed + ", layer " + l + " on times " + alpha);
        }
      }
    }
  }

  @Test
  void sliversOfAreaNear1e18HavePositiveAreas() {
    // weights of 1e8 with parallel neurons 0.25 apart make faces about 1e-9 wide at coordinates of order 1: the
    // shoelace over absolute coordinates gave them area 0 or -2e-16, the smallest area quantile was negative
    for (long seed : new long[] {2286, 2719}) {
      DegenerateNets.Case c = DegenerateNets.random(seed);
      Partition p = Partition.compute(c.mlp().net(), c.plane(), 200_000);
      PartitionStats s = PartitionStats.of(p, false);
      assertTrue(s.areaQuantiles()[0] > 0, c.description() + ": smallest area " + s.areaQuantiles()[0]);
      assertTrue(s.slivers() > 0, "the case has slivers");
    }
  }
}
