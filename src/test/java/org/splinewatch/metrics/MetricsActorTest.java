package org.splinewatch.metrics;

import org.splinewatch.LogCapturingExtension;
import org.splinewatch.snapshot.Sample;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
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
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class MetricsActorTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void collapseAlertsCarryTheSeverityOfTheRunsStopOn(@TempDir Path dir) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    var settings = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.parseMap(Map.of(
        "splinewatch.alerts.stop-on", List.of("std_collapse"))).withFallback(com.typesafe.config.ConfigFactory.load()));
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r2", "method", "simsiam", "dataset", "mnist"),
        new org.splinewatch.alerts.CollapseDetector(settings, "r2", 10), a -> { }));
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("splinewatch_collapse_alert{dataset=\"mnist\",method=\"simsiam\",rule=\"std_collapse\","
        + "run=\"r2\",severity=\"critical\"} 0.0"), scrape);
    assertTrue(scrape.contains("splinewatch_collapse_alert{dataset=\"mnist\",method=\"simsiam\",rule=\"dim_collapse\","
        + "run=\"r2\",severity=\"warning\"} 0.0"), "a rule outside stop-on is a warning: " + scrape);
    testKit.stop(metrics);
  }

  private static final Map<String, String> RESUMED_LABELS = Map.of("run", "s", "method", "simsiam", "dataset",
      "mnist");

  private static org.splinewatch.alerts.CollapseDetector detector() {
    return new org.splinewatch.alerts.CollapseDetector(org.splinewatch.alerts.AlertSettings.fromConfig(
        com.typesafe.config.ConfigFactory.load()), "s", 10);
  }

  /** A run's first segment in {@code dir}: proj's std at steps 0, 100, 200, ...; returns a probe for flushes. */
  private TestProbe<Done> firstSegment(Path dir, double... std) {
    ActorRef<MetricsActor.Command> first = testKit.spawn(MetricsActor.create(new PrometheusMeterRegistry(
        PrometheusConfig.DEFAULT), new RunLog(dir), RESUMED_LABELS, detector(), a -> { }));
    for (int i = 0; i < std.length; i++) {
      first.tell(new MetricsActor.Publish(List.of(new Sample("splinewatch_embedding_std_normalized",
          Map.of("layer", "proj"), std[i], 100L * i, 0))));
    }
    TestProbe<Done> flushed = testKit.createTestProbe();
    first.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    testKit.stop(first);
    return flushed;
  }

  /**
   * A run resumed on a monitor: its {@code run_resumed} event, arriving before the segment's first sample, brings the
   * fresh detector to where the rules stood (from the samples the run directory holds) and hands on the rule still
   * firing once, with its gauge 1, and nothing is written to {@code events.jsonl} but the event itself.
   */
  @Test
  void aRunResumedEventPicksTheRulesUpWhereTheyStood(@TempDir Path dir) throws Exception {
    // std_collapse fires at step 300, the third breaching snapshot
    TestProbe<Done> flushed = firstSegment(dir, 0.9, 0.1, 0.1, 0.1, 0.1);
    long firings = Files.readAllLines(dir.resolve("events.jsonl")).stream().filter(l -> l.contains("alert_firing"))
        .count();
    assertEquals(1, firings);

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    List<org.splinewatch.alerts.Alert> handed = Collections.synchronizedList(new ArrayList<>());
    ActorRef<MetricsActor.Command> resumed = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        RESUMED_LABELS, detector(), handed::add));
    resumed.tell(new MetricsActor.Event(Map.of("type", "run_resumed", "step", 400, "checkpoint", "latest")));
    // the resumed segment snapshots step 400 again, then 500: still collapsed, raised neither time
    for (long step : new long[] {400, 500}) {
      resumed.tell(new MetricsActor.Publish(List.of(new Sample("splinewatch_embedding_std_normalized",
          Map.of("layer", "proj"), 0.1, step, 0))));
    }
    resumed.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    assertEquals(1, handed.size(), handed.toString());
    assertEquals("std_collapse", handed.get(0).rule());
    assertTrue(handed.get(0).sentence().endsWith("; still firing at the checkpoint's step 400"),
        handed.get(0).sentence());
    assertTrue(registry.scrape().contains("rule=\"std_collapse\",run=\"s\",severity=\"critical\"} 1.0"),
        registry.scrape());
    assertEquals(firings, Files.readAllLines(dir.resolve("events.jsonl")).stream()
        .filter(l -> l.contains("alert_firing")).count(), "no alert recorded anew");
    testKit.stop(resumed);
  }

  /**
   * A run whose last snapshot, at its checkpoint's step, fired a rule (it ended at its --max-steps, say) and was
   * resumed there: the rule is still firing at the checkpoint, said once, and the resumed segment's snapshot of that
   * step again neither counts as a breach of its own nor records the alert a second time.
   */
  @Test
  void aRuleFiredByTheCheckpointStepsOwnSnapshotIsStillFiringAfterTheResume(@TempDir Path dir) throws Exception {
    // std_collapse fires at step 300, the last snapshot (--max-steps 300)
    TestProbe<Done> flushed = firstSegment(dir, 0.9, 0.1, 0.1, 0.1);

    List<org.splinewatch.alerts.Alert> handed = Collections.synchronizedList(new ArrayList<>());
    ActorRef<MetricsActor.Command> resumed = testKit.spawn(MetricsActor.create(new PrometheusMeterRegistry(
        PrometheusConfig.DEFAULT), new RunLog(dir), RESUMED_LABELS, detector(), handed::add));
    resumed.tell(new MetricsActor.Resumed(300));
    for (long step : new long[] {300, 400}) { // the checkpoint's step snapshotted again, then the next one
      resumed.tell(new MetricsActor.Publish(List.of(new Sample("splinewatch_embedding_std_normalized",
          Map.of("layer", "proj"), 0.1, step, 0))));
    }
    resumed.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    assertEquals(List.of("std_collapse@300; still firing"), handed.stream().map(a -> a.rule() + "@" + a.step()
        + (a.sentence().endsWith("; still firing at the checkpoint's step 300") ? "; still firing" : "")).toList());
    assertEquals(1, Files.readAllLines(dir.resolve("events.jsonl")).stream().filter(l -> l.contains("alert_firing"))
        .count(), "recorded once");
    testKit.stop(resumed);
  }

  /**
   * A collapse alert that fires and resolves within seconds stays 1 on /metrics for export-hold (so that Prometheus,
   * scraping every 5-15 s, and Alertmanager see it: a 3 s batch_collapse was missed before); with export-hold 0 it
   * follows the rule exactly. events.jsonl has both transitions either way.
   */
  @Test
  void aShortAlertStaysExportedForTheHold(@TempDir Path dir) throws Exception {
    for (String hold : List.of("30s", "0s")) {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      var settings = org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.parseMap(
          Map.of("splinewatch.alerts.export-hold", hold)).withFallback(com.typesafe.config.ConfigFactory.load()));
      Path runDir = java.nio.file.Files.createDirectories(dir.resolve("hold-" + hold));
      ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(runDir),
          Map.of("run", "h", "method", "simsiam", "dataset", "mnist"),
          new org.splinewatch.alerts.CollapseDetector(settings, "h", 10), a -> { }));
      // std_collapse: three breaching snapshots fire it, three clear ones resolve it, all within a second
      double[] std = {0.9, 0.1, 0.1, 0.05, 0.5, 0.5, 0.5};
      for (int i = 0; i < std.length; i++) {
        metrics.tell(new MetricsActor.Publish(List.of(new Sample("splinewatch_embedding_std_normalized",
            Map.of("layer", "proj"), std[i], 100L * i, 0))));
      }
      TestProbe<Done> flushed = testKit.createTestProbe();
      metrics.tell(new MetricsActor.Flush(flushed.ref()));
      flushed.expectMessage(PROBE_WAIT, Done.getInstance());
      String events = java.nio.file.Files.readString(runDir.resolve("events.jsonl"));
      assertTrue(events.contains("\"alert_firing\"") && events.contains("\"alert_resolved\""), events);
      String series = "splinewatch_collapse_alert{dataset=\"mnist\",method=\"simsiam\",rule=\"std_collapse\","
          + "run=\"h\",severity=\"critical\"} ";
      assertTrue(registry.scrape().contains(series + (hold.equals("30s") ? "1.0" : "0.0")), hold + ": "
          + registry.scrape().lines().filter(l -> l.startsWith("splinewatch_collapse_alert")).toList());
      testKit.stop(metrics);
    }
  }

  /**
   * The run's analyzers' drop and failure counters are exported at 0 from the first scrape, so that Prometheus's
   * {@code increase()} (the dashboards' "Dropped snapshots" and "Analysis failures" panels) counts the first drop:
   * a counter first seen at 1 has no increase.
   */
  @Test
  void theRunsAnalyzersCountersStartAtZero(@TempDir Path dir) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r5", "method", "simclr", "dataset", "mnist"), null, a -> { }, List.of("embedding", "regions")));
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    for (String analyzer : List.of("embedding", "regions")) {
      for (String family : List.of("splinewatch_snapshots_dropped_total", "splinewatch_analysis_failures_total")) {
        assertTrue(scrape.contains(family + "{analyzer=\"" + analyzer + "\",dataset=\"mnist\",method=\"simclr\","
            + "run=\"r5\"} 0.0"), family + " of " + analyzer + ": " + scrape);
      }
    }
    metrics.tell(new MetricsActor.SnapshotDropped("regions"));
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    assertTrue(registry.scrape().contains("splinewatch_snapshots_dropped_total{analyzer=\"regions\",dataset=\"mnist\","
        + "method=\"simclr\",run=\"r5\"} 1.0"));
    testKit.stop(metrics);
  }

  /** A run's analyzers as its config.json names them; none where the settings hold no list. */
  @Test
  void theAnalyzersOfAConfig() {
    assertEquals(List.of("embedding", "probe"), MetricsActor.analyzersOf(Map.of("settings",
        Map.of("analyzers", List.of("embedding", "probe")))));
    assertEquals(List.of(), MetricsActor.analyzersOf(Map.of("settings", Map.of("analyzers", "embedding"))));
    assertEquals(List.of(), MetricsActor.analyzersOf(Map.of("run_id", "x")));
  }

  /**
   * A scrape sees each publication whole: while the actor publishes (loss, step) = (i, i) for 3,000 steps, scrapes taken
   * through {@link ScrapeConsistency} from another thread never pair one step's loss with another step (the
   * comparison-by-step dashboard plots one against the other).
   */
  @Test
  void aScrapeNeverSeesHalfOfAPublication(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r3", "method", "simclr", "dataset", "mnist")));
    AtomicBoolean done = new AtomicBoolean();
    List<String> mismatches = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger scrapes = new AtomicInteger();
    Pattern loss = Pattern.compile("splinewatch_training_loss\\{[^}]*} (\\S+)");
    Pattern step = Pattern.compile("splinewatch_training_step\\{[^}]*} (\\S+)");
    Thread scraper = new Thread(() -> {
      while (!done.get()) {
        String text = ScrapeConsistency.scrape(registry::scrape);
        var l = loss.matcher(text);
        var st = step.matcher(text);
        if (l.find() && st.find() && !l.group(1).equals(st.group(1))) {
          mismatches.add("loss " + l.group(1) + " with step " + st.group(1));
        }
        scrapes.incrementAndGet();
      }
    });
    scraper.start();
    // the scraper is running before the publications start (on a loaded machine a new thread can wait for a core
    // until they are all done, and then no scrape overlaps them, or none is taken at all)
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (scrapes.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertTrue(scrapes.get() > 0, "the scraper thread never scraped");
    for (int i = 1; i <= 3000; i++) {
      metrics.tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_training_loss", i, i),
          Sample.of("splinewatch_training_step", i, i), Sample.of("splinewatch_training_epoch", 0, i))));
    }
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(Duration.ofSeconds(30), Done.getInstance());
    done.set(true);
    scraper.join();
    assertTrue(scrapes.get() > 0);
    assertEquals(List.of(), mismatches, scrapes.get() + " scrapes");
    testKit.stop(metrics);
  }

  /**
   * The analyzer counters are on the first scrape, before anything was dropped or failed, with the same labels as
   * later (analyzer "none"), so a dashboard's {{analyzer}} legend and a by (analyzer) aggregation have a value.
   */
  @Test
  void analyzerCountersCarryTheAnalyzerLabelFromTheFirstScrape(@TempDir Path dir) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r1", "method", "simclr", "dataset", "mnist")));
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    for (String family : List.of("splinewatch_analysis_failures_total", "splinewatch_snapshots_dropped_total")) {
      List<String> series = scrape.lines().filter(l -> l.startsWith(family + "{")).toList();
      assertEquals(1, series.size(), scrape);
      assertTrue(series.get(0).contains("analyzer=\"none\""), series.get(0));
    }
    assertEquals(Map.of(), AnalysisCoverage.of(registry).byAnalyzer(), "the placeholders are no analyzer");
    testKit.stop(metrics);
  }

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
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("splinewatch_regions{dataset=\"mnist\",layer=\"all\",method=\"simclr\",plane=\"0\","
        + "run=\"r1\"} 95.0"), scrape);
    assertTrue(scrape.contains("splinewatch_snapshots_dropped_total{analyzer=\"regions\",dataset=\"mnist\""), scrape);
    assertTrue(scrape.contains("splinewatch_analysis_seconds_count{analyzer=\"regions\""), scrape);
    assertTrue(scrape.contains("splinewatch_run_active{dataset=\"mnist\",method=\"simclr\",run=\"r1\"} 1.0"),
        scrape);
    testKit.stop(metrics);
    assertTrue(registry.scrape().contains("splinewatch_run_active{dataset=\"mnist\",method=\"simclr\",run=\"r1\"} 0.0"),
        "a stopped run is no longer active");
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertEquals(2, lines.stream().filter(l -> l.contains("\"splinewatch_regions\"")).count());
    assertTrue(lines.stream().anyMatch(l -> l.contains("\"step\":100") && l.contains("\"value\":120.0")));
  }

  /** A run stopped by an alert shows the rule that stopped it, once: a later stop's rule adds no second series. */
  @Test
  void aRunStoppedEarlyShowsTheFirstRuleThatStoppedIt(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r3", "method", "vicreg", "dataset", "mnist")));
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    assertTrue(!registry.scrape().contains("splinewatch_run_stopped_early"), "no series before a stop");
    metrics.tell(new MetricsActor.StoppedEarly("batch_collapse"));
    metrics.tell(new MetricsActor.StoppedEarly("dim_collapse"));
    metrics.tell(new MetricsActor.TrainingEnded(622));
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    assertTrue(scrape.contains("splinewatch_run_stopped_early{dataset=\"mnist\",method=\"vicreg\","
        + "rule=\"batch_collapse\",run=\"r3\"} 1.0"), scrape);
    assertEquals(1, scrape.lines().filter(l -> l.startsWith("splinewatch_run_stopped_early{")).count(), scrape);
  }

  @Test
  void aRunIsNoLongerActiveOnceItsTrainingEndsWhileItsAnalysesStillReport(@TempDir Path dir) throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ActorRef<MetricsActor.Command> metrics = testKit.spawn(MetricsActor.create(registry, new RunLog(dir),
        Map.of("run", "r2", "method", "simclr", "dataset", "mnist")));
    String active = "splinewatch_run_active{dataset=\"mnist\",method=\"simclr\",run=\"r2\"} ";
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    assertTrue(registry.scrape().contains(active + "1.0"), registry.scrape());
    metrics.tell(new MetricsActor.TrainingEnded(300));
    // a draining analysis still publishes: its value is kept, the run stays inactive
    metrics.tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_regions", 80, 300, "plane", "0",
        "layer", "all"))));
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.expectMessage(PROBE_WAIT, Done.getInstance());
    String scrape = registry.scrape();
    assertTrue(scrape.contains(active + "0.0"), scrape);
    assertTrue(scrape.contains("splinewatch_regions{dataset=\"mnist\",layer=\"all\",method=\"simclr\",plane=\"0\","
        + "run=\"r2\"} 80.0"), scrape);
    testKit.stop(metrics);
  }
}
