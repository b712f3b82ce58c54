package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/**
 * SIGTERM to {@code ./monitor bench-cluster} while its analyzer node writes embedding views into the temporary
 * directory: the directory is removed all the same. The removal ran while the node still wrote, so a file written
 * meanwhile left {@code nodes-1-1/bench/embeddings} behind with a warning (in about half the runs on a loaded 2-core
 * machine). A small network with only the embedding analyzer writes a view every few milliseconds, which makes the
 * race likely.
 */
@Timeout(value = 150, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BenchClusterSignalIT {
  @TempDir
  Path tmp;

  @Test
  void sigtermWhileTheNodesWriteRemovesTheTemporaryDirectory() throws Exception {
    Path log = tmp.resolve("bench.log");
    Path javaTmp = Files.createDirectory(tmp.resolve("java-tmp"));
    List<String> cmd = TestTools.mainCommand("-Xmx640m", "monitor", "bench-cluster", "--snapshots", "1000",
        "--hidden", "16", "--analyzers", "embedding", "--max-nodes", "1");
    cmd.add(1, "-Djava.io.tmpdir=" + javaTmp);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    try {
      Path views = null;
      for (int i = 0; i < 1200 && (views == null || files(views) < 10); i++) {
        assertTrue(p.isAlive(), "bench-cluster exited early: " + Files.readString(log));
        List<Path> dirs = benchDirs(javaTmp);
        views = dirs.isEmpty() ? null : dirs.get(0).resolve("nodes-1-1/bench/embeddings");
        Thread.sleep(100);
      }
      assertTrue(views != null && files(views) >= 10, "no embedding views written: " + Files.readString(log));
      long t0 = System.nanoTime();
      p.destroy(); // SIGTERM while the node writes its views
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running 60 s after SIGTERM: " + Files.readString(log));
      double seconds = (System.nanoTime() - t0) / 1e9;
      String out = Files.readString(log);
      assertEquals(143, p.exitValue(), out);
      assertFalse(out.contains("warning") || out.contains("error") || out.contains("Exception"), out);
      assertTrue(out.strip().endsWith("(removed at the end)"), out);
      assertTrue(benchDirs(javaTmp).isEmpty(), "left behind: " + benchDirs(javaTmp) + "\n" + out);
      assertTrue(seconds < 30, "took " + seconds + " s to exit after SIGTERM");
    } finally {
      p.destroyForcibly();
    }
  }

  private static long files(Path dir) throws java.io.IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  private static List<Path> benchDirs(Path dir) throws java.io.IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().startsWith("splinewatch-bench-cluster")).toList();
    }
  }
}
