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
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 1100, 3); // the default --probe-size 1024 needs 1,024 test images
    Path log = tmp.resolve("bench.log");
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    ProcessBuilder pb = new ProcessBuilder(withTmpDir(javaTmp, TestTools.mainCommand("-Xmx512m", "monitor",
        "bench-overhead", "--method", "supervised", "--data-dir", data.toString(), "--steps", "1000000",
        "--warmup-steps", "10", "--rounds", "1"))).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
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
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 1100, 3);
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    ProcessBuilder pb = new ProcessBuilder(withTmpDir(javaTmp, TestTools.mainCommand("-Xmx512m", "monitor",
        "bench-overhead", "--method", "supervised", "--data-dir", data.toString(), "--steps", "20",
        "--warmup-steps", "10", "--snapshot-every", "10", "--rounds", "1", "--analyzers", "embedding")))
        .redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(p.waitFor(200, TimeUnit.SECONDS) && p.exitValue() == 0, out);
      assertTrue(out.contains("whole blocks: median steps/s off"), out);
      assertTrue(benchDirs(javaTmp).isEmpty(), "left behind: " + benchDirs(javaTmp) + "\n" + out);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void anAnalysisNodeAnalysesTheMonitoredBlocksAndStopsWithTheBenchmark() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 1100, 3);
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    ProcessBuilder pb = new ProcessBuilder(withTmpDir(javaTmp, TestTools.mainCommand("-Xmx512m", "monitor",
        "bench-overhead", "--method", "supervised", "--data-dir", data.toString(), "--steps", "20",
        "--warmup-steps", "10", "--snapshot-every", "10", "--rounds", "1", "--analyzers", "embedding",
        "--analysis-node"))).redirectErrorStream(true).redirectOutput(tmp.resolve("bench.log").toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    try {
      int[] most = {0};
      List<ProcessHandle> children = childrenWhileRunning(p, most);
      String out = Files.readString(tmp.resolve("bench.log"));
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
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 1100, 3);
    Path log = tmp.resolve("bench.log");
    ProcessBuilder pb = new ProcessBuilder(TestTools.mainCommand("-Xmx512m", "monitor", "bench-overhead", "--method",
        "supervised", "--data-dir", data.toString(), "--steps", "1000000", "--warmup-steps", "10", "--rounds", "1",
        "--analysis-node")).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
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
