package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.trainer.ForwardingTrainer;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.Trainer;

/**
 * Faults injected into real tiny runs (issue 21, item 2): a training-side thread that throws, an exception in
 * {@code snapshot()} and an analyzer running out of memory. Each run must end by itself within seconds (no hang),
 * with the right exit code, a one-line error and {@code run_finished} in {@code events.jsonl}, and keep what was
 * written before the fault.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultInjectionIT {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  /** Runs {@code overrides} in this JVM and checks it ended within {@code limit}. */
  static EmbeddedRun.Result run(Map<String, Object> overrides, List<AnalyzerSpec> extra,
      EmbeddedRun.Listener listener, Duration limit) {
    var config = TrainCommand.load(overrides, null);
    RunSettings settings = RunSettings.fromConfig(config);
    List<AnalyzerSpec> analyzers = new ArrayList<>(EmbeddedRun.defaultAnalyzers(config));
    analyzers.addAll(extra);
    long t0 = System.nanoTime();
    EmbeddedRun.Result r = EmbeddedRun.run(settings, config, overrides, System.out, analyzers, listener);
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertTrue(took.compareTo(limit) < 0, "the run took " + took + ", more than " + limit);
    return r;
  }

  /** The events of a run directory, one JSON object per line. */
  static List<JsonNode> events(Path runDir) throws Exception {
    List<JsonNode> list = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve("events.jsonl"))) {
      list.add(JSON.readTree(line));
    }
    return list;
  }

  static JsonNode runFinished(Path runDir) throws Exception {
    List<JsonNode> e = events(runDir);
    JsonNode last = e.get(e.size() - 1);
    assertEquals("run_finished", last.get("type").asText(), e.toString());
    return last;
  }

  @Test
  void aBatchLargerThanTheTrainingSetIsRefusedBeforeTheRunStarts() throws Exception {
    // 20 training images for a batch of 32: once a failure of the augmentation thread at step 1 (exit 1, a run
    // directory left behind); now refused before anything is written (the CLI's exit 2). How a failure of that thread
    // reaches the training step: TwoViewTrainerFailureTest
    Path data = tmp.resolve("few");
    SyntheticData.writeDir(data, 20, 200, 5);
    Map<String, Object> o = SyntheticData.tinyRun(tmp, "aug", 1000);
    o.put("splinewatch.data.dir", data.toString());
    o.put("splinewatch.run.method", "simclr");
    o.put("splinewatch.run.projection-dim", 8);
    o.put("splinewatch.run.monitoring", false);
    var e = assertThrows(RunSettings.DataBound.class,
        () -> run(o, List.of(), new EmbeddedRun.Listener() { }, Duration.ofSeconds(60)));
    assertEquals("--batch-size 32 is more than the 20 training images of mnist; expected 1-20", e.getMessage());
    assertFalse(Files.exists(tmp.resolve("runs").resolve("aug")), "nothing of the run is written");
  }

  @Test
  void exceptionInSnapshotEndsTheRunAndKeepsEarlierMetrics() throws Exception {
    Map<String, Object> o = SyntheticData.tinyRun(tmp, "snap", 100_000);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    EmbeddedRun.Listener faulty = new EmbeddedRun.Listener() {
      @Override
      public Trainer trainer(Trainer created) {
        return new FailingSnapshots(created, 60);
      }
    };
    EmbeddedRun.Result r = run(o, List.of(), faulty, Duration.ofSeconds(60));
    assertEquals(1, r.exitCode());
    assertEquals("the trainer failed at step 60: injected snapshot failure at step 60", r.finished().error());
    assertEquals("failed", runFinished(r.runDir()).get("status").asText());
    // the samples before the fault are on disk: training scalars up to step 60
    String metrics = Files.readString(r.runDir().resolve("metrics.jsonl"));
    assertTrue(metrics.contains("\"name\":\"splinewatch_training_step\",\"labels\":{\"dataset\":\"mnist\","
        + "\"method\":\"supervised\",\"run\":\"snap\"},\"step\":60,"), metrics);
  }

  @Test
  void analyzerOutOfMemoryIsContainedAndTrainingGoesOn() throws Exception {
    Map<String, Object> o = SyntheticData.tinyRun(tmp, "oom", 200);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    o.put("splinewatch-analysis-dispatcher.fixed-pool-size", 2);
    int[] calls = {0};
    AnalyzerSpec hog = new AnalyzerSpec("hog", (run, metrics, dir) ->
        AnalyzerActor.create("hog", metrics, () -> snapshot -> {
          calls[0]++;
          if (snapshot.step() >= 40) {
            // a real OutOfMemoryError from the JVM, without exhausting the heap of the test JVM
            long[] huge = new long[Integer.MAX_VALUE - 2];
            return List.of(org.splinewatch.snapshot.Sample.of("splinewatch_hog", huge.length, snapshot.step()));
          }
          return List.of();
        }));
    EmbeddedRun.Result r = run(o, List.of(hog), new EmbeddedRun.Listener() { }, Duration.ofSeconds(90));
    assertEquals(0, r.exitCode(), String.valueOf(r.finished()));
    assertEquals(200, r.finished().steps());
    List<JsonNode> events = events(r.runDir());
    JsonNode disabled = events.stream().filter(e -> e.get("type").asText().equals("analyzer_disabled"))
        .findFirst().orElseThrow(() -> new AssertionError("no analyzer_disabled event: " + events));
    assertEquals("hog", disabled.get("analyzer").asText());
    assertTrue(disabled.get("error").asText().startsWith("out of memory: "), disabled.toString());
    assertEquals(1, events.stream().filter(e -> e.get("type").asText().equals("analyzer_disabled")).count());
    assertEquals("done", runFinished(r.runDir()).get("status").asText());
    // disabled after the failing snapshot: it never analysed again; the embedding analyzer went on to the end
    assertTrue(calls[0] >= 1 && calls[0] <= 3, "hog analysed " + calls[0] + " snapshots");
    assertTrue(Files.readString(r.runDir().resolve("metrics.jsonl")).contains(
        "\"name\":\"splinewatch_analysis_step\",\"labels\":{\"analyzer\":\"embedding\",\"dataset\":\"mnist\","
            + "\"method\":\"supervised\",\"run\":\"oom\"},\"step\":200,"));
  }

  @Test
  void outOfMemoryInTheBatchStatisticsThreadEndsTheRunWithOneLine() throws Exception {
    // before: "Exception in thread "splinewatch-batch-statistics" java.lang.OutOfMemoryError" and its stack trace,
    // and the run went on without the thread's statistics
    Map<String, Object> o = SyntheticData.tinyRun(tmp, "batch-oom", 100_000);
    o.put("splinewatch.analysis.enabled", List.of("health"));
    EmbeddedRun.Listener faulty = new EmbeddedRun.Listener() {
      @Override
      public Trainer trainer(Trainer created) {
        return new OutOfMemoryStatistics(created);
      }
    };
    java.io.PrintStream err = System.err;
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(printed, true));
    EmbeddedRun.Result r;
    try {
      r = run(o, List.of(), faulty, Duration.ofSeconds(90));
    } finally {
      System.setErr(err);
    }
    assertEquals(1, r.exitCode(), String.valueOf(r.finished()));
    String error = r.finished().error();
    assertTrue(error.startsWith("the splinewatch-batch-statistics thread ran out of memory (Java heap space) with"
        + " the Java heap's maximum of "), error);
    assertTrue(error.contains("; expected a larger heap ("), error);
    assertEquals(1, error.lines().count(), error);
    assertTrue(r.finished().steps() < 100_000, "ended early, at step " + r.finished().steps());
    JsonNode finished = runFinished(r.runDir());
    assertEquals("failed", finished.get("status").asText());
    assertEquals(error, finished.get("error").asText());
    assertFalse(printed.toString().contains("OutOfMemoryError"), printed.toString());
    assertTrue(Files.exists(r.runDir().resolve("checkpoints").resolve("latest")), "what was trained is kept");
  }

  /** A trainer whose batch outputs run out of memory when the statistics thread reads them. */
  static final class OutOfMemoryStatistics extends ForwardingTrainer {
    private final Map<String, Trainer.BatchOutput> outputs = new java.util.AbstractMap<>() {
      @Override
      public java.util.Set<Entry<String, Trainer.BatchOutput>> entrySet() {
        return java.util.Set.of(Map.entry("projector", new Trainer.BatchOutput(new double[4], 2, 2, true, null)));
      }

      @Override
      public void forEach(java.util.function.BiConsumer<? super String, ? super Trainer.BatchOutput> action) {
        throw new OutOfMemoryError("Java heap space");
      }
    };

    OutOfMemoryStatistics(Trainer t) {
      super(t);
    }

    @Override
    public Map<String, BatchOutput> batchOutputs() {
      return outputs;
    }
  }

  /** A trainer whose {@code snapshot()} throws from step {@code failAt} on. */
  static final class FailingSnapshots extends ForwardingTrainer {
    private final long failAt;

    FailingSnapshots(Trainer t, long failAt) {
      super(t);
      this.failAt = failAt;
    }

    @Override
    public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
      if (step >= failAt) {
        throw new IllegalStateException("injected snapshot failure at step " + step);
      }
      return delegate.snapshot(runId, step, epoch, loss, stepsPerSecond);
    }
  }
}
