package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Regions the zero tolerance merges in a deeper layer ({@link Partition#mergedByTolerance()}): the first layer's
 * boundaries are well resolved, a second layer's bend within 1e-11 of the plane's extent, and the count silently lost
 * those regions. The missing regions are counted independently on a plane scaled down around the fine structure.
 */
class PartitionMergedByToleranceTest {
  /**
   * A 2-4-4-1 network: the first layer's lines x = 0 and y = 0 (each twice, negated), and a second-layer neuron
   * {@code delta − |x| − |y|}, positive on a diamond of radius {@code delta} around the input origin, which the lines
   * cut into 4 triangles; the other three second-layer neurons' boundaries stay 0.35 or more away from it.
   */
  static BruteForce.Mlp diamond(float delta) {
    float[] w0 = {1, -1, 0, 0, 0, 0, 1, -1}; // rows x, y: h = relu(x), relu(-x), relu(y), relu(-y)
    float[] w1 = { // rows h0..h3; columns: delta - |x| - |y|, h0 + h2 - 0.5, h1 - 0.4, h0 + h3 - 0.6
        -1, 1, 0, 1,
        -1, 0, 1, 0,
        -1, 1, 0, 0,
        -1, 0, 0, 1};
    return new BruteForce.Mlp(new int[] {2, 4, 4, 1}, new float[][] {w0, w1, {1, 1, 1, 1}},
        new float[][] {new float[4], {delta, -0.5f, -0.4f, -0.6f}, {0}});
  }

  /** The plane [−1.3, 0.7] × [−1.2, 0.8]: the input origin, where the fine structure is, lies off its centre. */
  static final double[] ORIGIN = {-0.3, -0.2};

  @Test
  void aDeeperLayersStructureFinerThanTheToleranceIsCountedAsMerged() {
    BruteForce.Mlp fine = diamond(1e-11f); // 5e-12 of the largest value of that neuron on the plane: below τ
    Partition whole = Partition.compute(fine.net(), Plane.explicit(ORIGIN, new double[] {1, 0}, new double[] {0, 1}));
    assertEquals(null, whole.plane().unresolvedNearCentre(fine.net()), "the first layer is well resolved");
    // independently: a plane 1e-9 wide around the diamond resolves it (its 4 triangles and the 4 quadrants around)
    double w = 1e-9;
    Partition zoom = Partition.compute(fine.net(), Plane.explicit(new double[2], new double[] {w, 0},
        new double[] {0, w}));
    assertEquals(8, zoom.regionCount());
    assertEquals(0, zoom.mergedByTolerance());
    assertEquals(-1, zoom.mergedLayer());
    // the whole plane's regions there: those with a corner in the window (nothing else crosses it)
    int there = 0;
    for (int f = 0; f < whole.regionCount(); f++) {
      for (int v : whole.face(f)) {
        if (Math.abs(whole.vertexX(v) + ORIGIN[0]) <= w && Math.abs(whole.vertexY(v) + ORIGIN[1]) <= w) {
          there++;
          break;
        }
      }
    }
    assertEquals(4, there, "the diamond's triangles were merged into the quadrants around it");
    assertEquals(zoom.regionCount() - there, whole.mergedByTolerance(), "the regions the count misses");
    assertEquals(1, whole.mergedLayer(), "in the second hidden layer");
    // the same network with a diamond the engine resolves on this plane: the 4 regions more, nothing merged
    Partition resolved = Partition.compute(diamond(1e-3f).net(), whole.plane());
    assertEquals(whole.regionCount() + 4, resolved.regionCount());
    assertEquals(0, resolved.mergedByTolerance());
    assertEquals(-1, resolved.mergedLayer());
  }

  /**
   * Networks the engine resolves merge nothing: random ones, and one whose boundaries all pass exactly through the
   * centre of a plane a million wide (no biases), whose values at that vertex are rounding noise.
   */
  @Test
  void wellResolvedNetworksMergeNothing() {
    double[] o = {0, 0};
    double[] u = {1, 0};
    double[] v = {0, 1};
    for (long seed = 1; seed <= 5; seed++) {
      Partition p = Partition.compute(PartitionBruteForceTest.random(seed, 2, 12, 10, 8, 3).net(),
          Plane.explicit(o, u, v));
      assertEquals(0, p.mergedByTolerance(), "seed " + seed);
    }
    float[] w0 = {1, 0, 1, 1, 0, 1, 1, -1}; // four lines through the origin
    BruteForce.Mlp concurrent = new BruteForce.Mlp(new int[] {2, 4, 3, 1}, new float[][] {w0,
        {1, -1, 0.5f, 0.25f, 1, -1, -1, 0.5f, 1, 0.5f, -0.25f, 1}, {1, 1, 1}},
        new float[][] {new float[4], new float[3], {0}});
    Partition exact = Partition.compute(concurrent.net(), Plane.explicit(o, new double[] {1e6, 0},
        new double[] {0, 1e6}));
    assertEquals(0, exact.mergedByTolerance());
  }
}
