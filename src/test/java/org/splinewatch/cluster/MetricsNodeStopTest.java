package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import com.typesafe.config.ConfigFactory;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.TrainerActor;

/**
 * A trainer whose node leaves while the metrics node runs has its run marked failed there; when the metrics node is
 * the one stopping (a signal, or downed), its trainers go on and own their runs' ends, so their directories on the
 * node stay without {@code run_finished} instead of blaming the trainer (FAILURES.md, "SIGTERM and SIGINT").
 */
class MetricsNodeStopTest {
  private static ActorRef<MetricsNode.Command> register(ActorTestKit kit, Path out, String run,
      TestProbe<TrainerActor.Command> trainer) {
    return register(kit, out, run, trainer, new RunControl()).node();
  }

  /** Early stop in process and through the control endpoint, on std_collapse. */
  private static final AlertSettings STOP_ON_STD = AlertSettings.fromConfig(ConfigFactory.parseMap(Map.of(
      "splinewatch.alerts.stop-on", List.of("std_collapse"), "splinewatch.alerts.early-stop", "stop"))
      .withFallback(ConfigFactory.load()));

  private record Registration(ActorRef<MetricsNode.Command> node, String token, PrometheusMeterRegistry registry,
      ActorRef<MetricsActor.Command> metrics) {
    /** How many messages the node refused for {@code reason}. */
    double rejected(String reason) {
      var c = registry.find(MetricFamily.CLUSTER_REJECTED_TOTAL.meterName()).tag("reason", reason).counter();
      return c == null ? 0 : c.count();
    }

    /** The run's {@code splinewatch_run_active} (NaN before its metrics actor registered it). */
    double active(String run) {
      var g = registry.find(MetricFamily.RUN_ACTIVE.meterName()).tag("run", run).gauge();
      return g == null ? Double.NaN : g.value();
    }
  }

