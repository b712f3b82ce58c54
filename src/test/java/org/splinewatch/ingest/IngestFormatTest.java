package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PartitionOracleTest;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.NpzArchive;
import org.splinewatch.snapshot.SnapshotFormat;

/** The extended snapshot format: a network sent in it is the same network as built in Java; bad bodies fail clearly. */
class IngestFormatTest {
  private static final NpzArchive.Limits LIMITS = new NpzArchive.Limits(1 << 24, 64);
  private static final int[] IMAGE = {1, 8, 8};

  private static SnapshotFormat.Snapshot parse(byte[] body, boolean classifier) {
    return SnapshotFormat.parseSnapshot(body, LIMITS, IMAGE, 4, classifier, 32, 4096);
  }

  @Test
  void sentNetworkPartitionsExactlyLikeTheJavaNetwork() {
    List<Layer> layers = TestNpz.cnn(7, 8, 4);
    SnapshotFormat.Snapshot s = parse(TestNpz.snapshot(layers, 300, 0.5, -1).bytes(), true);
    assertEquals(300, s.step());
    assertEquals(0.5, s.loss());
    assertTrue(s.classifierHead());
    PiecewiseLinearNet built = new PiecewiseLinearNet(64, layers);
    PiecewiseLinearNet sent = new PiecewiseLinearNet(64, s.layers());
    assertEquals(built.hiddenBlocks().size() - 1, s.reprBlock());
    // forward passes agree exactly (same float32 weights, same float64 arithmetic)
    Random r = new Random(3);
    double[] x = new double[20 * 64];
    for (int i = 0; i < x.length; i++) {
      x[i] = r.nextDouble();
    }
    assertArrayEquals(built.forward(x, 20), sent.forward(x, 20), 0.0);
    // the partition of a plane through three inputs: same regions, same activation patterns
    double[] a = java.util.Arrays.copyOfRange(x, 0, 64);
    double[] b = java.util.Arrays.copyOfRange(x, 64, 128);
    double[] c = java.util.Arrays.copyOfRange(x, 128, 192);
    Plane plane = Plane.throughAnchors(a, b, c, 1.5);
    Partition pj = Partition.compute(built, plane);
    Partition ps = Partition.compute(sent, plane);
    assertTrue(pj.regionCount() > 10, "a plane with several regions: " + pj.regionCount());
    assertEquals(pj.regionCount(), ps.regionCount());
    assertEquals(patterns(pj), patterns(ps));
    // and each face's pattern is that of the forward pass at its vertex mean
    PartitionOracleTest.assertPatternsConsistent(ps);
  }

  private static Set<String> patterns(Partition p) {
    Set<String> s = new HashSet<>();
    for (int f = 0; f < p.regionCount(); f++) {
      s.add(java.util.Arrays.toString(p.pattern(f)));
    }
    return s;
  }

