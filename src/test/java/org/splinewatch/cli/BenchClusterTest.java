package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./monitor bench-cluster}: the limits of its options, and its temporary files. */
class BenchClusterTest {
  private static String run(int expected, String... options) {
    String[] args = new String[options.length + 2];
    args[0] = "monitor";
    args[1] = "bench-cluster";
    System.arraycopy(options, 0, args, 2, options.length);
    return org.splinewatch.TestTools.cli(expected, args);
  }

  /** The line every bad argument ends with (it had none: bench-overhead and bench-soak printed it, this not). */
  private static final String HELP = "\n(./monitor bench-cluster --help lists the options)";

  @Test
  void maxNodesOutOfRangeNamesItsValueAndRange() {
    for (String n : new String[] {"0", "17"}) {
      assertEquals("error: --max-nodes " + n + " is out of range; expected 1 to 16 (the largest number of analyzer"
          + " nodes measured, each an actor system in this JVM)" + HELP, run(2, "--max-nodes", n).strip());
    }
    assertEquals("error: --snapshots 0 is out of range; expected 1 to 100000 (the snapshots per measurement, all"
        + " made before it and held in memory)" + HELP, run(2, "--snapshots", "0").strip());
    // the largest int: its count of snapshots to make wrapped to a negative one ('Index 0 out of bounds', exit 1)
    assertEquals("error: --snapshots 2147483647 is out of range; expected 1 to 100000 (the snapshots per measurement,"
        + " all made before it and held in memory)" + HELP, run(2, "--snapshots", "2147483647").strip());
    // refused before the analyzers are checked, as any range
    assertEquals("error: --rounds 2147483647 is out of range; expected 1 to 100 (rounds of --compare-tls)" + HELP,
        run(2, "--rounds", "2147483647", "--compare-tls", "--analyzers", "foo").strip());
  }

  /** An option of the other form was ignored: --rounds 3 measured the nodes once, --max-nodes did nothing to TLS. */
  @Test
  void anOptionOfTheOtherFormIsRefused() {
    assertEquals("error: --rounds is for --compare-tls; the scaling measurement (1, 2, ... --max-nodes analyzer nodes)"
        + " runs once: expected --compare-tls with --rounds, or no --rounds" + HELP, run(2, "--rounds", "3").strip());
    assertEquals("error: --max-nodes is not for --compare-tls, which measures one analyzer node; expected one of them"
        + HELP, run(2, "--compare-tls", "--max-nodes", "2").strip());
  }

  /**
   * --in-flight had no upper bound: 99999999 was taken and then refused as a network too large for the heap, naming
   * --hidden and --snapshots only.
   */
  @Test
  void inFlightIsBoundByTheSnapshotsAMeasurementSends() {
    for (String[] c : new String[][] {{"0"}, {"15"}, {"99999999"}, {"2147483647"}, {"103", "--snapshots", "100"}}) {
      String[] args = new String[c.length + 1];
      args[0] = "--in-flight";
      System.arraycopy(c, 0, args, 1, c.length);
      String max = c.length == 1 ? "14" : "102";
      assertEquals("error: --in-flight " + c[0] + " is out of range; expected 1 to " + max + " (the snapshots an"
          + " analyzer node holds at a time, at most the --snapshots + 2 a measurement sends)" + HELP,
          run(2, args).strip());
    }
    // in range, it is named among what to reduce when the snapshots do not fit the heap
    String many = run(2, "--hidden", "4096,4096", "--in-flight", "14");
    assertTrue(many.contains("expected narrower layers, fewer --snapshots, a smaller --in-flight or a larger heap")
        && many.endsWith(HELP.substring(1) + System.lineSeparator()), many);
  }

  @Test
  void aNetworkTooLargeForTheNodesOrTheHeapIsRefusedInOneLine() {
    String wide = run(2, "--hidden", "70000");
    assertEquals("error: --hidden 70000: a layer of 70000 units is wider than the nodes take (65536,"
        + " splinewatch.cluster.max-layer-width); expected narrower layers" + HELP, wide.strip());
    String big = run(2, "--hidden", "20000,20000");
    assertEquals("error: --hidden 20000,20000: a snapshot of this network is 1586 MiB, over the 128 MiB the nodes"
        + " take (splinewatch.cluster.max-snapshot-bytes); expected narrower layers" + HELP, big.strip());
    String many = run(2, "--hidden", "1024,1024", "--snapshots", "100000");
    assertTrue(many.startsWith("error: --hidden 1024,1024 with --snapshots 100000: 100010 snapshots of 7.1 MiB (made"
        + " in advance, and in flight on the nodes) need 711012 MiB, over half of this JVM")
        && many.contains("expected narrower layers, fewer --snapshots or a larger heap")
        && many.strip().lines().count() == 2 && many.strip().endsWith(HELP), many);
  }

