package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
    MetricsActor.Publish published = metrics.expectMessageClass(MetricsActor.Publish.class, PROBE_WAIT);
    assertTrue(published.samples().stream().anyMatch(s -> s.name().equals("splinewatch_regions") && s.step() == 7));
    MetricsActor.AnalysisTook took = metrics.expectMessageClass(MetricsActor.AnalysisTook.class, PROBE_WAIT);
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
          return reply.receiveMessage(PROBE_WAIT);
        });
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.error(IllegalArgumentException.class)
        .withOccurrences(0).expect(testKit.system(), () -> {
          analyzer.tell(new Analyze(bad, reply.ref()));
          return reply.receiveMessage(PROBE_WAIT);
        });
    metrics.expectMessageClass(MetricsActor.AnalysisFailed.class, PROBE_WAIT);
    analyzer.tell(new Analyze(bad, reply.ref()));
    Analyzed failed = reply.receiveMessage(PROBE_WAIT);
    assertEquals("loss is NaN", failed.error());
    MetricsActor.AnalysisFailed report = metrics.expectMessageClass(MetricsActor.AnalysisFailed.class, PROBE_WAIT);
    assertEquals("flaky", report.analyzer());
    assertEquals(2, report.step());
    analyzer.tell(new Analyze(good, reply.ref()));
    assertNull(reply.receiveMessage(PROBE_WAIT).error(), "the restarted analyzer works again");
    assertEquals(4, instances.get(), "each failure left a fresh analysis for the next snapshot");
  }

  /**
   * An analyzer "held" whose analysis records the step in {@code analysed}, counts {@code began} down and waits for
   * {@code release}: the test decides when an analysis ends, not a sleep that a loaded machine makes look short.
   */
  private static Behavior<Analyze> held(TestProbe<MetricsActor.Command> metrics, List<Long> analysed,
      CountDownLatch began, CountDownLatch release) {
    return AnalyzerActor.create("held", metrics.ref(), () -> s -> {
      analysed.add(s.step());
      began.countDown();
      try {
        release.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return List.of(Sample.of("splinewatch_test", 1, s.step()));
    });
  }

  /** Waits until the sender of {@code analyze} has given up on it ({@link Analyze#late}). */
  private static void awaitGivenUp(Analyze analyze) throws InterruptedException {
    while (!analyze.late(System.nanoTime())) {
      Thread.sleep(10);
    }
  }

  /**
   * An analysis that ends after its sender stopped waiting publishes nothing: the sender counted it as failed. Its
   * sender waits long enough for it to begin on a loaded machine and gives up while it is held (it waited 10 ms for a
   * 100 ms analysis, and an analysis that began after those 10 ms was skipped, leaving nothing late to check).
   */
  @Test
  void aLateAnalysisPublishesNothing() throws Exception {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    CountDownLatch began = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<Long> analysed = new java.util.concurrent.CopyOnWriteArrayList<>();
    ActorRef<Analyze> analyzer = testKit.spawn(held(metrics, analysed, began, release));
    Analyze late = Analyze.within(TestSnapshots.classifier(1, 3), reply.ref(), Duration.ofSeconds(2));
    analyzer.tell(late);
    assertTrue(began.await(30, TimeUnit.SECONDS), "the analysis of step 3 began");
    awaitGivenUp(late);
    release.countDown();
    // the next analysis is answered and published after the late one ended: the late one's would come first
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 4), reply.ref(), Duration.ofSeconds(30)));
    assertEquals(4, reply.receiveMessage(Duration.ofSeconds(10)).step(), "step 3 was not answered");
    MetricsActor.Publish published = metrics.expectMessageClass(MetricsActor.Publish.class, PROBE_WAIT);
    assertEquals(List.of(4L), published.samples().stream().map(Sample::step).distinct().toList(),
        "step 3 published nothing");
    assertEquals(4, metrics.expectMessageClass(MetricsActor.AnalysisTook.class, PROBE_WAIT).step());
    assertEquals(List.of(3L, 4L), analysed);
  }

  /**
   * A snapshot whose sender gave up while it waited behind a late analysis is not analysed at all: the hub had handed
   * the analyzer the next one on each timeout, so repeated timeouts piled snapshots up in its mailbox. The analysis of
   * step 3 is held until the senders of steps 3 and 4 have given up (a 10 ms wait for step 3 let a loaded machine
   * skip it too, and then analyse step 4).
   */
  @Test
  void aSnapshotWhoseSenderGaveUpBeforeItBeganIsSkipped() throws Exception {
    TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
    TestProbe<Analyzed> reply = testKit.createTestProbe();
    CountDownLatch began = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<Long> analysed = new java.util.concurrent.CopyOnWriteArrayList<>();
    ActorRef<Analyze> analyzer = testKit.spawn(held(metrics, analysed, began, release));
    Analyze step3 = Analyze.within(TestSnapshots.classifier(1, 3), reply.ref(), Duration.ofSeconds(2));
    analyzer.tell(step3);
    assertTrue(began.await(30, TimeUnit.SECONDS), "the analysis of step 3 began");
    Analyze step4 = Analyze.within(TestSnapshots.classifier(1, 4), reply.ref(), Duration.ofMillis(100));
    analyzer.tell(step4);
    analyzer.tell(Analyze.within(TestSnapshots.classifier(1, 5), reply.ref(), Duration.ofSeconds(30)));
    awaitGivenUp(step3);
    awaitGivenUp(step4);
    release.countDown();
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
    Analyzed failed = reply.receiveMessage(PROBE_WAIT);
    assertTrue(failed.writeFailed(), failed.error());
    metrics.expectMessageClass(MetricsActor.AnalysisFailed.class, PROBE_WAIT);
    analyzer.tell(new Analyze(TestSnapshots.classifier(1, 2), reply.ref()));
    assertEquals(2, reply.receiveMessage(PROBE_WAIT).step());
    assertEquals(1, instances.get(), "not restarted");
  }
}
