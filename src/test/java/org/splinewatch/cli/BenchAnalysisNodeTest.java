package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The analysis node of {@code bench-overhead --analysis-node}, started as a real process: a shell that prints what
 * a {@code monitor serve} prints (or fails as one does) stands in for the JVM, which {@code BenchAnalysisNodeIT}
 * starts for real.
 */
class BenchAnalysisNodeTest {
  /** A command that prints {@code script}'s lines and then behaves as it says; "monitor serve ..." come after. */
  private static List<String> shell(String script) {
    return List.of("sh", "-c", script, "sh");
  }

  @Test
  void theNodesClusterAddressAndSchedulingLineComeFromItsBanner(@TempDir Path dir) throws Exception {
    try (BenchAnalysisNode node = BenchAnalysisNode.start(shell("echo 'splinewatch monitor: cluster node"
        + " 127.0.0.1:40123 (roles analyzer, metrics; first node)'; sleep 0.2; echo '  scheduling: analyzers at idle"
        + " priority'; exec sleep 60"), dir)) {
      assertEquals("127.0.0.1:40123", node.address());
      assertEquals("scheduling: analyzers at idle priority", node.scheduling());
      assertTrue(node.peakResident() > 0, "a running process has a resident high-water mark in /proc");
    }
  }

  @Test
  void aNodeThatExitsBeforeItsBannerIsOneLineWithItsError(@TempDir Path dir) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> BenchAnalysisNode.start(
        shell("echo 'WARNING: Using incubator modules'; echo 'error: --port 0: address in use'; echo '(advice)';"
            + " exit 1"), dir));
    assertEquals("the analysis node (monitor serve) exited before it started: error: --port 0: address in use",
        e.getMessage());
  }

  @Test
  void closingStopsTheNode(@TempDir Path dir) throws Exception {
    BenchAnalysisNode node = BenchAnalysisNode.start(shell("echo 'splinewatch monitor: cluster node 127.0.0.1:1"
        + " (roles analyzer)'; exec sleep 600"), dir);
    ProcessHandle handle = node.handle();
    assertTrue(handle.isAlive());
    node.close();
    assertFalse(handle.isAlive(), "the node outlived the benchmark");
  }

  @Test
  void thePeakResidentMemoryIsTheKernelsHighWaterMark(@TempDir Path dir) throws Exception {
    Path status = dir.resolve("status");
    Files.writeString(status, "Name:\tjava\nVmPeak:\t 9000000 kB\nVmHWM:\t  812344 kB\nVmRSS:\t  700000 kB\n");
    assertEquals(812344L * 1024, BenchAnalysisNode.peakResident(status));
    Files.writeString(status, "Name:\tjava\n");
    assertEquals(-1, BenchAnalysisNode.peakResident(status));
    assertEquals(-1, BenchAnalysisNode.peakResident(dir.resolve("gone")));
    assertTrue(BenchAnalysisNode.peakResident(Path.of("/proc/self/status")) > 0, "this JVM's own, from the kernel");
  }

  @Test
  void aNodeThatUsesNoCpuIsQuietAfterASecond(@TempDir Path dir) throws Exception {
    try (BenchAnalysisNode idle = BenchAnalysisNode.start(shell("echo 'splinewatch monitor: cluster node 127.0.0.1:1"
        + " (roles analyzer)'; exec sleep 600"), dir)) {
      double waited = idle.awaitQuiet();
      assertTrue(waited >= 1 && waited < 10, "waited " + waited + " s for a sleeping process");
    }
    Path stat = dir.resolve("stat");
    // a name with spaces and parentheses, then state, ppid, ...: utime 250 and stime 30 ticks are fields 14 and 15
    Files.writeString(stat, "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 40 0 1\n");
    assertEquals(2.8, BenchAnalysisNode.cpuSeconds(stat), 1e-9);
    assertEquals(-1, BenchAnalysisNode.cpuSeconds(dir.resolve("gone")));
    assertTrue(BenchAnalysisNode.cpuSeconds(Path.of("/proc/self/stat")) > 0, "this JVM has used CPU");
  }
}
