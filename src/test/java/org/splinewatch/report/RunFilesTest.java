package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.Sample;

/**
 * Run files written by {@link RunLog} and read by {@link RunData}: half-written and bad-UTF-8 lines, rotation into
 * segments, retention of segments, the incremental reader of the live page.
 */
class RunFilesTest {
  @TempDir
  Path tmp;

  private static final Map<String, String> LABELS = Map.of("run", "r", "method", "simclr", "dataset", "mnist");

  private static void write(RunLog log, long fromStep, long toStep) {
    List<Sample> batch = new ArrayList<>();
    for (long s = fromStep; s < toStep; s++) {
      batch.add(Sample.of("splinewatch_training_loss", 1.0 / (s + 1), s));
      batch.add(Sample.of("splinewatch_embedding_rankme", s, s, "layer", "repr"));
    }
    log.append(batch, LABELS);
  }

  private static int points(RunData r, String name) {
    return r.series().values().stream().filter(s -> s.name().equals(name)).mapToInt(s -> s.points().size()).sum();
  }

  /** A simsiam run directory {@code id} with samples of steps 0 to 10 and the lines {@code events} as its events. */
  private Path runWithEvents(String id, String... events) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simsiam"));
      write(log, 0, 10);
    }
    Files.writeString(dir.resolve("events.jsonl"), String.join("\n", events) + "\n");
    return dir;
  }

  @Test
  void anAlertWithoutAnIntegerStepIsSkippedNotReadAsStepZero() throws IOException {
    Path dir = runWithEvents("a",
        "{\"type\":\"alert_firing\",\"rule\":\"spread\",\"severity\":\"critical\"}",
        "{\"type\":\"alert_firing\",\"step\":\"40\",\"rule\":\"spread\",\"severity\":\"critical\"}",
        "{\"type\":\"alert_firing\",\"step\":50,\"severity\":\"critical\"}",
        "{\"type\":\"alert_firing\",\"step\":60,\"rule\":\"rankme\",\"severity\":\"warning\"}");
    RunData r = RunData.read(dir);
    assertEquals(List.of(new RunData.Alert(60, "rankme", "warning", "")), r.alerts());
    for (int line = 1; line <= 3; line++) {
      assertTrue(r.problems().contains("events.jsonl line " + line + " is an alert without an integer step and a"
          + " rule; skipped"), r.problems().toString());
    }
  }

  /**
   * An alert that resolved carries the step it resolved at, so that the report and the live page say so (they said
   * only that it had fired: "1 alert(s): rankme@60" for an alert long resolved); a resolution on the trajectory a
   * resume left is forgotten with it.
   */
  @Test
  void anAlertKnowsTheStepItResolvedAt() throws IOException {
    Path dir = runWithEvents("res",
        "{\"type\":\"alert_firing\",\"step\":60,\"rule\":\"rankme\",\"severity\":\"warning\"}",
        "{\"type\":\"alert_firing\",\"step\":70,\"rule\":\"spread\",\"severity\":\"critical\"}",
        "{\"type\":\"alert_resolved\",\"step\":80,\"rule\":\"rankme\",\"severity\":\"warning\"}",
        "{\"type\":\"alert_firing\",\"step\":90,\"rule\":\"rankme\",\"severity\":\"warning\"}");
    RunData r = RunData.read(dir);
    assertEquals(List.of(new RunData.Alert(60, "rankme", "warning", "", 80), new RunData.Alert(70, "spread",
        "critical", ""), new RunData.Alert(90, "rankme", "warning", "")), r.alerts());
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("\"resolved\":80") && html.contains("(resolved at step 80)"), "the report says so");
    // resumed at step 75: the resolution at step 80 and the alert at step 90 were on the trajectory it left
    RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 75, "time", 1));
    assertEquals(List.of(new RunData.Alert(60, "rankme", "warning", ""), new RunData.Alert(70, "spread", "critical",
        "")), RunData.read(dir).alerts());
  }

  @Test
  void aCutMultiByteCharacterOrHalfLineAtTheEndLosesOnlyThatLine() throws IOException {
    Path dir = tmp.resolve("r");
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", "r", "method", "simclr", "note", "naïve"));
      write(log, 0, 10);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "note", "ünïcode"));
    // a crash in the middle of "é" (0xC3 0xA9) at the end of metrics.jsonl, and in the middle of events.jsonl
    byte[] cut = "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"x\":\"caf\u00e9\"}".getBytes(
        StandardCharsets.UTF_8);
    Files.write(dir.resolve("metrics.jsonl"), java.util.Arrays.copyOf(cut, cut.length - 3),
        StandardOpenOption.APPEND);
    Files.write(dir.resolve("events.jsonl"), new byte[] {'{', '"', (byte) 0xC3, '\n', '{', '"', 't'},
        StandardOpenOption.APPEND);
    RunData r = RunData.read(dir);
    assertEquals(10, points(r, "splinewatch_training_loss"));
    assertEquals(10, points(r, "splinewatch_embedding_rankme"));
    assertTrue(r.finished(), "run_finished before the damaged lines still counts");
    assertEquals("naïve", r.config().get("note"));
    assertTrue(r.problems().contains("metrics.jsonl line 21 is half-written (not valid UTF-8)"), r.problems()
        .toString());
    assertTrue(r.problems().contains("events.jsonl line 2 is not valid UTF-8"), r.problems().toString());
    assertTrue(r.problems().contains("events.jsonl line 3 is half-written"), r.problems().toString());
    // Detection reads the same data
    Detection.Row row = Detection.of(r, "repr", 0.05);
    assertEquals("r", row.runId());
  }

  @Test
  void aResumeAfterACrashEndsTheTornLinesSoItsFirstRecordsStandAlone() throws IOException {
    Path dir = tmp.resolve("torn");
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", "torn", "method", "simclr"));
      write(log, 0, 10);
    }
    // kill -9 while a batch and an alert were written: both files end in half a line
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"lab",
        StandardOpenOption.APPEND);
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"alert_firing\",\"step\":9,\"ru",
        StandardOpenOption.APPEND);
    try (RunLog log = new RunLog(dir)) { // the resumed segment, as ./trainer --resume opens it
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 9, "checkpoint", "latest", "time", 0));
      write(log, 10, 16);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 15));
    RunData r = RunData.read(dir);
    assertEquals(java.util.OptionalLong.of(9), RunData.earliestResume(dir), "run_resumed kept its own line");
    assertTrue(r.finished());
    // steps 0-9, then 10-15 of the resumed segment: its first sample (step 10) is not lost
    assertEquals(16, points(r, "splinewatch_training_loss"));
    assertEquals(List.of("metrics.jsonl line 21 is malformed", "events.jsonl line 1 is malformed"), r.problems());
  }

  /** Steps {@code fromStep} to {@code toStep - 1}, each sample stamped {@code time}. */
  private static void writeAt(RunLog log, long fromStep, long toStep, long time) {
    List<Sample> batch = new ArrayList<>();
    for (long s = fromStep; s < toStep; s++) {
      batch.add(new Sample("splinewatch_training_loss", Map.of(), 1.0 / (s + 1), s, time));
    }
    log.append(batch, LABELS);
  }

  /** A run of steps 0-9 (time 1000) whose writer was killed in the middle of a sample of {@code tornStep}. */
  private Path crashed(String id, String tornStep) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simclr"));
      writeAt(log, 0, 10, 1000);
    }
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":"
        + tornStep, StandardOpenOption.APPEND);
    return dir;
  }

  @Test
  void aLineCutOffByACrashThatTheRunResumedAfterIsANoteNotAProblem() throws IOException {
    Path dir = crashed("resumed", "9,\"va");
    try (RunLog log = new RunLog(dir)) { // ./trainer --resume: ends the torn line, then its segment
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 5, "checkpoint", "latest", "time", 2000));
      writeAt(log, 6, 16, 2001);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 15, "time", 3000));
    String note = "metrics.jsonl line 11 was cut off by a crash; the run was resumed from step 5 after it: its sample,"
        + " of step 9, is after the resume's step: the resumed run's replace it";
    RunData r = RunData.read(dir);
    assertEquals(List.of(), r.problems());
    assertTrue(r.complete(), "one line a known crash cut off does not make the run incomplete");
    assertEquals(List.of(note), r.notes());
    RunData live = new RunData.Incremental(dir).refresh(); // the live page decides the same
    assertEquals(List.of(), live.problems());
    assertEquals(List.of(note), live.notes());
    assertEquals(null, Detection.load(dir).skipped(), "detection counts it");
    assertTrue(ReportWriter.html(List.of(r)).contains("resumed: note: " + note.replace("'", "&#39;")),
        "the report names it under the status line");
  }

  @Test
  void aLineCutOffBeforeTheStepNamesTheSampleBeforeIt() throws IOException {
    Path dir = crashed("early", "");
    try (RunLog log = new RunLog(dir)) {
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 9, "checkpoint", "latest", "time", 2000));
      writeAt(log, 10, 12, 2001);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
    assertEquals(List.of("metrics.jsonl line 11 was cut off by a crash; the run was resumed from step 9 after it: one"
        + " sample lost, its step cut off (the sample before it is of step 9)"), RunData.read(dir).notes());
  }

  @Test
  void aCutOffLastLineOfARunMarkedInterruptedIsANote() throws IOException {
    Path dir = crashed("marked", "10,\"value\":0.5");
    RunLog.endTornLines(dir); // a monitor starting again on its --out marks the run
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "interrupted", "steps", 9, "reason", "marked",
        "time", 2000));
    RunData r = RunData.read(dir);
    assertEquals(List.of(), r.problems());
    assertEquals(List.of("metrics.jsonl line 11 was cut off when the process writing it was killed; the run was then"
        + " marked interrupted: one sample of step 10 lost"), r.notes());
  }

  /** A run of steps 0-9 (time 1000) whose writer was killed after a line's start and {@code cut}. */
  private Path crashedInCharacter(String id, byte[] cut) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simclr"));
      writeAt(log, 0, 10, 1000);
    }
    Path metrics = dir.resolve("metrics.jsonl");
    Files.writeString(metrics, "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"x\":\"caf",
        StandardOpenOption.APPEND);
    Files.write(metrics, cut, StandardOpenOption.APPEND);
    return dir;
  }

  @Test
  void aLineCutInsideAMultiByteCharacterIsExplainedByACrashLikeAnyOther() throws IOException {
    Path dir = crashedInCharacter("utf8", new byte[] {(byte) 0xC3});
    try (RunLog log = new RunLog(dir)) { // ./trainer --resume: ends the torn line, then its segment
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 9, "checkpoint", "latest", "time", 2000));
      writeAt(log, 10, 12, 2001);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
    String note = "metrics.jsonl line 11 was cut off by a crash; the run was resumed from step 9 after it: one sample"
        + " lost, its step cut off (the sample before it is of step 9)";
    RunData r = RunData.read(dir);
    assertEquals(List.of(), r.problems());
    assertEquals(List.of(note), r.notes());
    RunData live = new RunData.Incremental(dir).refresh();
    assertEquals(List.of(), live.problems(), "the live page decides the same");
    assertEquals(List.of(note), live.notes());
    // marked interrupted after the cut: the same note as a line cut elsewhere
    Path marked = crashedInCharacter("utf8marked", new byte[] {(byte) 0xE2, (byte) 0x82});
    RunLog.endTornLines(marked);
    RunLog.appendEvent(marked, Map.of("type", "run_finished", "status", "interrupted", "steps", 9, "time", 2000));
    assertEquals(List.of(), RunData.read(marked).problems());
    assertEquals(1, RunData.read(marked).notes().size());
  }

  @Test
  void invalidUtf8ThatNoCutExplainsStaysDamage() throws IOException {
    // each ends in half an "é" (0xC3), as a cut inside it would, but has a bad byte before it, or is a whole sample
    // before it: neither is the start of a sample cut off, though a resume follows each
    byte[] inside = "\",\"y\":\"\u00e9".getBytes(StandardCharsets.UTF_8);
    inside[3] = (byte) 0xFF;
    byte[] whole = "\"},\"step\":10,\"value\":1.0}\u00e9".getBytes(StandardCharsets.UTF_8);
    for (byte[] rest : List.of(java.util.Arrays.copyOf(inside, inside.length - 1),
        java.util.Arrays.copyOf(whole, whole.length - 1))) {
      Path dir = crashedInCharacter("bad" + rest.length, rest);
      try (RunLog log = new RunLog(dir)) {
        RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 9, "checkpoint", "latest", "time", 2000));
        writeAt(log, 10, 12, 2001);
      }
      RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
      RunData r = RunData.read(dir);
      assertEquals(List.of("metrics.jsonl line 11 is not valid UTF-8"), r.problems(), dir.toString());
      assertEquals(List.of(), r.notes());
      assertEquals(r.problems(), new RunData.Incremental(dir).refresh().problems());
    }
  }

  @Test
  void aCutOffLineNoKnownCrashExplainsStaysAProblem() throws IOException {
    // ended, but no resume followed: the samples after it are the same writer's
    Path noResume = crashed("noresume", "9,\"va");
    try (RunLog log = new RunLog(noResume)) {
      writeAt(log, 10, 12, 2001);
    }
    RunLog.appendEvent(noResume, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
    // a resume stamped before the sample before the line: it does not follow that line
    Path early = crashed("earlyresume", "9,\"va");
    try (RunLog log = new RunLog(early)) {
      RunLog.appendEvent(early, Map.of("type", "run_resumed", "step", 5, "checkpoint", "latest", "time", 500));
      writeAt(log, 10, 12, 2001);
    }
    RunLog.appendEvent(early, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
    // the last line cut off, but the run ended done: no marking ended it
    Path done = crashed("done", "9,\"va");
    RunLog.endTornLines(done);
    RunLog.appendEvent(done, Map.of("type", "run_finished", "status", "done", "steps", 9, "time", 2000));
    // garbage, not a cut-off line, before a resume
    Path garbage = tmp.resolve("garbage");
    try (RunLog log = new RunLog(garbage)) {
      RunLog.writeConfig(garbage, Map.of("run_id", "garbage", "method", "simclr"));
      writeAt(log, 0, 10, 1000);
    }
    Files.writeString(garbage.resolve("metrics.jsonl"), "{\"name\":]\n", StandardOpenOption.APPEND);
    try (RunLog log = new RunLog(garbage)) {
      RunLog.appendEvent(garbage, Map.of("type", "run_resumed", "step", 5, "checkpoint", "latest", "time", 2000));
      writeAt(log, 6, 12, 2001);
    }
    RunLog.appendEvent(garbage, Map.of("type", "run_finished", "status", "done", "steps", 11, "time", 3000));
    for (Path dir : List.of(noResume, early, done, garbage)) {
      RunData r = RunData.read(dir);
      assertEquals(List.of("metrics.jsonl line 11 is malformed"), r.problems(), dir.toString());
      assertEquals(List.of(), r.notes(), dir.toString());
      assertFalse(r.complete());
    }
  }

  /** A done run of ./trainer: training-step samples 0-9, and a run_finished that records step 9 logged. */
  private Path done(String id) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simclr"));
      List<Sample> batch = new ArrayList<>();
      for (long s = 0; s < 10; s++) {
        batch.add(Sample.of("splinewatch_training_step", s, s));
      }
      log.append(batch, LABELS);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 9,
        RunData.TRAINING_STEP_LOGGED, 9));
    return dir;
  }

  @Test
  void metricsCutAtALineBoundaryAreToldByTheLastTrainingStepWithoutAnalyzers() throws IOException {
    RunData whole = RunData.read(done("whole"));
    assertTrue(whole.complete(), whole.problems().toString());
    assertEquals(java.util.Optional.empty(), whole.notChecked(), "checked by its last training step");
    Path cut = done("cut");
    List<String> lines = Files.readAllLines(cut.resolve("metrics.jsonl"));
    Files.write(cut.resolve("metrics.jsonl"), lines.subList(0, 7)); // a copy interrupted after a line
    String problem = "the metrics end early: their last splinewatch_training_step sample is of step 6, run_finished"
        + " records step 9 written, as if cut short (an interrupted copy or write)";
    assertEquals(List.of(problem), RunData.read(cut).problems());
    assertEquals(List.of(problem), new RunData.Incremental(cut).refresh().problems(), "the live page agrees");
  }

  /** Training-step samples {@code fromStep} to {@code toStep - 1}, stamped {@code time}. */
  private static void stepsAt(RunLog log, long fromStep, long toStep, long time) {
    List<Sample> batch = new ArrayList<>();
    for (long s = fromStep; s < toStep; s++) {
      batch.add(new Sample("splinewatch_training_step", Map.of(), s, s, time));
    }
    log.append(batch, LABELS);
  }

  /**
   * A done run of steps 0-9 resumed from {@code best} at step 5 to fewer steps, 6-7, as ./trainer writes it: each
   * segment's run_finished records its own last step logged; {@code cut} drops the resumed segment's last sample.
   */
  private Path resumedFromBest(String id, boolean cut, RunData.Incremental live) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simclr"));
      stepsAt(log, 0, 10, 1000);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 9,
        RunData.TRAINING_STEP_LOGGED, 9, "time", 1500));
    live.refresh();
    try (RunLog log = new RunLog(dir)) {
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 5, "checkpoint", "best", "time", 2000));
      stepsAt(log, 6, cut ? 7 : 8, 2001);
    }
    live.refresh(); // the live page read the resumed segment's samples: the left trajectory's steps 6-9 dropped
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 7,
        RunData.TRAINING_STEP_LOGGED, 7, "time", 3000));
    return dir;
  }

  @Test
  void aRunWhoseOnlyLoggedStepIsOfTheTrajectoryItLeftSaysSo() throws IOException {
    // done at step 9, resumed from best at step 5 and stopped by a signal at step 7 (a stop records no step logged)
    Path dir = tmp.resolve("left");
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", "left", "method", "simclr"));
      stepsAt(log, 0, 10, 1000);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 9,
        RunData.TRAINING_STEP_LOGGED, 9, "time", 1500));
    try (RunLog log = new RunLog(dir)) {
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 5, "checkpoint", "best", "time", 2000));
      stepsAt(log, 6, 8, 2001);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "stopped", "steps", 7, "time", 3000));
    RunData r = RunData.read(dir);
    assertTrue(r.complete(), r.problems().toString());
    // it said "run_finished records no analysed snapshots and no last training step", though it records one
    assertEquals(java.util.Optional.of("run_finished records no analysed snapshots, and the last training step"
        + " written (step 9) only for the trajectory that the resume from step 5 left; none for the run as resumed"
        + " (a run without analyzers that ./trainer did not end done itself: a --monitor or HTTP run, one stopped"
        + " early or failed, or one of an earlier release)"), r.notChecked());
  }

  @Test
  void aRunResumedAfterItsEndThatHasNotEndedAgainIsNotFinished() throws IOException {
    // interrupted at step 9, resumed from its checkpoint there, then killed at step 14: no run_finished after the resume
    Path dir = tmp.resolve("reopened");
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", "reopened", "method", "simclr"));
      stepsAt(log, 0, 10, 1000);
    }
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "interrupted", "steps", 9, "time", 1500));
    RunData.Incremental live = new RunData.Incremental(dir);
    try (RunLog log = new RunLog(dir)) {
      RunLog.appendEvent(dir, Map.of("type", "run_resumed", "step", 9, "checkpoint", "latest", "time", 2000));
      stepsAt(log, 10, 15, 2001);
    }
    String problem = "the run has not finished since it was resumed at step 9 (no run_finished after its run_resumed):"
        + " still running, or it crashed";
    RunData r = RunData.read(dir);
    // it read as complete and finished (interrupted at step 9): the first segment's end stood for the run's
    assertEquals(List.of(problem), r.problems());
    assertFalse(r.finished());
    assertEquals(List.of(problem), live.refresh().problems(), "the live page agrees");
    assertFalse(RunData.summarize(dir).finished(), "the live page's list too");
    assertEquals(java.util.Optional.empty(), RunData.lastRunFinished(dir), "experiment trains it again");
    // once the resumed segment ends, the run is finished
    RunLog.appendEvent(dir, Map.of("type", "run_finished", "status", "done", "steps", 14, "time", 3000));
    assertTrue(RunData.read(dir).finished());
    assertTrue(RunData.summarize(dir).finished());
    assertEquals("done", RunData.lastRunFinished(dir).orElseThrow().path("status").asText());
  }

  @Test
  void aRunResumedFromBestToFewerStepsIsCheckedByItsOwnLastStep() throws IOException {
    RunData.Incremental wholeLive = new RunData.Incremental(tmp.resolve("whole"));
    Path whole = resumedFromBest("whole", false, wholeLive);
    RunData r = RunData.read(whole);
    assertTrue(r.complete(), r.problems().toString());
    assertEquals(java.util.Optional.empty(), r.notChecked());
    assertEquals(List.of(), wholeLive.refresh().problems(), "no false alarm on the live page");
    // the resumed segment cut at a line boundary: the left trajectory's steps 8-9 do not stand in for its step 7
    RunData.Incremental cutLive = new RunData.Incremental(tmp.resolve("cut"));
    Path cut = resumedFromBest("cut", true, cutLive);
    String problem = "the metrics end early: their last splinewatch_training_step sample since the resume from step 5"
        + " is of step 6, run_finished records step 7 written, as if cut short (an interrupted copy or write)";
    assertEquals(List.of(problem), RunData.read(cut).problems());
    assertEquals(List.of(problem), cutLive.refresh().problems(), "the live page agrees");
  }

  @Test
  void rotatedSegmentsAreReadInOrderAndRetentionIsReported() throws IOException {
    Path dir = tmp.resolve("rot");
    RunLog.writeConfig(dir, Map.of("run_id", "rot"));
    try (RunLog log = new RunLog(dir, new RetentionSettings(4096, 0, 0, 0))) {
      for (int b = 0; b < 40; b++) {
        write(log, b * 10L, b * 10L + 10);
      }
    }
    List<Path> segments = RunLog.segments(dir);
    assertTrue(segments.size() >= 5, "rotated: " + segments);
    assertTrue(segments.stream().allMatch(p -> p.toString().endsWith(".gz")), segments.toString());
    assertTrue(Files.size(dir.resolve("metrics.jsonl")) < 4096 + 2000);
    RunData r = RunData.read(dir);
    assertEquals(400, points(r, "splinewatch_training_loss"));
    List<double[]> loss = r.series().get("splinewatch_training_loss{}").points();
    for (int i = 0; i < loss.size(); i++) {
      assertEquals(i, (long) loss.get(i)[0], "in step order across segments");
    }
    assertTrue(r.problems().isEmpty() || r.problems().stream().allMatch(p -> p.contains("not finished")),
        r.problems().toString());

    Path kept = tmp.resolve("kept");
    try (RunLog log = new RunLog(kept, new RetentionSettings(4096, 2, 0, 0))) {
      for (int b = 0; b < 40; b++) {
        write(log, b * 10L, b * 10L + 10);
      }
    }
    assertEquals(2, RunLog.segments(kept).size());
    RunData k = RunData.read(kept);
    assertTrue(points(k, "splinewatch_training_loss") < 400);
    assertEquals(399, (long) k.lastStep());
    assertTrue(k.problems().stream().anyMatch(p -> p.contains("were deleted by splinewatch.retention")),
        k.problems().toString());
    assertTrue(Files.readString(kept.resolve("events.jsonl")).contains("metrics_segment_deleted"));
  }

  /**
   * Segment names do not depend on the default locale: under Arabic (Egypt) they were {@code metrics-٠٠٠٠١.jsonl.gz}
   * (Arabic-Indic digits), which readers do not take as segments, and every rotation was written over the last one.
   */
  @Test
  void segmentNamesHaveAsciiDigitsInALocaleWithOtherDigits() throws IOException {
    java.util.Locale before = java.util.Locale.getDefault();
    java.util.Locale.setDefault(java.util.Locale.forLanguageTag("ar-EG"));
    Path dir = tmp.resolve("ar");
    try {
      assertFalse(String.format("%d", 1).equals("1"), "this locale formats digits of its own");
      try (RunLog log = new RunLog(dir, new RetentionSettings(4096, 0, 0, 0))) {
        for (int b = 0; b < 40; b++) {
          write(log, b * 10L, b * 10L + 10);
        }
      }
    } finally {
      java.util.Locale.setDefault(before);
    }
    List<String> names;
    try (var files = Files.list(dir)) {
      names = files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("metrics-")).sorted().toList();
    }
    assertTrue(names.size() >= 5 && names.stream().allMatch(n -> n.matches("metrics-[0-9]{5}\\.jsonl\\.gz")),
        names.toString());
    assertEquals(names.get(0), "metrics-00001.jsonl.gz");
    assertEquals(400, points(RunData.read(dir), "splinewatch_training_loss"), "no segment lost");
  }

  @Test
  void anInterruptedRotationIsFinishedAndNothingIsCountedTwice() throws IOException {
    Path dir = tmp.resolve("crash");
    try (RunLog log = new RunLog(dir, new RetentionSettings(4096, 0, 0, 0))) {
      write(log, 0, 100);
    }
    // a crash after the rename of metrics.jsonl, before its compression: a plain segment and maybe a partial .gz
    int before = points(RunData.read(dir), "splinewatch_training_loss");
    Path plainSegment = dir.resolve("metrics-00099.jsonl");
    Files.move(dir.resolve("metrics.jsonl"), plainSegment);
    Files.write(dir.resolve(".metrics-00099.jsonl.gz.tmp"), new byte[] {31, -117, 8});
    Files.createFile(dir.resolve("metrics.jsonl"));
    assertEquals(before, points(RunData.read(dir), "splinewatch_training_loss"), "a plain segment is read too");
    try (RunLog log = new RunLog(dir, new RetentionSettings(4096, 0, 0, 0))) {
      write(log, 100, 101);
    }
    assertTrue(Files.isRegularFile(dir.resolve("metrics-00099.jsonl.gz")));
    assertFalse(Files.exists(plainSegment));
    assertEquals(before + 1, points(RunData.read(dir), "splinewatch_training_loss"));
  }

  @Test
  void theIncrementalReaderAgreesWithAFullReadAcrossAppendsPartialLinesAndRotations() throws IOException {
    Path dir = tmp.resolve("live");
    RunData.Incremental live = new RunData.Incremental(dir);
    try (RunLog log = new RunLog(dir, new RetentionSettings(8192, 0, 0, 0))) {
      RunLog.writeConfig(dir, Map.of("run_id", "live"));
      for (int b = 0; b < 30; b++) {
        write(log, b * 5L, b * 5L + 5);
        if (b % 3 == 0) {
          // a line being written while the page polls: not counted, not a problem, counted once complete
          Files.write(dir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_regions\",\"lab".getBytes(
              StandardCharsets.UTF_8), StandardOpenOption.APPEND);
          RunData partial = live.refresh();
          assertEquals(b / 3, points(partial, "splinewatch_regions"), "only the complete lines");
          assertTrue(partial.problems().stream().noneMatch(p -> p.contains("metrics")), partial.problems()
              .toString());
          Files.write(dir.resolve("metrics.jsonl"), ("els\":{},\"step\":" + b + ",\"value\":1,\"time\":0}\n")
              .getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        }
        RunData inc = live.refresh();
        RunData full = RunData.read(dir);
        assertEquals(points(full, "splinewatch_training_loss"), points(inc, "splinewatch_training_loss"));
        assertEquals(points(full, "splinewatch_regions"), points(inc, "splinewatch_regions"));
        assertEquals(full.lastStep(), inc.lastStep());
      }
    }
    assertTrue(RunLog.segments(dir).size() >= 2, "the test crossed rotations");
    assertEquals(150, points(live.refresh(), "splinewatch_training_loss"));
  }

  @Test
  void pictureRetentionIsDecidedByKeepLastAndKeepEvery() {
    RetentionSettings r = new RetentionSettings(0, 0, 3, 5);
    // pictures 0..19, newest is 19: kept are 17, 18, 19 and 0, 5, 10, 15
    List<Long> kept = new ArrayList<>();
    for (long i = 0; i < 20; i++) {
      if (r.keepPicture(i, 19 - i)) {
        kept.add(i);
      }
    }
    assertEquals(List.of(0L, 5L, 10L, 15L, 17L, 18L, 19L), kept);
    assertTrue(RetentionSettings.KEEP_ALL.keepPicture(3, 1000));
    assertTrue(new RetentionSettings(0, 0, 0, 7).keepPicture(3, 0), "the newest always stays");
  }
}
