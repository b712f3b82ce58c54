package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.RunSettings;

/**
 * Alert-driven early stopping through the real run wiring: an analyzer injects a collapsing embedding spread
 * (metrics.md §7, synthetic injection); with {@code early-stop = stop} the std_collapse rule fires after three
 * snapshots, the trainer stops, the run exits with code 3 and events.jsonl says why. With {@code warn} the run
 * completes and only the alert is recorded.
 */
class EarlyStopIT {
  @TempDir
  Path tmp;

  private EmbeddedRun.Result run(String mode, String runId, ByteArrayOutputStream console) throws Exception {
    var o = SyntheticData.tinyRun(tmp, runId, 400);
    o.put("splinewatch.run.snapshot-every", 10);
    o.put("splinewatch.alerts.early-stop", mode);
    var config = TrainCommand.load(o, null);
    var injector = new AnalyzerSpec("injector", (run, metrics, dir) ->
        AnalyzerActor.create("injector", metrics, () -> s -> List.of(Sample.of("splinewatch_embedding_std_normalized",
            s.step() < 30 ? 0.9 : 0.01, s.step(), "layer", "proj"))));
    return EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
        new PrintStream(console, true, StandardCharsets.UTF_8), List.of(injector), new EmbeddedRun.Listener() { });
  }

  @Test
  void aCriticalCollapseAlertStopsTheRunWithExitCode3() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result r = run("stop", "collapsing", console);
    assertEquals(3, r.exitCode(), console.toString(StandardCharsets.UTF_8));
    assertTrue(r.finished().stopped());
    assertTrue(r.finished().steps() < 400, "stopped early at step " + r.finished().steps());
    assertTrue(r.finished().reason().contains("std_collapse"), r.finished().reason());
    String events = Files.readString(r.runDir().resolve("events.jsonl"));
    assertTrue(events.contains("\"type\":\"alert_firing\"") && events.contains("\"rule\":\"std_collapse\""), events);
    assertTrue(events.contains("\"exit_code\":3"), events);
    String out = console.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("ALERT [critical] embedding spread collapsed on layer proj"), out);
    assertTrue(out.contains("stopped early at step"), out);
    // the stopped run saved a checkpoint of the step it finished
    String meta = Files.readString(r.runDir().resolve("checkpoints/latest/meta.json"));
    assertTrue(meta.contains("\"step\":" + r.finished().steps()), meta);
  }

  @Test
  void warnModeOnlyRecordsTheAlert() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result r = run("warn", "warned", console);
    assertEquals(0, r.exitCode(), console.toString(StandardCharsets.UTF_8));
    assertEquals(400, r.finished().steps());
    assertTrue(Files.readString(r.runDir().resolve("events.jsonl")).contains("\"rule\":\"std_collapse\""));
    String metrics = Files.readString(r.runDir().resolve("metrics.jsonl"));
    assertTrue(metrics.contains("\"splinewatch_embedding_std_normalized\""));
  }
}
