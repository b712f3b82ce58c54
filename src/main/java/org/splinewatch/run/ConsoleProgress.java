package org.splinewatch.run;

import java.io.PrintStream;
import org.splinewatch.alerts.Alert;
import org.splinewatch.trainer.TrainingProgress;

/**
 * The console view of a run: on a terminal, a progress bar redrawn in place (step, epoch, loss, steps/s, ETA, last
 * alert); otherwise (CI logs, pipes) a plain line every 10 seconds.
 */
final class ConsoleProgress {
  private final TrainingProgress progress;
  private final PrintStream out;
  private final boolean terminal;
  private final Thread thread;
  private volatile boolean running = true;

  ConsoleProgress(TrainingProgress progress, PrintStream out, boolean terminal) {
    this.progress = progress;
    this.out = out;
    this.terminal = terminal;
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
    out.println(terminal ? "\r" + line(progress.get()) : line(progress.get()));
  }

  private void loop() {
    long interval = terminal ? 250 : 10_000;
    while (running) {
      try {
        Thread.sleep(interval);
      } catch (InterruptedException e) {
        return;
      }
      TrainingProgress.State s = progress.get();
      if (s.totalSteps() == 0) {
        continue;
      }
      if (terminal) {
        out.print("\r" + line(s));
        out.flush();
      } else {
        out.println(line(s));
      }
    }
  }

  static String line(TrainingProgress.State s) {
    double frac = s.totalSteps() > 0 ? Math.min(1, (double) s.step() / s.totalSteps()) : 0;
    int width = 24;
    int filled = (int) Math.round(frac * width);
    String bar = "#".repeat(filled) + "-".repeat(width - filled);
    String eta = s.stepsPerSecond() > 0 ? duration((s.totalSteps() - s.step()) / s.stepsPerSecond()) : "?";
    return String.format("[%s] %3.0f%% step %d/%d epoch %d loss %.4f %.1f steps/s ETA %s alert %s", bar, frac * 100,
        s.step(), s.totalSteps(), s.epoch(), s.loss(), s.stepsPerSecond(), eta, s.lastAlert());
  }

  private static String duration(double seconds) {
    long t = Math.max(0, Math.round(seconds));
    return t >= 3600 ? String.format("%dh%02dm", t / 3600, t / 60 % 60) : String.format("%dm%02ds", t / 60, t % 60);
  }
}
