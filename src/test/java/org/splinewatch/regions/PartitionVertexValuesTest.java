package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The engine's vertex values (regions.md §7 oracle 7): the head outputs it keeps at every vertex, which it derives
 * for the vertices a layer creates from the two ends of the split edge (not by a product with the weights), equal an
 * ordinary forward pass at the vertex; and the published region counts of the benchmark workloads.
 */
class PartitionVertexValuesTest {

  /** {@code 2 → widths… → 3}; hidden activations ReLU or LeakyReLU, optionally an unfolded BatchNorm after one. */
  static PiecewiseLinearNet net(long seed, int depth, int width, boolean leaky, boolean batchNorm) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    int in = 3;
    for (int l = 0; l < depth; l++) {
      layers.add(new Layer.Dense(in, width, PartitionOracleTest.randn(r, in * width, Math.sqrt(2.0 / in)),
          PartitionOracleTest.randn(r, width, 0.3)));
      layers.add(leaky && l % 2 == 1 ? Layer.Activation.leakyRelu(0.1) : Layer.Activation.relu());
      if (batchNorm && l == 0) {
        float[] var = new float[width];
        java.util.Arrays.fill(var, 1.5f);
        layers.add(new Layer.BatchNorm(PartitionOracleTest.randn(r, width, 1), PartitionOracleTest.randn(r, width, 1),
            PartitionOracleTest.randn(r, width, 1), var, 1e-5));
      }
      in = width;
    }
    layers.add(new Layer.Dense(in, 3, PartitionOracleTest.randn(r, in * 3, 1), PartitionOracleTest.randn(r, 3, 0.1)));
    return new PiecewiseLinearNet(3, layers);
  }

  static final Plane PLANE = Plane.explicit(new double[] {0.1, -0.2, 0.3}, new double[] {2, 0, 0.5},
      new double[] {0, 2, -1});

  @Property(tries = 60)
  void headOutputsAtTheVerticesEqualAForwardPass(@ForAll @IntRange(min = 1, max = 100_000) int seed,
      @ForAll @IntRange(min = 1, max = 4) int depth, @ForAll @IntRange(min = 2, max = 24) int width) {
    PiecewiseLinearNet n = net(seed, depth, width, seed % 3 == 0, seed % 4 == 1);
    Partition p = Partition.compute(n, PLANE);
    int v = p.vertexCount();
    double[] st = new double[2 * v];
    for (int k = 0; k < v; k++) {
      st[2 * k] = p.vertexX(k);
      st[2 * k + 1] = p.vertexY(k);
    }
    double[] forward = n.forward(PLANE.toInput(st, v), v);
    double[] kept = p.outputs();
    double scale = 1;
    for (double y : forward) {
      scale = Math.max(scale, Math.abs(y));
    }
    for (int i = 0; i < forward.length; i++) {
      assertEquals(forward[i], kept[i], 1e-9 * scale, "output " + i % 3 + " at vertex " + i / 3);
    }
    PartitionOracleTest.assertEuler(p);
    PartitionOracleTest.assertPatternsConsistent(p);
    assertEquals(0, p.inconsistentFaces());
  }

  @Test
  void theProductSplitOverThreadsGivesTheSamePartition() {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int seed = 1; seed <= 3; seed++) {
        PiecewiseLinearNet n = net(seed, 3, 40, seed == 2, seed == 3);
        Partition one = Partition.compute(n, PLANE);
        Partition two = Partition.compute(n, PLANE, Partition.DEFAULT_MAX_REGIONS, pool, 2);
        assertTrue(one.regionCount() > 200, "not trivial: " + one.regionCount());
        PartitionOracleTest.assertSamePartition(one, two);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void benchmarkWorkloadsKeepTheirPublishedCounts() {
    Path dir = Path.of("..", "shared", "benchmarks", "regions");
    // regions, vertices, edges (docs/regions-engine.md; the same as before the engine was reorganised)
    Map<String, int[]> expected = Map.of("toy.npz", new int[] {104, 121, 224}, "mlp-s.npz",
        new int[] {285, 321, 605}, "mlp-m.npz", new int[] {3013, 3136, 6148});
    for (var e : expected.entrySet()) {
      Path f = dir.resolve(e.getKey());
      if (!f.toFile().isFile()) {
        continue; // shared/ is beside the checkout in CI and on developer machines
      }
      NpzModel m = NpzModel.read(f);
      Partition p = Partition.compute(m.net(), m.plane());
      assertEquals(e.getValue()[0], p.regionCount(), e.getKey() + " regions");
      assertEquals(e.getValue()[1], p.vertexCount(), e.getKey() + " vertices");
      assertEquals(e.getValue()[2], p.edgeCount(), e.getKey() + " edges");
    }
  }

  @Test
  void memoryEstimateCountsStoredLayersOnly() {
    // 2 -> 8 -> 8 -> 2: the first layer is not stored; the second (8 lanes) and the head (2 outputs) are held together
    PiecewiseLinearNet small = PartitionOracleTest.mlp(1, new int[] {2, 8, 8}, 2, 0.1);
    assertEquals(8 * (8 + 2) * 3 / 2 + 8 * 5, Partition.bytesPerVertex(small));
    // a 6272-wide first layer costs nothing per vertex; 3136 then 256 are held together at the step between them
    PiecewiseLinearNet cnn = CnnPlaneHarness.cnn(1);
    assertEquals(8L * (3136 + 256) * 3 / 2 + 8 * 5, Partition.bytesPerVertex(cnn));
    assertEquals(8L * ((6272 + 3136 + 256 + 256 + 63) / 64) + 40, Partition.patternBytesPerRegion(cnn));
  }
}
