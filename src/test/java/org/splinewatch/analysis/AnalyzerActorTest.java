package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/** {@link AnalyzerActor} with the Pekko typed testkit: replies, published samples, failure, restart. */
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class AnalyzerActorTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void publishesTimesAndReplies() {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    ActorRef<Analyze> analyzer = testKit.spawn(RegionAnalyzer.create(TestSnapshots.run(), metrics.ref(),
        new RegionSettings(1, 10_000, 0, false, 100, 16, 10), null));
    analyzer.tell(new Analyze(TestSnapshots.classifier(1, 7), reply.ref()));
    Analyzed done = reply.receiveMessage(Duration.ofSeconds(20));
    assertEquals("regions", done.analyzer());
    assertEquals(7, done.step());
    assertNull(done.error());
    MetricsActor.Publish published = metrics.expectMessageClass(MetricsActor.Publish.class);
    assertTrue(published.samples().stream().anyMatch(s -> s.name().equals("splinewatch_regions") && s.step() == 7));
    MetricsActor.AnalysisTook took = metrics.expectMessageClass(MetricsActor.AnalysisTook.class);
    assertEquals("regions", took.analyzer());
    assertTrue(took.seconds() >= 0 && took.seconds() < 20);
  }

  @Test
  void aFailureIsReportedAndTheSupervisedAnalyzerRestartsWithFreshState() {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    AtomicInteger instances = new AtomicInteger();
    Behavior<Analyze> failing = AnalyzerActor.create("flaky", metrics.ref(), () -> {
      instances.incrementAndGet();
      return s -> {
        if (Double.isNaN(s.loss())) {
          throw new IllegalArgumentException("loss is NaN");
        }
        return List.of(Sample.of("splinewatch_test", s.loss(), s.step()));
      };
    });
    ActorRef<Analyze> analyzer = testKit.spawn(Behaviors.supervise(failing).onFailure(SupervisorStrategy.restart()));
    WeightSnapshot good = TestSnapshots.classifier(1, 1);
    WeightSnapshot bad = new WeightSnapshot("test-run", 2, 0, 0, good.inputDim(), good.layers(), 1, true, Double.NaN,
        0, 0);
    // one warning line, no stack trace (the supervisor's restart logged one for every failed snapshot)
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.warn("analyzer flaky failed on the snapshot of step 2"
        + " (loss is NaN); it goes on with the next one").expect(testKit.system(), () -> {
          analyzer.tell(new Analyze(bad, reply.ref()));
          return reply.receiveMessage();
        });
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.error(IllegalArgumentException.class)
        .withOccurrences(0).expect(testKit.system(), () -> {
          analyzer.tell(new Analyze(bad, reply.ref()));
          return reply.receiveMessage();
        });
    metrics.expectMessageClass(MetricsActor.AnalysisFailed.class);
    analyzer.tell(new Analyze(bad, reply.ref()));
    Analyzed failed = reply.receiveMessage();
    assertEquals("loss is NaN", failed.error());
    MetricsActor.AnalysisFailed report = metrics.expectMessageClass(MetricsActor.AnalysisFailed.class);
    assertEquals("flaky", report.analyzer());
    assertEquals(2, report.step());
    analyzer.tell(new Analyze(good, reply.ref()));
    assertNull(reply.receiveMessage().error(), "the restarted analyzer works again");
    assertEquals(4, instances.get(), "each failure left a fresh analysis for the next snapshot");
  }

  /** An analyzer "sleepy" whose analysis records the step in {@code analysed}, then takes {@code millis}. */
  private static Behavior<Analyze> sleepy(TestProbe<MetricsActor.Command> metrics, long millis, List<Long> analysed) {
    return AnalyzerActor.create("sleepy", metrics.ref(), () -> s -> {
      analysed.add(s.step());
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return List.of(Sample.of("splinewatch_test", 1, s.step()));
    });
  }

  /** An analysis that ends after its sender stopped waiting publishes nothing: the sender counted it as failed. */
  @Test
  void aLateAnalysisPublishesNothing() {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    ActorRef<Analyze> analyzer = testKit.spawn(sleepy(metrics, 100, new java.util.ArrayList<>()));
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 3), reply.ref(), Duration.ofMillis(10)));
    metrics.expectNoMessage(Duration.ofMillis(500));
    reply.expectNoMessage(Duration.ZERO);
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 4), reply.ref(), Duration.ofSeconds(30)));
    assertEquals(4, reply.receiveMessage(Duration.ofSeconds(10)).step());
    metrics.expectMessageClass(MetricsActor.Publish.class);
    metrics.expectMessageClass(MetricsActor.AnalysisTook.class);
  }

  /**
   * A snapshot whose sender gave up while it waited behind a late analysis is not analysed at all: the hub had handed
   * the analyzer the next one on each timeout, so repeated timeouts piled snapshots up in its mailbox.
   */
  @Test
  void aSnapshotWhoseSenderGaveUpBeforeItBeganIsSkipped() {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    List<Long> analysed = new java.util.concurrent.CopyOnWriteArrayList<>();
    ActorRef<Analyze> analyzer = testKit.spawn(sleepy(metrics, 300, analysed));
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 3), reply.ref(), Duration.ofMillis(10)));
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 4), reply.ref(), Duration.ofMillis(100)));
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 5), reply.ref(), Duration.ofSeconds(30)));
    assertEquals(5, reply.receiveMessage(Duration.ofSeconds(10)).step());
    assertEquals(List.of(3L, 5L), analysed, "step 4's sender gave up while step 3 was analysed");
  }

  /**
   * A failure to write the run directory is reported and answered, not rethrown: the reply ends the run with one line,
   * and a restart (whose supervisor logged a stack trace per analyzer) would not make the disk writable.
   */
  @Test
  void aWriteFailureIsAnsweredWithoutARestart() {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    AtomicInteger instances = new AtomicInteger();
    Behavior<Analyze> failing = AnalyzerActor.create("writer", metrics.ref(), () -> {
      instances.incrementAndGet();
      return s -> {
        throw new java.io.UncheckedIOException("cannot write the partition picture to planes: full",
            new java.io.IOException("full"));
      };
    });
    ActorRef<Analyze> analyzer = testKit.spawn(Behaviors.supervise(failing).onFailure(SupervisorStrategy.restart()));
    analyzer.tell(new Analyze(TestSnapshots.classifier(1, 1), reply.ref()));
    Analyzed failed = reply.receiveMessage();
    assertTrue(failed.writeFailed(), failed.error());
    metrics.expectMessageClass(MetricsActor.AnalysisFailed.class);
    analyzer.tell(new Analyze(TestSnapshots.classifier(1, 2), reply.ref()));
    assertEquals(2, reply.receiveMessage().step());
    assertEquals(1, instances.get(), "not restarted");
  }
}
