package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class IdleGcThreadsTest {
  /** The scheduling policy of a thread of this process: field 41 of /proc/self/task/TID/stat (5: SCHED_IDLE). */
  private static int policy(Path task) throws Exception {
    String stat = Files.readString(task.resolve("stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(f[41 - 3]);
  }

  @Test
  void theEnvironmentSwitchIsUnsetOrNormalAndAnythingElseIsAOneLineError() {
    assertEquals(false, IdleGcThreads.normalPriority(null));
    assertEquals(false, IdleGcThreads.normalPriority(""));
    assertEquals(true, IdleGcThreads.normalPriority("normal"));
    for (String typo : new String[] {"Normal", "off", "idle "}) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> IdleGcThreads.normalPriority(typo));
      assertEquals("SPLINEWATCH_GC_PRIORITY='" + typo + "' is not normal; expected normal (the GC's concurrent"
          + " threads at normal priority) or unset (idle priority, the default)", e.getMessage());
    }
  }

  @Test
  void g1ConcurrentThreadsGoIdleAndStopTheWorldWorkersDoNot() throws Exception {
    Path tasks = Path.of("/proc/self/task");
    assumeTrue(Files.isDirectory(tasks), "Linux only");
    // under chrt --idle (a build run at idle priority) every thread of the JVM starts SCHED_IDLE: nothing to tell apart
    assumeTrue(policy(Path.of("/proc/thread-self")) == 0, "the tests run at idle priority (chrt --idle)");
    byte[][] churn = new byte[64][];
    for (int i = 0; i < 4096; i++) {
      churn[i % 64] = new byte[64 * 1024]; // young collections start G1's refinement threads
    }
    IdleGcThreads threads = new IdleGcThreads(Duration.ofSeconds(1));
    threads.scan();
    Map<String, String> got = threads.policies();
    assumeTrue(!got.isEmpty(), "not G1: " + got);
    List<String> idle = new ArrayList<>();
    List<String> normal = new ArrayList<>();
    try (Stream<Path> list = Files.list(tasks)) {
      for (Path task : list.toList()) {
        String name = Files.readString(task.resolve("comm")).trim();
        if (IdleGcThreads.CONCURRENT.stream().anyMatch(name::startsWith)) {
          (policy(task) == 5 ? idle : normal).add(name);
        } else if (name.startsWith("GC Thread#")) {
          assertEquals(0, policy(task), name + " (stop-the-world) keeps SCHED_OTHER");
        }
      }
    }
    assumeTrue(got.values().stream().allMatch("idle"::equals), "chrt missing: " + got);
    assertTrue(normal.isEmpty(), "left at normal priority: " + normal);
    assertTrue(idle.contains("G1 Service") || idle.stream().anyMatch(n -> n.startsWith("G1 ")), idle.toString());
    assertEquals(got.keySet(), new java.util.HashSet<>(idle), "every concurrent thread reported");
  }
}
