package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;

/** Boundary-change patterns (regions.md §5), network prefixes, parallel partitions, decision-boundary segments, SVG. */
class ActivationPatternsTest {
  private static final Random RANDOM = new Random(7);

  /** A random MLP on a 12-dimensional input and a plane through three random points. */
  private static PiecewiseLinearNet mlp12(long seed, int out) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    int[] widths = {12, 10, 8};
    for (int i = 0; i + 1 < widths.length; i++) {
      layers.add(new Layer.Dense(widths[i], widths[i + 1], PartitionOracleTest.randn(r, widths[i] * widths[i + 1],
          Math.sqrt(2.0 / widths[i])), PartitionOracleTest.randn(r, widths[i + 1], 0.1)));
      layers.add(Layer.Activation.relu());
    }
    layers.add(new Layer.Dense(8, out, PartitionOracleTest.randn(r, 8 * out, 1), PartitionOracleTest.randn(r, out, 0.1)));
    return new PiecewiseLinearNet(12, layers);
  }

  private static Plane plane12() {
    double[][] a = new double[3][12];
    for (double[] x : a) {
      for (int i = 0; i < 12; i++) {
        x[i] = RANDOM.nextGaussian();
      }
    }
    return Plane.throughAnchors(a[0], a[1], a[2], 0);
  }

  @Test
  void planePatternsEqualInputSpacePatterns() {
    PiecewiseLinearNet net = mlp12(1, 3);
    Plane plane = plane12();
    double[] st = ActivationPatterns.gridCentres(plane, 20);
    int rows = st.length / 2;
    ActivationPatterns onPlane = ActivationPatterns.onPlane(net, plane, st, rows, true);
    ActivationPatterns inSpace = ActivationPatterns.atInputs(net, plane.toInput(st, rows), rows, true);
    ActivationPatterns.Change c = onPlane.changeFrom(inSpace);
    assertEquals(0, c.neuronFlipRate(), 1e-3, "the pulled-back first layer matches the forward pass");
    assertEquals(0, c.decisionChangeRate(), 1e-3);
  }

  @Test
  void chunkedPassesGiveEachPointsOwnPatternAndClass() {
    // more points than two chunks and not a multiple of one: every point's pattern and class equal a pass of that
    // point alone, on the plane and in input space
    PiecewiseLinearNet net = mlp12(3, 4);
    Plane plane = plane12();
    double[] st = ActivationPatterns.gridCentres(plane, 40);
    int rows = st.length / 2;
    assertTrue(rows > 2 * ActivationPatterns.CHUNK_ROWS && rows % ActivationPatterns.CHUNK_ROWS != 0, "rows " + rows);
    double[] x = plane.toInput(st, rows);
    ActivationPatterns onPlane = ActivationPatterns.onPlane(net, plane, st, rows, true);
    ActivationPatterns inSpace = ActivationPatterns.atInputs(net, x, rows, true);
    for (int r = 0; r < rows; r++) {
      ActivationPatterns one = ActivationPatterns.onPlane(net, plane, new double[] {st[2 * r], st[2 * r + 1]}, 1,
          true);
      ActivationPatterns oneInSpace = ActivationPatterns.atInputs(net,
          java.util.Arrays.copyOfRange(x, r * 12, (r + 1) * 12), 1, true);
      for (int bit = 0; bit < 18; bit++) {
        assertEquals(one.active(0, bit), onPlane.active(r, bit), "point " + r + " neuron " + bit);
        assertEquals(oneInSpace.active(0, bit), inSpace.active(r, bit), "point " + r + " neuron " + bit);
      }
      assertEquals(one.predicted(0), onPlane.predicted(r), "point " + r);
      assertEquals(oneInSpace.predicted(0), inSpace.predicted(r), "point " + r);
    }
  }

  @Test
  void gridCentresCoverTheDomainUniformly() {
    Plane diamond = Plane.throughAnchors(new double[] {1, 0, 0}, new double[] {0, 1, 0}, new double[] {0, 0, 1}, 1);
    // the diamond |s|+|t| <= 1 fills half of its bounding box
    double[] st = ActivationPatterns.gridCentres(diamond, 200);
    assertEquals(0.5, st.length / 2 / 40000.0, 0.01);
    for (int i = 0; i < st.length; i += 2) {
      assertTrue(Math.abs(st[i]) + Math.abs(st[i + 1]) <= 1 + 1e-12);
    }
  }

  @Test
  void negatingOneNeuronFlipsExactlyThatNeuron() {
    // one hidden layer of n neurons; negating neuron 0 (w, b -> -w, -b) flips its sign wherever it is nonzero
    int n = 8;
    Random r = new Random(3);
    float[] w = PartitionOracleTest.randn(r, 2 * n, 1);
    float[] b = PartitionOracleTest.randn(r, n, 0.3);
    float[] w2 = w.clone();
    float[] b2 = b.clone();
    w2[0] = -w2[0];
    w2[n] = -w2[n];
    b2[0] = -b2[0];
    float[] head = PartitionOracleTest.randn(r, n * 3, 1);
    float[] hb = new float[3];
    PiecewiseLinearNet before = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, n, w, b),
        Layer.Activation.relu(), new Layer.Dense(n, 3, head, hb)));
    PiecewiseLinearNet after = new PiecewiseLinearNet(2, List.of(new Layer.Dense(2, n, w2, b2),
        Layer.Activation.relu(), new Layer.Dense(n, 3, head, hb)));
    double[] st = ActivationPatterns.gridCentres(PartitionOracleTest.SQUARE, 64);
    int rows = st.length / 2;
    ActivationPatterns.Change c = ActivationPatterns.onPlane(after, PartitionOracleTest.SQUARE, st, rows, false)
        .changeFrom(ActivationPatterns.onPlane(before, PartitionOracleTest.SQUARE, st, rows, false));
    assertEquals(1.0 / n, c.neuronFlipRate(), 1e-12);
    assertArrayEquals(new double[] {1.0 / n}, c.layerFlipRates(), 1e-12);
    assertEquals(1.0, c.regionChangeRate(), 1e-12);
    assertTrue(Double.isNaN(c.decisionChangeRate()), "no classifier head requested");
    ActivationPatterns.Change same = ActivationPatterns.onPlane(before, PartitionOracleTest.SQUARE, st, rows, true)
        .changeFrom(ActivationPatterns.onPlane(before, PartitionOracleTest.SQUARE, st, rows, true));
    assertEquals(0, same.neuronFlipRate());
    assertEquals(0, same.regionChangeRate());
    assertEquals(0, same.decisionChangeRate());
  }

  @Test
  void swappingTwoClassesChangesExactlyTheirArea() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(5, new int[] {2, 12, 12}, 3, 0.2);
    List<Layer> swapped = new ArrayList<>(net.layers());
    Layer.Dense head = (Layer.Dense) swapped.get(swapped.size() - 1);
    float[] w = head.weights().clone();
    float[] b = head.bias().clone();
    for (int k = 0; k < head.in(); k++) {
      float t = w[k * 3];
      w[k * 3] = w[k * 3 + 1];
      w[k * 3 + 1] = t;
    }
    float t = b[0];
    b[0] = b[1];
    b[1] = t;
    swapped.set(swapped.size() - 1, new Layer.Dense(head.in(), 3, w, b));
    PiecewiseLinearNet other = new PiecewiseLinearNet(2, swapped);
    double[] st = ActivationPatterns.gridCentres(PartitionOracleTest.SQUARE, 50);
    int rows = st.length / 2;
    ActivationPatterns a = ActivationPatterns.onPlane(net, PartitionOracleTest.SQUARE, st, rows, true);
    ActivationPatterns.Change c = ActivationPatterns.onPlane(other, PartitionOracleTest.SQUARE, st, rows, true)
        .changeFrom(a);
    int class01 = 0;
    for (int i = 0; i < rows; i++) {
      class01 += a.predicted(i) <= 1 ? 1 : 0;
    }
    assertEquals(class01 / (double) rows, c.decisionChangeRate(), 1e-12);
    assertEquals(0, c.neuronFlipRate(), "hidden layers unchanged");
    // and the grid estimate approaches the exact class areas of the partition
    PartitionStats stats = PartitionStats.of(Partition.compute(net, PartitionOracleTest.SQUARE), true);
    double exact = (stats.classAreas()[0] + stats.classAreas()[1]) / stats.domainArea();
    assertEquals(exact, c.decisionChangeRate(), 0.03);
  }

  @Test
  void prefixKeepsTheFirstBlocks() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(2, new int[] {2, 6, 5, 4}, 3, 0.1);
    PiecewiseLinearNet encoder = net.prefix(2);
    assertEquals(2, encoder.blocks().size());
    assertEquals(null, encoder.head());
    double[] x = {0.3, -0.2, 0.9, 0.1};
    assertArrayEquals(net.forwardTo(x, 2, 2), encoder.forward(x, 2), 0);
    assertTrue(net.prefix(10) == net);
  }

  @Test
  void aPrefixSharesTheCompiledBlocksAndComputesAsTheLayersCompiledAgain() {
    // batch norm folded before an activation, one after it (a block of its own ops), an identity between blocks
    Random r = new Random(9);
    List<Layer> layers = List.of(new Layer.Dense(2, 6, PartitionOracleTest.randn(r, 12, 1),
            PartitionOracleTest.randn(r, 6, 0.3)),
        new Layer.BatchNorm(PartitionOracleTest.randn(r, 6, 1), PartitionOracleTest.randn(r, 6, 0.3),
            PartitionOracleTest.randn(r, 6, 0.2), new float[] {0.5f, 1, 2, 0.1f, 1.5f, 0.7f}, 1e-5),
        Layer.Activation.relu(), Layer.Activation.identity(),
        new Layer.BatchNorm(PartitionOracleTest.randn(r, 6, 1), PartitionOracleTest.randn(r, 6, 0.3),
            PartitionOracleTest.randn(r, 6, 0.2), new float[] {1, 2, 0.5f, 0.3f, 1, 0.9f}, 1e-5),
        new Layer.Dense(6, 5, PartitionOracleTest.randn(r, 30, 1), PartitionOracleTest.randn(r, 5, 0.3)),
        Layer.Activation.leakyRelu(0.1), new Layer.Dense(5, 3, PartitionOracleTest.randn(r, 15, 1), new float[3]));
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, layers);
    double[] x = {0.3, -0.7, 1.1, 0.4, -0.2, 0.05};
    int[] ends = {3, 7}; // the layers up to each block's activation
    for (int k = 1; k <= 2; k++) {
      PiecewiseLinearNet prefix = net.prefix(k);
      PiecewiseLinearNet compiled = new PiecewiseLinearNet(2, layers.subList(0, ends[k - 1]));
      assertEquals(compiled.layers(), prefix.layers());
      assertEquals(k, prefix.blocks().size());
      for (int b = 0; b < k; b++) {
        assertSame(net.blocks().get(b), prefix.blocks().get(b), "block " + b + " shared, not compiled again");
        assertEquals(compiled.blocks().get(b).inDim(), prefix.blocks().get(b).inDim());
        assertEquals(compiled.blocks().get(b).outDim(), prefix.blocks().get(b).outDim());
        assertEquals(compiled.blocks().get(b).activation(), prefix.blocks().get(b).activation());
      }
      assertArrayEquals(compiled.forward(x, 3), prefix.forward(x, 3), 0);
    }
  }

  @Test
  void parallelPartitionIsIdentical() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(11, new int[] {2, 24, 24, 24}, 2, 0.1);
    Partition serial = Partition.compute(net, PartitionOracleTest.SQUARE);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Partition parallel = Partition.compute(net, PartitionOracleTest.SQUARE, Partition.DEFAULT_MAX_REGIONS, pool, 2);
      PartitionOracleTest.assertSamePartition(serial, parallel);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void decisionBoundarySegmentsAddUpToItsLength() {
    int withBoundary = 0;
    for (long seed = 1; seed <= 8; seed++) {
      PiecewiseLinearNet net = PartitionOracleTest.mlp(seed, new int[] {2, 10, 10}, 4, 0.2);
      Partition p = Partition.compute(net, PartitionOracleTest.SQUARE);
      double[] seg = DecisionBoundary.segments(p);
      double total = 0;
      for (int k = 0; k < seg.length; k += 4) {
        total += Math.hypot(seg[k + 2] - seg[k], seg[k + 3] - seg[k + 1]);
      }
      double length = PartitionStats.of(p, true).decisionBoundaryLength();
      withBoundary += length > 0 ? 1 : 0;
      assertEquals(length, total, 1e-9 * Math.max(1, length), "seed " + seed);
    }
    assertTrue(withBoundary >= 4, "most seeds have a decision boundary on the square: " + withBoundary);
  }

  @Test
  void svgIsWellFormedAndSaysHowManyRegions() throws Exception {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(3, new int[] {2, 16, 16}, 3, 0.1);
    Partition p = Partition.compute(net, PartitionOracleTest.SQUARE);
    String svg = SvgRenderer.render(p, "step <1> & more", 300, SvgRenderer.MIN_FACE_PIXELS, true);
    var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
        .parse(new java.io.ByteArrayInputStream(svg.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertEquals("svg", doc.getDocumentElement().getTagName());
    assertTrue(svg.contains(p.regionCount() + " regions"));
    assertTrue(svg.contains("stroke=\"#d00\""), "decision boundary drawn");
    assertTrue(svg.contains("step &lt;1&gt; &amp; more"));
  }

  @Test
  void aWarmWorkspaceGivesTheSamePatternsAndAllocatesOnlyThePatterns() {
    // the boundary analyzer's passes: every chunk's block outputs (and a chain's intermediate values) came new for each
    // plane of every snapshot; with a kept workspace only the returned bits and classes are left
    Random r = new Random(3);
    List<Layer> layers = new ArrayList<>();
    layers.add(new Layer.Dense(12, 40, PartitionOracleTest.randn(r, 480, 0.4), PartitionOracleTest.randn(r, 40, 0.1)));
    layers.add(Layer.Activation.relu());
    // a BatchNorm after an activation stays an operator of the next chain: a block of two operators
    float[] ones = new float[40];
    java.util.Arrays.fill(ones, 1f);
    layers.add(new Layer.BatchNorm(PartitionOracleTest.randn(r, 40, 1), PartitionOracleTest.randn(r, 40, 0.1),
        PartitionOracleTest.randn(r, 40, 0.1), ones, 1e-5));
    layers.add(new Layer.Dense(40, 30, PartitionOracleTest.randn(r, 1200, 0.2), PartitionOracleTest.randn(r, 30, 0.1)));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.Dense(30, 4, PartitionOracleTest.randn(r, 120, 1), PartitionOracleTest.randn(r, 4, 0.1)));
    PiecewiseLinearNet net = new PiecewiseLinearNet(12, layers);
    assertEquals(2, net.blocks().get(1).ops().size());
    Plane plane = plane12();
    double[] st = ActivationPatterns.gridCentres(plane, 48);
    int rows = st.length / 2;
    double[] x = plane.toInput(st, rows);
    assertTrue(rows > 3 * ActivationPatterns.CHUNK_ROWS, rows + " points");
    ActivationPatterns.Workspace ws = new ActivationPatterns.Workspace();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long tid = Thread.currentThread().getId();
    long leastPlane = Long.MAX_VALUE;
    long leastInputs = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) { // the least of a few: the first calls' JIT and class loading allocate too
      long before = threads.getThreadAllocatedBytes(tid);
      ActivationPatterns onPlane = ActivationPatterns.onPlane(net, plane, st, rows, true, ws);
      long between = threads.getThreadAllocatedBytes(tid);
      ActivationPatterns atInputs = ActivationPatterns.atInputs(net, x, rows, true, ws);
      long after = threads.getThreadAllocatedBytes(tid);
      leastPlane = Math.min(leastPlane, between - before);
      leastInputs = Math.min(leastInputs, after - between);
      assertSamePatterns(unchunked(net, Plane.firstBlockAffine(plane.firstBlockCoefficients(net.blocks().get(0)), st,
          rows, null), rows), onPlane);
      assertSamePatterns(unchunked(net, net.blocks().get(0).affine(x, rows), rows), atInputs);
    }
    // what is kept: the bits (two words a point for 70 neurons) and the classes; 16 kB for the coefficients and the rest
    long kept = 16L * rows + 4L * rows + 16384;
    assertTrue(leastPlane < kept, leastPlane + " bytes for the plane's " + rows + " points; expected under " + kept);
    assertTrue(leastInputs < kept, leastInputs + " bytes for " + rows + " input points; expected under " + kept);
  }

  /** Patterns and classes from one pass over every point, blocks after the first from its values {@code z0}. */
  private static Expected unchunked(PiecewiseLinearNet net, double[] z0, int rows) {
    List<double[]> pre = new ArrayList<>();
    double[] cur = z0;
    int[] predicted = new int[rows];
    for (int b = 0; b < net.blocks().size(); b++) {
      PiecewiseLinearNet.Block block = net.blocks().get(b);
      double[] z = b == 0 ? cur : block.affine(cur, rows);
      if (block.hidden()) {
        pre.add(z.clone());
        block.activate(z);
      } else {
        int n = block.outDim();
        for (int r = 0; r < rows; r++) {
          int best = 0;
          for (int j = 1; j < n; j++) {
            best = z[r * n + j] > z[r * n + best] ? j : best;
          }
          predicted[r] = best;
        }
      }
      cur = z;
    }
    return new Expected(pre, predicted);
  }

  /** The hidden blocks' pre-activations and the classes of an unchunked pass. */
  private record Expected(List<double[]> pre, int[] classes) {
  }

  /** Every point's bits ({@code z > 0}) and class equal the unchunked pass's. */
  private static void assertSamePatterns(Expected expected, ActivationPatterns actual) {
    List<double[]> pre = expected.pre();
    int[] classes = expected.classes();
    for (int r = 0; r < actual.rows(); r++) {
      int bit = 0;
      for (double[] z : pre) {
        int n = z.length / actual.rows();
        for (int j = 0; j < n; j++, bit++) {
          assertEquals(z[r * n + j] > 0, actual.active(r, bit), "point " + r + " neuron " + bit);
        }
      }
      assertEquals(classes[r], actual.predicted(r), "point " + r);
    }
  }
}
