package org.splinewatch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What {@link CertsCommand#make} is writing, for an interrupt (Ctrl-C, SIGTERM, SIGHUP): the JVM's exit runs
 * {@link #interrupted} in a shutdown hook, which stops the keytool under way and lets make remove the files of the CA
 * or node it was making, as after a failure. They used to stay: the next run refused a password without its ca.p12,
 * or a node's key without its certificate, as existing files that only --force replaces. Thread-safe.
 */
final class CertsProgress {
  /** How long the hook waits for make's clean-up before it removes the files itself. */
  private static final long CLEAN_UP_NANOS = TimeUnit.SECONDS.toNanos(10);
  private final Path dir;
  private final List<String> nodes;
  private final List<String> made = new ArrayList<>();
  /** What is being made now ("the CA", "node a"), null between two. */
  private String making;
  private List<Path> files = List.of();
  private Process keytool;
  private boolean stopped;
  private boolean ended;

  CertsProgress(Path dir, List<String> nodes) {
    this.dir = dir;
    this.nodes = List.copyOf(nodes);
  }

  synchronized void start(String what, List<Path> written) {
    making = what;
    files = List.copyOf(written);
  }

  synchronized void made(String what) {
    made.add(what);
    making = null;
    files = List.of();
  }

  synchronized void ended() {
    ended = true;
    notifyAll();
  }

  synchronized boolean stopped() {
    return stopped;
  }

  /** Starts keytool, unless the JVM is exiting (what it wrote would stay behind). */
  synchronized Process start(ProcessBuilder keytoolCommand) throws IOException {
    if (stopped) {
      throw new IllegalStateException("interrupted");
    }
    keytool = keytoolCommand.start();
    return keytool;
  }

  /** After keytool ended by a signal: whether this JVM is exiting too (its hook starts within 2 s). */
  synchronized boolean awaitStop() throws InterruptedException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (!stopped && System.nanoTime() < until) {
      wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
    }
    return stopped;
  }

  /**
   * The shutdown hook's work: stops keytool, waits for make's clean-up (removing what it did not reach) and returns
   * the line that says what was removed and kept; null where make had ended.
   */
  synchronized String interrupted() {
    if (ended) {
      return null;
    }
    stopped = true;
    notifyAll();
    List<String> half = new ArrayList<>();
    for (Path f : files) {
      if (Files.exists(f)) {
        half.add(f.getFileName().toString());
      }
    }
    if (keytool != null) {
      keytool.destroy();
    }
    long until = System.nanoTime() + CLEAN_UP_NANOS;
    try {
      while (!ended && System.nanoTime() < until) {
        wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Path f : files) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException e) {
        half.remove(f.getFileName().toString()); // not removed: not named as removed
      }
    }
    String rest = String.join(",", nodes.stream().filter(n -> !made.contains("node " + n)).toList());
    return "interrupted " + (making == null ? "in " + dir : "while making " + making + " in " + dir + ": removed"
        + " its half-made files (" + (half.isEmpty() ? "none written yet" : String.join(", ", half)) + ")")
        + (made.isEmpty() ? "; nothing made" : "; kept " + String.join(" and ", made))
        + (rest.isEmpty() ? "" : made.contains("the CA") ? "; rerun with --nodes " + rest + " to make the rest"
        : "; rerun the command to make them");
  }
}