  private static Registration register(ActorTestKit kit, Path out, String run, TestProbe<TrainerActor.Command> trainer,
      RunControl control) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsNode.Command> node = kit.spawn(MetricsNode.create(registry, out, control, "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL));
    TestProbe<AlertRaised> alerts = kit.createTestProbe();
    TestProbe<MetricsNode.Registered> reply = kit.createTestProbe();
    node.tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", run), 10, STOP_ON_STD, trainer.ref(), alerts.ref(),
        reply.ref(), "fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef"));
    MetricsNode.Registered registered = reply.receiveMessage(PROBE_WAIT);
    assertNull(registered.error());
    return new Registration(node, registered.token(), registry, registered.metrics());
  }

  /**
   * A run registered on a monitor has its analyzers' drop and failure counters at 0 from the start, read from its
   * config's {@code settings.analyzers}; a name that is no analyzer makes no series.
   */
  @Test
  void aRegisteredRunsAnalyzerCountersStartAtZero(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      ActorRef<MetricsNode.Command> node = kit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
          new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL));
      TestProbe<MetricsNode.Registered> reply = kit.createTestProbe();
      node.tell(new MetricsNode.RegisterRun("counted", Map.of("run", "counted", "method", "simclr", "dataset",
          "mnist"), Map.of("run_id", "counted", "settings", Map.of("analyzers", List.of("embedding", "no-such"))), 10,
          STOP_ON_STD, kit.<TrainerActor.Command>createTestProbe().ref(), kit.<AlertRaised>createTestProbe().ref(),
          reply.ref(), "fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef"));
      assertNull(reply.receiveMessage(PROBE_WAIT).error());
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (registry.find(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.meterName()).tag("analyzer", "embedding")
          .counter() == null && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      for (MetricFamily family : List.of(MetricFamily.SNAPSHOTS_DROPPED_TOTAL, MetricFamily.ANALYSIS_FAILURES_TOTAL)) {
        var embedding = registry.find(family.meterName()).tags("run", "counted", "analyzer", "embedding").counter();
        assertEquals(0.0, embedding == null ? Double.NaN : embedding.count(), family.id());
        assertNull(registry.find(family.meterName()).tag("analyzer", "no-such").counter(), family.id());
      }
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aRunWhoseTrainingEndedRefusesStopsWhileItsAnalysesDrain(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      RunControl control = new RunControl();
      TestProbe<TrainerActor.Command> trainer = kit.createTestProbe();
      Registration r = register(kit, out, "draining", trainer, control);
      assertNull(control.refusal("draining", "std_collapse"), "a training run can be stopped");
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (r.active("draining") != 1 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(1.0, r.active("draining"), "a registered run is active");
      // neither a peer without the run's token, nor a negative step, nor the token for another run ends its training
      r.node().tell(new MetricsNode.TrainingEnded("draining", 100, "0123456789abcdef0123456789abcdef"));
      r.node().tell(new MetricsNode.TrainingEnded("draining", -1, r.token()));
      r.node().tell(new MetricsNode.TrainingEnded("nobody", 300, r.token()));
      while (r.rejected("not_owner") + r.rejected("bad_event") + r.rejected("unknown_run") < 3
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(List.of(1.0, 1.0, 1.0), List.of(r.rejected("not_owner"), r.rejected("bad_event"),
          r.rejected("unknown_run")));
      assertNull(control.refusal("draining", "std_collapse"), "still training as far as the monitor knows");
      assertEquals(1.0, r.active("draining"), "still active: no valid TrainingEnded yet");
      r.node().tell(new MetricsNode.TrainingEnded("draining", 200, r.token()));
      while (control.refusal("draining", "std_collapse") == null && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals("run 'draining' finished training at step 200; nothing to stop",
          control.refusal("draining", "std_collapse"));
      assertTrue(control.isLive("draining"), "still registered: its analyses drain");
      while (r.active("draining") != 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertEquals(0.0, r.active("draining"), "no longer active once its training ended: Prometheus rules are quiet");
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static String events(Path out, String run) throws Exception {
    Path f = out.resolve(run).resolve("events.jsonl");
    return Files.exists(f) ? Files.readString(f) : "";
  }

  @Test
  void aTrainerThatLeavesWhileTheNodeRunsHasItsRunMarkedFailed(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      TestProbe<TrainerActor.Command> trainer = kit.createTestProbe();
      register(kit, out, "gone", trainer);
      trainer.stop();
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!events(out, "gone").contains("run_finished") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String events = events(out, "gone");
      assertTrue(events.contains("\"status\":\"failed\"") && events.contains("left the cluster"), events);
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * The failed run's run_finished records the last step its trainer published (as every other run_finished does):
   * without it the live page listed a trainer killed at step 300 as "failed at step 0", and its report said so.
   */
  @Test
  void aRunMarkedFailedRecordsTheLastStepItsTrainerPublished(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    try {
      TestProbe<TrainerActor.Command> trainer = kit.createTestProbe();
      Registration r = register(kit, out, "killed", trainer, new RunControl());
      String publishToken = "0123456789abcdef0123456789abcdef"; // the registration's
      for (long step : new long[] {290, 300}) {
        r.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(List.of(
            Sample.of(MetricFamily.TRAINING_LOSS, 0.5, step), Sample.of(MetricFamily.TRAINING_STEP, step, step)),
            publishToken));
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!Files.readString(out.resolve("killed/metrics.jsonl")).contains("\"step\":300")
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      trainer.stop();
      while (!events(out, "killed").contains("run_finished") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String events = events(out, "killed");
      assertTrue(events.contains("\"status\":\"failed\"") && events.contains("\"steps\":300"), events);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aStoppingNodeDoesNotMarkTheRunsOfItsTrainersFailed(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    TestProbe<TrainerActor.Command> trainer = kit.createTestProbe();
    register(kit, out, "goeson", trainer);
    // while the node shuts down, the trainer's watch fires (as when the leaving node loses its cluster peers)
    CoordinatedShutdown.get(kit.system()).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "trainer-unreachable",
        () -> {
          trainer.stop();
          return CompletableFuture.supplyAsync(Done::getInstance,
              CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS));
        });
    CoordinatedShutdown.get(kit.system()).runAll(CoordinatedShutdown.unknownReason()).toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    kit.shutdownTestKit();
    assertTrue(Files.isRegularFile(out.resolve("goeson").resolve("config.json")));
    assertFalse(events(out, "goeson").contains("run_finished"), events(out, "goeson"));
  }

  /**
   * The node's wait for its last reports, when its system terminates, ends at the deadline the stopping server gave
   * it (what is left of finish-timeout after the server's own waits), not a whole finish-timeout after them.
   */
  @Test
  void aStoppingNodeWaitsForItsReportsNoLongerThanTheStopsDeadline(@TempDir Path out) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    CountDownLatch never = new CountDownLatch(1);
    ExecutorService executor = Executors.newSingleThreadExecutor();
    try {
      ReportChain reports = new ReportChain(dir -> {
        try {
          never.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      ActorRef<MetricsNode.Command> node = kit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
          new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL, reports, Duration.ofSeconds(30)));
      reports.write(out.resolve("stuck"), executor);
      node.tell(new MetricsNode.Stopping(StopDeadline.in(Duration.ofMillis(500))));
      TestProbe<MetricsNode.Registered> reply = kit.createTestProbe();
      node.tell(new MetricsNode.RegisterRun("late", Map.of("run", "late"), Map.of(), 10, STOP_ON_STD,
          kit.<TrainerActor.Command>createTestProbe().ref(), kit.<AlertRaised>createTestProbe().ref(), reply.ref(),
          null, null, null));
      reply.receiveMessage(PROBE_WAIT); // answered (a refusal here): the node had its Stopping before
      long t0 = System.nanoTime();
      kit.system().terminate();
      kit.system().getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      double took = (System.nanoTime() - t0) / 1e9;
      assertTrue(took < 5, "the node waited " + took + " s for its report past a 0.5 s deadline");
    } finally {
      never.countDown();
      executor.shutdownNow();
      kit.shutdownTestKit();
    }
  }
}
