package org.splinewatch.run;

import java.io.PrintStream;
import java.util.Locale;
import org.splinewatch.alerts.Alert;
import org.splinewatch.trainer.TrainingProgress;

/**
 * The console view of a run: on a terminal, a progress bar redrawn in place (step, epoch, loss, steps/s, ETA, last
 * alert; a shorter bar clears the rest of a longer one); otherwise (CI logs, pipes) a plain line every 10 seconds
 * while the run trains, and each step's line at most once: the last step's once, when the run has finished (its
 * average rate), not also while the last checkpoint is written. Numbers have a decimal point whatever the locale. A
 * run that ends before its first step (the trainer could not be created, the first step failed) leaves no bar behind:
 * the run's error line says what failed, and a last bar would only have said {@code step 0/0 … loss NaN}.
 */
final class ConsoleProgress {
  private final TrainingProgress progress;
  private final PrintStream out;
  private final boolean terminal;
  private final long intervalMillis;
  private final Thread thread;
  private volatile boolean running = true;
  /** Characters on the terminal's line: the longest bar drawn in place there (0: none drawn yet). */
  private volatile int drawn;
  /** The step of the last line printed without a terminal (each step's is printed once), or -1. */
  private volatile long printedStep = -1;

  ConsoleProgress(TrainingProgress progress, PrintStream out, boolean terminal) {
    this(progress, out, terminal, terminal ? 250 : 10_000);
  }

  /** Redrawn (on a terminal) or printed every {@code intervalMillis}. */
  ConsoleProgress(TrainingProgress progress, PrintStream out, boolean terminal, long intervalMillis) {
    this.progress = progress;
    this.out = out;
    this.terminal = terminal;
    this.intervalMillis = intervalMillis;
    this.thread = new Thread(this::loop, "splinewatch-console");
    thread.setDaemon(true);
  }

  /** An alert that changed state: one line on the console, and the last alert on the progress bar. */
  static void alert(Alert alert, TrainingProgress progress, PrintStream out) {
    progress.alert((alert.firing() ? "ALERT " : "resolved ") + alert.rule() + " at step " + alert.step());
    out.println((alert.firing() ? "ALERT [" + alert.severity() + "] " : "resolved: ") + alert.sentence());
  }

  void start() {
    thread.start();
  }

  void stop() {
    running = false;
    thread.interrupt();
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    TrainingProgress.State s = progress.get();
    if (!s.trained()) {
      // no step: no final bar; a bar drawn while the trainer was set up is blanked, so the error starts its own line
      if (terminal && drawn > 0) {
        out.print("\r" + " ".repeat(drawn) + "\r");
        out.flush();
      }
      return;
    }
    String last = line(s);
    if (terminal) {
      out.println("\r" + padded(last));
    } else if (s.step() != printedStep) { // the loop printed it already while the run's analyses drained
      out.println(last);
    }
  }

  private void loop() {
    while (running) {
      try {
        Thread.sleep(intervalMillis);
      } catch (InterruptedException e) {
        return;
      }
      TrainingProgress.State s = progress.get();
      if (s.totalSteps() == 0) {
        continue;
      }
      String l = line(s);
      if (terminal) {
        out.print("\r" + padded(l));
        out.flush();
        drawn = Math.max(drawn, l.length());
      } else if (s.step() != printedStep && (s.finished() || s.step() < s.totalSteps())) {
        // a plain line every interval while the run trains, each step's once: not again every interval while the
        // analyses drain, nor twice at 100 % (the last step trained, then finished with the last checkpoint written:
        // two rates); the last step's line waits for the finished reading
        out.println(l);
        printedStep = s.step();
      }
    }
  }

  /** {@code line} with spaces over the rest of a longer bar drawn before it on the terminal's line. */
  private String padded(String line) {
    return line + " ".repeat(Math.max(0, drawn - line.length()));
  }

  /** The bar; before the first step the loss is {@code -} (there is none yet), not {@code NaN} (a diverged step's). */
  static String line(TrainingProgress.State s) {
    double frac = s.totalSteps() > 0 ? Math.min(1, (double) s.step() / s.totalSteps()) : 0;
    int width = 24;
    // rounded down: 100 % and a full bar only once the last step trained (3500/3510 showed both, rounded up)
    int filled = (int) Math.floor(frac * width);
    long percent = (long) Math.floor(frac * 100);
    String bar = "#".repeat(filled) + "-".repeat(width - filled);
    String eta = s.stepsPerSecond() > 0 ? duration((s.totalSteps() - s.step()) / s.stepsPerSecond()) : "?";
    String loss = s.trained() ? String.format(Locale.ROOT, "%.4f", s.loss()) : "-";
    return String.format(Locale.ROOT, "[%s] %3d%% step %d/%d epoch %d loss %s %.1f steps/s ETA %s alert %s", bar,
        percent, s.step(), s.totalSteps(), s.epoch(), loss, s.stepsPerSecond(), eta, s.lastAlert());
  }

  private static String duration(double seconds) {
    long t = Math.max(0, Math.round(seconds));
    return t >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", t / 3600, t / 60 % 60)
        : String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60);
  }
}
