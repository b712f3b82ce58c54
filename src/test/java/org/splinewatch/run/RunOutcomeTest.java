package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.trainer.TrainerActor;

/** How a run ended decides its exit code and its last line; plain, no actor system. */
class RunOutcomeTest {
  private static TrainerActor.Finished finished(boolean stopped, String error) {
    return new TrainerActor.Finished(120, stopped, stopped ? "collapse alert std_collapse: collapsed" : null, 3.5,
        error);
  }

  @Test
  void exitCodesAndStatuses() {
    RunOutcome done = RunOutcome.of(finished(false, null), null, 0);
    assertEquals(0, done.exitCode());
    assertEquals("done", done.status());
    RunOutcome stopped = RunOutcome.of(finished(true, null), null, 0);
    assertEquals(3, stopped.exitCode());
    assertEquals("stopped", stopped.status());
    RunOutcome failed = RunOutcome.of(finished(false, "disk full"), "TERM", 143);
    assertEquals(1, failed.exitCode(), "a failure wins over the signal");
    assertEquals("failed", failed.status());
    assertNull(failed.signal());
    RunOutcome interrupted = RunOutcome.of(finished(true, null), "INT", 130);
    assertEquals(130, interrupted.exitCode());
    assertEquals("interrupted", interrupted.status());
  }

  @TempDir
  Path tmp;

  @Test
  void theLastLineSaysWhatHappened() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Path dir = tmp.resolve("r");
    Files.createDirectories(dir.resolve("checkpoints/latest"));
    Files.writeString(dir.resolve("checkpoints/latest/meta.json"), "{\"step\":120,\"method\":\"simclr\"}");
    RunOutcome.of(finished(true, null), null, 0).print(out, dir);
    RunOutcome.of(new TrainerActor.Finished(120, true, "interrupted by SIGTERM", 3.5, null), "TERM", 143)
        .print(out, dir);
    RunOutcome.of(finished(false, "disk full"), null, 0).print(out, dir);
    // a signal after the last step (while the last analyses drained): nothing to resume, and it says so
    RunOutcome.of(finished(false, null), "TERM", 143).print(out, dir);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("interrupted (SIGTERM) after training finished all 120 steps, while the last analyses"
        + " drained; nothing to resume"), text);
    assertEquals(1, text.split("--resume", -1).length - 1, "one resume advice, for the run interrupted mid-way");
    assertTrue(text.contains("stopped early at step 120: collapse alert std_collapse"), text);
    assertTrue(text.contains("interrupted at step 120 (SIGTERM); resume with --resume "
        + dir.resolve("checkpoints").resolve("latest")), text);
    assertTrue(text.contains("error: disk full"), text);
  }

  @Test
  void anInterruptBeforeTheFirstCheckpointDoesNotAdviseAResumeThatWouldFail() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Path dir = Files.createDirectories(tmp.resolve("early"));
    RunOutcome.of(new TrainerActor.Finished(0, true, "SIGTERM", 0, null), "TERM", 143).print(out, dir);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertFalse(text.contains("--resume"), text);
    assertEquals("interrupted at step 0 (SIGTERM) before the first checkpoint; nothing to resume: start the run"
        + " again (--overwrite to reuse " + dir + ")", text.strip());
    // a checkpoint left only as latest.prev (a crash mid-swap) still resumes: --resume latest falls back to it
    Files.createDirectories(dir.resolve("checkpoints/latest.prev"));
    Files.writeString(dir.resolve("checkpoints/latest.prev/meta.json"), "{\"step\":0,\"method\":\"simclr\"}");
    bytes.reset();
    RunOutcome.of(new TrainerActor.Finished(0, true, "SIGTERM", 0, null), "INT", 130).print(out, dir);
    assertEquals("interrupted at step 0 (SIGINT); resume with --resume " + dir.resolve("checkpoints/latest"),
        bytes.toString(StandardCharsets.UTF_8).strip());
  }

  @Test
  void aMonitoredRunSaysItsResultsAreOnTheMonitorAndOnlyItsCheckpointsHere() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Path dir = tmp.resolve("runs").resolve("r1");
    RunOutcome.of(finished(false, null), null, 0).print(out, dir, true, "");
    String text = bytes.toString(StandardCharsets.UTF_8).strip();
    assertEquals("done: 120 steps, 3.50 steps/s; results on the monitor (directory r1 under its --out, default runs);"
        + " checkpoints here in " + dir.resolve("checkpoints"), text);
    bytes.reset();
    RunOutcome.of(finished(false, null), null, 0).print(out, dir, false, "");
    assertEquals("done: 120 steps, 3.50 steps/s; results in " + dir, bytes.toString(StandardCharsets.UTF_8).strip());
  }

  /** The last line has a decimal point in every locale, as the progress bar above it (a German one wrote "3,50"). */
  @Test
  void theLastLinesRateHasADecimalPointInEveryLocale() {
    java.util.Locale before = java.util.Locale.getDefault();
    try {
      java.util.Locale.setDefault(java.util.Locale.GERMANY);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
      Path dir = tmp.resolve("runs").resolve("r1");
      RunOutcome.of(finished(false, null), null, 0).print(out, dir, false, "");
      RunOutcome.of(finished(false, null), null, 0).print(out, dir, true, "");
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertEquals(2, text.split("done: 120 steps, 3\\.50 steps/s; results ", -1).length - 1, text);
    } finally {
      java.util.Locale.setDefault(before);
    }
  }

  @Test
  void aCallerThatRerunsRunsItsOwnWayReplacesTheResumeAdvice() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Path dir = tmp.resolve("exp");
    Files.createDirectories(dir.resolve("checkpoints/latest"));
    Files.writeString(dir.resolve("checkpoints/latest/meta.json"), "{\"step\":120,\"method\":\"simclr\"}");
    RunOutcome.of(new TrainerActor.Finished(120, true, "interrupted by SIGINT", 3.5, null), "INT", 130)
        .print(out, dir, false, "rerun the experiment");
    assertEquals("interrupted at step 120 (SIGINT); rerun the experiment", bytes.toString(StandardCharsets.UTF_8)
        .strip());
    // the setting's default keeps the --resume advice
    com.typesafe.config.Config config = com.typesafe.config.ConfigFactory.load();
    assertEquals("", WiringSettings.fromConfig(config).interruptedAdvice());
  }

  @Test
  void theClassCountComesFromTheLabels() {
    LabeledImages three = new LabeledImages(1, 1, new byte[4], new int[] {0, 2, 1, 2});
    LabeledImages five = new LabeledImages(1, 1, new byte[2], new int[] {4, 0});
    assertEquals(3, ProbeSampler.classes(three));
    assertEquals(5, ProbeSampler.classes(three, five));
  }
}
