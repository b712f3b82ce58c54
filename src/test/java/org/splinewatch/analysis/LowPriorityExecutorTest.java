package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Analysis threads really run at idle priority: the kernel's view of the thread, read back from /proc. */
class LowPriorityExecutorTest {
  @Test
  void analysisThreadsRunUnderSchedIdle() throws Exception {
    Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/thread-self")), "Linux only");
    CompletableFuture<String[]> seen = new CompletableFuture<>();
    var pool = Executors.newSingleThreadExecutor(LowPriorityExecutor.lowPriority(Executors.defaultThreadFactory()));
    try {
      pool.submit(() -> {
        try {
          // /proc/thread-self/stat: field 19 is nice, field 41 the scheduling policy (5 = SCHED_IDLE)
          String stat = Files.readString(Path.of("/proc/thread-self/stat"));
          seen.complete(stat.substring(stat.lastIndexOf(')') + 2).split(" "));
        } catch (Exception e) {
          seen.completeExceptionally(e);
        }
      });
      String[] f = seen.get();
      // fields after "(comm) " start at field 3
      int policy = Integer.parseInt(f[41 - 3]);
      int nice = Integer.parseInt(f[19 - 3]);
      if (org.splinewatch.TestTools.installed("chrt")) {
        assertEquals(5, policy, "SCHED_IDLE");
      } else {
        assertTrue(nice == LowPriorityExecutor.NICE || policy == 5, "nice " + nice + ", policy " + policy);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
