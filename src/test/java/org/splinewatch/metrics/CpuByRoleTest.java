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
  void threadsAreToldApartByName() {
    assertEquals("training", CpuByRole.javaRole("splinewatch-splinewatch-trainer-dispatcher-7"));
    assertEquals("augmentation", CpuByRole.javaRole("splinewatch-augment"));
    assertEquals("analysis", CpuByRole.javaRole("splinewatch-splinewatch-analysis-dispatcher-6"));
    assertEquals("analysis", CpuByRole.javaRole("splinewatch-regions-1"));
    assertNull(CpuByRole.javaRole("splinewatch-pekko.actor.default-dispatcher-5"));
    assertEquals("jit", CpuByRole.jvmRole("C2 CompilerThre"));
    assertEquals("jit", CpuByRole.jvmRole("C1 CompilerThre"));
    assertEquals("gc", CpuByRole.jvmRole("GC Thread#1"));
    assertEquals("gc", CpuByRole.jvmRole("G1 Conc#0"));
    assertEquals("gc", CpuByRole.jvmRole("VM Thread"));
    assertNull(CpuByRole.jvmRole("java"));
  }

  @Test
  void aBusyTrainingThreadIsCountedAsTraining() throws InterruptedException {
    assumeTrue(ManagementFactory.getThreadMXBean().isThreadCpuTimeSupported(), "no thread CPU time here");
    CpuByRole before = CpuByRole.now();
    long[] sink = new long[1];
    Thread busy = new Thread(() -> {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
      long x = 0;
      while (System.nanoTime() < end) {
        x += x * 31 + 7;
      }
      sink[0] = x;
    }, "splinewatch-splinewatch-trainer-dispatcher-99");
    busy.start();
    // measured while the thread still lives: an ended thread's time moves to "other"
    Thread.sleep(250);
    CpuByRole during = CpuByRole.now();
    busy.join();
    CpuByRole used = during.since(before);
    assertTrue(used.get("training") >= 0.05, "training CPU " + used.get("training") + " s, sink " + sink[0]);
    double sum = CpuByRole.ROLES.stream().mapToDouble(during::get).sum();
    double total = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
    // the roles partition the process's CPU time (other is the remainder), measured a moment apart
    assertTrue(sum <= total + 0.05 && sum >= total - 0.5, "roles " + sum + " s, process " + total + " s");
  }

  @Test
  void aThreadThatReportsItsEndStaysCounted() throws InterruptedException {
    assumeTrue(ManagementFactory.getThreadMXBean().isThreadCpuTimeSupported(), "no thread CPU time here");
    CpuByRole before = CpuByRole.now();
    Thread t = new Thread(() -> {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
      long x = 1;
      while (System.nanoTime() < end) {
        x ^= x << 13;
      }
      CpuByRole.threadEnding("augmentation");
      CpuByRole.threadEnding("augmentation"); // a second report of the same thread adds nothing
      if (x == 42) {
        System.out.println(x);
      }
    }, "splinewatch-augment");
    t.start();
    t.join();
    double counted = CpuByRole.now().since(before).get("augmentation");
    assertTrue(counted >= 0.1 && counted < 0.5, "augmentation CPU after the thread ended: " + counted + " s");
    assertThrows(IllegalArgumentException.class, () -> CpuByRole.threadEnding("augmentations"));
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
