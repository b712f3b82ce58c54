package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
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

/** {@link MetricsActor}: gauges with run labels in the Prometheus scrape, the same samples in metrics.jsonl. */
@ExtendWith(TestKitJUnit5Extension.class)
class MetricsActorTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void gaugesFollowTheLatestSampleAndTheLogKeepsEveryOne(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r1", "method", "simclr", "dataset", "mnist")));
    metrics.tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_regions", 120, 100, "plane", "0",
        "layer", "all"))));
    metrics.tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_regions", 95, 200, "plane", "0",
        "layer", "all"))));
    metrics.tell(new MetricsActor.SnapshotDropped("regions"));
    metrics.tell(new MetricsActor.AnalysisTook("regions", 200, 0.25));
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(Done.getInstance());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("splinewatch_regions{dataset=\"mnist\",layer=\"all\",method=\"simclr\",plane=\"0\","
        + "run=\"r1\"} 95.0"), scrape);
    assertTrue(scrape.contains("splinewatch_snapshots_dropped_total{analyzer=\"regions\",dataset=\"mnist\""), scrape);
    assertTrue(scrape.contains("splinewatch_analysis_seconds_count{analyzer=\"regions\""), scrape);
    testKit.stop(metrics);
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertEquals(2, lines.stream().filter(l -> l.contains("\"splinewatch_regions\"")).count());
    assertTrue(lines.stream().anyMatch(l -> l.contains("\"step\":100") && l.contains("\"value\":120.0")));
  }
}