  @Test
  void projectorMarksTheRepresentationAndPlainFormatMlpIsAccepted() {
    Random r = new Random(5);
    List<Layer> layers = new ArrayList<>(List.of(new Layer.Flatten(64),
        new Layer.Dense(64, 10, TestNpz.randn(r, 640, 0.2), TestNpz.randn(r, 10, 0.1)), Layer.Activation.relu(),
        new Layer.Dense(10, 6, TestNpz.randn(r, 60, 0.3), TestNpz.randn(r, 6, 0.1)), Layer.Activation.relu(),
        new Layer.Dense(6, 3, TestNpz.randn(r, 18, 0.3), TestNpz.randn(r, 3, 0.1))));
    SnapshotFormat.Snapshot s = parse(TestNpz.snapshot(layers, 10, 1.0, 5).bytes(), false);
    assertEquals(1, s.reprBlock()); // the output of the second ReLU block is the representation
    assertFalse(s.classifierHead());
    // FORMAT.md's arrays without a layer list: W0, b0, W1, b1 with ReLU between, on flat inputs
    byte[] plain = new TestNpz().array("W0", TestNpz.randn(r, 64 * 5, 0.2), 64, 5)
        .array("b0", new float[5], 5).array("W1", TestNpz.randn(r, 20, 0.2), 5, 4).array("b1", new float[4], 4)
        .json("snapshot", "{\"step\": 3}").bytes();
    SnapshotFormat.Snapshot m = SnapshotFormat.parseSnapshot(plain, LIMITS, new int[] {64}, 4, true, 32, 4096);
    assertEquals(3, m.layers().size());
    assertEquals(0, m.reprBlock());
    // W0, W1 and W3 (no W2): the network used to end at W1 without a word
    byte[] gap = new TestNpz().array("W0", TestNpz.randn(r, 64 * 5, 0.2), 64, 5)
        .array("b0", new float[5], 5).array("W1", TestNpz.randn(r, 20, 0.2), 5, 4).array("b1", new float[4], 4)
        .array("W3", TestNpz.randn(r, 8, 0.2), 4, 2).json("snapshot", "{\"step\": 3}").bytes();
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseSnapshot(gap, LIMITS, new int[] {64}, 4, true, 32, 4096));
    assertEquals("snapshot: array W3 does not belong to layers W0..W1 (no W2); expected consecutive W0..W{L-1}, "
        + "b0..b{L-1}", e.getMessage());
  }

  @Test
  void malformedSnapshotsFailWithOneLineNamingTheProblem() {
    List<Layer> layers = TestNpz.cnn(7, 8, 4);
    String json = "{\"step\": 1, \"layers\": [{\"type\": \"dense\", \"weight\": \"w\", \"bias\": \"b\"}]}";
    // a dense layer straight on an image
    assertMessage(new TestNpz().json("snapshot", json).array("w", new float[64 * 4], 64, 4)
        .array("b", new float[4], 4), "flatten layer before it");
    // a shape mismatch
    String flat = "{\"step\": 1, \"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", \"weight\": \"w\","
        + " \"bias\": \"b\"}]}";
    // a shape mismatch, named in PyTorch's terms too: a client's nn.Linear(63, 4) has a weight of shape (4, 63)
    assertMessage(new TestNpz().json("snapshot", flat).array("w", new float[63 * 4], 63, 4)
        .array("b", new float[4], 4), "snapshot: layer 1 (dense): w has shape [63, 4], a layer of 63 inputs and 4"
        + " outputs (PyTorch: nn.Linear(in_features=63, out_features=4), weight of shape (4, 63)), but receives 64"
        + " values; expected shape [64, 4], i.e. (in, out) with y = x @ W + b, PyTorch's weight transposed"
        + " (in_features=64)");
    assertMessage(new TestNpz().json("snapshot", flat).array("w", new float[64 * 4], 64, 4, 1)
        .array("b", new float[4], 4), "w has shape [64, 4, 1]; expected (64, out), i.e. (in, out) with y = x @ W + b"
        + " (PyTorch's nn.Linear.weight transposed)");
    assertMessage(new TestNpz().json("snapshot", "{\"step\": 1, \"layers\": [{\"type\": \"conv2d\", \"weight\":"
        + " \"w\", \"bias\": \"b\"}]}").array("w", new float[4 * 2 * 9], 4, 2, 3, 3).array("b", new float[4], 4),
        "w has shape [4, 2, 3, 3]; expected (out_channels, 1, kh, kw), as PyTorch's nn.Conv2d weight with"
        + " in_channels=1 (the channels it receives)");
    // a kernel larger than its padded input: (8 - 9) / 2 + 1 rounds to a positive size, so it was accepted with
    // stride 2 (PyTorch refuses it: "Kernel size can't be greater than actual input size")
    String strided = "{\"step\": 1, \"layers\": [{\"type\": \"conv2d\", \"weight\": \"w\", \"bias\": \"b\","
        + " \"stride\": %d, \"padding\": %d}]}";
    assertMessage(new TestNpz().json("snapshot", String.format(strided, 2, 0)).array("w", new float[4 * 81], 4, 1, 9, 9)
        .array("b", new float[4], 4), "snapshot: layer 0 (conv2d): Conv2D kernel 9x9 is larger than its 8x8 input"
        + " (8x8 with padding 0); expected a kernel of at most 8x8, as PyTorch requires");
    assertMessage(new TestNpz().json("snapshot", String.format(strided, 3, 1)).array("w", new float[4 * 11 * 3], 4,
        1, 11, 3).array("b", new float[4], 4), "Conv2D kernel 11x3 is larger than its 8x8 input (10x10 with padding"
        + " 1); expected a kernel of at most 10x10");
    // NaN
    float[] w = new float[64 * 4];
    w[17] = Float.NaN;
    assertMessage(new TestNpz().json("snapshot", flat).array("w", w, 64, 4).array("b", new float[4], 4),
        "NaN at flat index 17");
    // an unsupported layer
    assertMessage(new TestNpz().json("snapshot", "{\"step\": 1, \"layers\": [{\"type\": \"maxpool2d\"}]}"),
        "type 'maxpool2d'; expected one of dense, conv2d");
    // a classifier with the wrong number of outputs
    assertMessage(TestNpz.snapshot(TestNpz.cnn(7, 8, 5), 1, 0, -1), "5 outputs; expected the run's 4 classes");
    // no step
    assertMessage(new TestNpz().json("snapshot", "{\"layers\": []}"), "step is missing");
    // not a zip at all
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> parse("hello".getBytes(StandardCharsets.UTF_8), true));
    assertTrue(e.getMessage().contains("not a .npz"), e.getMessage());
  }

  @Test
  void sizesAreCheckedBeforeTheyAreTrusted() {
    // a header that claims far more data than the entry holds, and a shape whose size overflows a long
    byte[] lying = new TestNpz().array("W0", new float[4], 2, 2).patch("W0", "(2, 2)", "(9, 9)").bytes();
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.read(lying, LIMITS, "snapshot"));
    assertTrue(e.getMessage().contains("has 16 data bytes; expected 324"), e.getMessage());
    byte[] big = new TestNpz().array("x", new float[1], 1).patch("x", "(1,)", "(4294967295, 4294967295, 4294967295)")
        .bytes();
    NpzArchive.FormatException o = assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.read(big, LIMITS, "snapshot"));
    assertTrue(o.getMessage().contains("expected non-negative dimensions below 2^31"), o.getMessage());
    byte[] overflow = new TestNpz().array("x", new float[1], 1)
        .patch("x", "(1,)", "(2147483647, 2147483647, 2147483647)").bytes();
    NpzArchive.FormatException of = assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.read(overflow, LIMITS, "snapshot"));
    assertTrue(of.getMessage().contains("overflows"), of.getMessage());
    // more unpacked bytes than the limit: refused as too large
    byte[] body = new TestNpz().array("x", new float[5000], 5000).bytes();
    NpzArchive.FormatException t = assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.read(body, new NpzArchive.Limits(4096, 8), "snapshot"));
    assertTrue(t.tooLarge(), t.getMessage());
    // a layer wider than the cap (80 channels of 8x8 = 5120 values > 4096): refused as too large
    java.util.Random r = new java.util.Random(2);
    List<Layer> wide = List.of(new Layer.Conv2D(1, 8, 8, 80, 3, 3, 1, 1, TestNpz.randn(r, 720, 0.3), new float[80]),
        Layer.Activation.relu());
    NpzArchive.FormatException w = assertThrows(NpzArchive.FormatException.class,
        () -> parse(TestNpz.snapshot(wide, 0, 1, -1).bytes(), false));
    assertTrue(w.tooLarge() && w.getMessage().contains("outputs 5120 values; expected at most 4096 (splinewatch.ingest.max-layer-width)"),
        w.getMessage());
    // too many entries
    TestNpz many = new TestNpz();
    for (int i = 0; i < 10; i++) {
      many.array("a" + i, new float[1], 1);
    }
    assertTrue(assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.read(many.bytes(), new NpzArchive.Limits(1 << 20, 8), "snapshot")).tooLarge());
  }

  @Test
  void registrationChecksLabelsAndShapes() {
    byte[] ok = TestNpz.run("r1", 20, 4, 3, "");
    SnapshotFormat.RunSpec spec = SnapshotFormat.parseRun(ok, LIMITS, 100);
    assertEquals(20, spec.probeCount());
    assertArrayEquals(new int[] {1, 4, 4}, spec.inputShape());
    assertTrue(spec.classifier());
    assertEquals("test", spec.tags().get("framework"));
    var info = IngestActor.runInfo(spec);
    assertEquals(2, info.planeAnchors().size());
    assertEquals(20 * 16, info.probePairInputs().length);
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(TestNpz.run("../x", 20, 4, 3, ""), LIMITS, 100));
    assertTrue(e.getMessage().contains("run id '../x' is not valid"), e.getMessage());
    NpzArchive.FormatException labels = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(TestNpz.run("r2", 20, 4, 3, ", \"classes\": 2"), LIMITS, 100));
    assertTrue(labels.getMessage().contains("probe_labels holds 2.0 at index 2; expected integers from 0 to 1"),
        labels.getMessage());
    SnapshotFormat.RunSpec ablation = SnapshotFormat.parseRun(TestNpz.run("r3", 20, 4, 3,
        ", \"settings\": {\"stop_gradient\": false, \"vicreg_coefficients\": [25, 0, 1]}"), LIMITS, 100);
    assertEquals(false, ablation.settings().get("stop_gradient"));
    assertEquals(List.of(25, 0, 1), ablation.settings().get("vicreg_coefficients"));
    NpzArchive.FormatException setting = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(TestNpz.run("r4", 20, 4, 3, ", \"settings\": {\"Bad Key\": 1}"), LIMITS, 100));
    assertTrue(setting.getMessage().contains("setting 'Bad Key' is not valid"), setting.getMessage());
    NpzArchive.FormatException many = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(ok, LIMITS, 12));
    assertTrue(many.tooLarge() && many.getMessage().contains("max-probes"), many.getMessage());
  }

  @Test
  void aRegistrationKeyOrEntryTheMonitorDoesNotReadIsRefused() {
    // every key and array of the format is taken
    String all = ", \"resume_key\": null, \"classifier\": true, \"planes\": 1, \"seed\": 3, \"early_stop\": \"warn\","
        + " \"settings\": {\"lr\": 0.1}";
    float[] labels = new float[20];
    for (int i = 0; i < 20; i++) {
      labels[i] = i % 3;
    }
    TestNpz full = new TestNpz().json("run", "{\"run_id\": \"k1\", \"method\": \"supervised\", \"dataset\":"
        + " \"toy\", \"classes\": 3, \"tags\": {}" + all + "}").array("probes", TestNpz.randn(new Random(1), 320, 1),
        20, 1, 4, 4).array("probe_labels", labels, 20).array("probe_pairs", TestNpz.randn(new Random(2), 320, 1), 20, 1,
        4, 4).array("plane_anchors", new float[] {Float.intBitsToFloat(0), Float.intBitsToFloat(1),
        Float.intBitsToFloat(2)}, 1, 3).patch("plane_anchors", "<f4", "<i4")
        .array("fit_inputs", new float[5 * 16], 5, 1, 4, 4).array("fit_labels", new float[5], 5);
    SnapshotFormat.RunSpec spec = SnapshotFormat.parseRun(full.bytes(), LIMITS, 100);
    assertEquals("warn", spec.earlyStop());
    assertEquals(5, spec.fitLabels().length);
    // a misspelt key was ignored and its default used: this run would have been stopped by the monitor
    NpzArchive.FormatException key = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(TestNpz.run("k2", 20, 4, 3, ", \"early_stopp\": \"warn\""), LIMITS, 100));
    assertEquals("run registration: run.json has the key 'early_stopp'; expected only run_id, resume_key, classes,"
        + " method, dataset, tags, classifier, planes, seed, early_stop, settings", key.getMessage());
    // a misspelt array: the linear probe's training set was dropped without a word
    byte[] fit = new TestNpz().json("run", "{\"run_id\": \"k3\", \"classes\": 3}").array("probes",
        TestNpz.randn(new Random(1), 320, 1), 20, 16).array("probe_labels", labels, 20)
        .array("fit_input", new float[5 * 16], 5, 16).array("fit_labels", new float[5], 5).bytes();
    NpzArchive.FormatException array = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(fit, LIMITS, 100));
    assertEquals("run registration: the archive has the array 'fit_input'; expected only probes, probe_labels,"
        + " probe_pairs, plane_anchors, fit_inputs, fit_labels", array.getMessage());
    byte[] doc = new TestNpz().json("run", "{\"run_id\": \"k4\", \"classes\": 3}").json("snapshot",
        "{\"step\": 0}").array("probes", TestNpz.randn(new Random(1), 320, 1), 20, 16).array("probe_labels", labels,
        20).bytes();
    NpzArchive.FormatException document = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseRun(doc, LIMITS, 100));
    assertEquals("run registration: the archive has the document 'snapshot'; expected only run",
        document.getMessage());
  }

  @Test
  void planesWhoseAnchorProbesAreEqualOrCollinearAreRefusedAtRegistration() {
    // equal probes (a client sending blank images) span no plane: the region analyzer's constructor threw
    // "anchors coincide" when the run started, after the registration had been accepted
    int n = 12;
    float[] probes = new float[n * 16];
    float[] labels = new float[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (int k = 0; k < 16; k++) {
        // 0-2 equal; 3-5 on a line through the origin; the others anywhere
        probes[i * 16 + k] = i < 3 ? 0.5f : i < 6 ? (i - 3) * 0.25f * k : (float) Math.sin(i * 7 + k);
      }
    }
    for (String anchors : new String[] {"0, 1, 2", "3, 4, 5"}) {
      String[] idx = anchors.split(", ");
      float[] sent = new float[3];
      for (int i = 0; i < 3; i++) {
        sent[i] = Float.intBitsToFloat(Integer.parseInt(idx[i])); // written as <i4 below
      }
      byte[] body = new TestNpz().json("run", "{\"run_id\": \"a\", \"method\": \"supervised\", \"dataset\": "
          + "\"toy\", \"classes\": 3}").array("probes", probes, n, 1, 4, 4).array("probe_labels", labels, n)
          .array("plane_anchors", sent, 1, 3).patch("plane_anchors", "<f4", "<i4").bytes();
      SnapshotFormat.RunSpec spec = SnapshotFormat.parseRun(body, LIMITS, 100);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IngestActor.runInfo(spec));
      assertTrue(e.getMessage().startsWith("run registration: plane 0 has anchor probes [" + anchors + "] that "
          + "span no plane (anchors ") && e.getMessage().endsWith("; expected three probes that span a plane "
          + "(plane_anchors)"), e.getMessage());
    }
  }

  @Test
  void aSnapshotKeyOrArrayNoLayerReadsIsRefused() {
    String layers = "\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", \"weight\": \"w\", \"bias\":"
        + " \"b\"}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"weight\": \"w2\", \"bias\": \"b2\"}]";
    java.util.function.Function<String, TestNpz> snapshot = json -> new TestNpz().json("snapshot", json)
        .array("w", new float[64 * 4], 64, 4).array("b", new float[4], 4).array("w2", new float[16], 4, 4)
        .array("b2", new float[4], 4);
    // the Python client's document: format and version besides the documented keys
    SnapshotFormat.Snapshot ok = parse(snapshot.apply("{\"format\": \"splinewatch-snapshot\", \"version\": 1,"
        + " \"step\": 5, \"epoch\": 1, \"loss\": 0.5, \"learning_rate\": 0.1, " + layers + "}").bytes(), true);
    assertEquals(0.5, ok.loss());
    // a misspelt loss was no sample: a diverged loss sent as "los" could not fire divergence
    assertMessage(snapshot.apply("{\"step\": 5, \"los\": \"NaN\", " + layers + "}"), "snapshot: snapshot.json has the"
        + " key 'los'; expected only step, epoch, loss, learning_rate, layers, format, version");
    // a batch norm left out of the layer list (its arrays sent) was left out of the network without a word
    assertMessage(snapshot.apply("{\"step\": 5, " + layers + "}").array("l1.running_mean", new float[4], 4),
        "snapshot: the archive has the array 'l1.running_mean', which no layer of the layer list names; expected"
        + " only the network's arrays (a layer missing from the list?)");
    Random r = new Random(3);
    TestNpz mlp = new TestNpz().array("W0", TestNpz.randn(r, 64 * 5, 0.2), 64, 5).array("b0", new float[5], 5)
        .array("W1", TestNpz.randn(r, 20, 0.2), 5, 4).array("b1", new float[4], 4).json("snapshot", "{\"step\": 3}")
        .array("mask0", new float[5], 5);
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> SnapshotFormat.parseSnapshot(mlp.bytes(), LIMITS, new int[] {64}, 4, true, 32, 4096));
    assertEquals("snapshot: the archive has the array 'mask0', which is not one of W0..W{L-1}, b0..b{L-1}; expected"
        + " only the network's arrays (a layer missing from the list?)", e.getMessage());
    // a registration's document in a snapshot
    assertMessage(snapshot.apply("{\"step\": 5, " + layers + "}").json("run", "{}"), "snapshot: the archive has the"
        + " document 'run'; expected only snapshot");
  }

  @Test
  void stepAndSeedMustBeIntegers() {
    String flat = ", \"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", \"weight\": \"w\", \"bias\":"
        + " \"b\"}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"weight\": \"w2\", \"bias\": \"b2\"}]}";
    java.util.function.Function<String, TestNpz> step = v -> new TestNpz().json("snapshot", "{\"step\": " + v + flat)
        .array("w", new float[64 * 4], 64, 4).array("b", new float[4], 4).array("w2", new float[16], 4, 4)
        .array("b2", new float[4], 4);
    assertEquals(7, parse(step.apply("7").bytes(), true).step());
    assertMessage(step.apply("1.5"), "snapshot: step must be a non-negative integer, got 1.5");
    assertMessage(step.apply("9223372036854775808"),
        "step must be a non-negative integer below 2^63, got 9223372036854775808");
    assertMessage(step.apply("\"5\""), "step must be a non-negative integer, got \"5\"");
    assertMessage(step.apply("true"), "step must be a non-negative integer, got true");
    assertMessage(step.apply("-1"), "step must be a non-negative integer, got -1");
    assertMessage(step.apply("null"), "step is missing; expected \"step\": a non-negative integer in snapshot.json");

    assertEquals(42, SnapshotFormat.parseRun(TestNpz.run("s0", 20, 4, 3, ""), LIMITS, 100).seed());
    assertEquals(-7, SnapshotFormat.parseRun(TestNpz.run("s1", 20, 4, 3, ", \"seed\": -7"), LIMITS, 100).seed());
    for (String bad : List.of("\"abc\"", "1.5", "true", "18446744073709551616")) {
      NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
          () -> SnapshotFormat.parseRun(TestNpz.run("s2", 20, 4, 3, ", \"seed\": " + bad), LIMITS, 100));
      assertTrue(e.getMessage().startsWith("run registration: seed must be an integer") && e.getMessage()
          .endsWith("got " + bad), e.getMessage());
    }
  }

  @Test
  void aChangedArchitectureNamesTheFirstDifferingLayer() {
    Random r = new Random(8);
    List<Layer> net = List.of(new Layer.Flatten(64), new Layer.Dense(64, 10, TestNpz.randn(r, 640, 0.2),
        new float[10]), Layer.Activation.relu(), new Layer.Dense(10, 3, TestNpz.randn(r, 30, 0.2), new float[3]));
    SnapshotFormat.Snapshot first = parse(TestNpz.snapshot(net, 5, 1, -1).bytes(), false);
    List<String> arch = SnapshotFormat.architecture(first.layers());
    assertEquals(List.of("flatten (64)", "dense (64 -> 10)", "relu", "dense (10 -> 3)"), arch);
    // other weights, same network
    assertFalse(SnapshotFormat.architectureProblem(arch, first.reprBlock(), 5,
        parse(TestNpz.snapshot(List.of(net.get(0), new Layer.Dense(64, 10, TestNpz.randn(r, 640, 0.2), new float[10]),
            net.get(2), net.get(3)), 6, 1, -1).bytes(), false)).isPresent());
    String missing = SnapshotFormat.architectureProblem(arch, first.reprBlock(), 5,
        parse(TestNpz.snapshot(net.subList(0, 3), 6, 1, -1).bytes(), false)).orElseThrow();
    assertTrue(missing.contains("layer 3 is missing (the network has 3 layers); expected dense (10 -> 3) as in the"
        + " run's first snapshot (step 5)"), missing);
    List<Layer> longer = new ArrayList<>(net);
    longer.add(Layer.Activation.relu());
    String extra = SnapshotFormat.architectureProblem(arch, first.reprBlock(), 5,
        parse(TestNpz.snapshot(longer, 6, 1, -1).bytes(), false)).orElseThrow();
    assertTrue(extra.contains("layer 4 is relu, beyond the 4 layers expected"), extra);
    String moved = SnapshotFormat.architectureProblem(arch, first.reprBlock(), 5,
        parse(TestNpz.snapshot(net, 6, 1, 3).bytes(), false)).orElseThrow();
    assertTrue(moved.contains("the representation is the output of hidden block 0; expected block 1"), moved);
    for (String m : List.of(missing, extra, moved)) {
      assertFalse(m.contains("\n"), m);
    }
  }

  @Test
  void bytesInFlightDefaultToATwelfthOfTheHeapAndFitTheLargestBody() {
    long mib = 1 << 20;
    assertEquals(128 * mib, IngestSettings.autoBytesInFlight(64 * mib, 64 * mib, 1536 * mib));
    assertEquals(64 * mib, IngestSettings.autoBytesInFlight(64 * mib, 16 * mib, 256 * mib));
    var config = com.typesafe.config.ConfigFactory.parseMap(java.util.Map.of(
        "splinewatch.ingest.max-bytes-in-flight", 1000)).withFallback(com.typesafe.config.ConfigFactory.load());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IngestSettings.fromConfig(config));
    assertTrue(e.getMessage().contains("splinewatch.ingest.max-bytes-in-flight 1000: expected at least"),
        e.getMessage());
  }

  private static void assertMessage(TestNpz body, String expected) {
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class, () -> parse(body.bytes(), true));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
