package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.RetentionSettings;

/**
 * {@code monitor serve}: the report of a finished run (seconds for a long one: it reads every sample) is written off
 * the metrics node, so that other runs register and end meanwhile; reports are written one after another, and a
 * run's end is answered once its report is written.
 */
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class MetricsNodeReportTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private MetricsNode.Registered register(ActorRef<MetricsNode.Command> node, String run) {
    // a node busy with a report answered nothing until it was written (a million steps: 14 s; the ask waits 30 s)
    return MetricsNodeRuns.register(testKit, node, run, Duration.ofSeconds(10));
  }

  @Test
  void aLongReportDoesNotHoldUpOtherRuns(@TempDir Path out) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CountDownLatch longReport = new CountDownLatch(1);
    List<String> written = new CopyOnWriteArrayList<>();
    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL, m -> false, dir -> {
          if (dir.getFileName().toString().equals("long")) {
            try {
              assertTrue(longReport.await(60, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          }
          written.add(dir.getFileName().toString());
        }));
    TestProbe<Done> longEnd = testKit.createTestProbe();
    TestProbe<Done> nextEnd = testKit.createTestProbe();
    try {
      String longToken = register(node, "long").token();
      node.tell(new MetricsNode.RunFinished("long", Map.of("type", "run_finished"), longEnd.ref(), longToken));
      // while the long run's report is written: another run registers, and ends
      String nextToken = register(node, "next").token();
      node.tell(new MetricsNode.RunFinished("next", Map.of("type", "run_finished"), nextEnd.ref(), nextToken));
      longEnd.expectNoMessage(Duration.ofMillis(300)); // answered once the report is written, as before
      nextEnd.expectNoMessage(Duration.ofMillis(100)); // its report waits for the one being written
      assertTrue(written.isEmpty(), written.toString());
      // the end is recorded as the node takes it, while the long report is still held; only the report waits (read
      // once the node has taken it, which a loaded machine may delay past the windows above)
      java.nio.file.Path events = out.resolve("next").resolve("events.jsonl");
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (!java.nio.file.Files.readString(events).contains("run_finished") && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(java.nio.file.Files.readString(events).contains("run_finished"), "the end is recorded at once");
      assertTrue(written.isEmpty(), "only the report waits: " + written);
    } finally {
      longReport.countDown();
    }
    longEnd.receiveMessage(Duration.ofSeconds(20));
    nextEnd.receiveMessage(Duration.ofSeconds(20));
    assertEquals(List.of("long", "next"), waitFor(written, 2));
  }

  @Test
  void aStoppingNodeWaitsForTheReportBeingWritten(@TempDir Path out) throws Exception {
    // the monitor stopping right after a run ended: the report, written off the node, was still being written into
    // the run directory after the node (and MonitorServer.close()) had returned
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CountDownLatch started = new CountDownLatch(1);
    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL, m -> false, dir -> {
          started.countDown();
          try {
            Thread.sleep(1500); // a long run's report: seconds
            Files.writeString(dir.resolve("report.html"), "written");
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
    String token = register(node, "late").token();
    node.tell(new MetricsNode.RunFinished("late", Map.of("type", "run_finished"),
        testKit.<Done>createTestProbe().ref(), token));
    assertTrue(started.await(20, TimeUnit.SECONDS));
    testKit.stop(node, Duration.ofSeconds(30));
    assertTrue(Files.isRegularFile(out.resolve("late").resolve("report.html")),
        "the node stopped while the report of run 'late' was still being written");
  }

  private static List<String> waitFor(List<String> written, int n) throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (written.size() < n && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    return List.copyOf(written);
  }
}