  /** Also: numbers with a decimal point whatever the locale (a German one wrote '12,34 snapshots/s'). */
  @Test
  void itsTemporaryFilesAreRemovedAtTheEnd() {
    Locale before = Locale.getDefault();
    Locale.setDefault(Locale.GERMANY);
    String out;
    try {
      out = run(0, "--snapshots", "1", "--hidden", "16", "--max-nodes", "1", "--analyzers", "embedding");
    } finally {
      Locale.setDefault(before);
    }
    assertTrue(Pattern.compile("(?m)^1 analyzer node : \\d+\\.\\d\\d snapshots/s \\(\\d+ ms a snapshot\\)$")
        .matcher(out).find(), out);
    // where the CPU went: the one node's analysis thread did the embedding analysis, at a decimal point too
    Matcher cpu = Pattern.compile("(?m)^  CPU meanwhile: this process (\\d+\\.\\d\\d) cores \\(analysis"
        + " (\\d+\\.\\d\\d), gc \\d+\\.\\d\\d, jit \\d+\\.\\d\\d, other \\d+\\.\\d\\d\\), (\\d+\\.\\d\\d) core-s of"
        + " analysis a snapshot; the machine (\\d+ % busy|load unknown \\(no /proc/stat\\))$").matcher(out);
    assertTrue(cpu.find(), out);
    assertTrue(Double.parseDouble(cpu.group(2)) > 0 && Double.parseDouble(cpu.group(3)) > 0, out);
    assertTrue(Double.parseDouble(cpu.group(1)) >= Double.parseDouble(cpu.group(2)), out);
    Matcher m = Pattern.compile("the nodes' files: (\\S+) \\(removed at the end\\)").matcher(out);
    assertTrue(m.find(), out);
    assertTrue(out.contains("1 analyzer node : "), out);
    assertFalse(Files.exists(Path.of(m.group(1))), m.group(1) + " removed");
  }

