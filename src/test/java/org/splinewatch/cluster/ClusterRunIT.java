package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.run.ResumeCheck;
import org.splinewatch.serve.MonitorServer;
import org.splinewatch.trainer.RunSettings;

/**
 * Several cluster nodes in one JVM on loopback ports: a metrics node, two analyzer nodes and a trainer that joins
 * with a seed. The run's metrics appear on the metrics node under the usual names and labels; one analyzer node is
 * terminated mid-run, the run still completes, the other node takes over, and every snapshot is either analysed or
 * counted as dropped.
 */
@ExtendWith(LogCapturingExtension.class)
class ClusterRunIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  static Config nodeConfig(Map<String, Object> extra) {
    Map<String, Object> o = new HashMap<>(extra);
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.cluster.down-after", "2s");
    o.put("splinewatch.cluster.heartbeat-pause", "10s"); // the waits of the cluster tests are sized for it
    return TrainCommand.load(o, null);
  }

  static MonitorServer node(List<String> roles, String seed, Path out, PrintStream console) {
    Config c = nodeConfig(Map.of("splinewatch.cluster.roles", roles, "splinewatch.cluster.seed", seed));
    return MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, console);
  }

  /**
   * A tiny embedding-only run named {@code runId} that joins the cluster at {@code seed} (plus {@code extra}
   * settings) and must end with exit code 0.
   */
  static void remoteRunSucceeds(Path tmp, String runId, String seed, Map<String, Object> extra) throws Exception {
    Map<String, Object> o = SyntheticData.tinyRun(tmp, runId, 200);
    o.putAll(extra);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    o.put("splinewatch.cluster.seed", seed);
    Config config = TrainCommand.load(o, null);
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result result = EmbeddedRun.run(RunSettings.fromConfig(config), config, o,
        new PrintStream(console, true), List.of(), new EmbeddedRun.Listener() { });
    assertEquals(0, result.exitCode(), console.toString());
    // the trainer cannot know the monitor's --out, so it does not guess a runs/ parent
    assertTrue(console.toString().contains("run files and report: on the monitor, in the directory " + runId
        + " under its --out"), console.toString());
  }

  @Test
  void runStreamsToAnalyzerNodesAndSurvivesLosingOne() throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Path monitorRuns = tmp.resolve("monitor-runs");
    try (MonitorServer metrics = node(List.of("metrics"), "", monitorRuns, quiet);
         MonitorServer a1 = node(List.of("analyzer"), ClusterNode.address(metrics.system()), tmp.resolve("a1"),
             quiet)) {
      MonitorServer a2 = node(List.of("analyzer"), ClusterNode.address(metrics.system()), tmp.resolve("a2"), quiet);
      String a2Address = ClusterNode.address(a2.system());
      String a1Address = ClusterNode.address(a1.system());
      String seed = ClusterNode.address(metrics.system());
      long steps = 1500;
      int every = 50;
      Map<String, Object> o = SyntheticData.tinyRun(tmp, "clustered", steps);
      o.put("splinewatch.run.snapshot-every", every);
      o.put("splinewatch.analysis.enabled", List.of("embedding", "regions"));
      o.put("splinewatch.cluster.seed", seed);
      o.put("splinewatch.cluster.down-after", "2s");
      o.put("splinewatch.cluster.heartbeat-pause", "10s");
      Config config = TrainCommand.load(o, null);
      HttpClient http = HttpClient.newHttpClient();
      URI scrape = URI.create("http://127.0.0.1:" + metrics.metricsPort() + "/metrics");
      AtomicLong killedAtStep = new AtomicLong(-1);
      // terminate the second analyzer node once it has analysed a snapshot
      Thread killer = new Thread(() -> {
        try {
          for (int i = 0; i < 600; i++) {
            Thread.sleep(50);
            String body = http.send(HttpRequest.newBuilder(scrape).build(), HttpResponse.BodyHandlers.ofString())
                .body();
            if (body.contains("node=\"" + a2Address + "\"")) {
              java.util.regex.Matcher step = java.util.regex.Pattern.compile("splinewatch_training_step\\{[^}]*} ([0-9.E]+)")
                  .matcher(body);
              killedAtStep.set(step.find() ? (long) Double.parseDouble(step.group(1)) : 0);
              a2.close();
              return;
            }
          }
        } catch (Exception e) {
          // the assertions below report what happened
        }
      });
      killer.start();
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      EmbeddedRun.Result result = EmbeddedRun.run(RunSettings.fromConfig(config), config, o,
          new PrintStream(console, true), List.of(), new EmbeddedRun.Listener() { });
      killer.join(30_000);
      assertEquals(0, result.exitCode(), console.toString());
      assertTrue(killedAtStep.get() >= 0, "the second analyzer node was never seen working");

      String body = http.send(HttpRequest.newBuilder(scrape).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(body.matches("(?s).*splinewatch_embedding_uniformity\\{[^}]*run=\"clustered\".*"),
          "embedding metrics on the metrics node");
      assertTrue(body.matches("(?s).*splinewatch_regions\\{[^}]*run=\"clustered\".*"), "regions on the metrics node");

      Path runDir = monitorRuns.resolve("clustered");
      assertTrue(Files.isRegularFile(runDir.resolve("config.json")));
      Map<String, Double> lastAnalysed = new HashMap<>();
      Map<String, Long> lastStepByNode = new HashMap<>();
      double dropped = 0;
      for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
        JsonNode n = JSON.readTree(line);
        String name = n.get("name").asText();
        if (name.equals("splinewatch_cluster_snapshots_analysed_total")) {
          String node = n.get("labels").get("node").asText();
          lastAnalysed.put(node, n.get("value").asDouble());
          lastStepByNode.merge(node, n.get("step").asLong(), Math::max);
        } else if (name.equals("splinewatch_snapshots_dropped_total")
            && n.get("labels").get("analyzer").asText().equals("embedding")) {
          dropped = n.get("value").asDouble();
        }
      }
      assertTrue(lastAnalysed.getOrDefault(a1Address, 0.0) >= 1, "first analyzer node worked: " + lastAnalysed);
      assertTrue(lastAnalysed.getOrDefault(a2Address, 0.0) >= 1, "second analyzer node worked: " + lastAnalysed);
      assertTrue(lastStepByNode.get(a1Address) > killedAtStep.get(),
          "the remaining node went on after the other left at step " + killedAtStep.get() + ": " + lastStepByNode);
      long published = steps / every + 1;
      double analysed = lastAnalysed.values().stream().mapToDouble(Double::doubleValue).sum();
      assertTrue(analysed <= published && analysed + dropped >= published,
          "every snapshot analysed or counted as dropped: analysed " + analysed + ", dropped " + dropped
              + ", published " + published);
      String events = Files.readString(runDir.resolve("events.jsonl"));
      assertTrue(events.contains("\"type\":\"run_finished\"") && events.contains("\"exit_code\":0"), events);
    }
  }

  @Test
  void aRemoteRunResumedFromItsCheckpointRecordsTheResumeOnTheMonitor() throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Path monitorRuns = tmp.resolve("resume-monitor");
    try (MonitorServer monitor = node(List.of("metrics", "analyzer"), "", monitorRuns, quiet)) {
      String seed = ClusterNode.address(monitor.system());
      remoteRunSucceeds(tmp, "resumed", seed, Map.of("splinewatch.run.max-steps", 40));
      Path latest = tmp.resolve("runs").resolve("resumed").resolve("checkpoints").resolve("latest");
      remoteRunSucceeds(tmp, "resumed", seed, Map.of("splinewatch.run.max-steps", 60, "splinewatch.run.resume",
          latest.toString()));
      // the report drops the samples of steps after 40 written before this event (a resume from best leaves some)
      List<String> events = Files.readAllLines(monitorRuns.resolve("resumed").resolve("events.jsonl"));
      List<String> finished = events.stream().filter(l -> l.contains("\"run_finished\"")).toList();
      List<String> resumed = events.stream().filter(l -> l.contains("\"run_resumed\"")).toList();
      assertEquals(2, finished.size(), events.toString());
      assertEquals(1, resumed.size(), events.toString());
      assertTrue(resumed.get(0).contains("\"step\":40") && resumed.get(0).contains("\"checkpoint\":\"latest\""),
          resumed.toString());
      assertTrue(events.indexOf(resumed.get(0)) > events.indexOf(finished.get(0))
          && events.indexOf(resumed.get(0)) < events.indexOf(finished.get(1)), events.toString());
      // another width is refused before the trainer joins: the run's files on the monitor stay as they are (a
      // --monitor run's directory here holds only its checkpoints, so their arrays are what is checked)
      Path onMonitor = monitorRuns.resolve("resumed");
      byte[] config = Files.readAllBytes(onMonitor.resolve("config.json"));
      byte[] eventsBefore = Files.readAllBytes(onMonitor.resolve("events.jsonl"));
      ResumeCheck.Refused wider = assertThrows(ResumeCheck.Refused.class, () -> remoteRunSucceeds(tmp, "resumed",
          seed, Map.of("splinewatch.run.max-steps", 80, "splinewatch.run.hidden", List.of(32),
              "splinewatch.run.resume", latest.toString())));
      assertTrue(wider.getMessage().contains("is from a run with --hidden 16, this run has --hidden 32"),
          wider.getMessage());
      assertArrayEquals(config, Files.readAllBytes(onMonitor.resolve("config.json")), "config.json rewritten");
      assertArrayEquals(eventsBefore, Files.readAllBytes(onMonitor.resolve("events.jsonl")), "events appended");
      // the key the first segment kept beside its checkpoints is what lets it resume there; without it, no one can
      Path key = latest.resolveSibling(ResumeKey.TRAINER_FILE);
      assertTrue(Files.readString(key).strip().matches("[0-9a-f]{32}"));
      Files.move(key, tmp.resolve("the-key-elsewhere"));
      IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> remoteRunSucceeds(tmp,
          "resumed", seed, Map.of("splinewatch.run.max-steps", 80, "splinewatch.run.resume", latest.toString())));
      assertTrue(refused.getMessage().startsWith("run 'resumed' on this monitor was started by another trainer"),
          refused.getMessage());
      assertEquals(events, Files.readAllLines(monitorRuns.resolve("resumed").resolve("events.jsonl")),
          "a refused resume appends nothing");
    }
  }

  @Test
  void monitorsControlEndpointStopsARemoteRun() throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Path monitorRuns = tmp.resolve("monitor-runs");
    try (MonitorServer monitor = node(List.of("metrics", "analyzer"), "", monitorRuns, quiet)) {
      Map<String, Object> o = SyntheticData.tinyRun(tmp, "stoppable", 1_000_000);
      o.put("splinewatch.analysis.enabled", List.of("embedding"));
      o.put("splinewatch.alerts.early-stop", "stop"); // the webhook stops only rules the run itself stops on
      o.put("splinewatch.cluster.seed", ClusterNode.address(monitor.system()));
      Config config = TrainCommand.load(o, null);
      var result = new java.util.concurrent.CompletableFuture<EmbeddedRun.Result>();
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      Thread run = new Thread(() -> result.complete(EmbeddedRun.run(RunSettings.fromConfig(config), config, o,
          new PrintStream(console, true), List.of(), new EmbeddedRun.Listener() { })));
      run.start();
      Path metricsFile = monitorRuns.resolve("stoppable").resolve("metrics.jsonl");
      for (int i = 0; i < 600 && !(Files.exists(metricsFile) && Files.size(metricsFile) > 0); i++) {
        Thread.sleep(50);
      }
      String token = Files.readString(monitorRuns.resolve("control-token")).trim();
      String payload = """
          {"version":"4","groupKey":"{}","status":"firing","receiver":"splinewatch-stop","groupLabels":{},
           "commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
           "alerts":[{"status":"firing","labels":{"alertname":"SplinewatchStdCollapse","severity":"critical",
             "run":"stoppable","rule":"std_collapse"},"annotations":{"summary":"std collapsed"},"startsAt":"2026-11-24T12:00:00Z",
             "endsAt":"0001-01-01T00:00:00Z","fingerprint":"abc"}]}
          """;
      HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
              "http://127.0.0.1:" + monitor.metricsPort() + "/api/v1/alerts"))
          .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofString(payload)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(202, answer.statusCode(), answer.body());
      EmbeddedRun.Result r = result.get(120, java.util.concurrent.TimeUnit.SECONDS);
      assertEquals(3, r.exitCode(), console.toString());
      String events = Files.readString(monitorRuns.resolve("stoppable").resolve("events.jsonl"));
      assertTrue(events.contains("\"stopped\":true") && events.contains("SplinewatchStdCollapse"), events);
    }
  }

  @Test
  void alertOnTheMetricsNodeStopsTheRemoteTrainer() throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Path monitorRuns = tmp.resolve("monitor-runs");
    try (MonitorServer monitor = node(List.of("metrics"), "", monitorRuns, quiet)) {
      String seed = ClusterNode.address(monitor.system());
      // an analyzer node whose only analysis injects a collapsing embedding spread (as EarlyStopIT does locally)
      var injector = new org.splinewatch.analysis.AnalyzerSpec("injector", (run, metrics, dir) ->
          org.splinewatch.analysis.AnalyzerActor.create("injector", metrics, () -> snap -> List.of(
              org.splinewatch.snapshot.Sample.of("splinewatch_embedding_std_normalized", snap.step() < 30 ? 0.9 : 0.01,
                  snap.step(), "layer", "proj"))));
      Config ac = nodeConfig(Map.of("splinewatch.cluster.seed", seed));
      var analyzerNode = ClusterNode.start(org.apache.pekko.actor.typed.javadsl.Behaviors.<Void>setup(ctx -> {
        ctx.spawn(AnalyzerWorker.create(names -> List.of(injector), tmp.resolve("a"), java.time.Duration.ofMinutes(1)),
            "analyzer-node");
        return org.apache.pekko.actor.typed.javadsl.Behaviors.empty();
      }), ClusterSettings.fromConfig(ac), List.of("analyzer"), ac);
      try {
        Map<String, Object> o = SyntheticData.tinyRun(tmp, "collapsing", 100_000);
        o.put("splinewatch.run.snapshot-every", 10);
        o.put("splinewatch.alerts.early-stop", "stop");
        o.put("splinewatch.analysis.enabled", List.of("embedding"));
        o.put("splinewatch.cluster.seed", seed);
        Config config = TrainCommand.load(o, null);
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        EmbeddedRun.Result r = EmbeddedRun.run(RunSettings.fromConfig(config), config, o,
            new PrintStream(console, true), List.of(), new EmbeddedRun.Listener() { });
        assertEquals(3, r.exitCode(), console.toString());
        assertTrue(r.finished().reason().contains("std_collapse"), r.finished().reason());
        assertTrue(console.toString().contains("ALERT [critical] embedding spread collapsed"), console.toString());
        String events = Files.readString(monitorRuns.resolve("collapsing").resolve("events.jsonl"));
        assertTrue(events.contains("\"rule\":\"std_collapse\"") && events.contains("\"exit_code\":3"), events);
      } finally {
        analyzerNode.terminate();
      }
    }
  }
}
