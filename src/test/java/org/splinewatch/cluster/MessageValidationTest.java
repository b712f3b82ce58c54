package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.splinewatch.analysis.TestSnapshots;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;

/** The checks a received cluster message passes before anything is allocated, one rule at a time. */
class MessageValidationTest {

  @Test
  void allowedFamiliesAreExactlyTheSplinewatchNamesInTheSources() throws IOException {
    Pattern literal = Pattern.compile("\"(splinewatch_[a-z0-9_]+)\"");
    Pattern constant = Pattern.compile("\\bMetricFamily\\.([A-Z][A-Z0-9_]+)\\b");
    Set<String> found = new TreeSet<>();
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")
          && !p.getFileName().toString().equals("MetricFamilies.java")).toList()) {
        String source = Files.readString(f);
        Matcher m = literal.matcher(source);
        while (m.find()) {
          found.add(m.group(1));
        }
        // and the catalogue's constants where the code names a family through it (the sample families only)
        Matcher c = constant.matcher(source);
        while (c.find() && !f.endsWith("MetricFamily.java")) {
          MetricFamily family = MetricFamily.byId("splinewatch_" + c.group(1).toLowerCase(java.util.Locale.ROOT));
          if (family != null && family.origin() == MetricFamily.Origin.SAMPLE) {
            found.add(family.id());
          }
        }
      }
    }
    assertTrue(found.size() > 40, found.toString());
    assertEquals(found, new TreeSet<>(MetricFamilies.NAMES), "MetricFamilies.NAMES must list every family the code"
        + " publishes, and no other");
  }

  @Test
  void hostileSamplesAreRefusedAndRealOnesPass() {
    assertTrue(MetricsGate.problem(new MetricsActor.Publish(List.of(Sample.of("splinewatch_regions", 3, 1, "plane",
        "0", "layer", "all")))).isEmpty());
    for (Sample bad : List.of(Sample.of("evil_metric", 1, 1), Sample.of("splinewatch_regions", 1, 1, "plane",
        "0\"} 1\nevil_metric{x=\"1"), Sample.of("splinewatch_regions", 1, 1, "run", "someone-else"),
        Sample.of("splinewatch_regions", 1, 1, "plane", "x".repeat(65)))) {
      assertTrue(MetricsGate.problem(new MetricsActor.Publish(List.of(bad))).isPresent(), bad.toString());
    }
    assertTrue(MetricsGate.problem(new MetricsActor.Publish(null)).isPresent());
    assertTrue(MetricsGate.problem(new MetricsActor.SnapshotDropped(null)).isPresent());
    assertTrue(MetricsGate.problem(new MetricsActor.AnalysisTook("embedding", 1, Double.NaN)).isPresent());
    assertTrue(MetricsGate.problem(new MetricsActor.Event(Map.of("type", "x", "note", "y".repeat(5000))))
        .isPresent());
    assertTrue(MetricsGate.problem(new MetricsActor.Event(Map.of("type", "run_finished", "exit_code", 0)))
        .isEmpty());
    assertTrue(MetricFamilies.runLabelsProblem("r1", Map.of("run", "r2", "method", "simclr", "dataset", "mnist"))
        .isPresent());
    assertTrue(MetricFamilies.runLabelsProblem("r1", Map.of("run", "r1", "method", "Sim\"clr", "dataset", "mnist"))
        .isPresent());
    assertTrue(MetricFamilies.runLabelsProblem("r1", Map.of("run", "r1", "method", "simclr", "dataset",
        "fashion-mnist")).isEmpty());
  }

  @Test
  void configValuesAreBounded() {
    assertNull(MetricsNode.configProblem(Map.of("seed", 42, "options", Map.of("splinewatch.run.hidden", List.of(16)),
        "data", "/some/dir"), "config", 3));
    assertTrue(MetricsNode.configProblem(Map.of("note", "a\u001b[31mred"), "config", 3).contains("config.note"));
    assertTrue(MetricsNode.configProblem(Map.of("bad key!", 1), "config", 3).contains("bad key!"));
    assertTrue(MetricsNode.configProblem(Map.of("a", Map.of("b", Map.of("c", Map.of("d", 1)))), "config", 3)
        .contains("config.a.b.c"));
  }

  /** A Dense layer whose in × out overflows int (65536 × 65536 = 0 in int arithmetic) with no weights. */
  @Test
  void overflowingLayerShapesAreRefusedBeforeAllocation() throws IOException {
    WeightSnapshot s = TestSnapshots.classifier(1, 5);
    byte[] good = SnapshotCodec.encode(new WeightSnapshot(s.runId(), 5, 0, 0, s.inputDim(),
        List.of(s.layers().get(0)), 0, false, 0, 0, 0));
    // rewrite the one Dense layer's header: tag, in, out, then two empty float arrays
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(b);
    int layerAt = good.length - layerBytes((Layer.Dense) s.layers().get(0)) - 4;
    out.write(good, 0, layerAt);
    out.writeInt(1);
    out.writeByte(1);
    out.writeInt(65536);
    out.writeInt(65536);
    out.writeInt(0);
    out.writeInt(0);
    var e = assertThrows(IllegalArgumentException.class, () -> SnapshotCodec.decodeSnapshot(b.toByteArray()));
    assertTrue(e.getMessage().contains("65536x65536"), e.getMessage());
  }

  private static int layerBytes(Layer.Dense d) {
    return 1 + 4 + 4 + 4 + 4 * d.weights().length + 4 + 4 * d.bias().length;
  }

  @Test
  void layersMustChainFromTheRunsInputAndStayNarrow() {
    WeightSnapshot s = TestSnapshots.classifier(1, 5);
    SnapshotCodec.checkShapes(s, s.inputDim(), 1000);
    var wrongInput = assertThrows(IllegalArgumentException.class, () -> SnapshotCodec.checkShapes(s, s.inputDim() + 1,
        1000));
    assertTrue(wrongInput.getMessage().contains("input size"), wrongInput.getMessage());
    var wide = assertThrows(IllegalArgumentException.class, () -> SnapshotCodec.checkShapes(s, s.inputDim(), 8));
    assertTrue(wide.getMessage().contains("max-layer-width"), wide.getMessage());
    WeightSnapshot broken = new WeightSnapshot(s.runId(), 5, 0, 0, s.inputDim(), List.of(s.layers().get(0),
        s.layers().get(0)), 0, false, 0, 0, 0);
    var chain = assertThrows(IllegalArgumentException.class, () -> SnapshotCodec.checkShapes(broken, s.inputDim(),
        1000));
    assertTrue(chain.getMessage().startsWith("layer 1"), chain.getMessage());
  }

  @Test
  void runDescriptionsAreChecked() {
    RunInfo r = TestSnapshots.run();
    var badId = assertThrows(IllegalArgumentException.class, () -> new RunInfo("../etc", r.method(), r.dataset(),
        r.inputDim(), r.probeCount(), r.probeInputs(), r.probePairInputs(), r.probeLabels(), r.classes(),
        r.planeAnchors()));
    assertTrue(badId.getMessage().contains("run id"), badId.getMessage());
    var shape = assertThrows(IllegalArgumentException.class, () -> new RunInfo(r.runId(), r.method(), r.dataset(),
        r.inputDim(), Integer.MAX_VALUE, r.probeInputs(), r.probePairInputs(), r.probeLabels(), r.classes(),
        r.planeAnchors()));
    assertTrue(shape.getMessage().contains("probe values"), shape.getMessage());
    var anchor = assertThrows(IllegalArgumentException.class, () -> new RunInfo(r.runId(), r.method(), r.dataset(),
        r.inputDim(), r.probeCount(), r.probeInputs(), r.probePairInputs(), r.probeLabels(), r.classes(),
        List.of(new int[] {0, 1, r.probeCount()})));
    assertTrue(anchor.getMessage().contains("anchor"), anchor.getMessage());
    var label = assertThrows(IllegalArgumentException.class, () -> new RunInfo(r.runId(), r.method(), r.dataset(),
        r.inputDim(), r.probeCount(), r.probeInputs(), r.probePairInputs(), new int[r.probeCount()], 0,
        r.planeAnchors()));
    assertTrue(label.getMessage().contains("classes"), label.getMessage());
  }

  @Test
  void everyLabelOfAPublishedFamilyMayCrossTheClusterWithTheValuesItsAnalyzersUse() {
    // a family whose label the gate does not know is rejected whole on monitor serve (runs over HTTP, --monitor):
    // the spectrum's q and tau were, and with them the embedding analyzer's every sample
    List<String> unknown = new java.util.ArrayList<>();
    for (MetricFamily f : MetricFamily.values()) {
      // severity: only the metrics node's own detector sets it (splinewatch_collapse_alert), no peer publishes it
      f.labels().stream().filter(l -> f.origin() == MetricFamily.Origin.SAMPLE && !l.equals("severity")
          && !MetricFamilies.LABELS.contains(l)).forEach(l -> unknown.add(f.id() + ":" + l));
    }
    assertEquals(List.of(), unknown, "labels of published families the cluster gate refuses");
    for (String q : org.splinewatch.embedding.EmbeddingMetrics.SPECTRUM_Q_LABELS) {
      assertTrue(MetricFamilies.labelValueProblem("q", q).isEmpty(), q);
    }
    for (String tau : org.splinewatch.embedding.EmbeddingMetrics.COLLAPSE_TAU_LABELS) {
      assertTrue(MetricFamilies.labelValueProblem("tau", tau).isEmpty(), tau);
    }
    assertTrue(MetricFamilies.labelValueProblem("block_size", "51").isEmpty());
    assertTrue(MetricFamilies.problem(org.splinewatch.snapshot.Sample.of(MetricFamily.LOCAL_COMPLEXITY_QUANTILE, 3, 10,
        "radius", Double.toString(1e-4), "points", "boundary", "quantile", "0.9")).isEmpty());
    assertTrue(MetricFamilies.problem(org.splinewatch.snapshot.Sample.of(MetricFamily.LOCAL_COMPLEXITY, 3, 10,
        "layer", "all", "radius", Double.toString(0.5), "points", "train")).isEmpty());
    assertTrue(MetricFamilies.labelValueProblem("q", "0.5\"} 1").isPresent(), "no text injected into /metrics");
    assertTrue(MetricFamilies.problem(org.splinewatch.snapshot.Sample.of(MetricFamily.EMBEDDING_SPECTRUM_LOG10, -2, 10,
        "layer", "repr", "q", "0.125")).isEmpty());
  }

  @Test
  void aNonLoopbackAddressNeedsTlsOrInsecure() {
    ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
    assertEquals("", base.checkExposure());
    ClusterSettings exposed = new ClusterSettings("10.0.0.1", 0, "", List.of(), base.chunkBytes(),
        base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(), base.downAfter(),
        base.heartbeatPause(), 4, base.maxPartialBytes(), 100, ClusterSettings.Tls.OFF, false);
    var refused = assertThrows(IllegalArgumentException.class, exposed::checkExposure);
    assertTrue(refused.getMessage().contains("--insecure"), refused.getMessage());
    ClusterSettings insecure = new ClusterSettings("10.0.0.1", 0, "", List.of(), base.chunkBytes(),
        base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(), base.downAfter(),
        base.heartbeatPause(), 4, base.maxPartialBytes(), 100, ClusterSettings.Tls.OFF, true);
    assertTrue(insecure.checkExposure().startsWith("warning:"), insecure.checkExposure());
    // every interface is no address a peer can dial, nor the one its messages are addressed to: refused even with
    // --insecure or TLS
    for (String any : List.of("0.0.0.0", "::")) {
      for (ClusterSettings.Tls tls : List.of(ClusterSettings.Tls.OFF, new ClusterSettings.Tls(true, "k", "t", "p"))) {
        ClusterSettings everywhere = new ClusterSettings(any, 0, "", List.of(), base.chunkBytes(),
            base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(), base.downAfter(),
            base.heartbeatPause(), 4, base.maxPartialBytes(), 100, tls, true);
        var wildcard = assertThrows(IllegalArgumentException.class, everywhere::checkExposure);
        assertTrue(wildcard.getMessage().contains("every interface") && wildcard.getMessage().contains("--host 10.0.0.1"),
            wildcard.getMessage());
      }
    }
    ClusterSettings tlsWithoutFiles = new ClusterSettings("127.0.0.1", 0, "", List.of(), base.chunkBytes(),
        base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(), base.downAfter(),
        base.heartbeatPause(), 4, base.maxPartialBytes(), 100, new ClusterSettings.Tls(true, "", "", ""), false);
    var noStore = assertThrows(IllegalArgumentException.class, () -> tlsWithoutFiles.nodeConfig(
        ClusterRunIT.nodeConfig(Map.of()), List.of()));
    assertTrue(noStore.getMessage().contains("key-store"), noStore.getMessage());
  }

  @Test
  void tlsStoresThatThePasswordDoesNotOpenOrThatHoldNoKeyAreRefusedAtStart(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path dir) throws Exception {
    java.nio.file.Path store = dir.resolve("node.p12");
    java.security.KeyStore empty = java.security.KeyStore.getInstance("PKCS12");
    empty.load(null, null);
    try (var out = java.nio.file.Files.newOutputStream(store)) {
      empty.store(out, "right".toCharArray());
    }
    java.nio.file.Path right = java.nio.file.Files.writeString(dir.resolve("right"), "right\n");
    java.nio.file.Path wrong = java.nio.file.Files.writeString(dir.resolve("wrong"), "wrong\n");
    java.nio.file.Path crt = java.nio.file.Files.writeString(dir.resolve("node.crt"), "-----BEGIN CERTIFICATE-----\n");
    ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
    java.util.function.Function<ClusterSettings.Tls, ClusterSettings> with = tls -> new ClusterSettings("127.0.0.1",
        0, "", List.of(), base.chunkBytes(), base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(),
        base.downAfter(), base.heartbeatPause(), 4, base.maxPartialBytes(), 100, tls, false);
    var badPassword = assertThrows(IllegalArgumentException.class, () -> with.apply(new ClusterSettings.Tls(true,
        store.toString(), store.toString(), wrong.toString())).checkTransport());
    assertTrue(badPassword.getMessage().contains("key-store '" + store + "' cannot be opened: the password in '"
        + wrong + "' does not open it"), badPassword.getMessage());
    var notAStore = assertThrows(IllegalArgumentException.class, () -> with.apply(new ClusterSettings.Tls(true,
        crt.toString(), store.toString(), right.toString())).checkTransport());
    assertTrue(notAStore.getMessage().startsWith("splinewatch.cluster.tls.key-store '" + crt + "' cannot be opened: it"
        + " is a PEM file (-----BEGIN CERTIFICATE-----), not a PKCS#12 store; expected a PKCS#12 store")
        && notAStore.getMessage().lines().count() == 1, notAStore.getMessage());
    // a --tls-name with no NAME.p12 in --tls-dir: what is missing and what is expected there
    java.nio.file.Path missing = dir.resolve("nosuch.p12");
    var noFile = assertThrows(IllegalArgumentException.class, () -> with.apply(new ClusterSettings.Tls(true,
        missing.toString(), store.toString(), right.toString())).checkTransport());
    assertEquals("splinewatch.cluster.tls.key-store '" + missing + "' is not a readable file (no such file); expected"
        + " this node's NAME.p12 of ./monitor certs DIR (--tls-dir DIR --tls-name NAME)", noFile.getMessage());
    var noKey = assertThrows(IllegalArgumentException.class, () -> with.apply(new ClusterSettings.Tls(true,
        store.toString(), store.toString(), right.toString())).checkTransport());
    assertTrue(noKey.getMessage().contains("key-store '" + store + "' holds no private key"), noKey.getMessage());
  }

  /**
   * A node certificate that expired (or is not valid yet) is refused at start with one line naming it and the date;
   * before, the node started and its joins failed after the 30 s join timeout, the reason only in the peer's log.
   */
  @Test
  void anExpiredOrFutureNodeCertificateIsRefusedAtStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
    java.nio.file.Path password = java.nio.file.Files.writeString(dir.resolve("password"), "secret\n");
    for (String[] c : new String[][] {{"expired", "-10d", "expired on "}, {"future", "+10d", "is not valid before "}}) {
      java.nio.file.Path store = dir.resolve(c[0] + ".p12");
      Process keytool = new ProcessBuilder("keytool", "-genkeypair", "-alias", c[0], "-keyalg", "EC", "-dname",
          "CN=" + c[0], "-startdate", c[1], "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
          "-storepass", "secret", "-keypass", "secret").redirectErrorStream(true).start();
      assertEquals(0, keytool.waitFor(), new String(keytool.getInputStream().readAllBytes()));
      var refused = assertThrows(IllegalArgumentException.class, () -> new ClusterSettings("127.0.0.1", 0, "",
          List.of(), base.chunkBytes(), base.maxSnapshotBytes(), 1, base.joinTimeout(), base.snapshotTimeout(),
          base.downAfter(), base.heartbeatPause(), 4, base.maxPartialBytes(), 100, new ClusterSettings.Tls(true,
          store.toString(), store.toString(), password.toString()), false).checkTransport());
      assertTrue(refused.getMessage().startsWith("splinewatch.cluster.tls.key-store '" + store + "': the certificate"
          + " of CN=" + c[0] + " " + c[2]) && refused.getMessage().lines().count() == 1, refused.getMessage());
    }
  }

  @Test
  void serveAndTrainerRefuseAnExposedPlainAddressAsABadArgument() throws java.net.SocketException {
    // an address of this machine that is not loopback (another machine's is refused first: CliTest)
    String exposed = java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
        .flatMap(i -> java.util.Collections.list(i.getInetAddresses()).stream())
        .filter(a -> a instanceof java.net.Inet4Address && !a.isLoopbackAddress()).map(a -> a.getHostAddress())
        .findFirst().orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(exposed != null, "this machine has no non-loopback IPv4 address");
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine serve = new picocli.CommandLine(new org.splinewatch.cli.MonitorCommand());
    serve.setErr(new java.io.PrintWriter(err));
    assertEquals(2, serve.execute("serve", "--host", exposed, "--port", "0", "--metrics-port", "0"));
    assertTrue(err.toString().startsWith("cluster address " + exposed + " is not loopback and TLS is off"),
        err.toString());
    java.io.StringWriter errAny = new java.io.StringWriter();
    picocli.CommandLine serveAny = new picocli.CommandLine(new org.splinewatch.cli.MonitorCommand());
    serveAny.setErr(new java.io.PrintWriter(errAny));
    assertEquals(2, serveAny.execute("serve", "--host", "0.0.0.0", "--insecure", "--port", "0", "--metrics-port", "0"));
    assertTrue(errAny.toString().contains("every interface"), errAny.toString());
    java.io.StringWriter err2 = new java.io.StringWriter();
    picocli.CommandLine trainer = new picocli.CommandLine(new org.splinewatch.cli.TrainCommand());
    trainer.setErr(new java.io.PrintWriter(err2));
    assertEquals(2, trainer.execute("--monitor", "10.0.0.1:25520", "--cluster-host", exposed, "--tls-key-store",
        "missing.p12"));
    assertTrue(err2.toString().contains("tls.key-store"), err2.toString());
  }
}
