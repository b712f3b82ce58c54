package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lead time of alerts against the kNN drop, on hand-made run directories whose answers are read off the data. */
class DetectionTest {
  @TempDir
  Path tmp;

  /** A finished run: kNN of repr at steps 0, 100, 200, ... with the given values, and alerts as (rule, step). */
  private Path run(String id, String method, String settings, double[] knn, Object... alerts) throws Exception {
    Path d = Files.createDirectories(tmp.resolve(id));
    Files.writeString(d.resolve("config.json"), "{\"run_id\":\"" + id + "\",\"method\":\"" + method
        + "\",\"settings\":" + settings + "}");
    StringBuilder m = new StringBuilder();
    for (int i = 0; i < knn.length; i++) {
      for (String layer : new String[] {"repr", "proj"}) {
        m.append("{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":{\"run\":\"").append(id)
            .append("\",\"layer\":\"").append(layer).append("\"},\"step\":").append(i * 100).append(",\"value\":")
            .append(layer.equals("repr") ? knn[i] : 0.5).append("}\n");
      }
    }
    Files.writeString(d.resolve("metrics.jsonl"), m);
    StringBuilder e = new StringBuilder();
    for (int i = 0; i < alerts.length; i += 2) {
      e.append("{\"type\":\"alert_firing\",\"rule\":\"").append(alerts[i]).append("\",\"severity\":\"critical\","
          + "\"step\":").append(alerts[i + 1]).append(",\"message\":\"m\"}\n");
      e.append("{\"type\":\"alert_resolved\",\"rule\":\"").append(alerts[i]).append("\",\"step\":")
          .append((int) alerts[i + 1] + 300).append("}\n");
    }
    e.append("{\"type\":\"run_finished\"}\n");
    Files.writeString(d.resolve("events.jsonl"), e);
    return d;
  }

  private static final String HEALTHY = "{\"stop_gradient\":true,\"predictor\":true,\"vicreg_coefficients\":[25,25,1]}";

  @Test
  void dropIsTheFirstSnapshotFivePointsBelowTheBestSoFar() throws Exception {
    // best 0.90 at step 100; 0.86 at 200 is 4 points down, 0.84 at 300 is 6 points down
    Path d = run("a", "simsiam", "{\"stop_gradient\":false}", new double[] {0.85, 0.90, 0.86, 0.84, 0.80},
        "dim_collapse", 400, "std_collapse", 200, "dim_collapse", 700);
    Detection.Row r = Detection.of(RunData.read(d), "repr", 0.05);
    assertEquals("no stop-gradient", r.ablation());
    assertEquals(OptionalLong.of(300), r.dropStep());
    assertEquals(List.of("std_collapse", "dim_collapse"), r.firstAlerts().stream().map(RunData.Alert::rule).toList());
    assertEquals(List.of(200L, 400L), r.firstAlerts().stream().map(RunData.Alert::step).toList());
    assertTrue(r.leadsOrSilent());
    assertEquals("alerted 100 steps before the drop", r.verdict());
    // the proj layer never drops
    assertEquals(OptionalLong.empty(), Detection.of(RunData.read(d), "proj", 0.05).dropStep());
  }

  @Test
  void alertsOnOrAfterTheDropOrNoneAreMissesAndHealthyAlertsAreFalseAlarms() throws Exception {
    Path late = run("late", "vicreg", "{\"vicreg_coefficients\":[25,0,1]}", new double[] {0.83, 0.60, 0.2},
        "dead_representation", 100);
    Path missed = run("missed", "byol", "{\"predictor\":false}", new double[] {0.83, 0.84, 0.84});
    Path healthy = run("ok", "simclr", HEALTHY, new double[] {0.83, 0.87, 0.90});
    Path alarm = run("alarm", "byol", HEALTHY, new double[] {0.83, 0.75, 0.85}, "region_drop", 500);
    List<Detection.Row> rows = List.of(late, missed, healthy, alarm).stream()
        .map(p -> Detection.of(RunData.read(p), "repr", 0.05)).toList();
    assertEquals("variance coefficient 0", rows.get(0).ablation());
    assertEquals("alerted on the drop's snapshot", rows.get(0).verdict());
    assertFalse(rows.get(0).leadsOrSilent());
    assertEquals("no predictor", rows.get(1).ablation());
    assertEquals("missed", rows.get(1).verdict());
    assertEquals("", rows.get(2).ablation());
    assertEquals("no alarm", rows.get(2).verdict());
    assertTrue(rows.get(2).leadsOrSilent());
    assertEquals("false alarm at step 500", rows.get(3).verdict());
    // healthy BYOL's dip counts as a drop by the definition, with no bearing on a healthy run's outcome
    assertEquals(OptionalLong.of(100), rows.get(3).dropStep());
    String table = Detection.markdown(rows, "repr", 0.05);
    assertTrue(table.contains("| late | vicreg | variance coefficient 0 | 0 | 0.830 → 0.830 → 0.200 | 100 | "
        + "dead_representation@100 critical | 100 | 100 | 0 | alerted on the drop's snapshot |"), table);
    assertTrue(table.contains("alerted before their accuracy drop: 0 of 2 (alerted at all: 1); healthy runs with a "
        + "false alarm: 1 of 2\n"), table);
  }

  @Test
  void aHealthyRunThatDivergedIsAlertedRightlyNotFalsely() throws Exception {
    // a too-high learning rate: the loss becomes NaN at step 250 and divergence fires there; std_collapse follows
    Path diverged = run("nan", "simclr", HEALTHY, new double[] {0.83, 0.87, 0.90, 0.10},
        "divergence", 250, "std_collapse", 300);
    Files.writeString(diverged.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":"
        + "\"nan\"},\"step\":240,\"value\":4.2}\n{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"nan\"},"
        + "\"step\":250,\"value\":\"NaN\"}\n", java.nio.file.StandardOpenOption.APPEND);
    // the same, with a region_drop alert before the loss became NaN: that one is a false alarm
    Path early = run("early", "simclr", HEALTHY, new double[] {0.83, 0.87, 0.90, 0.10},
        "region_drop", 100, "divergence", 250);
    Files.writeString(early.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":"
        + "\"early\"},\"step\":250,\"value\":\"Infinity\"}\n", java.nio.file.StandardOpenOption.APPEND);
    List<Detection.Row> rows = List.of(diverged, early).stream()
        .map(p -> Detection.of(RunData.read(p), "repr", 0.05)).toList();
    assertEquals(OptionalLong.of(250), rows.get(0).divergedStep());
    assertEquals("diverged at step 250 (non-finite loss; alerts from there on are right)", rows.get(0).verdict());
    assertTrue(rows.get(0).leadsOrSilent());
    assertTrue(rows.get(0).meetsGoal(Detection.GOAL_SNAPSHOTS));
    assertEquals("false alarm at step 100", rows.get(1).verdict());
    assertFalse(rows.get(1).leadsOrSilent());
    String table = Detection.markdown(rows, "repr", 0.05);
    assertTrue(table.contains("healthy runs with a false alarm: 1 of 2 (2 of them diverged: an alert from the step of"
        + " the non-finite loss on is right, not a false alarm)\n"), table);
  }

  @Test
  void leadTimeCountsFromTheOnsetAndEachSetIsCounted() throws Exception {
    // onset at step 300 (--ablate-from 300), snapshots every 100: a healthy dip at 100 is before the onset and no drop;
    // the critical alert at 400 is 1 snapshot after the onset and before the drop at 500
    Path early = run("early", "vicreg", "{\"vicreg_coefficients\":[25,0,1],\"ablate_from\":300,"
        + "\"snapshot_every\":100}", new double[] {0.85, 0.78, 0.90, 0.90, 0.89, 0.70, 0.3},
        "dead_representation", 400);
    Files.writeString(early.resolve("config.json"), Files.readString(early.resolve("config.json"))
        .replace("{\"run_id\"", "{\"seed\":42,\"dataset\":\"mnist\",\"run_id\""));
    // an evaluation run alerted 3 snapshots after its onset: late for the goal although before its drop
    Path slow = run("slow", "simsiam", "{\"stop_gradient\":false,\"ablate_from\":200,\"snapshot_every\":100}",
        new double[] {0.85, 0.88, 0.90, 0.90, 0.90, 0.90, 0.80}, "dim_collapse", 500);
    Files.writeString(slow.resolve("config.json"), Files.readString(slow.resolve("config.json"))
        .replace("{\"run_id\"", "{\"seed\":123,\"dataset\":\"fashion-mnist\",\"run_id\""));
    Detection.Row e = Detection.of(RunData.read(early), "repr", 0.05);
    assertEquals(OptionalLong.of(300), e.onsetStep());
    assertEquals(OptionalLong.of(500), e.dropStep(), "the dip at step 100 precedes the onset");
    assertEquals(OptionalLong.of(400), e.firstCriticalStep());
    assertTrue(e.meetsGoal(2));
    Detection.Row s = Detection.of(RunData.read(slow), "repr", 0.05);
    assertTrue(!s.meetsGoal(2) && s.meetsGoal(3));
    // a critical alert before the onset is a false alarm of the healthy phase, not a detection
    Path before = run("before", "simsiam", "{\"stop_gradient\":false,\"ablate_from\":300,\"snapshot_every\":100}",
        new double[] {0.85, 0.88, 0.90, 0.90, 0.90}, "dim_collapse", 100);
    assertTrue(!Detection.of(RunData.read(before), "repr", 0.05).meetsGoal(2));
    String table = Detection.markdown(List.of(e, s), "repr", 0.05, java.util.Set.of(42L, 7L));
    assertTrue(table.contains("| early | vicreg | variance coefficient 0 | 300 | 0.850 → 0.900 → 0.300 | 500 | "
        + "dead_representation@400 critical | 400 | 100 (1.0 snapshots) | 100 | alerted 100 steps before the drop |"),
        table);
    assertTrue(table.contains("tuning set (MNIST, seeds 7, 42): induced collapses alerted critical within 2"
        + " snapshots of the onset and before the kNN drop: 1 of 1 (critical at all: 1, before the drop: 1); healthy"
        + " runs with a false alarm: 0 of 0\n"), table);
    assertTrue(table.contains("evaluation set (every other run): induced collapses alerted critical within 2 snapshots"
        + " of the onset and before the kNN drop: 0 of 1 (critical at all: 1, before the drop: 1)"), table);
    // a tuning set on both data sets (a held-out set trained later): the Fashion-MNIST run of seed 123 is tuning
    String both = Detection.markdown(List.of(e, s), "repr", 0.05, java.util.Set.of(42L, 123L),
        java.util.Set.of("mnist", "fashion-mnist"));
    assertTrue(both.contains("tuning set (fashion-mnist and mnist, seeds 42, 123): induced collapses alerted"
        + " critical within 2 snapshots of the onset and before the kNN drop: 1 of 2 (critical at all: 2"), both);
    assertTrue(both.contains("evaluation set (every other run): induced collapses alerted critical within 2 snapshots"
        + " of the onset and before the kNN drop: 0 of 0"), both);
  }

  /**
   * A critical alert before a mid-run onset is a false alarm of the healthy phase: the goal counts the run a miss, and
   * its row and the counts said "-200 (0.0 snapshots)" and "alerted 300 steps before the drop" (1 of 1 before it).
   */
  @Test
  void aCriticalAlertBeforeTheOnsetIsAFalseAlarmInTheRowAndEveryCount() throws Exception {
    Path before = run("before", "simsiam", "{\"stop_gradient\":false,\"ablate_from\":300,\"snapshot_every\":100}",
        new double[] {0.85, 0.88, 0.90, 0.90, 0.70}, "dim_collapse", 100, "std_collapse", 300);
    Detection.Row r = Detection.of(RunData.read(before), "repr", 0.05);
    assertEquals(OptionalLong.of(100), r.criticalBeforeOnset());
    assertFalse(r.leadsOrSilent());
    assertEquals("false alarm at step 100, before the onset at 300", r.verdict());
    String table = Detection.markdown(List.of(r), "repr", 0.05);
    assertTrue(table.contains("| dim_collapse@100 critical, std_collapse@300 critical | 100 | -200 (before the onset)"
        + " | 300 | false alarm at step 100, before the onset at 300 |"), table);
    assertTrue(table.contains("alerted before their accuracy drop: 0 of 1 (alerted at all: 1)"), table);
    assertTrue(table.contains("before the kNN drop: 0 of 1 (critical at all: 1, before the drop: 0)"), table);
    // a warning before the onset does not lead the collapse: the critical alert on the drop's snapshot is late
    Path warned = run("warned", "simsiam", "{\"stop_gradient\":false,\"ablate_from\":300,\"snapshot_every\":100}",
        new double[] {0.85, 0.88, 0.90, 0.90, 0.70}, "dim_collapse", 400);
    Path events = warned.resolve("events.jsonl");
    Files.writeString(events, "{\"type\":\"alert_firing\",\"rule\":\"region_drop\",\"severity\":\"warning\","
        + "\"step\":200,\"message\":\"m\"}\n" + Files.readString(events));
    Detection.Row w = Detection.of(RunData.read(warned), "repr", 0.05);
    assertEquals("alerted on the drop's snapshot", w.verdict());
    assertFalse(w.leadsOrSilent());
  }

  /**
   * An HTTP run of the PyTorch example with {@code --collapse-at S} (every unit of the representation switched off at
   * step S, recorded as {@code settings.collapse_at}) is an induced collapse from step S: it read as a healthy run,
   * its dead_representation alert as a false alarm.
   */
  @Test
  void anHttpRunsInjectedCollapseIsAnInducedCollapseFromItsStep() throws Exception {
    Path injected = run("torch", "supervised", "{\"stop_gradient\":true,\"predictor\":true,\"snapshot_every\":100,"
        + "\"collapse_at\":200}", new double[] {0.84, 0.90, 0.91, 0.20}, "dead_representation", 300);
    Detection.Row r = Detection.of(RunData.read(injected), "repr", 0.05);
    assertEquals("representation switched off", r.ablation());
    assertEquals(OptionalLong.of(200), r.onsetStep());
    assertEquals("alerted on the drop's snapshot", r.verdict());
    // the table's first line and the command's help name both onsets (they named only --ablate-from)
    String header = Detection.markdown(List.of(r), "repr", 0.05).lines().findFirst().orElseThrow();
    assertTrue(header.contains("onset: --ablate-from (0 for an ablation from the start), or an HTTP run's"
        + " --collapse-at S (the PyTorch example's injected collapse from step S);"), header);
    String help = org.splinewatch.TestTools.cli(0, "monitor", "detection", "--help").replaceAll("\\s+", " ");
    assertTrue(help.contains("HTTP runs of the PyTorch example with --collapse-at S (onset: S)"), help);
    // collapse_at 0 (the example's default): no collapse injected, a healthy run
    Path healthy = run("torch-ok", "supervised", "{\"stop_gradient\":true,\"snapshot_every\":100,\"collapse_at\":0}",
        new double[] {0.84, 0.90, 0.91});
    assertEquals("", Detection.of(RunData.read(healthy), "repr", 0.05).ablation());
  }

  @Test
  void dropFromTheOnsetIgnoresAccuracyLostBeforeIt() throws Exception {
    // the healthy phase loses 7 points by the onset snapshot (step 200); the collapse then takes 6 more by step 400
    Path d = run("declined", "byol", "{\"predictor\":false,\"ablate_from\":200,\"snapshot_every\":100}",
        new double[] {0.85, 0.80, 0.78, 0.77, 0.72, 0.70}, "batch_collapse", 300);
    Detection.Row best = Detection.of(RunData.read(d), "repr", 0.05);
    assertEquals(OptionalLong.of(200), best.dropStep(), "below the untrained 0.85 at the onset snapshot itself");
    assertFalse(best.meetsGoal(2), "no alert at or after the onset precedes a drop at the onset");
    Detection.Row onset = Detection.of(RunData.read(d), "repr", 0.05, Detection.DropReference.ONSET);
    assertEquals(OptionalLong.of(400), onset.dropStep(), "0.72 is 6 points below 0.78, the onset snapshot's");
    assertTrue(onset.meetsGoal(2));
    // a run ablated from the start, or a healthy one, has the same drop either way
    Path start = run("start", "byol", "{\"predictor\":false}", new double[] {0.85, 0.80, 0.78});
    assertEquals(Detection.of(RunData.read(start), "repr", 0.05).dropStep(),
        Detection.of(RunData.read(start), "repr", 0.05, Detection.DropReference.ONSET).dropStep());
    String table = Detection.markdown(List.of(onset), "repr", 0.05, java.util.Set.of(42L, 7L),
        java.util.Set.of("mnist"), Detection.DropReference.ONSET);
    assertTrue(table.contains("5 points below its best from the onset snapshot on (--drop-reference onset"), table);
    assertTrue(table.contains("| declined | byol | no predictor | 200 | 0.850 → 0.850 → 0.700 | 400 |"), table);
  }

  @Test
  void theHeaderStatesTheDropAsGivenNotRoundedToWholePoints() throws Exception {
    // --drop 0.025 read "3 points below" and --drop 0.001 "0 points below", while the drop taken was 2.5 and 0.1
    Path d = run("p", "byol", "{\"predictor\":false}", new double[] {0.85, 0.82, 0.78});
    for (double[] c : new double[][] {{0.025, 100}, {0.001, 100}, {0.05, 200}}) {
      Detection.Row row = Detection.of(RunData.read(d), "repr", c[0]);
      assertEquals(OptionalLong.of((long) c[1]), row.dropStep(), "drop " + c[0]);
      String table = Detection.markdown(List.of(row), "repr", c[0]);
      String stated = c[0] == 0.025 ? "2.5 points" : c[0] == 0.001 ? "0.1 points" : "5 points";
      assertTrue(table.startsWith("kNN drop: first snapshot from the onset on where the kNN accuracy of repr is "
          + stated + " below its best so far"), table);
    }
    assertTrue(Detection.markdown(List.of(), "repr", 0.01).contains(" is 1 point below "));
  }

  @Test
  void replayRaisesTheAlertsOfGivenSettingsOnTheRecordedMetrics() throws Exception {
    Path d = run("re", "simsiam", "{\"stop_gradient\":false}", new double[] {0.85, 0.86, 0.86, 0.86, 0.86});
    StringBuilder m = new StringBuilder(Files.readString(d.resolve("metrics.jsonl")));
    double[] std = {0.9, 0.1, 0.1, 0.1, 0.1};
    for (int i = 0; i < std.length; i++) {
      m.append("{\"name\":\"splinewatch_embedding_std_normalized\",\"labels\":{\"run\":\"re\",\"layer\":"
          + "\"proj\"},\"step\":").append(i * 100).append(",\"value\":").append(std[i]).append("}\n");
    }
    Files.writeString(d.resolve("metrics.jsonl"), m);
    RunData data = RunData.read(d);
    assertTrue(data.alerts().isEmpty(), "the run itself raised nothing");
    var defaults = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.load());
    List<RunData.Alert> replayed = Detection.replay(data, defaults, 10).alerts();
    assertEquals(List.of("std_collapse@300 critical"), replayed.stream()
        .map(a -> a.rule() + "@" + a.step() + " " + a.severity()).toList(), "the third breaching snapshot");
    var faster = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.parseMap(
        java.util.Map.of("splinewatch.alerts.n-fire", 2)).withFallback(com.typesafe.config.ConfigFactory.load()));
    assertEquals(200, Detection.replay(data, faster, 10).alerts().get(0).step());
  }

  @Test
  void aResumedRunsDetectorPicksUpWhereTheRulesStoodBeforeItsCheckpoint() throws Exception {
    // std collapses from step 100 on: the third breaching snapshot (300) fires std_collapse
    Path d = run("res", "vicreg", "{\"vicreg_coefficients\":[25,0,1]}", new double[] {0.85, 0.86, 0.86, 0.86, 0.86});
    StringBuilder m = new StringBuilder(Files.readString(d.resolve("metrics.jsonl")));
    double[] std = {0.9, 0.1, 0.1, 0.1, 0.1};
    for (int i = 0; i < std.length; i++) {
      m.append("{\"name\":\"splinewatch_embedding_std_normalized\",\"labels\":{\"run\":\"res\",\"layer\":"
          + "\"proj\"},\"step\":").append(i * 100).append(",\"value\":").append(std[i]).append("}\n");
    }
    Files.writeString(d.resolve("metrics.jsonl"), m);
    RunData data = RunData.read(d);
    var defaults = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.load());
    java.util.function.Function<Long, org.splinewatch.snapshot.Sample> std01 = step ->
        new org.splinewatch.snapshot.Sample("splinewatch_embedding_std_normalized", java.util.Map.of("run", "res",
            "layer", "proj"), 0.1, step, 0);

    // resumed from a checkpoint at 400: the samples up to it say std_collapse fires; the resumed run's snapshot of
    // 400 again is one the detector has judged (seriesAt: the metrics actor does not feed it a second time)
    var atFour = new org.splinewatch.alerts.CollapseDetector(defaults, "res", 10);
    List<org.splinewatch.alerts.Alert> still = Detection.prime(atFour, data, 400);
    assertEquals(List.of("std_collapse@300"), still.stream().map(a -> a.rule() + "@" + a.step()).toList());
    assertTrue(atFour.firing("std_collapse"));
    assertTrue(Detection.seriesAt(data, 400).contains(RunData.seriesKey("splinewatch_embedding_std_normalized",
        java.util.Map.of("run", "res", "layer", "proj"))), Detection.seriesAt(data, 400).toString());
    assertEquals(List.of(), atFour.observe(List.of(std01.apply(500L))));

    // resumed from 200: two breaching snapshots (100, 200); the next one, 300, fires as it did
    var atTwo = new org.splinewatch.alerts.CollapseDetector(defaults, "res", 10);
    assertEquals(List.of(), Detection.prime(atTwo, data, 200));
    assertEquals(2, atTwo.consecutiveBreaches("std_collapse"));
    assertEquals(List.of("std_collapse"), atTwo.observe(List.of(std01.apply(300L))).stream()
        .map(org.splinewatch.alerts.Alert::rule).toList());
  }

  @Test
  void aRunResumedTwiceCountsTheSnapshotItsFirstResumeTookAgainOnce() throws Exception {
    // ended at step 300 (its last snapshot, and its checkpoint), resumed there: the resumed segment snapshots 300
    // again; interrupted at 320 and resumed once more. std breached at 200 and 300: two snapshots, below n-fire 3
    Path d = run("twice", "vicreg", "{\"vicreg_coefficients\":[25,0,1]}", new double[] {0.85, 0.86, 0.86, 0.86});
    StringBuilder m = new StringBuilder(Files.readString(d.resolve("metrics.jsonl")));
    java.util.function.BiConsumer<Long, Double> std = (step, v) -> m.append("{\"name\":\"splinewatch_embedding_std_"
        + "normalized\",\"labels\":{\"run\":\"twice\",\"layer\":\"proj\"},\"step\":").append(step)
        .append(",\"value\":").append(v).append(",\"time\":").append(1000 + step).append("}\n");
    java.util.function.Consumer<Long> loss = step -> m.append("{\"name\":\"splinewatch_training_loss\",\"labels\":"
        + "{\"run\":\"twice\"},\"step\":").append(step).append(",\"value\":1.5,\"time\":").append(5000 + step)
        .append("}\n");
    std.accept(100L, 0.9);
    std.accept(200L, 0.1);
    std.accept(300L, 0.1);
    std.accept(300L, 0.1); // the first resume's snapshot of its checkpoint's step
    loss.accept(310L);
    loss.accept(320L);
    Files.writeString(d.resolve("metrics.jsonl"), m);
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":300,\"checkpoint\":\"latest\","
        + "\"time\":5000}\n{\"type\":\"run_resumed\",\"step\":320,\"checkpoint\":\"latest\",\"time\":9000}\n");
    var defaults = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.load());
    var detector = new org.splinewatch.alerts.CollapseDetector(defaults, "twice", 10);
    // the live detectors saw step 300 once (the second primed without it, then saw its own snapshot): never fired
    assertEquals(List.of(), Detection.prime(detector, RunData.read(d), 320));
    assertFalse(detector.firing("std_collapse"));
    assertEquals(2, detector.consecutiveBreaches("std_collapse"));
    // the report's replay reads the same samples
    assertEquals(List.of(), Detection.replay(RunData.read(d), defaults, 10).alerts());
  }

  @Test
  void aRunResumedWithAnotherSnapshotIntervalIsMeasuredInEachSegmentsSnapshots() throws Exception {
    // snapshots every 50 steps until the resume at 300, then every 100 (config.json: the last segment's 100); onset
    // 200, first critical alert at 350: 100 steps of 50 and 50 of 100 are 2.5 snapshots, late for the goal (read as
    // 150 steps of 100, 1.5 snapshots, it met it)
    Path d = run("seg", "simsiam", "{\"stop_gradient\":false,\"ablate_from\":200,\"snapshot_every\":100}",
        new double[] {0.85, 0.88, 0.90, 0.90});
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\"}\n"
        + "{\"type\":\"run_resumed\",\"step\":300,\"checkpoint\":\"latest\",\"time\":5000,\"snapshot_every\":100,"
        + "\"snapshot_every_before\":50}\n"
        + "{\"type\":\"alert_firing\",\"rule\":\"dim_collapse\",\"severity\":\"critical\",\"step\":350}\n"
        + "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    Detection.Row r = Detection.of(RunData.read(d), "repr", 0.05);
    assertEquals(List.of(new Detection.Interval(Long.MIN_VALUE, 50), new Detection.Interval(300, 100)),
        r.snapshotIntervals());
    assertEquals(2.5, r.snapshotsBetween(200, 350), 1e-12);
    assertTrue(!r.meetsGoal(2) && r.meetsGoal(3));
    assertTrue(Detection.markdown(List.of(r), "repr", 0.05).contains("| 350 | 150 (2.5 snapshots) |"));
    // resumed again from an earlier checkpoint (best, at 250) every 20: it replaces what came after 250
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":250,\"checkpoint\":"
        + "\"best\",\"time\":6000,\"snapshot_every\":20,\"snapshot_every_before\":100}\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals(List.of(new Detection.Interval(Long.MIN_VALUE, 50), new Detection.Interval(250, 20)),
        Detection.of(RunData.read(d), "repr", 0.05).snapshotIntervals());
    // a resume that recorded no interval (an earlier release): config.json's, as before
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":300,\"checkpoint\":"
        + "\"latest\",\"time\":5000}\n{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    Detection.Row old = Detection.of(RunData.read(d), "repr", 0.05);
    assertEquals(1.5, old.snapshotsBetween(200, 350), 1e-12);
  }

  @Test
  void healthySettingsAreNoAblation() {
    assertEquals("", Detection.ablation("simsiam", HEALTHY));
    assertEquals("", Detection.ablation("simclr", "{\"stop_gradient\":false,\"predictor\":false}"));
    assertEquals("no stop-gradient, no predictor", Detection.ablation("simsiam",
        "{\"stop_gradient\":false,\"predictor\":false}"));
    assertEquals("", Detection.ablation("vicreg", null));
  }
}
