package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
    assertOutputsEqualAForwardPass(n, PLANE, p);
    PartitionOracleTest.assertEuler(p);
    PartitionOracleTest.assertPatternsConsistent(p);
    assertEquals(0, p.inconsistentFaces());
  }

  /** The head outputs {@code p} kept at its vertices equal a forward pass of {@code n} at them (3 outputs). */
  static void assertOutputsEqualAForwardPass(PiecewiseLinearNet n, Plane plane, Partition p) {
    int v = p.vertexCount();
    double[] st = new double[2 * v];
    for (int k = 0; k < v; k++) {
      st[2 * k] = p.vertexX(k);
      st[2 * k + 1] = p.vertexY(k);
    }
    double[] forward = n.forward(plane.toInput(st, v), v);
    double[] kept = p.outputs();
    double scale = 1;
    for (double y : forward) {
      scale = Math.max(scale, Math.abs(y));
    }
    for (int i = 0; i < forward.length; i++) {
      assertEquals(forward[i], kept[i], 1e-9 * scale, "output " + i % 3 + " at vertex " + i / 3);
    }
  }

  @Test
  void valuesStoredAcrossSeveralChunksGiveForwardPassOutputsAndReusedChunksChangeNothing() {
    // wide enough that every stored layer spans several chunks of Partition.CHUNK_VERTICES vertices, so the chunk
    // arithmetic (interpolation between vertices in different chunks, growth by chunks) is exercised
    PiecewiseLinearNet wide = net(11, 3, 64, true, true);
    Plane big = Plane.explicit(new double[] {0.1, -0.2, 0.3}, new double[] {6, 0, 1.5}, new double[] {0, 6, -3});
    Partition.Workspace ws = new Partition.Workspace();
    Partition.compute(net(12, 2, 64, false, false), big, Partition.DEFAULT_MAX_REGIONS, null, 1, ws); // stale chunks
    long held = ws.bytes();
    Partition p = Partition.compute(wide, big, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
    assertTrue(p.vertexCount() > 2 * Partition.CHUNK_VERTICES,
        "spans three chunks or more: " + p.vertexCount() + " vertices");
    assertOutputsEqualAForwardPass(wide, big, p);
    PartitionOracleTest.assertSamePartition(Partition.compute(wide, big), p);
    assertTrue(ws.bytes() >= held, "chunks are kept");
    long after = ws.bytes();
    PartitionOracleTest.assertSamePartition(p,
        Partition.compute(wide, big, Partition.DEFAULT_MAX_REGIONS, null, 1, ws));
    assertEquals(after, ws.bytes(), "the same plane again takes every chunk from the free list");
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
  void lastLayerWithoutHeadGivesTheSamePartitionWithHalfTheMemory() {
    // 2 -> 24 -> 24: the last layer's value blocks are released as its neurons are done (no head reads them), so the
    // same partition as with a head (a linear head cuts nothing) must come out, in fewer bytes
    PiecewiseLinearNet withHead = PartitionOracleTest.mlp(3, new int[] {2, 24, 24}, 4, 0.1);
    List<Layer> layers = new ArrayList<>(withHead.layers());
    layers.remove(layers.size() - 1); // the head
    PiecewiseLinearNet noHead = new PiecewiseLinearNet(2, layers);
    Plane plane = Plane.explicit(new double[] {0, 0}, new double[] {3, 0}, new double[] {0, 3});
    Partition.Workspace a = new Partition.Workspace();
    Partition.Workspace b = new Partition.Workspace();
    Partition p = Partition.compute(withHead, plane, 1_000_000, null, 1, a);
    Partition q = Partition.compute(noHead, plane, 1_000_000, null, 1, b);
    assertTrue(p.regionCount() > 200, "a plane worth measuring: " + p.regionCount());
    assertEquals(p.regionCount(), q.regionCount());
    assertEquals(p.vertexCount(), q.vertexCount());
    assertArrayEquals(p.regionsAfterLayer(), q.regionsAfterLayer());
    assertTrue(b.peakBytes() < a.peakBytes(), b.peakBytes() + " bytes without the head, " + a.peakBytes()
        + " with it");
  }

  @Test
  void aBudgetStopsThePartitionWithOverflowAsTheRegionCapDoes() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(5, new int[] {2, 24, 24}, 4, 0.1);
    Plane plane = Plane.explicit(new double[] {0, 0}, new double[] {3, 0}, new double[] {0, 3});
    Partition.Workspace free = new Partition.Workspace();
    Partition full = Partition.compute(net, plane, 1_000_000, null, 1, free);
    assertFalse(full.overflow());
    Partition.Workspace exact = new Partition.Workspace(free.peakBytes());
    assertFalse(Partition.compute(net, plane, 1_000_000, null, 1, exact).overflow(), "the measured peak fits");
    Partition.Workspace tight = new Partition.Workspace(free.peakBytes() / 3);
    Partition cut = Partition.compute(net, plane, 1_000_000, null, 1, tight);
    assertTrue(cut.overflow());
    assertTrue(cut.regionCount() < full.regionCount());
    assertTrue(tight.peakBytes() <= free.peakBytes() / 3, "stayed within its budget: " + tight.peakBytes());
    assertThrows(IllegalArgumentException.class, () -> new Partition.Workspace(0));
  }
  /**
   * A workspace that counts all ({@code bench-regions}') also counts what the ordinary count leaves out: the result's
   * copies of the vertices, faces and patterns and its head outputs, made while the workspace's arrays are held, and
   * the edge map; the same partition either way. On mlp-m-wide they were 9 MiB (the ordinary count 88.3 MiB, the heap
   * a collection leaves 96.3 MiB); on a plane of 520 lines half of it.
   */
  @Test
  void aWorkspaceCountingAllCountsTheResultsCopiesBesideTheEnginesArrays() {
    for (long seed = 1; seed <= 3; seed++) {
      BruteForce.Mlp mlp = PartitionBruteForceTest.random(seed, 2, 48, 32, 10);
      Plane plane = Plane.explicit(new double[] {0.1, -0.2}, new double[] {2, 0}, new double[] {0, 2});
      Partition.Workspace plain = new Partition.Workspace();
      Partition.Workspace all = Partition.Workspace.countingAll(Long.MAX_VALUE);
      Partition a = Partition.compute(mlp.net(), plane, 1_000_000, null, 1, plain);
      Partition b = Partition.compute(mlp.net(), plane, 1_000_000, null, 1, all);
      assertEquals(a.regionCount(), b.regionCount());
      assertTrue(a.resultBytes() >= 8L * 10 * a.vertexCount(), "the head outputs are the result's");
      long beside = a.resultBytes() + plain.uncountedBytes();
      assertTrue(all.peakBytes() >= plain.peakBytes() + a.resultBytes(), "seed " + seed + ": " + all.peakBytes()
          + " counting all, " + plain.peakBytes() + " + " + a.resultBytes() + " of the result");
      assertTrue(all.peakBytes() <= plain.peakBytes() + 2 * beside, "seed " + seed + ": " + all.peakBytes()
          + " counting all, at most twice what the ordinary count leaves out (capacity to grow)");
    }
  }
}
