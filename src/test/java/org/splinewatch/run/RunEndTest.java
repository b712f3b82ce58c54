package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.Sample;

/**
 * The end of a run analysed here ({@link EmbeddedRun#writeRunEnd}): its {@code run_finished} event and the report
 * written with it, where the guardian's flush wrote the metrics first and where it timed out.
 */
class RunEndTest {
  @TempDir
  Path tmp;

  private static final Map<String, String> LABELS = Map.of("run", "r", "method", "simclr", "dataset", "mnist");

  /**
   * A run of 20 steps with one analysis by its end, as written when the flush at its end timed out: the last
   * training-step sample (20) and the second analysis's sample were still with the metrics actor.
   */
  private Path writtenBeforeFlush(String id) throws IOException {
    Path dir = tmp.resolve(id);
    try (RunLog log = new RunLog(dir)) {
      RunLog.writeConfig(dir, Map.of("run_id", id, "method", "simclr"));
      List<Sample> batch = new ArrayList<>();
      batch.add(Sample.of("splinewatch_training_step", 10, 10));
      batch.add(Sample.of("splinewatch_analysis_seconds", 0.5, 10, "analyzer", "regions"));
      log.append(batch, LABELS);
    }
    return dir;
  }

  /** The samples the stuck writer wrote after the run's end. */
  private static void lateSamples(Path dir) {
    try (RunLog log = new RunLog(dir)) {
      log.append(List.of(Sample.of("splinewatch_training_step", 20, 20),
          Sample.of("splinewatch_analysis_seconds", 0.5, 20, "analyzer", "regions")), LABELS);
    }
  }

  private static Map<String, Object> done() {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("type", "run_finished");
    event.put("status", "done");
    event.put("steps", 20);
    event.put("analysed_snapshots", Map.of("regions", Map.of("analysed", 2, "snapshots", 2)));
    event.put("time", System.currentTimeMillis());
    return event;
  }

