package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.control.RunControl;

/** {@code monitor serve}: a finished run's meters leave {@code /metrics} after the grace period; a running one's stay. */
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class FinishedRunMetersTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private MetricsNode.Registered register(ActorRef<MetricsNode.Command> node, String run) {
    MetricsNode.Registered r = MetricsNodeRuns.register(testKit, node, run, Duration.ofSeconds(3));
    String publishToken = "0123456789abcdef0123456789abcdef";
    r.metrics().<Object>unsafeUpcast().tell(new MetricsNode.PublishToken(publishToken));
    r.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(
        List.of(Sample.of("splinewatch_training_loss", 0.5, 10)), publishToken));
    TestProbe<Done> flushed = testKit.createTestProbe();
    r.metrics().tell(new MetricsActor.Flush(flushed.ref()));
    flushed.receiveMessage(PROBE_WAIT);
    return r;
  }

  /**
   * Long enough that the scrape right after the finish reply falls inside it on a loaded CI machine (at 700 ms a
   * stalled test thread could miss it), short enough that removal is seen well within the wait below.
   */
  private static final Duration GRACE = Duration.ofSeconds(3);

  @Test
  void aFinishedRunsMetersAreRemovedAfterTheGracePeriod(@TempDir Path out) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
        new Rejections(registry), 64, GRACE, RetentionSettings.KEEP_ALL));
    String doneToken = register(node, "done").token();
    register(node, "running");
    assertTrue(registry.scrape().contains("run=\"done\""));
    TestProbe<Done> finished = testKit.createTestProbe();
    node.tell(new MetricsNode.RunFinished("done", Map.of("type", "run_finished"), finished.ref(), doneToken));
    finished.receiveMessage(PROBE_WAIT);
    assertTrue(registry.scrape().contains("splinewatch_training_loss{dataset=\"mnist\",method=\"simclr\",run=\"done\"}"),
        "still exported during the grace period, for the last scrapes");
    long deadline = System.nanoTime() + GRACE.toNanos() + 20_000_000_000L;
    while (registry.scrape().contains("run=\"done\"") && System.nanoTime() < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    String scrape = registry.scrape();
    assertFalse(scrape.contains("run=\"done\""), scrape);
    assertTrue(scrape.contains("run=\"running\""), "a running run keeps its meters: " + scrape);
  }
}
