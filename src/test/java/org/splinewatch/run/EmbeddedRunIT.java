package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * A tiny real training run (supervised MLP on generated IDX data) with the embedded monitor: /metrics is scraped
 * while it runs, metrics.jsonl holds the same samples, and a deliberately slow analyzer neither blocks the trainer
 * nor silences the others; its drops are counted.
 */
class EmbeddedRunIT {
  @TempDir
  Path tmp;

  @Test
  void tinyRunIsScrapedLiveAndSlowAnalyzerOnlyDrops() throws Exception {
    int port = TestTools.freePort();
    var overrides = supervisedRun("tiny", 640, 200, 600, 32, 100);
    overrides.put("splinewatch.metrics.port", port);
    // analyzers share the analysis pool; with one thread a sleeping analyzer would hold it (see README)
    overrides.put("splinewatch-analysis-dispatcher.fixed-pool-size", 3);
    // boundary and geometry analyzers have their own tests; here they would only compete for the two test cores
    overrides.put("splinewatch.analysis.enabled", List.of("embedding", "regions"));
    overrides.put("splinewatch.run-meta.tags", List.of("sweep=lr", "owner=ci"));
    overrides.put("splinewatch.run-meta.notes", "scrape test");
    var config = TrainCommand.load(overrides, null);
    RunSettings settings = RunSettings.fromConfig(config);
    List<AnalyzerSpec> analyzers = new ArrayList<>(EmbeddedRun.defaultAnalyzers(config));
    analyzers.add(new AnalyzerSpec("slow", (run, metrics, dir) -> Behaviors.receiveMessage(m -> {
      Thread.sleep(1500);
      m.replyTo().tell(new Analyzed("slow", m.snapshot().step(), 1.5, null));
      return Behaviors.same();
    })));
    List<String> scrapes = new CopyOnWriteArrayList<>();
    List<String> openMetrics = new CopyOnWriteArrayList<>();
    HttpClient http = HttpClient.newHttpClient();
    Thread scraper = new Thread(() -> {
      for (int i = 0; i < 200 && scrapes.size() < 3; i++) {
        try {
          Thread.sleep(300);
          String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
              .build(), HttpResponse.BodyHandlers.ofString()).body();
          if (body.contains("splinewatch_embedding_uniformity{") && body.contains("splinewatch_regions{")) {
            scrapes.add(body);
            if (openMetrics.isEmpty()) {
              HttpResponse<String> om = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                  + "/metrics")).header("Accept", "application/openmetrics-text; version=1.0.0").build(),
                  HttpResponse.BodyHandlers.ofString());
              openMetrics.add(om.headers().firstValue("Content-Type").orElse("") + "\n" + om.body());
            }
          }
        } catch (Exception e) {
          // not up yet
        }
      }
    });
    scraper.start();
    // the listener runs on another thread, where a failed assertion would be lost: record, assert below
    AtomicInteger startedOn = new AtomicInteger(-1);
    EmbeddedRun.Result result = EmbeddedRun.run(settings, config, Map.of(), System.out, analyzers,
        new EmbeddedRun.Listener() {
          @Override
          public void started(Path runDir, int p, ActorRef<TrainerActor.Command> trainer) {
            startedOn.set(p);
          }
        });
    scraper.join(5000);
    assertEquals(0, result.exitCode(), String.valueOf(result.finished()));
    assertEquals(port, startedOn.get(), "the listener learns the metrics port once the trainer runs");
    assertEquals(port, result.metricsPort());
    assertEquals(600, result.finished().steps());
    assertTrue(!scrapes.isEmpty(), "no scrape saw embedding metrics");
    String body = scrapes.get(scrapes.size() - 1);
    for (String family : List.of("splinewatch_training_loss", "splinewatch_training_step",
        "splinewatch_embedding_std_normalized", "splinewatch_embedding_rankme", "splinewatch_knn_accuracy_ratio",
        "splinewatch_analysis_seconds_count", "splinewatch_snapshots_dropped_total")) {
      assertTrue(body.contains(family), family + " missing from /metrics");
    }
    assertTrue(body.contains("run=\"tiny\"") && body.contains("method=\"supervised\""), "run labels");
    // the process's health: JVM and process binders and ND4J's native memory, with HELP text
    for (String family : List.of("jvm_memory_used_bytes{area=\"heap\"", "jvm_gc_", "jvm_threads_live_threads",
        "process_cpu_usage", "process_files_open_files", "process_uptime_seconds", "jvm_buffer_memory_used_bytes",
        "splinewatch_javacpp_allocated_bytes", "splinewatch_process_resident_bytes")) {
      assertTrue(body.contains(family), family + " missing from /metrics");
    }
    assertTrue(value(body, "\nsplinewatch_process_resident_bytes (\\S+)") > 1e7, "resident set of a JVM");
    assertTrue(body.contains("# HELP splinewatch_javacpp_allocated_bytes Native memory"), "HELP text");
    // every splinewatch family has real HELP text (none falls back to the generic line), running totals are counters
    Matcher help = Pattern.compile("# HELP (splinewatch_\\w+) (.*)").matcher(body);
    int families = 0;
    while (help.find()) {
      families++;
      assertTrue(!help.group(2).isBlank() && !help.group(2).startsWith("splinewatch metric "), help.group());
    }
    assertTrue(families > 15, "families with HELP: " + families);
    assertTrue(body.contains("# TYPE splinewatch_snapshots_dropped_total counter"), "dropped snapshots: a counter");
    // the run's configuration as labels, tags sorted
    Matcher info = Pattern.compile("splinewatch_run_info\\{([^}]*)\\} 1").matcher(body);
    assertTrue(info.find(), "splinewatch_run_info missing");
    for (String label : List.of("run=\"tiny\"", "method=\"supervised\"", "batch_size=\"32\"", "hidden=\"32,32\"",
        "learning_rate=\"0.001\"", "seed=\"42\"", "tags=\"owner=ci,sweep=lr\"", "encoder=\"mlp\"", "git_dirty=")) {
      assertTrue(info.group(1).contains(label), label + " not in " + info.group(1));
    }
    // OpenMetrics when asked for: its content type and its terminating # EOF
    assertTrue(!openMetrics.isEmpty(), "no OpenMetrics scrape");
    assertTrue(openMetrics.get(0).startsWith("application/openmetrics-text"), openMetrics.get(0).lines().findFirst()
        .orElse(""));
    assertTrue(openMetrics.get(0).strip().endsWith("# EOF"), "OpenMetrics ends with # EOF");
    String configJson = Files.readString(result.runDir().resolve("config.json"));
    assertTrue(configJson.contains("\"notes\" : \"scrape test\"") && configJson.contains("\"sweep\" : \"lr\"")
        && configJson.contains("\"git_dirty\""), configJson);
    double knn = value(body, "splinewatch_knn_accuracy_ratio\\{[^}]*layer=\"repr\"[^}]*\\} (\\S+)");
    assertTrue(knn > 0.1 && knn <= 1, "kNN accuracy plausible: " + knn);
    // metrics.jsonl has the same families, and the slow analyzer's drops were counted there
    String jsonl = Files.readString(result.runDir().resolve("metrics.jsonl"));
    assertTrue(jsonl.contains("\"splinewatch_embedding_uniformity\""));
    // the training thread's CPU since the start: a positive running total that never falls
    List<Double> trainingCpu = jsonl.lines()
        .filter(l -> l.contains("\"splinewatch_training_thread_cpu_seconds_total\""))
        .map(l -> Double.parseDouble(l.replaceAll(".*\"value\":([^,]+),.*", "$1"))).toList();
    assertTrue(trainingCpu.size() >= 2 && trainingCpu.get(trainingCpu.size() - 1) > 0, "training CPU " + trainingCpu);
    for (int i = 1; i < trainingCpu.size(); i++) {
      assertTrue(trainingCpu.get(i) >= trainingCpu.get(i - 1), "training CPU fell: " + trainingCpu);
    }
    assertTrue(body.contains("splinewatch_training_thread_cpu_seconds_total{"), "no training CPU counter scraped");
    Matcher drops = Pattern.compile("\"splinewatch_snapshots_dropped_total\",\"labels\":\\{\"analyzer\":\"slow\"")
        .matcher(jsonl);
    assertTrue(drops.find(), "slow analyzer dropped nothing");
    // the fast analyzer kept reporting: embedding metrics at several steps
    long embeddingSteps = jsonl.lines().filter(l -> l.contains("\"splinewatch_embedding_rankme\"")).count();
    assertTrue(embeddingSteps >= 4, "embedding analyzer reported " + embeddingSteps + " times");
    // the region analyzer exported counts per plane and layer, and drew every plane it analysed
    double regions = value(body, "splinewatch_regions\\{[^}]*layer=\"all\"[^}]*plane=\"0\"[^}]*\\} (\\S+)");
    assertTrue(regions >= 1, "regions on plane 0: " + regions);
    try (var svgs = Files.list(result.runDir().resolve("planes"))) {
      assertTrue(svgs.anyMatch(f -> f.getFileName().toString().startsWith("plane-0-step-")));
    }
    assertTrue(!jsonl.contains("\"splinewatch_boundary_flip_ratio\""), "only the enabled analyzers ran");
    assertTrue(Files.readString(result.runDir().resolve("config.json")).contains("\"seed\" : 42"));
    // the first live scrape already carried the run's series, at a step of this run
    double firstStep = value(scrapes.get(0), "\nsplinewatch_training_step\\{[^}]*run=\"tiny\"[^}]*\\} (\\S+)");
    assertTrue(firstStep >= 0 && firstStep <= 600, "training step of the first scrape: " + firstStep);
  }

  /**
   * An analysis longer than {@code splinewatch.analysis.timeout} counts as failed, once: the hub stops waiting and
   * counts it, the analyzer leaves its late results out (before, such analyses were counted nowhere, and the run's
   * last line left the analyzer out).
   */
  @Test
  void anAnalysisLongerThanTheTimeoutCountsAsFailed() throws Exception {
    var overrides = supervisedRun("slow", 320, 100, 40, 16, 50);
    overrides.put("splinewatch.metrics.port", 0);
    overrides.put("splinewatch.analysis.timeout", "200ms");
    var config = TrainCommand.load(overrides, null);
    RunSettings settings = RunSettings.fromConfig(config);
    List<AnalyzerSpec> analyzers = List.of(new AnalyzerSpec("sleepy", (run, metrics, dir) ->
        AnalyzerActor.create("sleepy", metrics, () -> snapshot -> {
          try {
            Thread.sleep(800);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return List.of(Sample.of("splinewatch_test_sleepy", 1, snapshot.step()));
        })));
    EmbeddedRun.Result result = EmbeddedRun.run(settings, config, Map.of(), System.out, analyzers,
        new EmbeddedRun.Listener() { });
    assertEquals(0, result.exitCode(), String.valueOf(result.finished()));
    String events = Files.readString(result.runDir().resolve("events.jsonl"));
    List<String> failures = events.lines().filter(l -> l.contains("\"analysis_failed\"")).toList();
    assertTrue(!failures.isEmpty(), events);
    assertTrue(failures.get(0).contains("no result within 200ms (splinewatch.analysis.timeout)"), failures.get(0));
    Matcher coverage = Pattern.compile("\"sleepy\":\\{([^}]*)}").matcher(events);
    assertTrue(coverage.find(), "no coverage of the sleepy analyzer in run_finished: " + events);
    Map<String, Long> counts = new java.util.HashMap<>(); // run_finished leaves out the reasons at 0
    for (String part : coverage.group(1).split(",")) {
      String[] kv = part.split(":");
      counts.put(kv[0].replace("\"", ""), Long.parseLong(kv[1]));
    }
    long failed = counts.getOrDefault("failed", 0L);
    assertEquals(0, counts.get("analysed"), "nothing analysed in time: " + counts);
    assertEquals(failures.size(), failed, "each failure counted once: " + counts);
    assertEquals(counts.get("offered"), counts.getOrDefault("dropped", 0L) + failed
        + counts.getOrDefault("unanalysed", 0L), "every snapshot offered is accounted for: " + counts);
    assertTrue(!Files.readString(result.runDir().resolve("metrics.jsonl")).contains("splinewatch_test_sleepy"),
        "late results are left out");
  }

  /**
   * The settings of a tiny supervised run on generated IDX data ({@code train} and {@code test} images), a snapshot
   * every 10 steps, into {@code tmp/runs/<runId>}.
   */
  private java.util.Map<String, Object> supervisedRun(String runId, int train, int test, int steps, int width,
      int probes) throws java.io.IOException {
    Path data = tmp.resolve("data");
    SyntheticData.writeDir(data, train, test, 7);
    var overrides = new java.util.LinkedHashMap<String, Object>();
    overrides.put("splinewatch.run.method", "supervised");
    overrides.put("splinewatch.data.dir", data.toString());
    overrides.put("splinewatch.run.max-steps", steps);
    overrides.put("splinewatch.run.batch-size", 32);
    overrides.put("splinewatch.run.hidden", List.of(width, width));
    overrides.put("splinewatch.run.snapshot-every", 10);
    overrides.put("splinewatch.run.probe-size", probes);
    overrides.put("splinewatch.run.run-id", runId);
    overrides.put("splinewatch.run.out", tmp.resolve("runs").toString());
    return overrides;
  }

  static double value(String body, String regex) {
    Matcher m = Pattern.compile(regex).matcher(body);
    assertTrue(m.find(), regex);
    return Double.parseDouble(m.group(1));
  }
}
