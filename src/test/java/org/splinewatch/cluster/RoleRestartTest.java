package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.analysis.TestSnapshots;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.trainer.TrainerActor;

/**
 * The metrics and analyzer roles are supervised: when one fails (forced here through the package-private
 * {@code failOn} test hook of their {@code create}) the supervisor restarts it with backoff, and the runs opened
 * before the failure keep being served: their snapshots are analysed by the same analyzers, their publishes land
 * in the registry and they can finish. Fails if the supervisor stops the role instead of restarting it.
 */
@ExtendWith(LogCapturingExtension.class)
class RoleRestartTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final String CRASH = "crash-me"; // the run id whose message makes the role throw
  private static final Duration WAIT = Duration.ofSeconds(20);

  private ActorTestKit testKit;
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeEach
  void start() {
    Config c = ClusterRunIT.nodeConfig(Map.of()); // port 0
    // a cluster node's config (not joined): the analyzer role names its node in its samples
    testKit = ActorTestKit.create("role-restart", ClusterSettings.fromConfig(c).nodeConfig(c, List.of("analyzer")));
    log.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(log);
  }

  @AfterEach
  void stop() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(log);
    testKit.shutdownTestKit();
  }

  /** Waits for the supervisor's log line of the injected failure. */
  private void awaitFailureLogged() throws InterruptedException {
    for (int i = 0; i < 200 && failureLines().isEmpty(); i++) {
      Thread.sleep(50);
    }
    assertEquals(1, failureLines().size(), "the injected failure, logged once: " + failureLines());
  }

  /** The supervisor's log lines of the injected failure ("Supervisor RestartSupervisor saw failure: ..."). */
  private List<String> failureLines() {
    return log.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.contains("failure injected by a test")).toList();
  }

  /** Proof that the role was restarted: one failure, logged by the restarting supervisor. */
  private void assertOneRestart() {
    assertEquals(1, failureLines().size(), failureLines().toString());
    assertTrue(failureLines().get(0).contains("RestartSupervisor"), failureLines().toString());
  }

  @Test
  void theAnalyzerRoleRestartsAndKeepsAnalysingItsOpenRun(@TempDir Path out) throws Exception {
    AtomicInteger analyzersCreated = new AtomicInteger();
    List<Long> analysedSteps = new CopyOnWriteArrayList<>();
    AnalyzerSpec counting = new AnalyzerSpec("counting", (run, metrics, dir) -> {
      analyzersCreated.incrementAndGet();
      return Behaviors.receive(Analyze.class).onMessage(Analyze.class, a -> {
        analysedSteps.add(a.snapshot().step());
        a.replyTo().tell(new Analyzed("counting", a.snapshot().step(), 0, null));
        return Behaviors.same();
      }).build();
    });
    ClusterSettings limits = ClusterSettings.fromConfig(testKit.system().settings().config());
    ActorRef<AnalyzerWorker.Command> worker = testKit.spawn(AnalyzerWorker.create(names -> List.of(counting), out,
        Duration.ofSeconds(10), limits, Rejections.unexported(),
        m -> m instanceof AnalyzerWorker.CloseRun c && CRASH.equals(c.runId())));
    TestProbe<Object> metrics = testKit.createTestProbe();
    TestProbe<SnapshotPublisher.Command> publisher = testKit.createTestProbe();
    Chunker chunker = new Chunker(limits.chunkBytes());

    worker.tell(new AnalyzerWorker.OpenRun("test-run", List.of("counting"), answeringFlush(metrics),
        publisher.getRef(), TOKEN));
    send(worker, chunker, 0, SnapshotCodec.encode(TestSnapshots.run()));
    send(worker, chunker, 1, SnapshotCodec.encode(TestSnapshots.classifier(1, 10)));
    assertAnalysed(publisher.expectMessageClass(SnapshotPublisher.Analysed.class, WAIT), 1);
    assertAnalysedTotal(metrics, 1);

    worker.tell(new AnalyzerWorker.CloseRun(CRASH, TOKEN)); // the role throws
    awaitFailureLogged();

    // the run opened before the failure: still open, same analyzers, its count goes on
    send(worker, chunker, 2, SnapshotCodec.encode(TestSnapshots.classifier(2, 20)));
    assertAnalysed(publisher.expectMessageClass(SnapshotPublisher.Analysed.class, WAIT), 2);
    assertAnalysedTotal(metrics, 2);
    assertEquals(List.of(10L, 20L), analysedSteps);
    assertEquals(1, analyzersCreated.get(), "the run's analyzer survived the restart");
    // and it ends as usual: afterwards its chunks are refused, nothing more is analysed
    worker.tell(new AnalyzerWorker.CloseRun("test-run", TOKEN));
    send(worker, chunker, 3, SnapshotCodec.encode(TestSnapshots.classifier(3, 30)));
    publisher.expectNoMessage(Duration.ofMillis(500));
    assertEquals(List.of(10L, 20L), analysedSteps);
    assertOneRestart();
  }

  /** The run's metrics actor as a worker sees it: answers a Flush, as the metrics node's does, and hands on the rest. */
  private ActorRef<MetricsActor.Command> answeringFlush(TestProbe<Object> probe) {
    return testKit.<Object>spawn(Behaviors.receive(Object.class)
        .onMessage(MetricsActor.Flush.class, f -> {
          f.replyTo().tell(Done.getInstance());
          return Behaviors.same();
        })
        .onAnyMessage(m -> {
          probe.getRef().tell(m);
          return Behaviors.same();
        }).build()).narrow();
  }

  @Test
  void aSnapshotIsAcknowledgedOnceItsResultsReachedTheMetricsActor(@TempDir Path out) {
    AnalyzerSpec publishing = new AnalyzerSpec("publishing", (run, metrics, dir) -> Behaviors.receive(Analyze.class)
        .onMessage(Analyze.class, a -> {
          metrics.tell(new MetricsActor.Publish(List.of(Sample.of(MetricFamily.ANALYSIS_STEP.id(),
              a.snapshot().step(), a.snapshot().step(), "analyzer", "publishing"))));
          a.replyTo().tell(new Analyzed("publishing", a.snapshot().step(), 0, null));
          return Behaviors.same();
        }).build());
    ClusterSettings limits = ClusterSettings.fromConfig(testKit.system().settings().config());
    ActorRef<AnalyzerWorker.Command> worker = testKit.spawn(AnalyzerWorker.create(names -> List.of(publishing), out,
        Duration.ofSeconds(10), limits, Rejections.unexported(), m -> false));
    TestProbe<Object> metrics = testKit.createTestProbe(); // answers nothing by itself
    TestProbe<SnapshotPublisher.Command> publisher = testKit.createTestProbe();
    Chunker chunker = new Chunker(limits.chunkBytes());
    worker.tell(new AnalyzerWorker.OpenRun("test-run", List.of("publishing"), metrics.getRef().narrow(),
        publisher.getRef(), TOKEN));
    send(worker, chunker, 0, SnapshotCodec.encode(TestSnapshots.run()));
    send(worker, chunker, 1, SnapshotCodec.encode(TestSnapshots.classifier(1, 10)));
    // the results and the node's count (in either order: they come from two actors), then a Flush the same way as
    // the results: the acknowledgement waits for its answer
    List<String> names = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      names.add(metrics.expectMessageClass(MetricsNode.SignedPublish.class, WAIT).samples().get(0).name());
    }
    assertTrue(names.contains(MetricFamily.ANALYSIS_STEP.id()), names.toString());
    MetricsActor.Flush flush = metrics.expectMessageClass(MetricsActor.Flush.class, WAIT);
    publisher.expectNoMessage(Duration.ofMillis(500)); // it went straight to the publisher, before the results
    flush.replyTo().tell(Done.getInstance());
    assertAnalysed(publisher.expectMessageClass(SnapshotPublisher.Analysed.class, WAIT), 1);
  }

  private static void send(ActorRef<AnalyzerWorker.Command> worker, Chunker chunker, long transfer, byte[] payload) {
    List<byte[]> parts = chunker.split(payload);
    for (int i = 0; i < parts.size(); i++) {
      worker.tell(new AnalyzerWorker.Chunk("test-run", transfer, i, parts.size(), parts.get(i), TOKEN));
    }
  }

  private static void assertAnalysed(SnapshotPublisher.Analysed a, long transfer) {
    assertEquals(transfer, a.transfer());
    assertNull(a.error(), a.toString());
  }

  /** The worker's per-node count of the run's analysed snapshots, signed with the run's token. */
  private static void assertAnalysedTotal(TestProbe<Object> metrics, double expected) {
    MetricsNode.SignedPublish p = metrics.expectMessageClass(MetricsNode.SignedPublish.class, WAIT);
    assertEquals(TOKEN, p.token());
    Sample s = p.samples().get(0);
    assertEquals(MetricFamily.CLUSTER_SNAPSHOTS_ANALYSED_TOTAL.id(), s.name());
    assertEquals(expected, s.value(), 0.0);
  }

  @Test
  void theMetricsRoleRestartsAndKeepsServingItsRegisteredRun(@TempDir Path out) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL,
        m -> m instanceof MetricsNode.RunFinished f && CRASH.equals(f.runId())));
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    TestProbe<TrainerActor.Command> trainer = testKit.createTestProbe();
    TestProbe<AlertRaised> alerts = testKit.createTestProbe();
    node.tell(new MetricsNode.RegisterRun("kept", Map.of("run", "kept", "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", "kept"), 10, null, trainer.getRef(), alerts.getRef(), reply.getRef(), null, TOKEN));
    MetricsNode.Registered r = reply.expectMessageClass(MetricsNode.Registered.class, WAIT);
    assertNull(r.error());
    ActorRef<Object> gate = r.metrics().unsafeUpcast();
    gate.tell(new MetricsNode.SignedPublish(List.of(Sample.of("splinewatch_training_loss", 0.5, 10)), TOKEN));

    TestProbe<Done> done = testKit.createTestProbe();
    node.tell(new MetricsNode.RunFinished(CRASH, Map.of("type", "run_finished"), done.getRef(), TOKEN)); // throws
    awaitFailureLogged();

    // the run registered before the failure: its publishes still land, and it finishes with its token
    gate.tell(new MetricsNode.SignedPublish(List.of(Sample.of("splinewatch_training_loss", 0.25, 20)), TOKEN));
    TestProbe<Done> flushed = testKit.createTestProbe();
    r.metrics().tell(new MetricsActor.Flush(flushed.getRef()));
    flushed.expectMessage(WAIT, Done.getInstance());
    assertTrue(registry.scrape().contains(
        "splinewatch_training_loss{dataset=\"mnist\",method=\"simclr\",run=\"kept\"} 0.25"), registry.scrape());
    node.tell(new MetricsNode.RunFinished("kept", Map.of("type", "run_finished", "exit_code", 0), done.getRef(),
        r.token()));
    done.expectMessage(WAIT, Done.getInstance());
    assertTrue(Files.readString(out.resolve("kept").resolve("events.jsonl")).contains("run_finished"));
    assertTrue(Files.exists(out.resolve("kept").resolve("report.html")));

    // and the restarted role takes new runs
    node.tell(new MetricsNode.RegisterRun("after", Map.of("run", "after", "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", "after"), 10, null, trainer.getRef(), alerts.getRef(), reply.getRef(), null, TOKEN));
    assertNull(reply.expectMessageClass(MetricsNode.Registered.class, WAIT).error());
    assertOneRestart();
  }

  /**
   * One peer with two runs here (a publisher opening two, a trainer registering two) used to fail the role: Pekko
   * refuses to watch the same actor again with another termination message. Now neither role fails, both runs are
   * served, and both end when that peer goes away.
   */
  @Test
  void onePeerWithTwoRunsFailsNeitherRoleAndItsLeavingEndsBoth(@TempDir Path out) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ClusterSettings limits = ClusterSettings.fromConfig(testKit.system().settings().config());
    AnalyzerSpec answering = new AnalyzerSpec("answering", (run, metrics, dir) -> Behaviors.receive(Analyze.class)
        .onMessage(Analyze.class, a -> {
          a.replyTo().tell(new Analyzed("answering", a.snapshot().step(), 0, null));
          return Behaviors.same();
        }).build());
    ActorRef<AnalyzerWorker.Command> worker = testKit.spawn(AnalyzerWorker.create(names -> List.of(answering),
        out.resolve("analyzer"), Duration.ofSeconds(10), limits, new Rejections(registry), m -> false));
    TestProbe<Object> metrics = testKit.createTestProbe();
    TestProbe<SnapshotPublisher.Command> publisher = testKit.createTestProbe();
    Chunker chunker = new Chunker(limits.chunkBytes());
    for (String run : List.of("test-run", "other-run")) {
      worker.tell(new AnalyzerWorker.OpenRun(run, List.of("answering"), answeringFlush(metrics),
          publisher.getRef(), TOKEN));
    }
    send(worker, chunker, 0, SnapshotCodec.encode(TestSnapshots.run())); // the description of "test-run"
    send(worker, chunker, 1, SnapshotCodec.encode(TestSnapshots.classifier(1, 10)));
    assertAnalysed(publisher.expectMessageClass(SnapshotPublisher.Analysed.class, WAIT), 1);

    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out.resolve("metrics"),
        new RunControl(), "", new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL, m -> false));
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    TestProbe<TrainerActor.Command> trainer = testKit.createTestProbe();
    TestProbe<AlertRaised> alerts = testKit.createTestProbe();
    for (String run : List.of("a", "b")) {
      node.tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
          Map.of("run_id", run), 10, null, trainer.getRef(), alerts.getRef(), reply.getRef(), null, TOKEN));
      MetricsNode.Registered r = reply.expectMessageClass(MetricsNode.Registered.class, WAIT);
      assertNull(r.error(), r.toString());
    }

    publisher.stop(); // both its runs close: their chunks are refused as for runs not open here
    trainer.stop(); // both its runs end as failed
    for (String run : List.of("a", "b")) {
      Path events = out.resolve("metrics").resolve(run).resolve("events.jsonl");
      for (int i = 0; i < 200 && !(Files.exists(events) && Files.readString(events).contains("\"failed\"")); i++) {
        Thread.sleep(50);
      }
      assertTrue(Files.readString(events).contains("\"failed\""), run + ": " + Files.readString(events));
    }
    // an open run would refuse these as bad_snapshot ("test-run") or bad_chunk ("other-run", no description)
    boolean bothClosed = false;
    for (int i = 0; i < 100 && !bothClosed; i++) {
      double unknown = rejected(registry, "unknown_run");
      double other = rejected(registry, "bad_snapshot") + rejected(registry, "bad_chunk");
      worker.tell(new AnalyzerWorker.Chunk("test-run", 9, 0, 1, new byte[1], TOKEN));
      worker.tell(new AnalyzerWorker.Chunk("other-run", 9, 0, 1, new byte[1], TOKEN));
      for (int j = 0; j < 40 && rejected(registry, "unknown_run") + rejected(registry, "bad_snapshot")
          + rejected(registry, "bad_chunk") < unknown + other + 2; j++) {
        Thread.sleep(25);
      }
      bothClosed = rejected(registry, "unknown_run") == unknown + 2;
    }
    assertTrue(bothClosed, "both runs of the publisher closed when it went away: " + registry.scrape());
    assertEquals(List.of(), failureLines(), "no role failed");
  }

  private static double rejected(PrometheusMeterRegistry registry, String reason) {
    var c = registry.find(MetricFamily.CLUSTER_REJECTED_TOTAL.meterName()).tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }
}
