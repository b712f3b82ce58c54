package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * SIGTERM to {@code ./monitor bench-overhead} while a block trains in its own JVM: the block's JVM stops too instead
 * of training on, orphaned.
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
    ProcessBuilder pb = new ProcessBuilder(TestTools.mainCommand("-Xmx512m", "monitor", "bench-overhead",
        "--method", "supervised", "--data-dir", data.toString(), "--steps", "100000000", "--warmup-steps", "10",
        "--rounds", "1")).redirectErrorStream(true).redirectOutput(log.toFile());
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
    } finally {
      if (block != null) {
        block.destroyForcibly();
      }
      p.destroyForcibly();
    }
  }
}
