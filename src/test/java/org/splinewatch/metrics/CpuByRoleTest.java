package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CpuByRoleTest {
  @Test
  void statTicksAreUtimePlusStimeEvenWithParenthesesInTheName() {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    String stat = "4242 (C2 (Compiler) x) S 1 4242 4242 0 -1 4194368 100 0 0 0 1234 56 0 0 20 0 30 0";
    assertEquals(1290, CpuByRole.statTicks(stat));
  }

  @Test
  void theJvmsOwnThreadsAreToldApartByTheirLinuxName() {
    assertEquals("jit", CpuByRole.jvmRole("C2 CompilerThre"));
    assertEquals("jit", CpuByRole.jvmRole("C1 CompilerThre"));
    assertEquals("gc", CpuByRole.jvmRole("GC Thread#1"));
    assertEquals("gc", CpuByRole.jvmRole("G1 Conc#0"));
    assertEquals("gc", CpuByRole.jvmRole("VM Thread"));
    assertNull(CpuByRole.jvmRole("java"));
    assertNull(CpuByRole.jvmRole("splinewatch-spl"));
  }

  /**
   * Burns {@code millis} of this thread's own CPU time. Counted in CPU time, not wall time: on a loaded
   * 2-core CI machine a wall-clock loop of 200 ms got only 94 ms of CPU, and the bounds below failed.
   */
  private static long burn(long millis) {
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long end = threads.getCurrentThreadCpuTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    long x = 1;
    while (threads.getCurrentThreadCpuTime() < end) {
      for (int i = 0; i < 1000; i++) {
        x ^= x << 13;
        x ^= x >>> 7;
      }
    }
    return x;
  }

  @Test
  void aRegisteredThreadCountsWhileItLivesAndAfterItReportsItsEnd() throws InterruptedException {
    assumeTrue(ManagementFactory.getThreadMXBean().isThreadCpuTimeSupported(), "no thread CPU time here");
    CpuByRole before = CpuByRole.now();
    CountDownLatch burnt = new CountDownLatch(1);
    CountDownLatch measured = new CountDownLatch(1);
    long[] sink = new long[1];
    Thread t = new Thread(() -> {
      CpuByRole.register("training");
      sink[0] = burn(200);
      burnt.countDown();
      try {
        measured.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      CpuByRole.threadEnding();
    });
    t.start();
    assertTrue(burnt.await(10, TimeUnit.SECONDS));
    double living = CpuByRole.now().since(before).get("training");
    measured.countDown();
    t.join();
    double ended = CpuByRole.now().since(before).get("training");
    assertTrue(living >= 0.1 && living < 0.6, "training CPU while the thread lives: " + living + " s " + sink[0]);
    assertTrue(ended >= living && ended < living + 0.1, "after it ended: " + ended + " s, before " + living + " s");
    assertTrue(CpuByRole.now().since(before).get("augmentation") < 0.05, "nothing else was registered");
    assertThrows(IllegalArgumentException.class, () -> CpuByRole.register("jit"), "the JVM's own roles are found");
  }

  @Test
  void endedThreadsLeaveTheRegistryAndKeepTheirTime() throws InterruptedException {
    assumeTrue(ManagementFactory.getThreadMXBean().isThreadCpuTimeSupported(), "no thread CPU time here");
    int living = CpuByRole.livingRegistered();
    CpuByRole before = CpuByRole.now();
    long[] sink = new long[1];
    for (int i = 0; i < 50; i++) { // a long monitor serve: many runs' analysis threads come and go
      Thread t = new Thread(() -> {
        CpuByRole.register("analysis");
        sink[0] ^= burn(4);
        CpuByRole.threadEnding();
      });
      t.start();
      t.join();
    }
    Thread killed = new Thread(() -> CpuByRole.register("analysis")); // ends without its report
    killed.start();
    killed.join();
    double analysis = CpuByRole.now().since(before).get("analysis");
    assertTrue(CpuByRole.livingRegistered() <= living, "registered threads left after they ended: "
        + CpuByRole.livingRegistered() + ", before " + living);
    assertTrue(analysis >= 0.15 && analysis < 0.6, "50 ended threads of about 4 ms each: " + analysis + " s " + sink[0]);
  }

  @Test
  void theRolesPartitionTheProcesssTime() {
    CpuByRole cpu = CpuByRole.now();
    double sum = CpuByRole.ROLES.stream().mapToDouble(cpu::get).sum();
    double total = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
    // other is the remainder, so the roles add up to the process's time (read a moment later)
    assertTrue(sum <= total + 0.01 && sum >= total - 0.5, "roles " + sum + " s, process " + total + " s");
  }

  @Test
  void theJvmsCompilerThreadsAreFoundOnLinux() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "not Linux");
    // this JVM has compiled the test framework by now
    assertTrue(CpuByRole.now().get("jit") > 0, "no JIT compiler CPU found in /proc/self/task");
  }

  @Test
  void theEventRoundTripsAndTheLineNamesEveryRole() {
    CpuByRole cpu = CpuByRole.fromEvent(Map.of("training", 35.12, "jit", 24.0, "gc", 1.1));
    assertEquals(0.0, cpu.get("analysis"));
    assertEquals(Map.of("training", 35.12, "augmentation", 0.0, "analysis", 0.0, "jit", 24.0, "gc", 1.1,
        "other", 0.0), cpu.toEvent());
    assertEquals("CPU: training 35.1 s, augmentation 0.0 s, analysis 0.0 s, JIT compilers 24.0 s, GC 1.1 s,"
        + " other 0.0 s", cpu.describe());
    assertEquals(1.0, CpuByRole.fromEvent(Map.of("jit", 25.0)).since(cpu).get("jit"), 1e-9);
  }
}
