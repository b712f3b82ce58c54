package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./monitor bench-soak}: its --out, its tables, and its temporary directory. */
class BenchSoakTest {
  @TempDir
  Path tmp;

  private static BenchSoakCommand.Point point(double seconds, long heapMib, long fds, long files, long metricsBytes) {
    return new BenchSoakCommand.Point(seconds, heapMib << 20, fds, files, files * 1024, metricsBytes);
  }

  @Test
  void whatWasNotMeasuredIsADashNotANegativeZero() {
    String line = BenchSoakCommand.sampleLine(point(10, 50, -1, 0, -1));
    assertFalse(line.contains("-0.0") || line.contains("-1"), line);
    assertEquals(List.of("10s", "50.0", "-", "0", "0.00", "-"), List.of(line.strip().split(" +")));
  }

  @Test
  void growthIsOverTheSamplesWhereAQuantityWasMeasured() {
    // /metrics not yet up at the first sample and gone at the last (the run ended): growth over the three between
    List<BenchSoakCommand.Point> ps = List.of(point(0, 60, 140, 0, -1), point(60, 70, 146, 10, 10_240),
        point(120, 70, 146, 20, 20_480), point(180, 70, 146, 30, 20_480), point(240, 66, 140, 40, -1));
    String table = BenchSoakCommand.growth(ps, null);
    assertTrue(table.startsWith("growth per minute"), table);
    assertEquals(List.of("/metrics", "KiB", "10.00", "0.00"), List.of(line(table, "/metrics").split(" +")));
    assertEquals(List.of("open", "fds", "3.00", "-3.00"), List.of(line(table, "open fds").split(" +")));
    // a flat quantity is 0.00, never -0.00; fewer than three measured samples: no growth
    List<BenchSoakCommand.Point> flat = List.of(point(0, 60, -1, 0, 5), point(60, 60, -1, 0, 5),
        point(120, 60, -1, 0, 5), point(180, 60, -1, 0, 5));
    String f = BenchSoakCommand.growth(flat, null);
    assertFalse(f.contains("-0.00"), f);
    assertEquals(List.of("open", "fds", "-", "-"), List.of(line(f, "open fds").split(" +")));
  }

  @Test
  void anInterruptedRunsGrowthIsMarkedPartial() {
    // after Ctrl-C the end line said only "exit code 130"
    assertEquals(" (interrupted: SIGINT)", BenchSoakCommand.how(130));
    assertEquals(" (interrupted: SIGTERM)", BenchSoakCommand.how(143));
    assertEquals("", BenchSoakCommand.how(0));
    List<BenchSoakCommand.Point> ps = List.of(point(0, 60, 140, 0, 1), point(60, 70, 146, 10, 1),
        point(120, 70, 146, 20, 1), point(180, 70, 146, 30, 1));
    String table = BenchSoakCommand.growth(ps, "partial: the run ended at step 2141 of 20000");
    assertTrue(table.startsWith("growth over a partial run (partial: the run ended at step 2141 of 20000): the halves"
        + " are of the part that ran\ngrowth per minute"), table);
  }

  private static String line(String table, String name) {
    return table.lines().filter(l -> l.startsWith(name)).findFirst().orElseThrow().strip();
  }

