package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./monitor regions}, {@code bench-regions}, {@code detection} and {@code report} stopped by SIGINT (Ctrl-C)
 * or SIGTERM: one line saying what the command was doing and what was written, exit 130 or 143. They used to exit with
 * the JVM's default, 130 or 143 and no word.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MonitorInterruptTest {
  @TempDir
  Path tmp;

  /**
   * Starts {@code monitor args} (SIGINT at its default, as in a terminal: a JVM started with it ignored, as a test in
   * the background may be, cannot handle it), sends {@code signal} once {@code ready} is in its output, and returns
   * its output after asserting its exit code {@code code}.
   */
  private String stop(String signal, int code, String ready, String... args) throws Exception {
    return stop(signal, code, (p, log) -> read(log).contains(ready), args);
  }

  /** As above, the signal sent once {@code ready} holds of the process and its output file. */
  private String stop(String signal, int code, java.util.function.BiPredicate<Process, Path> ready, String... args)
      throws Exception {
    Path log = tmp.resolve("out-" + System.nanoTime() + ".log");
    List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT",
        ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
        "-D" + ProgressLine.INTERVAL_PROPERTY + "=0.1", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "monitor"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (p.isAlive() && !ready.test(p, log) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(p.isAlive() && ready.test(p, log), () -> "still running when ready: " + read(log));
      new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exited");
      String out = Files.readString(log);
      assertEquals(code, p.exitValue(), out);
      return out;
    } finally {
      p.destroyForcibly();
    }
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      return e.toString();
    }
  }

  /** The last line of {@code out}, after asserting that no stack trace came before it. */
  private static String lastLine(String out) {
    assertTrue(!out.contains("\tat "), out);
    List<String> lines = out.strip().lines().toList();
    return lines.get(lines.size() - 1);
  }

  @Test
  void regionsSaysWhatItWasComputingAndLeavesNoPicture() throws Exception {
    Path model = RegionsCliTest.oneLayer(tmp.resolve("lines.npz"), 2500, 3); // about 3 million regions: seconds
    Path svg = tmp.resolve("pic.svg");
    String out = stop("INT", 130, "regions: layer", "regions", "--model", model.toString(), "--svg", svg.toString());
    assertEquals("interrupted by SIGINT while computing the regions of " + model + ": no result printed, nothing"
        + " written (--svg " + svg + " as it was)", lastLine(out));
    try (Stream<Path> files = Files.list(tmp)) {
      assertTrue(files.noneMatch(f -> f.getFileName().toString().contains("pic.svg")), "no picture, no temporary");
    }
    String term = stop("TERM", 143, "regions: layer", "regions", "--model", model.toString());
    assertEquals("interrupted by SIGTERM while computing the regions of " + model + ": no result printed, nothing"
        + " written", lastLine(term));
  }

  @Test
  void benchRegionsSaysWhichRowsArePrinted() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("workloads"));
    Path model = RegionsCliTest.oneLayer(dir.resolve("lines.npz"), 60, 4);
    String out = stop("TERM", 143, "warm-up", "bench-regions", "--dir", dir.toString(), "--repeat", "1000000",
        "--min-warmup-seconds", "600", "--warmup-seconds", "600");
    assertEquals("interrupted by SIGTERM while timing workload 1 of 1 (" + model + "): the rows above are complete,"
        + " 0 of 1; bench-regions writes no file", lastLine(out));
  }

  @Test
  void detectionSaysWhichRunItWasReading() throws Exception {
    Path run = longRun();
    String out = stop("INT", 130, (p, log) -> opened(p, run.resolve("metrics.jsonl")), "detection", run.toString());
    assertEquals("interrupted by SIGINT while reading run 1 of 1 (" + run + "): no table printed; detection writes"
        + " no file", lastLine(out));
  }

  @Test
  void reportSaysWhichRunItWasReadingAndWritesNoReport() throws Exception {
    Path run = longRun();
    String out = stop("TERM", 143, (p, log) -> opened(p, run.resolve("metrics.jsonl")), "report", run.toString());
    assertEquals("interrupted by SIGTERM while reading run 1 of 1 (" + run + "): no report written ("
        + run.resolve("report.html") + " as it was)", lastLine(out));
    assertTrue(!Files.exists(run.resolve("report.html")), "no report");
  }

  /** A finished run whose samples take a second or more to read: a signal comes once its metrics are open. */
  private Path longRun() throws Exception {
    Path run = Files.createDirectories(tmp.resolve("runs").resolve("a"));
    // samples enough for a second or more of reading: the signal comes once the run's metrics are open
    Path metrics = run.resolve("metrics.jsonl");
    try (var w = Files.newBufferedWriter(metrics)) {
      for (int step = 0; step < 600_000; step++) {
        w.write("{\"name\":\"splinewatch_knn_accuracy_ratio\",\"labels\":{\"layer\":\"repr\"},\"step\":" + step
            + ",\"value\":0.8}\n");
      }
    }
    Files.writeString(run.resolve("config.json"), "{\"run_id\": \"a\", \"method\": \"simclr\"}");
    Files.writeString(run.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    return run;
  }

  /** Whether {@code p} has {@code file} open (Linux: its /proc fd links). */
  private static boolean opened(Process p, Path file) {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(p.pid()), "fd"))) {
      return fds.anyMatch(fd -> {
        try {
          return Files.readSymbolicLink(fd).equals(file.toAbsolutePath());
        } catch (java.io.IOException | UnsupportedOperationException e) {
          return false; // closed meanwhile
        }
      });
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
