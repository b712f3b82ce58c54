package org.splinewatch.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A progress line on standard error for work that can take minutes ({@code ./monitor regions}, whole or
 * {@code --tiled}): redrawn in place every 250 ms when standard error is a terminal, and otherwise (a log, a pipe) one
 * line every 10 s, so a short computation prints nothing and standard output holds only the results. On a terminal
 * {@link #finish} wipes the line before the results or an error are printed.
 *
 * <p>The interval without a terminal can be set with the system property {@value #INTERVAL_PROPERTY} (seconds, 0:
 * at every update), e.g. {@code JAVA_OPTS=-Dsplinewatch.progress-seconds=60}.
 */
final class ProgressLine {
  /** The seconds between lines when standard error is not a terminal. */
  static final String INTERVAL_PROPERTY = "splinewatch.progress-seconds";
  private static final long TERMINAL_NANOS = 250_000_000L;
  private static final long LOG_NANOS = 10_000_000_000L;

  private final PrintStream err;
  private final boolean terminal;
  private final long intervalNanos;
  private final long start;
  private long shown;
  private int drawn; // the length of the line on the terminal, 0: none

  ProgressLine(PrintStream err, boolean terminal, long intervalNanos, long start) {
    this.err = err;
    this.terminal = terminal;
    this.intervalNanos = intervalNanos;
    this.start = start;
    this.shown = start;
  }

  /** On {@link System#err}, from now, redrawn if it is a terminal. */
  static ProgressLine onStandardError() {
    boolean terminal = stderrIsTerminal();
    long interval = terminal ? TERMINAL_NANOS : LOG_NANOS;
    String property = System.getProperty(INTERVAL_PROPERTY);
    if (!terminal && property != null) {
      try {
        double seconds = Double.parseDouble(property.strip());
        if (seconds >= 0 && seconds <= 1e6) {
          interval = (long) (seconds * 1e9);
        }
      } catch (NumberFormatException e) {
        // not a number: the default interval
      }
    }
    return new ProgressLine(System.err, terminal, interval, System.nanoTime());
  }

  /**
   * Whether standard error is a terminal: on Linux where {@code /proc/self/fd/2} leads (a log file or a pipe is not,
   * though the process may have a console), elsewhere whether the JVM has a console.
   */
  static boolean stderrIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return System.console() != null;
    }
  }

  /** Whether a line is due at {@code now} ({@link System#nanoTime}): cheap, for a caller to test before it formats. */
  boolean due(long now) {
    return now - shown >= intervalNanos;
  }

  /** The seconds since the start at {@code now}. */
  double seconds(long now) {
    return (now - start) / 1e9;
  }

  /** Shows {@code line} (taken as shown at {@code now}). */
  synchronized void show(String line, long now) {
    shown = now;
    if (terminal) {
      // pad over a longer earlier line
      err.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())));
      err.flush();
      drawn = Math.max(drawn, Math.max(1, line.length()));
    } else {
      err.println(line);
    }
  }

  /** Wipes a line drawn on the terminal, so the results or an error start on a clean line; idempotent. */
  synchronized void finish() {
    if (drawn > 0) {
      err.print("\r" + " ".repeat(drawn) + "\r");
      err.flush();
      drawn = 0;
    }
  }
}
