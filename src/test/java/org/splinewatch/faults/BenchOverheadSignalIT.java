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
 * temporary directory (each run left about 12 MB there).
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
