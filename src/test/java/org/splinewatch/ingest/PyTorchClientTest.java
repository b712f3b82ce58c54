package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.serve.MonitorServer;
import org.splinewatch.TestTools;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.NpzArchive;
import org.splinewatch.snapshot.RegionFile;
import org.splinewatch.snapshot.SnapshotFormat;

/**
 * The Python client with Debian's {@code python3-torch} (installed by {@code .ci/run}; skipped where
 * {@code /usr/bin/python3} cannot import torch): a PyTorch network converted by the client is the network the monitor
 * computes, and a real PyTorch training loop streams to a real monitor, its metrics appear on {@code /metrics} and in
 * the run directory, and an injected collapse stops the loop through {@code should_stop} (exit code 3).
 */
class PyTorchClientTest {
  /** Debian's interpreter, as in CI; {@code SPLINEWATCH_TEST_PYTHON} names another (a venv with PyTorch 2.x). */
  private static final String PYTHON = System.getenv().getOrDefault("SPLINEWATCH_TEST_PYTHON", "/usr/bin/python3");
  private static final String TOKEN = "fedcba9876543210fedcba9876543210";
  private static final Path CLIENT = Path.of("clients", "python");

  @TempDir
  Path tmp;

  @BeforeAll
  static void torchPresent() throws Exception {
    boolean ok = false;
    if (Files.isExecutable(Path.of(PYTHON))) {
      Process p = new ProcessBuilder(PYTHON, "-c", "import torch, numpy").redirectErrorStream(true).start();
      ok = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
    Assumptions.assumeTrue(ok, PYTHON + " cannot import torch and numpy (apt-get install python3-torch python3-numpy)");
  }

  private static String run(List<String> command, Path log, int timeoutSeconds) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("timed out: " + command + "\n" + Files.readString(log));
    }
    return p.exitValue() + "\n" + Files.readString(log);
  }

  @Test
  void convertedPyTorchNetworkIsTheNetworkTheMonitorComputes() throws Exception {
    String out = run(List.of(PYTHON, CLIENT.resolve("tests").resolve("export_fixture.py").toString(), tmp.toString()),
        tmp.resolve("log"), 120);
    assertTrue(out.startsWith("0\n"), out);
    NpzArchive.Limits limits = new NpzArchive.Limits(1 << 24, 64);
    SnapshotFormat.Snapshot s = SnapshotFormat.parseSnapshot(Files.readAllBytes(tmp.resolve("snapshot.npz")), limits,
        new int[] {1, 8, 8}, 5, true, 64, 4096);
    NpzArchive expected = NpzArchive.read(Files.readAllBytes(tmp.resolve("expected.npz")), limits, "fixture");
    PiecewiseLinearNet net = new PiecewiseLinearNet(64, s.layers());
    float[] in = expected.array("inputs").values();
    double[] x = new double[in.length];
    for (int i = 0; i < in.length; i++) {
      x[i] = in[i];
    }
    double[] y = net.forward(x, 64);
    float[] torchY = expected.array("outputs").values();
    assertEquals(torchY.length, y.length);
    for (int i = 0; i < y.length; i++) {
      assertEquals(torchY[i], y[i], 1e-4 + 1e-4 * Math.abs(torchY[i]), "output " + i);
    }
    // activation patterns: the signs of every hidden pre-activation, as PyTorch saw them
    float[] pre = expected.array("pre").values();
    List<double[]> ours = net.preActivations(x, 64);
    int width = ours.stream().mapToInt(a -> a.length / 64).sum();
    assertEquals(pre.length / 64, width);
    int agree = 0;
    int total = 0;
    for (int r = 0; r < 64; r++) {
      int col = 0;
      for (double[] layer : ours) {
        int w = layer.length / 64;
        for (int j = 0; j < w; j++) {
          float t = pre[r * width + col + j];
          if (Math.abs(t) > 1e-5) {
            total++;
            agree += (t > 0) == (layer[r * w + j] > 0) ? 1 : 0;
          }
        }
        col += w;
      }
    }
    assertEquals(total, agree, "every activation away from 0 has PyTorch's sign");
    // the region file of the same network (regions_npz): the same layers, and ./monitor regions counts the plane
    // through the first three inputs as the engine does on the snapshot's network
    Path regions = tmp.resolve("regions.npz");
    RegionFile.Model m = RegionFile.read(regions, 1 << 24);
    assertArrayEquals(new int[] {1, 8, 8}, m.inputShape());
    assertArrayEquals(y, m.net().forward(x, 64), 0.0);
    double[][] a = new double[3][64];
    for (int i = 0; i < 3; i++) {
      System.arraycopy(x, 64 * i, a[i], 0, 64);
    }
    Partition p = Partition.compute(net, Plane.throughAnchors(a[0], a[1], a[2], 0));
    String cli = TestTools.cli(0, "monitor", "regions", "--model", regions.toString());
    assertTrue(cli.contains("\nregions: " + p.regionCount() + "\n") && cli.contains("overflow: false"),
        p.regionCount() + "\n" + cli);
    assertTrue(p.regionCount() > 1, "a plane without regions tests nothing");
  }

  @Test
  void pytorchLoopStreamsToTheMonitorAndStopsOnAnInjectedCollapse() throws Exception {
    Path data = tmp.resolve("mnist");
    SyntheticData.writeDir(data, 2000, 300, 3);
    Path runs = tmp.resolve("runs");
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", List.of("embedding", "regions"));
    o.put("splinewatch.regions.max-regions", 5000);
    // a small domain around the anchors' centre, so that the planes are exact (a plane over the cap exports only its
    // overflow, not a count) while the analysis stays quick
    o.put("splinewatch.regions.pad", 1.0);
    // analysis at normal priority: on a machine busy with other work, SCHED_IDLE analysis threads may never run,
    // and this test waits for the analysis that raises the alert
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, runs,
        new PrintStream(new ByteArrayOutputStream()))) {
      String url = "http://127.0.0.1:" + server.metricsPort();
      List<String> cmd = new ArrayList<>(List.of(PYTHON, CLIENT.resolve("examples").resolve("train_mnist.py").toString(),
          "--monitor", url, "--run-id", "torch-e2e", "--steps", "5000", "--data-dir", data.toString(),
          "--token-file", runs.resolve("control-token").toString(), "--snapshot-every", "20", "--collapse-at", "60",
          "--batch-size", "64", "--probe-size", "200"));
      // the loop trains until the monitor's answer says stop (steps 5000 is only a bound)
      String out = run(cmd, tmp.resolve("train.log"), 600);
      assertTrue(out.startsWith("3\n"), "exit code 3 (stopped early): " + out);
      assertTrue(out.contains("stopped early at step") && out.contains("dead_representation"), out);
      String metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("splinewatch_training_loss{dataset=\"mnist\",method=\"supervised\",run=\"torch-e2e\"}"),
          metrics);
      assertTrue(metrics.contains("splinewatch_embedding_zero_rows_ratio{dataset=\"mnist\",layer=\"repr\","
          + "method=\"supervised\",run=\"torch-e2e\"}"), metrics);
      assertTrue(metrics.lines().anyMatch(l -> l.startsWith("splinewatch_regions{") && l.contains("torch-e2e")),
          metrics);
      assertTrue(metrics.lines().noneMatch(l -> l.startsWith("splinewatch_region_overflow{") && l.contains("torch-e2e")
          && l.endsWith(" 1.0")), metrics);
      Path dir = runs.resolve("torch-e2e");
      // the finish request is answered at once; the run's end is recorded once its last analyses are done
      String events = IngestHttpTest.waitFor(() -> Files.readString(dir.resolve("events.jsonl"), StandardCharsets.UTF_8),
          e -> e.contains("run_finished"));
      assertTrue(events.contains("dead_representation"), events);
      JsonNode last = new ObjectMapper().readTree(events.strip().lines().reduce((a, b) -> b).orElseThrow());
      assertEquals("run_finished", last.get("type").asText());
      assertEquals(3, last.get("exit_code").asInt());
      assertTrue(Files.readString(dir.resolve("metrics.jsonl")).contains("splinewatch_regions"));
      IngestHttpTest.waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? "yes" : "", "yes"::equals);
      assertTrue(Files.readString(dir.resolve("config.json")).contains("pytorch"));
    }
  }
}
