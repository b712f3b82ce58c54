package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.Main;
import org.splinewatch.data.SyntheticData;

/**
 * Separate JVMs, as users start them: {@code monitor serve} (metrics and analyzer), a second {@code monitor serve}
 * with only the analyzer role, and {@code train --monitor}. The run's metrics appear on the first monitor's
 * {@code /metrics}; {@code kill -9} of the analyzer-only process does not stop the run; {@code kill -9} of a second
 * trainer leaves its run marked failed on the monitor.
 */
class ClusterProcessIT {
  private static final Pattern NODE = Pattern.compile("cluster node (\\S+) ");

  @TempDir
  Path tmp;

  private final List<Process> processes = new ArrayList<>();

  private Process start(Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx768m", "-Dsplinewatch.cluster.down-after=2s",
        "-Dsplinewatch.cluster.heartbeat-pause=10s", "-cp", System.getProperty("java.class.path"),
        Main.class.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** Waits for the line that ends a serve node's banner and returns the node's cluster address. */
  private static String awaitNode(Process p, Path log) throws Exception {
    for (int i = 0; i < 600; i++) {
      String out = Files.exists(log) ? Files.readString(log) : "";
      if (out.contains("trainers join with")) {
        Matcher m = NODE.matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
      }
      assertTrue(p.isAlive(), "serve exited: " + out);
      Thread.sleep(100);
    }
    throw new AssertionError("serve did not start: " + Files.readString(log));
  }

  @Test
  void trainerJoinsMonitorProcessAndSurvivesKillOfAnAnalyzer() throws Exception {
    try {
      Path data = tmp.resolve("idx");
      SyntheticData.writeDir(data, 640, 200, 5);
      int clusterPort = TestTools.freePort();
      int httpPort = TestTools.freePort();
      Path monitorLog = tmp.resolve("monitor.log");
      Process monitor = start(monitorLog, "monitor", "serve", "--port", String.valueOf(clusterPort),
          "--metrics-port", String.valueOf(httpPort), "--out", tmp.resolve("monitor-runs").toString());
      String seed = awaitNode(monitor, monitorLog);
      assertEquals("127.0.0.1:" + clusterPort, seed);
      Path analyzerLog = tmp.resolve("analyzer.log");
      Process analyzer = start(analyzerLog, "monitor", "serve", "--roles", "analyzer", "--port", "0", "--seed", seed,
          "--out", tmp.resolve("analyzer-runs").toString());
      String analyzerAddress = awaitNode(analyzer, analyzerLog);

      Path trainerLog = tmp.resolve("trainer.log");
      Process trainer = start(trainerLog, "train", "--monitor", seed, "--method", "supervised", "--data-dir",
          data.toString(), "--max-steps", "3000", "--batch-size", "32", "--hidden", "16", "--snapshot-every", "50",
          "--probe-size", "50", "--run-id", "multi", "--analyzers", "embedding,regions", "--out",
          tmp.resolve("trainer-runs").toString());
      HttpClient http = HttpClient.newHttpClient();
      URI scrape = URI.create("http://127.0.0.1:" + httpPort + "/metrics");
      boolean killed = false;
      for (int i = 0; i < 1200 && trainer.isAlive() && !killed; i++) {
        Thread.sleep(50);
        String body = http.send(HttpRequest.newBuilder(scrape).build(), HttpResponse.BodyHandlers.ofString()).body();
        if (body.contains("node=\"" + analyzerAddress + "\"")) {
          analyzer.destroyForcibly(); // SIGKILL
          killed = true;
        }
      }
      assertTrue(killed, "the analyzer-only node never analysed a snapshot: " + Files.readString(trainerLog));
      assertTrue(trainer.waitFor(180, TimeUnit.SECONDS), "trainer did not finish: " + Files.readString(trainerLog));
      assertEquals(0, trainer.exitValue(), Files.readString(trainerLog));
      String body = http.send(HttpRequest.newBuilder(scrape).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(body.matches("(?s).*splinewatch_embedding_uniformity\\{[^}]*run=\"multi\".*"), body);
      assertTrue(body.matches("(?s).*splinewatch_training_step\\{[^}]*run=\"multi\"[^}]*} 3000\\.0.*"), body);
      Path runDir = tmp.resolve("monitor-runs").resolve("multi");
      String events = Files.readString(runDir.resolve("events.jsonl"));
      assertTrue(events.contains("\"type\":\"run_finished\"") && events.contains("\"exit_code\":0"), events);
      // the trainer's peak memory reaches the monitor's events.jsonl as numbers
      assertTrue(java.util.regex.Pattern.compile("\"resident_peak_bytes\":[1-9][0-9]*").matcher(events).find(), events);
      assertTrue(monitor.isAlive(), Files.readString(monitorLog));

      Process doomed = start(tmp.resolve("doomed.log"), "train", "--monitor", seed, "--method", "supervised",
          "--data-dir", data.toString(), "--max-steps", "100000", "--batch-size", "32", "--hidden", "16",
          "--snapshot-every", "50", "--probe-size", "50", "--run-id", "doomed", "--analyzers", "embedding", "--out",
          tmp.resolve("trainer-runs").toString());
      Path doomedEvents = tmp.resolve("monitor-runs").resolve("doomed").resolve("events.jsonl");
      Path doomedMetrics = doomedEvents.resolveSibling("metrics.jsonl");
      for (int i = 0; i < 1200 && !(Files.exists(doomedMetrics) && Files.size(doomedMetrics) > 0); i++) {
        Thread.sleep(50);
      }
      doomed.destroyForcibly();
      String failed = "";
      for (int i = 0; i < 600 && !failed.contains("run_finished"); i++) {
        Thread.sleep(100);
        failed = Files.exists(doomedEvents) ? Files.readString(doomedEvents) : "";
      }
      assertTrue(failed.contains("\"status\":\"failed\""), "killed trainer's run marked failed: " + failed);
    } finally {
      for (Process p : processes) {
        p.destroy();
      }
      for (Process p : processes) {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  /**
   * "Ctrl-C leaves the cluster and stops": an analyzer node stopped by a signal leaves within seconds. With its stop
   * in a plain JVM shutdown hook, Artery's own hook took the transport down first: the leave never reached the
   * cluster, the node waited out the 10 s of {@code cluster-exiting} and the metrics node downed it as unreachable.
   */
  @Test
  void anAnalyzerNodeStoppedBySigtermLeavesTheCluster() throws Exception {
    try {
      Path monitorLog = tmp.resolve("monitor.log");
      Process monitor = start(monitorLog, "monitor", "serve", "--port", "0", "--metrics-port", "0", "--out",
          tmp.resolve("runs").toString());
      String seed = awaitNode(monitor, monitorLog);
      Path analyzerLog = tmp.resolve("analyzer.log");
      Process analyzer = start(analyzerLog, "monitor", "serve", "--roles", "analyzer", "--port", "0", "--seed", seed,
          "--metrics-port", "0", "--out", tmp.resolve("analyzer-runs").toString());
      String address = awaitNode(analyzer, analyzerLog);
      Thread.sleep(2000); // the join gossiped to both nodes
      long start = System.nanoTime();
      analyzer.destroy(); // SIGTERM
      assertTrue(analyzer.waitFor(60, TimeUnit.SECONDS), Files.readString(analyzerLog));
      double seconds = (System.nanoTime() - start) / 1e9;
      String said = Files.readString(analyzerLog);
      assertEquals(143, analyzer.exitValue(), said);
      assertTrue(!said.contains("timed out"), said);
      assertTrue(!said.contains("while the monitor was starting"), "a serving node's SIGTERM is its shutdown: " + said);
      assertTrue(seconds < 8, "the analyzer node took " + seconds + " s to leave: " + said);
      Thread.sleep(12000); // past heartbeat-pause (10 s): a node that vanished without leaving is unreachable by now
      String monitorSaid = Files.readString(monitorLog);
      assertTrue(!monitorSaid.contains("UNREACHABLE"), address + " did not leave: " + monitorSaid);
      assertTrue(monitor.isAlive(), monitorSaid);
    } finally {
      for (Process p : processes) {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }

  @Test
  void aMonitorOnTheTrainersMachineGetsTheRunsEndAndTheTrainerPrintsItsCoverage() throws Exception {
    try {
      Path data = tmp.resolve("idx");
      SyntheticData.writeDir(data, 640, 200, 5);
      Path runs = tmp.resolve("runs");
      Path monitorLog = tmp.resolve("monitor.log");
      Process monitor = start(monitorLog, "monitor", "serve", "--port", "0", "--metrics-port", "0", "--out",
          runs.toString());
      String seed = awaitNode(monitor, monitorLog);
      Path trainerLog = tmp.resolve("trainer.log");
      // the same --out as the monitor's: the run directory the monitor writes is this trainer's
      Process trainer = start(trainerLog, "train", "--monitor", seed, "--method", "supervised", "--data-dir",
          data.toString(), "--max-steps", "200", "--batch-size", "32", "--hidden", "16", "--snapshot-every", "50",
          "--probe-size", "50", "--run-id", "local", "--analyzers", "embedding,regions", "--out", runs.toString());
      assertTrue(trainer.waitFor(240, TimeUnit.SECONDS), "trainer did not finish: " + Files.readString(trainerLog));
      String out = Files.readString(trainerLog);
      assertEquals(0, trainer.exitValue(), out);
      // snapshots at steps 0, 50, 100, 150 and 200, counted against what the monitor logged as analysed
      assertTrue(out.matches("(?s).*analysed snapshots: embedding [1-5]/5.*regions [1-5]/5.*"), out);
      String events = Files.readString(runs.resolve("local").resolve("events.jsonl"));
      String finished = events.lines().filter(l -> l.contains("\"type\":\"run_finished\"")).findFirst()
          .orElse("");
      JsonNode end = new ObjectMapper().readTree(finished);
      assertEquals(0, end.path("exit_code").asInt(-1), events);
      assertEquals(5, end.path("analysed_snapshots").path("embedding").path("offered").asInt(), finished);
      int analysed = end.path("analysed_snapshots").path("embedding").path("analysed").asInt();
      assertTrue(analysed >= 1 && analysed <= 5, finished);
      // the monitor wrote an analysis-time sample with each analysis the trainer's end record counts: not cut short
      var run = org.splinewatch.report.RunData.read(runs.resolve("local"));
      assertTrue(run.complete(), run.problems().toString());
      // the trainer's CPU by role arrives as numbers, not as the properties of a Scala collection
      assertTrue(end.path("cpu_seconds").path("training").isNumber(), finished);
      assertTrue(end.path("cpu_seconds").path("training").asDouble() > 0, finished);
      // so does the run's configuration, which the monitor writes to config.json (its settings and options are maps)
      String configText = Files.readString(runs.resolve("local").resolve("config.json"));
      JsonNode config = new ObjectMapper().readTree(configText);
      assertEquals(200, config.path("settings").path("max_steps").asInt(), configText);
      assertEquals("local", config.path("options").path("splinewatch.run.run-id").asText(), configText);
      assertTrue(!configText.contains("traversableAgain"), configText);
    } finally {
      for (Process p : processes) {
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
    }
  }
}