  private static String runEnd(Path dir, boolean flushed) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    EmbeddedRun.writeRunEnd(dir, done(), flushed, new PrintStream(out, true, StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aFlushThatTimedOutLeavesTheEndOfRunReportAndALaterOneAgreeing() throws IOException {
    Path dir = writtenBeforeFlush("late");
    String out = runEnd(dir, false);
    String events = Files.readString(dir.resolve("events.jsonl"));
    assertTrue(events.contains("\"" + RunData.METRICS_FLUSHED + "\":false"), events);
    assertFalse(events.contains(RunData.TRAINING_STEP_LOGGED), "a step the metrics may not hold is not claimed");
    String status = "finished at step 20; not checked for metrics cut short: run_finished was written before the"
        + " metrics were all written (the flush at the run's end timed out): samples written after it are read, but"
        + " any that were lost are not told";
    assertEquals(status, ReportWriter.status(RunData.read(dir)), "the end-of-run report: not called cut short");
    assertTrue(Files.readString(dir.resolve("report.html")).contains("late: finished at step 20; not checked for"
        + " metrics cut short: run_finished was written before the metrics were all written"));
    assertTrue(out.contains("  note: the run's metrics were not all written within 30 s of its end"), out);
    lateSamples(dir);
    assertEquals(status, ReportWriter.status(RunData.read(dir)), "./monitor report afterwards says the same");
    // flushed in time, the same files would have been cut short: the check applies
    Path cut = writtenBeforeFlush("cut");
    runEnd(cut, true);
    assertTrue(ReportWriter.status(RunData.read(cut)).startsWith("finished at step 20; files INCOMPLETE: the metrics"
        + " end early"), ReportWriter.status(RunData.read(cut)));
  }

  /**
   * A local run's flush that a signal's grace cut short (a hung disk): one line, before run_finished and the report
   * are written (which the same disk may hold up until the grace halts the process), names the grace and the files
   * that may lack what the run sent last; run_finished still records metrics_flushed false. The run's end said nothing
   * of it: the grace halted the process during the flush's 30 s with only "the run did not end within 25 s of SIGINT".
   */
  @Test
  void aFlushTheSignalsGraceCutShortIsNamedInOneLineWithItsFiles() throws IOException {
    Path dir = writtenBeforeFlush("graced");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    EmbeddedRun.writeRunEnd(dir, done(), false, java.util.Optional.of("the 25 s signal-grace after SIGINT"),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals("warning: the run's metrics were not confirmed written within the 25 s signal-grace after SIGINT (a"
        + " slow or stuck disk? splinewatch.lifecycle.signal-grace raises it): " + dir.resolve("metrics.jsonl")
        + " and events.jsonl may lack what the run sent last; run_finished and the report are written without them"
        + " (./monitor report " + dir + " reads what was written since)", lines.get(0));
    assertFalse(lines.stream().anyMatch(l -> l.contains("within 30 s")), "one line, not the note too: " + lines);
    assertTrue(Files.readString(dir.resolve("events.jsonl")).contains("\"" + RunData.METRICS_FLUSHED + "\":false"));
  }

  /**
   * After a signal the actor system's termination waits what is left of the grace less the margin kept for the JVM's
   * exit: with all of it (a --monitor run's node leaving a stopped monitor's cluster) the process ended about 0.4 s
   * past the grace.
   */
  @Test
  void theEndsTerminationKeepsTheMarginOfTheSignalsGrace() {
    assertEquals(java.time.Duration.ofSeconds(30), EmbeddedRun.terminationWait(java.util.Optional.empty()));
    var wait = EmbeddedRun.terminationWait(java.util.Optional.of(org.splinewatch.cluster.StopDeadline.in(
        java.time.Duration.ofSeconds(10))));
    assertTrue(wait.compareTo(java.time.Duration.ofSeconds(10).minus(
        org.splinewatch.cluster.MonitorLink.STOP_MARGIN)) <= 0, "the margin is kept: " + wait);
    assertTrue(wait.compareTo(java.time.Duration.ofSeconds(8)) > 0, "the rest is waited: " + wait);
    assertEquals(java.time.Duration.ZERO, EmbeddedRun.terminationWait(java.util.Optional.of(
        org.splinewatch.cluster.StopDeadline.in(java.time.Duration.ofMillis(500)))), "the margin is not given away");
  }

  @Test
  void aLineTheStuckWriterIsStillWritingIsNotCalledDamage() throws IOException {
    Path dir = writtenBeforeFlush("half");
    lateSamples(dir);
    // the stuck writer's last line: only its first part had reached the file when the run's end was written
    Path metrics = dir.resolve("metrics.jsonl");
    List<String> lines = Files.readAllLines(metrics);
    String last = lines.get(lines.size() - 1);
    Files.writeString(metrics, String.join("\n", lines.subList(0, lines.size() - 1)) + "\n"
        + last.substring(0, last.length() / 2));
    runEnd(dir, false);
    String status = "finished at step 20; not checked for metrics cut short: run_finished was written before the"
        + " metrics were all written (the flush at the run's end timed out): samples written after it are read, but"
        + " any that were lost are not told";
    RunData atEnd = RunData.read(dir);
    // it was "INCOMPLETE — metrics.jsonl line 4 is half-written", and whole once the writer ended the line
    assertEquals(status, ReportWriter.status(atEnd), "the end-of-run report");
    assertEquals(List.of("metrics.jsonl line 4 was still being written when read: the flush at the run's end timed"
        + " out, and its sample was not read"), atEnd.notes());
    assertTrue(Files.readString(dir.resolve("report.html")).contains("half: finished at step 20; not checked"));
    Files.writeString(metrics, last.substring(last.length() / 2) + "\n", java.nio.file.StandardOpenOption.APPEND);
    RunData later = RunData.read(dir);
    assertEquals(status, ReportWriter.status(later), "./monitor report once the line is whole");
    assertEquals(List.of(), later.notes());
    // flushed in time, a half-written last line is no writer's: it stays a problem
    Path flushed = writtenBeforeFlush("flushed");
    Files.writeString(flushed.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_tra",
        java.nio.file.StandardOpenOption.APPEND);
    runEnd(flushed, true);
    assertTrue(RunData.read(flushed).problems().contains("metrics.jsonl line 3 is half-written"),
        RunData.read(flushed).problems().toString());
  }
}
