package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * SIGTERM to {@code ./monitor bench-overhead} while a block trains in its own JVM: the block's JVM stops too instead
 * of training on, orphaned. Finished or stopped, bench-overhead leaves no directory of its blocks' runs in the
 * temporary directory (each run left about 12 MB there). With {@code --analysis-node}, the node it starts analyses
 * the monitored blocks and stops with it, at its end or at a SIGTERM.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BenchOverheadSignalIT {
  @TempDir
  Path tmp;

  @Test
  void sigtermStopsTheRunningBlocksJvmToo() throws Exception {
    Path log = tmp.resolve("bench.log");
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    Process p = startBench(javaTmp, log, "--steps", "1000000", "--warmup-steps", "10", "--rounds", "1");
    ProcessHandle block = null;
    try {
      for (int i = 0; i < 600 && block == null; i++) {
        assertTrue(p.isAlive(), "bench-overhead exited early: " + Files.readString(log));
        block = p.toHandle().children().findFirst().orElse(null);
        Thread.sleep(100);
      }
      assertTrue(block != null, "no block JVM started: " + Files.readString(log));
      Thread.sleep(5000); // let the block get going
      assertTrue(block.isAlive(), "the block's JVM exited by itself: " + Files.readString(log));
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running 60 s after SIGTERM: " + Files.readString(log));
      for (int i = 0; i < 100 && block.isAlive(); i++) {
        Thread.sleep(100);
      }
      assertFalse(block.isAlive(), "the block's JVM trains on after bench-overhead was stopped: "
          + Files.readString(log));
      assertTrue(Files.readString(log).contains("bench-overhead: interrupted; the running block was stopped"),
          Files.readString(log));
      assertTrue(benchDirs(javaTmp).isEmpty(), "left behind: " + benchDirs(javaTmp));
    } finally {
      if (block != null) {
        block.destroyForcibly();
      }
      p.destroyForcibly();
    }
  }

  @Test
  void aFinishedBenchmarkRemovesItsBlocksRuns() throws Exception {
    Path log = tmp.resolve("bench.log");
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    Process p = startBench(javaTmp, log, "--steps", "20", "--warmup-steps", "10", "--snapshot-every", "10", "--rounds",
        "1", "--analyzers", "embedding");
    try {
      boolean ended = p.waitFor(200, TimeUnit.SECONDS);
      String out = Files.readString(log);
      assertTrue(ended && p.exitValue() == 0, out);
      assertTrue(out.contains("whole blocks: median steps/s off"), out);
      assertTrue(benchDirs(javaTmp).isEmpty(), "left behind: " + benchDirs(javaTmp) + "\n" + out);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void anAnalysisNodeAnalysesTheMonitoredBlocksAndStopsWithTheBenchmark() throws Exception {
    Path log = tmp.resolve("bench.log");
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    Process p = startBench(javaTmp, log, "--steps", "20", "--warmup-steps", "10", "--snapshot-every", "10", "--rounds",
        "1", "--analyzers", "embedding", "--analysis-node");
    try {
      int[] most = {0};
      List<ProcessHandle> children = childrenWhileRunning(p, most);
      String out = Files.readString(log);
      assertTrue(p.exitValue() == 0, out);
      assertTrue(most[0] == 2, "expected the node's JVM beside each block's; at most " + most[0] + " at once: " + out);
      assertTrue(out.contains("analysed on a monitor serve node in its own JVM"), out);
      assertTrue(out.contains("analysis node: 127.0.0.1:"), out);
      // the monitored blocks' trainers counted their snapshots in the run directories the node wrote
      assertTrue(out.matches("(?s).*round 1  monitoring=true .*; analysed embedding [1-3]/3\n.*"), out);
      assertTrue(out.matches("(?s).*analysis node: peak RSS [1-9][0-9]* MiB over all blocks.*"), out);
      assertTrue(children.stream().noneMatch(ProcessHandle::isAlive), "the analysis node outlived the benchmark");
      assertTrue(benchDirs(javaTmp).isEmpty(), "left behind: " + benchDirs(javaTmp) + "\n" + out);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void sigtermStopsTheAnalysisNodeToo() throws Exception {
    Path log = tmp.resolve("bench.log");
    Process p = startBench(null, log, "--steps", "1000000", "--warmup-steps", "10", "--rounds", "1",
        "--analysis-node");
    List<ProcessHandle> children = List.of();
    try {
      for (int i = 0; i < 1200 && children.size() < 2; i++) { // the node, then the first block
        assertTrue(p.isAlive(), "bench-overhead exited early: " + Files.readString(log));
        children = p.toHandle().children().toList();
        Thread.sleep(100);
      }
      assertTrue(children.size() == 2, "no node and block JVMs: " + Files.readString(log));
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "still running 120 s after SIGTERM: " + Files.readString(log));
      for (int i = 0; i < 100 && children.stream().anyMatch(ProcessHandle::isAlive); i++) {
        Thread.sleep(100);
      }
      assertTrue(children.stream().noneMatch(ProcessHandle::isAlive), "the node or block JVM goes on after"
          + " bench-overhead was stopped: " + Files.readString(log));
    } finally {
      children.forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /**
   * The child processes seen while {@code p} runs (waits for its end); {@code most[0]} becomes the most seen at once:
   * 2 where a node ran beside a block. (Their command lines are not read: a JVM's, with the test classpath, is
   * longer than ProcessHandle reports.)
   */
  private static List<ProcessHandle> childrenWhileRunning(Process p, int[] most) throws InterruptedException {
    List<ProcessHandle> seen = new java.util.ArrayList<>();
    while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
      List<ProcessHandle> now = p.toHandle().children().toList();
      most[0] = Math.max(most[0], now.size());
      now.stream().filter(c -> !seen.contains(c)).forEach(seen::add);
    }
    return seen;
  }

  /**
   * Starts {@code monitor bench-overhead --method supervised} on synthetic data (1,100 test images: the default
   * {@code --probe-size} 1024 needs 1,024) with {@code args} after those, one thread for the native libraries, its
   * output to {@code log}; with {@code java.io.tmpdir} {@code javaTmp} where that is not null.
   */
  private Process startBench(Path javaTmp, Path log, String... args) throws java.io.IOException {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 1100, 3);
    List<String> benchArgs = new java.util.ArrayList<>(List.of("monitor", "bench-overhead", "--method", "supervised",
        "--data-dir", data.toString()));
    benchArgs.addAll(List.of(args));
    List<String> cmd = TestTools.mainCommand("-Xmx512m", benchArgs.toArray(String[]::new));
    ProcessBuilder pb = new ProcessBuilder(javaTmp == null ? cmd : withTmpDir(javaTmp, cmd)).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    return pb.start();
  }

  /** The command with {@code java.io.tmpdir} set (the blocks' JVMs inherit this JVM's options). */
  private static List<String> withTmpDir(Path dir, List<String> cmd) {
    List<String> withTmp = new java.util.ArrayList<>(cmd);
    withTmp.add(1, "-Djava.io.tmpdir=" + dir);
    return withTmp;
  }

  private static List<Path> benchDirs(Path dir) throws java.io.IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith("splinewatch-bench")).toList();
    }
  }
}
