package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.analysis.BoundaryChangeAnalyzer;
import org.splinewatch.analysis.EmbeddingAnalyzer;
import org.splinewatch.analysis.LayerGeometryAnalyzer;
import org.splinewatch.analysis.ProbeAnalyzer;
import org.splinewatch.analysis.RegionAnalyzer;
import org.splinewatch.analysis.RegionSettings;
import org.splinewatch.analysis.TestSnapshots;
import org.splinewatch.analysis.TrainingHealthAnalyzer;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;

/**
 * Every {@code splinewatch_} family a run really puts on {@code /metrics} is declared in {@link MetricFamily}, with
 * its HELP text and only its declared labels: every analyzer analyses two snapshots through its actor into a
 * {@link MetricsActor} with the collapse rules, next to the process, memory and run-info meters, and the Prometheus
 * scrape is read back.
 */
@ExtendWith(TestKitJUnit5Extension.class)
class MetricCatalogueTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final Pattern SERIES = Pattern.compile("^(splinewatch_[a-z0-9_]+)(\\{(.*)})? \\S+$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern HELP = Pattern.compile("^# HELP (splinewatch_[a-z0-9_]+) (.*)$");

  @Test
  void everyFamilyARunPublishesIsDeclaredWithItsLabels(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    var config = com.typesafe.config.ConfigFactory.load();
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "test-run", "method", "supervised", "dataset", "synthetic"),
        new CollapseDetector(AlertSettings.fromConfig(config), "test-run", 3), a -> { }));
    RunInfo run = TestSnapshots.run();
    RegionSettings regions = new RegionSettings(1, 100_000, 0, false, 200, 32, 30);
    List<Behavior<Analyze>> analyzers = List.of(EmbeddingAnalyzer.create(run, metrics),
        RegionAnalyzer.create(run, metrics, regions, dir), BoundaryChangeAnalyzer.create(run, metrics, regions),
        LayerGeometryAnalyzer.create(run, metrics), ProbeAnalyzer.create(run, metrics),
        TrainingHealthAnalyzer.create(metrics));
    TestProbe<Analyzed> done = testKit.createTestProbe();
    for (Behavior<Analyze> b : analyzers) {
      ActorRef<Analyze> a = testKit.spawn(b);
      for (long step : new long[] {100, 200}) {
        a.tell(new Analyze(TestSnapshots.classifier(step, step), done.ref()));
        Analyzed reply = done.expectMessageClass(Analyzed.class, Duration.ofSeconds(60));
        assertEquals(null, reply.error(), reply.analyzer());
      }
    }
    metrics.tell(new MetricsActor.SnapshotDropped("regions"));
    metrics.tell(new MetricsActor.AnalysisFailed("regions", 200, "test"));
    try (ProcessMetrics process = ProcessMetrics.bind(registry);
        MemoryWatch memory = MemoryWatch.start(new MemorySettings(Duration.ofSeconds(10), 0), r -> { })) {
      memory.bind(registry, Tags.of("run", "test-run", "method", "supervised", "dataset", "synthetic"));
      RunInfoMetric.register(registry, Map.of("run_id", "test-run", "method", "supervised", "dataset", "synthetic",
          "settings", Map.of("encoder", "mlp", "hidden", List.of(12, 12))));
      TestProbe<Done> flushed = testKit.createTestProbe();
      metrics.tell(new MetricsActor.Flush(flushed.ref()));
      flushed.expectMessage(PROBE_WAIT, Done.getInstance());
      String scrape = registry.scrape();

      Map<String, Set<String>> labelsSeen = new TreeMap<>();
      Set<String> undeclared = new TreeSet<>();
      for (String line : scrape.split("\n")) {
        Matcher h = HELP.matcher(line);
        if (h.matches()) {
          MetricFamily f = family(h.group(1));
          if (f != null) {
            assertEquals(f.help(), h.group(2), "HELP of " + h.group(1) + " is the catalogue's");
          }
          continue;
        }
        Matcher m = SERIES.matcher(line);
        if (!m.matches()) {
          continue;
        }
        MetricFamily f = family(m.group(1));
        if (f == null) {
          undeclared.add(m.group(1));
          continue;
        }
        Set<String> labels = labelsSeen.computeIfAbsent(f.id(), k -> new TreeSet<>());
        Matcher l = LABEL.matcher(m.group(3) == null ? "" : m.group(3));
        while (l.find()) {
          labels.add(l.group(1));
        }
      }
      assertEquals(Set.of(), undeclared, "families on /metrics that MetricFamily does not declare");
      for (var e : labelsSeen.entrySet()) {
        MetricFamily f = MetricFamily.byId(e.getKey());
        Set<String> extra = new TreeSet<>(e.getValue());
        extra.removeAll(f.allowedLabels());
        assertEquals(Set.of(), extra, e.getKey() + " carries labels its declaration lacks " + f.labels());
        assertTrue(e.getValue().containsAll(f.labels()) || f == MetricFamily.MEMORY_PEAK_BYTES,
            e.getKey() + " declares labels it never carries: " + f.labels() + " vs " + e.getValue());
      }
      // the path really published: every analyzer's families, the alerts and the process meters
      for (MetricFamily f : List.of(MetricFamily.REGIONS, MetricFamily.EMBEDDING_RANKME,
          MetricFamily.BOUNDARY_FLIP_RATIO, MetricFamily.NEURAL_COLLAPSE_NC1,
          MetricFamily.LAYER_UPDATE_RATIO, MetricFamily.ANALYSIS_STEP, MetricFamily.ANALYSIS_SECONDS,
          MetricFamily.COLLAPSE_ALERT, MetricFamily.RUN_ACTIVE, MetricFamily.SNAPSHOTS_DROPPED_TOTAL,
          MetricFamily.ANALYSIS_FAILURES_TOTAL, MetricFamily.RUN_INFO, MetricFamily.MEMORY_PEAK_BYTES,
          MetricFamily.JAVACPP_ALLOCATED_BYTES, MetricFamily.PROCESS_RESIDENT_BYTES)) {
        assertTrue(labelsSeen.containsKey(f.id()), f.id() + " missing from the scrape");
      }
      assertTrue(labelsSeen.size() > 50, "families scraped: " + labelsSeen.keySet());
    } finally {
      testKit.stop(metrics);
    }
  }

  /** The family of a scraped series: its own name, or a summary's {@code _count}/{@code _sum}/{@code _max}. */
  static MetricFamily family(String series) {
    MetricFamily f = MetricFamily.byId(series);
    if (f != null) {
      return f;
    }
    for (String suffix : List.of("_count", "_sum", "_max")) {
      if (series.endsWith(suffix)) {
        f = MetricFamily.byId(series.substring(0, series.length() - suffix.length()));
        if (f != null && f.type() == MetricFamily.Type.SUMMARY) {
          return f;
        }
      }
    }
    return null;
  }
}