  /** The analyzer nodes had a fixed 30 s to join; the line named no setting that raises it. */
  @Test
  @org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
  void analyzerNodesThatDoNotJoinAreNamedWithTheJoinTimeout() {
    com.typesafe.config.Config c = TrainCommand.load(java.util.Map.of("splinewatch.cluster.port", 0), null);
    var system = org.splinewatch.cluster.ClusterNode.start(
        org.apache.pekko.actor.typed.javadsl.Behaviors.empty(),
        org.splinewatch.cluster.ClusterSettings.fromConfig(c), java.util.List.of("trainer"), c);
    try {
      long t0 = System.nanoTime();
      var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
          () -> BenchClusterCommand.awaitWorkers(system, 2, java.time.Duration.ofMillis(500)));
      // a wait under a second in tenths, as MonitorLink.seconds shows the other waits (toSeconds() said "0 s")
      assertEquals("2 analyzer node(s) did not join the benchmark's cluster within 0.5 s"
          + " (splinewatch.cluster.join-timeout raises it, which a busy machine may need)", e.getMessage());
      assertTrue(System.nanoTime() - t0 < 20e9, "waited the given 0.5 s, not a fixed 30 s");
    } finally {
      system.terminate();
    }
  }

  /**
   * A signal's stop of the nodes that runs out of its wait leaves the nodes' directory whole, with one line naming the
   * node still stopping and the directory: the removal ran anyway, while that node could still write there, and left
   * part of it with 'could not remove the temporary directory' (or removed it with no word of a stop cut short).
   */
  @Test
  void aNodeStillStoppingWhenTheSignalsWaitEndsLeavesTheDirectoryWholeWithOneLine(@TempDir Path tmp)
      throws Exception {
    BenchClusterCommand bench = new BenchClusterCommand();
    bench.files = Files.createDirectories(tmp.resolve("splinewatch-bench-cluster1/nodes-1-1/bench"));
    Files.writeString(bench.files.resolve("metrics.jsonl"), "{}\n");
    bench.running.add(new BenchClusterCommand.Node("the metrics node", () -> { },
        CompletableFuture.completedFuture(null), false));
    // its stop returns when its own waits run out, while the node goes on writing
    bench.running.add(new BenchClusterCommand.Node("analyzer node 1", () -> { }, new CompletableFuture<Void>(),
        false));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertFalse(bench.stopNodesAtSignal(Duration.ofMillis(300), new PrintStream(err, true)));
    assertEquals("warning: analyzer node 1 had not stopped 0.3 s after the signal: the nodes' files are left in "
        + bench.files + " (remove it by hand)", err.toString().strip());
    assertTrue(Files.exists(bench.files.resolve("metrics.jsonl")));
    assertEquals("second SIGINT: exiting at once", bench.leftAtOnce("SIGINT"));
  }

  /** Nodes that have terminated within the wait let the directory be removed, without a word. */
  @Test
  void nodesStoppedWithinTheSignalsWaitLetTheDirectoryBeRemoved(@TempDir Path tmp) throws Exception {
    BenchClusterCommand bench = new BenchClusterCommand();
    bench.files = Files.createDirectories(tmp.resolve("splinewatch-bench-cluster2"));
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    bench.running.add(new BenchClusterCommand.Node("analyzer node 1", () -> stopped.complete(null), stopped, false));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertTrue(bench.stopNodesAtSignal(Duration.ofSeconds(10), new PrintStream(err, true)));
    assertEquals("", err.toString());
    assertTrue(stopped.isDone());
    assertEquals("second SIGINT: exiting at once; " + bench.files + " was being removed, what is left of it stays"
        + " (remove it by hand)", bench.leftAtOnce("SIGINT"));
    Files.delete(bench.files);
    assertEquals("second SIGINT: exiting at once (" + bench.files + " is removed)", bench.leftAtOnce("SIGINT"));
  }

  /**
   * A second signal while the nodes stop names the directory it leaves behind, and the stop under way removes nothing
   * afterwards: the halt takes a moment (seconds at idle priority on a loaded machine), and a removal begun meanwhile
   * would leave only part of what the line names.
   */
  @Test
  void aSecondSignalDuringTheStopLeavesTheDirectoryItNames(@TempDir Path tmp) throws Exception {
    BenchClusterCommand bench = new BenchClusterCommand();
    bench.files = Files.createDirectories(tmp.resolve("splinewatch-bench-cluster3"));
    assertEquals("second SIGINT: exiting at once without waiting for the nodes to stop; their files are left in "
        + bench.files + " (remove it by hand)", bench.leftAtOnce("SIGINT"));
    bench.running.add(new BenchClusterCommand.Node("analyzer node 1", () -> { },
        CompletableFuture.completedFuture(null), false));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertFalse(bench.stopNodesAtSignal(Duration.ofSeconds(10), new PrintStream(err, true)));
    assertEquals("", err.toString());
  }

  /**
   * At a signal the publishing node stops before the others: stopped all at once, an analyzer node that had closed its
   * run got chunks for it meanwhile and said so ('analyzer role rejected a message ... not open here').
   */
  @Test
  void theSignalsStopEndsThePublishingNodeBeforeTheOthers(@TempDir Path tmp) throws Exception {
    BenchClusterCommand bench = new BenchClusterCommand();
    bench.files = Files.createDirectories(tmp.resolve("splinewatch-bench-cluster4"));
    CompletableFuture<Void> publisherStopped = new CompletableFuture<>();
    CompletableFuture<Void> analyzerStopped = new CompletableFuture<>();
    java.util.List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    bench.running.add(new BenchClusterCommand.Node("analyzer node 1", () -> {
      order.add("analyzer stops, the publisher " + (publisherStopped.isDone() ? "stopped" : "still running"));
      analyzerStopped.complete(null);
    }, analyzerStopped, false));
    bench.running.add(new BenchClusterCommand.Node("the publishing node", () -> {
      Thread.sleep(300); // leaving the cluster
      order.add("publisher stopped");
      publisherStopped.complete(null);
    }, publisherStopped, true));
    assertTrue(bench.stopNodesAtSignal(Duration.ofSeconds(10), new PrintStream(new ByteArrayOutputStream(), true)));
    assertEquals(java.util.List.of("publisher stopped", "analyzer stops, the publisher stopped"), order);
  }
}
