package org.splinewatch.run;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.splinewatch.metrics.MemoryWatch;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.TrainerActor;

/**
 * How a run ended: its status ({@code done}, {@code stopped} by a collapse alert, {@code interrupted} by a signal,
 * {@code failed}), the process's exit code (0, 3, the signal's code, 1), the {@code run_finished} event and the last
 * line on the console.
 *
 * @param signal the signal that ended the run ({@code TERM}, {@code INT}, {@code HUP}) or null
 */
record RunOutcome(TrainerActor.Finished finished, String signal, int exitCode, String status) {
  /** The outcome of a finished run; {@code signal} null when no signal arrived, {@code signalExit} its exit code. */
  static RunOutcome of(TrainerActor.Finished finished, String signal, int signalExit) {
    boolean interrupted = signal != null && finished.error() == null;
    int code = finished.error() != null ? 1 : interrupted ? signalExit : finished.stopped() ? 3 : 0;
    String status = finished.error() != null ? "failed" : interrupted ? "interrupted"
        : finished.stopped() ? "stopped" : "done";
    return new RunOutcome(finished, interrupted ? signal : null, code, status);
  }

  /** The {@code run_finished} event of {@code events.jsonl}, with the memory peaks as flat fields. */
  Map<String, Object> event(MemoryWatch.Peaks peaks) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("type", "run_finished");
    event.put("status", status);
    event.put("steps", finished.steps());
    event.put("exit_code", exitCode);
    event.put("stopped", finished.stopped());
    event.put("reason", finished.reason());
    event.put("error", finished.error());
    // flat fields: a nested object does not survive the cluster's CBOR messages to a monitor's events.jsonl
    event.putAll(peaks.toEvent());
    event.put("time", System.currentTimeMillis());
    return event;
  }

  /** The last line of a run analysed in this process, whose files are all in {@code runDir}. */
  void print(PrintStream out, Path runDir) {
    print(out, runDir, false, "");
  }

  /**
   * The last line: done with steps/s and where the results are, stopped early and why, interrupted and how to
   * resume (where {@code latest} exists: an interrupt before the first step leaves none), or the error.
   *
   * @param remote            a {@code --monitor} run: its results are on the monitor, {@code runDir} here holds only
   *                          its checkpoints
   * @param interruptedAdvice what to do after an interrupt, where the caller knows better than {@code --resume}
   *                          (splinewatch.lifecycle.interrupted-advice; empty: the {@code --resume} advice)
   */
  void print(PrintStream out, Path runDir, boolean remote, String interruptedAdvice) {
    if (finished.error() != null) {
      out.println("error: " + finished.error());
    } else if (signal != null && !finished.stopped()) {
      // the signal came after the last step, while the last analyses drained: nothing is left to train
      out.println("interrupted (SIG" + signal + ") after training finished all " + finished.steps() + " steps, while"
          + " the last analyses drained; nothing to resume: the run's checkpoints and files are complete, the"
          + " analyses cut short are counted above");
    } else if (signal != null && !interruptedAdvice.isBlank()) {
      out.println("interrupted at step " + finished.steps() + " (SIG" + signal + "); " + interruptedAdvice.strip());
    } else if (signal != null) {
      Path latest = runDir.resolve("checkpoints").resolve("latest");
      if (Files.isRegularFile(Checkpoints.resolve(latest).resolve("meta.json"))) {
        out.println("interrupted at step " + finished.steps() + " (SIG" + signal + "); resume with --resume " + latest);
      } else {
        // no step trained, so no checkpoint: advice to resume would only fail
        out.println("interrupted at step " + finished.steps() + " (SIG" + signal + ") before the first checkpoint;"
            + " nothing to resume: start the run again (--overwrite to reuse " + runDir + ")");
      }
    } else if (finished.stopped()) {
      out.println("stopped early at step " + finished.steps() + ": " + finished.reason());
    } else if (remote) {
      // the monitor keeps the run's files; this machine only the checkpoints
      out.printf(Locale.ROOT, "done: %d steps, %.2f steps/s; results on the monitor (directory %s under its --out,"
          + " default runs); checkpoints here in %s%n", finished.steps(), finished.stepsPerSecond(),
          runDir.getFileName(), runDir.resolve("checkpoints"));
    } else {
      out.printf(Locale.ROOT, "done: %d steps, %.2f steps/s; results in %s%n", finished.steps(),
          finished.stepsPerSecond(), runDir);
    }
  }
}