  @Test
  void anOutThatIsNotEmptyOrCannotBeMadeIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path used = Files.createDirectories(tmp.resolve("used"));
    Files.writeString(used.resolve("notes.txt"), "keep");
    String m = org.splinewatch.TestTools.cli(2, "monitor", "bench-soak", "--steps", "100", "--out", used.toString());
    assertTrue(m.startsWith("error: --out " + used + " exists and is not empty; expected a new or empty directory"),
        m);
    try (var files = Files.list(used)) {
      assertEquals(1, files.count(), "nothing written");
    }
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String under = org.splinewatch.TestTools.cli(2, "monitor", "bench-soak", "--steps", "100", "--out",
        file.resolve("soak").toString());
    // it said "cannot make the directory (…: Not a directory)"
    assertTrue(under.startsWith("error: --out " + file.resolve("soak") + ": " + file + " is a file, not a directory;"
        + " expected a new or empty directory (made when missing)"), under);
  }

  /** A --config key the soak sets itself lost to the soak's value without a word (a larger network, another port). */
  @Test
  void aConfigKeyTheSoakSetsItselfIsRefused() throws Exception {
    Path conf = Files.writeString(tmp.resolve("soak.conf"), "splinewatch.retention.planes-keep-last = 10\n"
        + "splinewatch.run { hidden = [256, 256] }\n");
    Path out = tmp.resolve("soak");
    String m = org.splinewatch.TestTools.cli(2, "monitor", "bench-soak", "--steps", "100", "--config", conf.toString(),
        "--out", out.toString());
    assertEquals("error: config file " + conf + " sets splinewatch.run.hidden, which bench-soak sets itself (a"
        + " supervised 784-32-32-10 MLP, batch 32, on generated data; --steps and --snapshot-every for the run's length"
        + " and snapshot interval); expected other keys, e.g. splinewatch.retention\n(./monitor bench-soak --help"
        + " lists the options)", m.strip());
    assertFalse(Files.exists(out), "nothing written");
    java.util.Properties none = new java.util.Properties();
    Path retention = Files.writeString(tmp.resolve("retention.conf"), "splinewatch.retention.planes-keep-last = 10\n");
    assertEquals(null, BenchSoakCommand.setBySoak(retention.toFile(), none));
    // the same keys through JAVA_OPTS: -Dconfig.file and -Dsplinewatch.KEY lost to the soak's values without a word
    java.util.Properties viaFile = new java.util.Properties();
    viaFile.setProperty("config.file", conf.toString());
    assertEquals("config file " + conf + " (-Dconfig.file) sets splinewatch.run.hidden, which bench-soak sets itself"
        + " (a supervised 784-32-32-10 MLP, batch 32, on generated data; --steps and --snapshot-every for the run's"
        + " length and snapshot interval); expected other keys, e.g. splinewatch.retention",
        BenchSoakCommand.setBySoak(retention.toFile(), viaFile));
    java.util.Properties viaProperty = new java.util.Properties();
    viaProperty.setProperty("splinewatch.metrics.port", "9999");
    assertTrue(BenchSoakCommand.setBySoak(null, viaProperty).startsWith("the system property"
        + " -Dsplinewatch.metrics.port (JAVA_OPTS) sets splinewatch.metrics.port, which bench-soak sets itself"),
        "a property");
  }

  @Test
  void optionsOutOfRangeAreOneLineNamingValueAndRangeBeforeAnythingIsChecked() throws Exception {
    // --steps 3000000000 was accepted: a soak of months. An --out that holds a file is refused too, but only after the
    // ranges: that refusal (or, for a valid --out, the soak itself) is what ran before
    Path used = Files.createDirectories(tmp.resolve("used"));
    Files.writeString(used.resolve("notes.txt"), "keep");
    String[][] cases = {
        {"--steps", "3000000000", "--steps 3000000000 is out of range; expected 100 to 10000000 (the soak's training"
            + " steps; 10000000 take days at the rates measured)"},
        {"--steps", "99", "--steps 99 is out of range; expected 100 to 10000000 (the soak's training steps; 10000000"
            + " take days at the rates measured)"},
        {"--snapshot-every", "10001", "--snapshot-every 10001 is out of range; expected 1 to 10000 (half of --steps at"
            + " most: a snapshot in each half of the run)"},
        {"--every", "3601", "--every 3601 is out of range; expected 1 to 3600 (seconds between samples, an hour at"
            + " most)"},
        {"--every", "0", "--every 0 is out of range; expected 1 to 3600 (seconds between samples, an hour at most)"}};
    for (String[] c : cases) {
      String m = org.splinewatch.TestTools.cli(2, "monitor", "bench-soak", c[0], c[1], "--out", used.toString());
      assertEquals("error: " + c[2], m.lines().findFirst().orElseThrow(), m);
      assertEquals(2, m.strip().lines().count(), "the error and the --help hint: " + m);
    }
    try (var files = Files.list(used)) {
      assertEquals(1, files.count(), "nothing written");
    }
  }

  @Test
  void aSoakSamplesFromTheRunsStartAndRemovesItsTemporaryDirectory() {
    // 600 steps: 100 took under a second on an idle machine (243.8 steps/s in CI), one sample before the run's end
    String out = org.splinewatch.TestTools.cli(0, "monitor", "bench-soak", "--steps", "600", "--snapshot-every",
        "300", "--every", "1");
    Matcher m = Pattern.compile("run directory (\\S+)").matcher(out);
    assertTrue(m.find(), out);
    Path parent = Path.of(m.group(1)).getParent().getParent();
    assertTrue(parent.getFileName().toString().startsWith("splinewatch-soak"), out);
    assertFalse(Files.exists(parent), parent + " removed");
    assertTrue(out.contains("\n     0s "), "the first sample is the run's start: " + out);
    assertTrue(out.contains("after 600 of 600 steps") && out.strip().endsWith("removed (give --out DIR to keep"
        + " them)"), out);
    // the samples stop at the run's end: after it, the report was written and /metrics went away, and the last
    // samples (often '-' for /metrics, fewer fds) made the second half's growth that of a finished run
    List<String> lines = out.lines().toList();
    int ended = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).endsWith("s  the run ended (its training and analyses): no samples of its report and"
          + " shutdown")) {
        ended = i;
      }
    }
    assertTrue(ended > 0, out);
    List<String> rows = lines.stream().filter(l -> l.matches(" *\\d+s +\\d.*")).toList();
    assertTrue(rows.size() >= 2, out);
    for (String row : rows) {
      assertTrue(lines.indexOf(row) < ended, "a sample after the run's end: " + row + "\n" + out);
      assertFalse(row.strip().endsWith("-"), "/metrics is up while the run is: " + row + "\n" + out);
    }
  }

  @Test
  void aSampleStillBeingMeasuredWhenTheRunEndsIsLeftOut() throws Exception {
    BenchSoakCommand.Samples samples = new BenchSoakCommand.Samples();
    List<String> printed = new java.util.concurrent.CopyOnWriteArrayList<>();
    assertTrue(samples.add(point(0, 60, 140, 0, 1), () -> printed.add("row 0")));
    java.util.concurrent.CountDownLatch measuring = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch runEnded = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CompletableFuture<Boolean> late = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      measuring.countDown();
      try { // the measurement takes until after the run's end
        runEnded.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return samples.add(point(5, 50, 120, 9, -1), () -> printed.add("row 5"));
    });
    measuring.await();
    samples.end(() -> printed.add("ended"));
    samples.end(() -> printed.add("ended twice"));
    runEnded.countDown();
    assertFalse(late.get(), "measured partly after the run's end");
    assertFalse(samples.add(point(6, 50, 120, 9, -1), () -> printed.add("row 6")));
    assertEquals(List.of("row 0", "ended"), printed);
    assertEquals(1, samples.all().size());
    assertEquals(0, samples.all().get(0).seconds());
  }
}
