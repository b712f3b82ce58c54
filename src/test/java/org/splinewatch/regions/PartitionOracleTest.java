package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The correctness oracles of regions.md §7. */
public class PartitionOracleTest {

  static final Plane SQUARE = Plane.explicit(new double[] {0, 0}, new double[] {1, 0}, new double[] {0, 1});

  static float[] randn(Random r, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * std);
    }
    return a;
  }

  /** Random MLP on 2D input: widths[0] = 2, ReLU between layers, a head of {@code out} outputs. */
  static PiecewiseLinearNet mlp(long seed, int[] widths, int out, double biasStd) {
    Random r = new Random(seed);
    List<Layer> layers = hiddenLayers(r, widths, biasStd);
    int last = widths[widths.length - 1];
    layers.add(new Layer.Dense(last, out, randn(r, last * out, 1), randn(r, out, 0.1)));
    return new PiecewiseLinearNet(widths[0], layers);
  }

  /** As {@link #mlp} without the head: an encoder, as the live analyzer's self-supervised runs have. */
  static PiecewiseLinearNet encoder(long seed, int[] widths, double biasStd) {
    return new PiecewiseLinearNet(widths[0], hiddenLayers(new Random(seed), widths, biasStd));
  }

  private static List<Layer> hiddenLayers(Random r, int[] widths, double biasStd) {
    List<Layer> layers = new ArrayList<>();
    for (int i = 0; i + 1 < widths.length; i++) {
      layers.add(new Layer.Dense(widths[i], widths[i + 1], randn(r, widths[i] * widths[i + 1],
          Math.sqrt(2.0 / widths[i])), randn(r, widths[i + 1], biasStd)));
      layers.add(Layer.Activation.relu());
    }
    return layers;
  }

  @Test
  void singleLayerMatchesClosedForm() {
    for (long seed = 1; seed <= 20; seed++) {
      Random r = new Random(seed);
      int n = 3 + r.nextInt(12);
      float[] w = randn(r, 2 * n, 1);
      float[] b = randn(r, n, 0.7);
      PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, n, w, b),
          Layer.Activation.relu()));
      // independent count: lines meeting the open square, and pairwise intersections strictly inside
      int lines = 0;
      for (int j = 0; j < n; j++) {
        boolean pos = false;
        boolean neg = false;
        for (double[] c : new double[][] {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}) {
          double z = c[0] * w[j] + c[1] * w[n + j] + b[j];
          pos |= z > 0;
          neg |= z < 0;
        }
        lines += pos && neg ? 1 : 0;
      }
      int inside = 0;
      for (int j = 0; j < n; j++) {
        for (int k = j + 1; k < n; k++) {
          double a11 = w[j];
          double a12 = w[n + j];
          double a21 = w[k];
          double a22 = w[n + k];
          double det = a11 * a22 - a12 * a21;
          double x = (-b[j] * a22 + b[k] * a12) / det;
          double y = (-a11 * b[k] + a21 * b[j]) / det;
          inside += Math.abs(x) < 1 && Math.abs(y) < 1 ? 1 : 0;
        }
      }
      Partition p = Partition.compute(net, SQUARE);
      assertEquals(1 + lines + inside, p.regionCount(), "seed " + seed);
      assertEquals(0, p.inconsistentFaces());
    }
  }

  @Test
  void concurrentLinesThroughOneInteriorPointGiveTwoN() {
    for (int n = 1; n <= 9; n++) {
      float[] w = new float[2 * n];
      for (int j = 0; j < n; j++) {
        double angle = Math.PI * (j + 0.3) / n;
        w[j] = (float) Math.cos(angle);
        w[n + j] = (float) Math.sin(angle);
      }
      PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, n, w, new float[n]),
          Layer.Activation.relu()));
      Partition p = Partition.compute(net, SQUARE);
      assertEquals(2 * n, p.regionCount(), "n = " + n);
      assertEuler(p);
    }
  }

  @Test
  void duplicateAndZeroNeuronsDoNotDoubleCount() {
    float[] w = {1, 1, 0, 0.5f, 0.5f, 0};
    float[] b = {0.1f, 0.1f, 0};
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 3, w, b),
        Layer.Activation.relu()));
    Partition p = Partition.compute(net, SQUARE);
    assertEquals(2, p.regionCount());
    assertEuler(p);
  }

  @Test
  void trivialCases() {
    PiecewiseLinearNet headOnly = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 3, new float[6],
        new float[3])));
    assertEquals(1, Partition.compute(headOnly, SQUARE).regionCount());
    PiecewiseLinearNet missing = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 2,
        new float[] {1, 0, 0, 1}, new float[] {5, -5}), Layer.Activation.relu()));
    assertEquals(1, Partition.compute(missing, SQUARE).regionCount());
  }

  @Test
  void shapeStatisticsOfOneRectangleAreItsClosedForms() {
    // no hidden layer: one region, the 4 × 3 rectangle (±2, ±1.5); its vertex distances are 3, 4 and 5 (diagonals)
    PiecewiseLinearNet headOnly = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 1, new float[2],
        new float[1])));
    Plane rectangle = Plane.explicit(new double[] {0, 0}, new double[] {2, 0}, new double[] {0, 1.5});
    PartitionStats s = PartitionStats.of(Partition.compute(headOnly, rectangle), false);
    assertEquals(1, s.regions());
    assertEquals(5.0 / 3, s.eccentricityMean(), 1e-9, "largest over smallest vertex distance");
    assertEquals(5.0 / 3, s.cornerEccentricityMean(), 1e-9);
    assertEquals(2.5, s.centralityMean(), 1e-12, "every corner is half a diagonal from the centre");
    assertEquals(0, s.centralityStd(), 1e-6);
    assertEquals(14, s.perimeterSum(), 1e-12);
    assertEquals(0, s.boundaryLength(), 0);
    assertEquals(12, s.areaSum(), 1e-12);
  }

  @Test
  void lengthAgreesWithHypotToAnUlpOrSo() {
    Random r = new Random(11);
    for (int i = 0; i < 100_000; i++) {
      double scale = Math.pow(10, r.nextInt(13) - 6); // edge lengths from 1e-6 to 1e6
      double dx = r.nextGaussian() * scale;
      double dy = r.nextGaussian() * scale;
      double h = Math.hypot(dx, dy);
      assertEquals(h, PartitionStats.length(dx, dy), 2 * Math.ulp(h), dx + ", " + dy);
    }
    assertEquals(5, PartitionStats.length(3, -4), 0);
  }

  @Property(tries = 40)
  void eulerAreaPerimeterPatternsHoldForRandomNetworks(@ForAll @IntRange(min = 1, max = 10_000) int seed,
      @ForAll @IntRange(min = 1, max = 3) int depth, @ForAll @IntRange(min = 2, max = 12) int width) {
    int[] widths = new int[depth + 1];
    Arrays.fill(widths, width);
    widths[0] = 2;
    PiecewiseLinearNet net = mlp(seed, widths, 3, seed % 2 == 0 ? 0 : 0.3);
    Partition p = Partition.compute(net, SQUARE);
    assertEuler(p);
    PartitionStats s = PartitionStats.of(p, true);
    assertEquals(s.domainArea(), s.areaSum(), 1e-12 * s.domainArea());
    assertEquals(2 * s.boundaryLength() + p.plane().domainPerimeter(), s.perimeterSum(), 1e-9);
    assertEquals(0, p.inconsistentFaces());
    assertPatternsConsistent(p);
    double classTotal = Arrays.stream(s.classAreas()).sum();
    assertEquals(s.domainArea(), classTotal, 1e-9);
  }

  @Test
  void gridPatternCountsAreALowerBoundThatGrows() {
    PiecewiseLinearNet net = mlp(7, new int[] {2, 16, 16, 16}, 2, 0.3);
    int exact = Partition.compute(net, SQUARE).regionCount();
    int previous = 0;
    for (int g = 8; g <= 512; g *= 2) {
      int found = gridPatterns(net, g);
      assertTrue(found <= exact, "grid " + g + " found " + found + " > exact " + exact);
      assertTrue(found >= previous, "nested grids must not lose patterns");
      previous = found;
    }
    assertTrue(previous > 0.6 * exact, "a 512x512 grid finds most regions: " + previous + " of " + exact);
  }

  @Test
  void invariantUnderNeuronPermutationAndPositiveRescaling() {
    Random r = new Random(3);
    int n = 10;
    float[] w1 = randn(r, 2 * n, 1);
    float[] b1 = randn(r, n, 0.5);
    float[] w2 = randn(r, n * 4, 1);
    float[] b2 = randn(r, 4, 0.5);
    PiecewiseLinearNet base = twoLayer(n, w1, b1, w2, b2);
    // permute the hidden neurons and rescale neuron j by alpha_j > 0
    int[] perm = {3, 7, 0, 9, 1, 5, 2, 8, 6, 4};
    float[] pw1 = new float[2 * n];
    float[] pb1 = new float[n];
    float[] pw2 = new float[n * 4];
    for (int j = 0; j < n; j++) {
      float alpha = 0.5f + j;
      int src = perm[j];
      pw1[j] = w1[src] * alpha;
      pw1[n + j] = w1[n + src] * alpha;
      pb1[j] = b1[src] * alpha;
      for (int c = 0; c < 4; c++) {
        pw2[j * 4 + c] = w2[src * 4 + c] / alpha;
      }
    }
    PiecewiseLinearNet changed = twoLayer(n, pw1, pb1, pw2, b2);
    PartitionStats a = PartitionStats.of(Partition.compute(base, SQUARE), true);
    PartitionStats b = PartitionStats.of(Partition.compute(changed, SQUARE), true);
    assertEquals(a.regions(), b.regions());
    assertEquals(a.boundaryLength(), b.boundaryLength(), 1e-6);
    assertEquals(a.areaStd(), b.areaStd(), 1e-6);
    assertEquals(a.decisionBoundaryLength(), b.decisionBoundaryLength(), 1e-4);
  }

  @Test
  void convolutionalNetworkMatchesItsDenseMatrix() {
    Random r = new Random(11);
    Layer.Conv2D conv = new Layer.Conv2D(1, 6, 6, 2, 3, 3, 1, 0, randn(r, 18, 0.6), randn(r, 2, 0.2));
    Layer.AvgPool2D pool = new Layer.AvgPool2D(2, 4, 4, 2, 2);
    Layer.Dense head = new Layer.Dense(8, 3, randn(r, 24, 1), randn(r, 3, 0.1));
    PiecewiseLinearNet convNet = new PiecewiseLinearNet(36, List.of(conv, Layer.Activation.relu(), pool,
        new Layer.Flatten(8), head));
    // the same network with the convolution written as a dense 36 x 32 matrix
    PiecewiseLinearNet.Block first = convNet.blocks().get(0);
    double[] basis = new double[36 * 36];
    for (int i = 0; i < 36; i++) {
      basis[i * 36 + i] = 1;
    }
    double[] zero = first.affine(new double[36], 1);
    double[] cols = first.affine(basis, 36);
    float[] w = new float[36 * 32];
    for (int i = 0; i < 36; i++) {
      for (int j = 0; j < 32; j++) {
        w[i * 32 + j] = (float) (cols[i * 32 + j] - zero[j]);
      }
    }
    float[] b = new float[32];
    for (int j = 0; j < 32; j++) {
      b[j] = (float) zero[j];
    }
    PiecewiseLinearNet denseNet = new PiecewiseLinearNet(36, List.of(new Layer.Dense(36, 32, w, b),
        Layer.Activation.relu(), pool, head));
    double[] o = new double[36];
    double[] u = new double[36];
    double[] v = new double[36];
    for (int i = 0; i < 36; i++) {
      o[i] = r.nextDouble();
      u[i] = r.nextGaussian();
      v[i] = r.nextGaussian();
    }
    Plane plane = Plane.explicit(o, u, v);
    PartitionStats a = PartitionStats.of(Partition.compute(convNet, plane), true);
    PartitionStats c = PartitionStats.of(Partition.compute(denseNet, plane), true);
    assertTrue(a.regions() > 1);
    assertEquals(a.regions(), c.regions());
    assertEquals(a.boundaryLength(), c.boundaryLength(), 1e-4 * a.boundaryLength());
  }

  @Test
  void batchNormIsFoldedLikeTheUnfoldedNetwork() {
    Random r = new Random(5);
    float[] w = randn(r, 2 * 6, 1);
    float[] b = randn(r, 6, 0.3);
    Layer.BatchNorm bn = new Layer.BatchNorm(randn(r, 6, 1), randn(r, 6, 0.3), randn(r, 6, 0.2),
        new float[] {0.5f, 1, 2, 0.1f, 1.5f, 0.7f}, 1e-5);
    PiecewiseLinearNet folded = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 6, w, b), bn,
        Layer.Activation.relu(), new Layer.Dense(6, 2, randn(r, 12, 1), new float[2])));
    double[] x = {0.3, -0.7};
    double[] y = folded.forward(x, 1);
    // unfolded by hand
    double[] h = new double[6];
    for (int j = 0; j < 6; j++) {
      double z = x[0] * w[j] + x[1] * w[6 + j] + b[j];
      z = bn.gamma()[j] * (z - bn.mean()[j]) / Math.sqrt(bn.variance()[j] + 1e-5) + bn.beta()[j];
      h[j] = Math.max(0, z);
    }
    Layer.Dense head = (Layer.Dense) folded.layers().get(3);
    for (int c = 0; c < 2; c++) {
      double s = head.bias()[c];
      for (int j = 0; j < 6; j++) {
        s += h[j] * head.weights()[j * 2 + c];
      }
      assertEquals(s, y[c], 1e-5 * Math.max(1, Math.abs(s)));
    }
  }

  @Test
  void benchmarkWorkloadsSatisfyEulerAndTheGridBound() {
    Path dir = Path.of("..", "shared", "benchmarks", "regions");
    for (String name : List.of("toy.npz", "mlp-s.npz")) {
      Path f = dir.resolve(name);
      if (!f.toFile().isFile()) {
        continue; // shared/ is beside the checkout in CI and on developer machines
      }
      NpzModel m = NpzModel.read(f);
      Partition p = Partition.compute(m.net(), m.plane());
      assertEuler(p);
      assertPatternsConsistent(p);
      assertEquals(0, p.inconsistentFaces());
    }
  }

  @Test
  void aPlaneWithItsAxesSwappedHasTheMirroredPartition() {
    // bench-regions times two planes at once with the second mirrored: the same regions, the same areas and lengths
    PiecewiseLinearNet net = mlp(8, new int[] {3, 20, 20}, 2, 0.4);
    Plane anchored = Plane.throughAnchors(new double[] {1, 0, 0.5}, new double[] {-0.5, 1, 0},
        new double[] {0, -1, -0.5}, 0);
    Plane explicit = Plane.explicit(new double[] {0, 0.2, 0}, new double[] {2, 0, 0}, new double[] {0.5, 2, 1});
    for (Plane plane : new Plane[] {anchored, explicit}) {
      Plane mirrored = plane.withAxesSwapped();
      assertEquals(plane.domainArea(), mirrored.domainArea(), 1e-12 * plane.domainArea());
      PartitionStats a = PartitionStats.of(Partition.compute(net, plane), true);
      PartitionStats b = PartitionStats.of(Partition.compute(net, mirrored), true);
      assertTrue(a.regions() > 50, a.regions() + " regions");
      assertEquals(a.regions(), b.regions());
      assertEquals(a.boundaryLength(), b.boundaryLength(), 1e-9 * a.boundaryLength());
      assertEquals(a.areaStd(), b.areaStd(), 1e-9 * a.areaStd());
      double[] s = plane.anchors();
      double[] t = mirrored.anchors();
      for (int i = 0; i + 1 < s.length; i += 2) {
        assertEquals(s[i], t[i + 1]);
        assertEquals(s[i + 1], t[i]);
      }
    }
  }

  @Test
  void aReusedWorkspaceGivesTheSamePartitionAsAFreshOne() {
    // large, small, wider, then large again: the buffers grow, are reused oversized, and hold stale values
    Plane plane = Plane.explicit(new double[] {0, 0, 0}, new double[] {2, 0, 0}, new double[] {0, 2, 1});
    PiecewiseLinearNet[] nets = {mlp(1, new int[] {3, 24, 24}, 2, 0.5), mlp(2, new int[] {3, 4, 4}, 2, 0.5),
        mlp(3, new int[] {3, 40, 8, 30}, 3, 0.5), mlp(4, new int[] {3, 24, 24}, 2, 0.5)};
    Partition.Workspace ws = new Partition.Workspace();
    for (PiecewiseLinearNet net : nets) {
      Partition fresh = Partition.compute(net, plane);
      Partition reused = Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
      assertSamePartition(fresh, reused);
      assertTrue(ws.bytes() > 0);
      // the statistics' arrays and edge map, kept in the workspace from the previous (larger or smaller) plane
      assertSameStats(PartitionStats.of(fresh, true), PartitionStats.of(reused, true, ws));
      ws.recycle(reused); // its vertex and pattern arrays, oversized or too small, back the next result
    }
    assertTrue(Partition.compute(nets[0], plane).regionCount() > 100, "the first network is not trivial");
  }

  @Test
  void aRecycledResultBacksTheNextOneAndCannotBeReadAgain() {
    Plane plane = Plane.explicit(new double[] {0, 0, 0}, new double[] {2, 0, 0}, new double[] {0, 2, 1});
    PiecewiseLinearNet net = mlp(8, new int[] {3, 40, 40, 40}, 3, 0.5);
    Partition.Workspace ws = new Partition.Workspace();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long tid = Thread.currentThread().getId();
    Partition fresh = Partition.compute(net, plane);
    long afterNone = Long.MAX_VALUE;
    long afterRecycle = Long.MAX_VALUE;
    Partition last = null;
    for (int i = 0; i < 8; i++) { // every other result recycled; the least of each kind (JIT and class loading aside)
      long before = threads.getThreadAllocatedBytes(tid);
      Partition p = Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
      long bytes = threads.getThreadAllocatedBytes(tid) - before;
      assertSamePartition(fresh, p);
      if (i % 2 == 0) {
        afterNone = i > 0 ? Math.min(afterNone, bytes) : afterNone;
        ws.recycle(p);
        last = p;
      } else {
        afterRecycle = Math.min(afterRecycle, bytes);
      }
    }
    long copies = 8L * fresh.regionCount() * fresh.pattern(0).length + 16L * fresh.vertexCount();
    assertTrue(fresh.regionCount() > 1000, fresh.regionCount() + " regions");
    // the difference is those arrays (and their headers); 90 % of them leaves room for the JIT's own allocation
    assertTrue(afterNone - afterRecycle >= copies * 9 / 10, "a computation after a recycle allocated " + afterRecycle
        + " bytes, one after none " + afterNone + "; expected the " + copies + " bytes of vertex and pattern copies"
        + " less");
    Partition done = last;
    org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class, () -> done.vertexX(0));
    org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class, () -> done.pattern(0));
    org.junit.jupiter.api.Assertions.assertThrows(NullPointerException.class, () -> done.face(0));
  }

  @Test
  void aComputationOnARecycledResultAllocatesNoArrayPerFace() {
    // the live analyzer's planes after the first: the result's face cycles came as an int[] a face (about 40 bytes
    // each) and the new vertices' corrections grew anew in every layer; they now go into the recycled result's arrays
    // and the workspace's. An encoder, as in a self-supervised run: a head's outputs are a new array a result keeps
    Plane plane = Plane.explicit(new double[] {0, 0, 0}, new double[] {2, 0, 0}, new double[] {0, 2, 1});
    PiecewiseLinearNet net = encoder(8, new int[] {3, 40, 40, 40}, 0.5);
    Partition fresh = Partition.compute(net, plane);
    Partition.Workspace ws = new Partition.Workspace();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long tid = Thread.currentThread().getId();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 8; i++) { // the least of a few: the first calls' JIT and class loading allocate too
      long before = threads.getThreadAllocatedBytes(tid);
      Partition p = Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
      long bytes = threads.getThreadAllocatedBytes(tid) - before;
      assertSamePartition(fresh, p);
      ws.recycle(p);
      least = Math.min(least, bytes);
    }
    int faces = fresh.regionCount();
    assertTrue(faces > 1000, faces + " regions");
    for (int f = 0; f < faces; f++) { // the picture's colours: the hash of each pattern, without its copy
      assertEquals(Arrays.hashCode(fresh.pattern(f)), fresh.patternHash(f));
    }
    // before: about 107 bytes a face; what is left is the layers' row buffers and small per-layer arrays
    assertTrue(least < 24L * faces, least + " bytes allocated for " + faces + " faces; expected under 24 a face");
  }

  @Test
  void statisticsWithAWarmWorkspaceAllocateNothingPerFace() {
    // the live analyzer's planes: per-face arrays, corner lists and the edge map came new for every plane of every
    // snapshot (about 250 bytes a face); with the workspace's kept arrays only the result's few arrays are left
    Plane plane = Plane.explicit(new double[] {0, 0, 0}, new double[] {2, 0, 0}, new double[] {0, 2, 1});
    PiecewiseLinearNet net = mlp(7, new int[] {3, 40, 40}, 3, 0.5);
    Partition.Workspace ws = new Partition.Workspace();
    Partition p = Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) { // the least of a few: the first call's JIT and class loading allocate too
      long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
      PartitionStats.of(p, false, ws);
      least = Math.min(least, threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before);
    }
    assertTrue(p.regionCount() > 500, p.regionCount() + " regions");
    assertTrue(least < 4096, least + " bytes allocated for " + p.regionCount() + " faces; expected under 4096");
  }

  /** Every statistic bit for bit (NaN equal to NaN), arrays element by element. */
  static void assertSameStats(PartitionStats expected, PartitionStats actual) {
    for (var c : PartitionStats.class.getRecordComponents()) {
      try {
        Object e = c.getAccessor().invoke(expected);
        Object a = c.getAccessor().invoke(actual);
        if (e instanceof double[] d) {
          assertArrayEquals(d, (double[]) a, 0.0, c.getName());
        } else if (e instanceof int[] n) {
          assertArrayEquals(n, (int[]) a, c.getName());
        } else {
          assertEquals(e, a, c.getName());
        }
      } catch (ReflectiveOperationException x) {
        throw new AssertionError(x);
      }
    }
  }

  @Test
  void capacityKeptFromALargeComputationDoesNotCountAgainstTheBudgetOfASmallOne() {
    // a workspace keeps its arrays between computations; a small plane after a large one must not overflow because
    // of capacity it does not use (a tiled count's tiny tile, after a large tile, overflowed with three vertices)
    PiecewiseLinearNet manyFaces = mlp(5, new int[] {2, 600, 8}, 2, 0.5); // many regions, narrow values
    PiecewiseLinearNet wideValues = mlp(6, new int[] {2, 16, 1200}, 2, 0.5); // few regions, 150 blocks of values
    Plane large = Plane.explicit(new double[] {0, 0}, new double[] {3, 0}, new double[] {0, 3});
    Plane small = Plane.explicit(new double[] {0.1, 0.2}, new double[] {0.05, 0}, new double[] {0, 0.05});
    long budget = 48L << 20; // the wide layer's first chunks (37.5 MiB) and a little more
    Partition.Workspace ws = new Partition.Workspace(budget);
    Partition first = Partition.compute(manyFaces, large, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
    assertTrue(!first.overflow() && first.regionCount() > 50_000, first.regionCount() + " regions");
    Partition p = Partition.compute(wideValues, small, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
    assertTrue(!p.overflow(), "the small plane fits after the large one");
    assertSamePartition(Partition.compute(wideValues, small), p);
  }

  @Test
  void aTrimmedWorkspaceHoldsNothingAndComputesAsAFreshOne() {
    // the live analyzer trims a workspace whose plane overflowed: it held about its budget, which must be freed
    PiecewiseLinearNet net = mlp(1, new int[] {3, 24, 24}, 2, 0.5);
    Plane plane = Plane.explicit(new double[] {0, 0, 0}, new double[] {2, 0, 0}, new double[] {0, 2, 1});
    Partition.Workspace ws = new Partition.Workspace();
    Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
    assertTrue(ws.bytes() > 0);
    ws.trim();
    assertEquals(0, ws.bytes(), "value chunks kept after trim");
    assertSamePartition(Partition.compute(net, plane), Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS,
        null, 1, ws));
    assertTrue(ws.bytes() > 0, "the workspace is used again after trim");
  }

  @Test
  void anAffineChainWritesIntoAGivenBufferExactlyAsIntoAFreshOne() {
    // BatchNorm after an activation stays a scale-shift operator: the second block is a chain of two operators
    Random r = new Random(9);
    Layer.BatchNorm bn = new Layer.BatchNorm(randn(r, 6, 1), randn(r, 6, 0.3), randn(r, 6, 0.2),
        new float[] {0.5f, 1, 2, 0.1f, 1.5f, 0.7f}, 1e-5);
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, 6, randn(r, 12, 1), randn(r, 6, 0.3)),
        Layer.Activation.relu(), bn, new Layer.Dense(6, 4, randn(r, 24, 1), randn(r, 4, 0.3)),
        Layer.Activation.relu(), new Layer.Dense(4, 2, randn(r, 8, 1), new float[2])));
    PiecewiseLinearNet.Block block = net.blocks().get(1);
    assertEquals(2, block.ops().size());
    int rows = 300;
    double[] in = new double[rows * 6 + 6]; // longer than rows × inDim, as a reused buffer is
    for (int i = 0; i < in.length; i++) {
      in[i] = Math.max(0, r.nextGaussian());
    }
    double[] expected = block.affine(in, rows);
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      for (int parts : new int[] {1, 2}) {
        double[] into = new double[rows * 4 + 5];
        Arrays.fill(into, Double.NaN);
        assertSame(into, block.affine(in, rows, pool, parts, into));
        assertArrayEquals(expected, Arrays.copyOf(into, rows * 4), 0.0);
        for (int i = rows * 4; i < into.length; i++) {
          assertTrue(Double.isNaN(into[i]), "values past rows × outDim are left alone");
        }
        double[] small = new double[rows * 4 - 1];
        double[] fresh = block.affine(in, rows, pool, parts, small);
        assertNotSame(small, fresh);
        assertArrayEquals(expected, fresh, 0.0);
      }
    } finally {
      pool.shutdown();
    }
  }

  static PiecewiseLinearNet twoLayer(int n, float[] w1, float[] b1, float[] w2, float[] b2) {
    return new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, n, w1, b1), Layer.Activation.relu(),
        new Layer.Dense(n, 4, w2, b2)));
  }

  /** The same partition, bit for bit: regions per layer, vertices, faces, patterns and outputs. */
  static void assertSamePartition(Partition expected, Partition actual) {
    assertEquals(expected.regionCount(), actual.regionCount());
    assertEquals(expected.vertexCount(), actual.vertexCount());
    assertArrayEquals(expected.regionsAfterLayer(), actual.regionsAfterLayer());
    for (int v = 0; v < expected.vertexCount(); v++) {
      assertEquals(expected.vertexX(v), actual.vertexX(v), 0.0);
      assertEquals(expected.vertexY(v), actual.vertexY(v), 0.0);
    }
    for (int f = 0; f < expected.regionCount(); f++) {
      assertArrayEquals(expected.face(f), actual.face(f));
      assertArrayEquals(expected.pattern(f), actual.pattern(f));
    }
    assertArrayEquals(expected.outputs(), actual.outputs(), 0.0);
  }

  static void assertEuler(Partition p) {
    assertEquals(1, p.vertexCount() - p.edgeCount() + p.regionCount(), "V - E + F = 1");
  }

  /** A forward pass at each face's vertex mean reproduces its pattern; patterns are distinct. */
  public static void assertPatternsConsistent(Partition p) {
    PiecewiseLinearNet net = p.net();
    Set<String> seen = new HashSet<>();
    for (int f = 0; f < p.regionCount(); f++) {
      int[] c = p.face(f);
      double s = 0;
      double t = 0;
      for (int v : c) {
        s += p.vertexX(v);
        t += p.vertexY(v);
      }
      double[] x = p.plane().toInput(new double[] {s / c.length, t / c.length}, 1);
      List<double[]> pre = net.preActivations(x, 1);
      int bit = 0;
      StringBuilder key = new StringBuilder();
      for (double[] z : pre) {
        for (double v : z) {
          boolean on = v > 0;
          assertEquals(on, p.active(f, bit), "face " + f + " neuron " + bit);
          key.append(on ? '1' : '0');
          bit++;
        }
      }
      assertTrue(seen.add(key.toString()), "pattern of face " + f + " repeats");
    }
  }

  static int gridPatterns(PiecewiseLinearNet net, int g) {
    double[] pts = new double[g * g * 2];
    for (int i = 0; i < g; i++) {
      for (int j = 0; j < g; j++) {
        // cell centres of nested grids G = 2^k share no points, but every coarser centre's cell contains finer ones
        pts[2 * (i * g + j)] = -1 + (2 * i + 1.0) / g;
        pts[2 * (i * g + j) + 1] = -1 + (2 * j + 1.0) / g;
      }
    }
    List<double[]> pre = net.preActivations(pts, g * g);
    Set<String> patterns = new HashSet<>();
    for (int r = 0; r < g * g; r++) {
      StringBuilder sb = new StringBuilder();
      for (double[] z : pre) {
        int n = z.length / (g * g);
        for (int j = 0; j < n; j++) {
          sb.append(z[r * n + j] > 0 ? '1' : '0');
        }
      }
      patterns.add(sb.toString());
    }
    return patterns.size();
  }
}
