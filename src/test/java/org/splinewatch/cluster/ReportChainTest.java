package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A stopping node's wait for its reports: bounded by what it is given (splinewatch.cluster.finish-timeout), and when
 * it runs out it names the runs whose report is not written (the node's line said "a run's report", which one not).
 */
class ReportChainTest {

  @Test
  void aWaitThatRunsOutNamesTheRunsStillBeingWrittenOnceAndDoesNotWaitAgain() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try {
      ReportChain chain = new ReportChain(dir -> {
        if (dir.getFileName().toString().equals("slow")) {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      chain.write(Path.of("runs", "quick"), executor).get(10, TimeUnit.SECONDS);
      chain.write(Path.of("runs", "slow"), executor);
      chain.write(Path.of("runs", "after"), executor);
      assertEquals(List.of("slow", "after"), chain.awaitWritten(Duration.ofMillis(200)));
      long t0 = System.nanoTime();
      assertEquals(List.of(), chain.awaitWritten(Duration.ofSeconds(30)), "each run named by one wait");
      assertTrue(System.nanoTime() - t0 < 5e9, "a stop waits once");
      assertEquals("stopping with the report of run(s) slow, after still being written after 0.2 s"
          + " (splinewatch.cluster.finish-timeout raises it); their report.html may be missing or incomplete"
          + " (./monitor report RUN_DIR writes it)", MetricsNode.reportsNotWritten(List.of("slow", "after"),
          Duration.ofMillis(200)));
      release.countDown();
      chain.last().get(10, TimeUnit.SECONDS);
    } finally {
      release.countDown();
      executor.shutdownNow();
    }
  }

  @Test
  void aWaitForWrittenReportsNamesNone() throws Exception {
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try {
      ReportChain chain = new ReportChain(dir -> { });
      chain.write(Path.of("runs", "a"), executor);
      assertEquals(List.of(), chain.awaitWritten(Duration.ofSeconds(10)));
    } finally {
      executor.shutdownNow();
    }
  }
}
