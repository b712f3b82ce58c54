package org.splinewatch.metrics;

import org.splinewatch.report.Detection;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.CollapseDetector;

/**
 * The single writer of a run's metrics: turns samples into Micrometer gauges (names per architecture.md, labels
 * run/method/dataset plus the sample's own) and appends them to the run log. Gauges hold their value in a
 * {@link Holder} kept strongly here (Micrometer keeps gauge state weakly).
 */
public final class MetricsActor extends AbstractBehavior<MetricsActor.Command> {

  /** Messages. */
  public sealed interface Command extends org.splinewatch.wire.CborSerializable {
  }

  /** New values. */
  public record Publish(List<Sample> samples) implements Command {
  }

  /** One analysis took this long ({@code splinewatch_analysis_seconds{analyzer}}). */
  public record AnalysisTook(String analyzer, long step, double seconds) implements Command {
  }

  /** The hub dropped an un-analyzed snapshot for this analyzer. */
  public record SnapshotDropped(String analyzer) implements Command {
  }

  /** The run ended early with {@code count} snapshots this analyzer had not started on: they are skipped. */
  public record SnapshotsUnanalysed(String analyzer, long count) implements Command {
  }

  /** An analysis failed (the analyzer is restarted). */
  public record AnalysisFailed(String analyzer, long step, String error) implements Command {
  }

  /**
   * A snapshot refused because its weights hold a non-finite number ({@code entry}, the first) at {@code step}: a
   * divergence, judged by the {@code divergence} rule. Over the cluster it travels signed
   * ({@code MetricsNode.SignedNonFiniteWeights}), as samples do: it can stop the run.
   */
  public record NonFiniteWeights(long step, String entry) implements Command {
  }

  /** An event for {@code events.jsonl}. */
  public record Event(Map<String, Object> fields) implements Command {
  }

  /**
   * The run's training ended at {@code step}; its last analyses may still be running. {@code splinewatch_run_active}
   * falls to 0 now, not when they are done: a run that no longer trains raises no Prometheus alert (every rule is
   * gated on it) and cannot be stopped. Over the cluster it comes from the metrics node, which checks the run's token
   * ({@code MetricsNode.TrainingEnded}); sent to a run's gate from outside it is refused.
   */
  public record TrainingEnded(long step) implements Command {
  }

  /**
   * A collapse alert of {@code rule} stopped the run (in process, or through its control endpoint):
   * {@code splinewatch_run_stopped_early{rule}} is 1 from now on (the first rule only: a run is stopped once). Over
   * the cluster it comes from the metrics node ({@code MetricsGate.StoppedEarly}); sent to a run's gate from outside it
   * is refused.
   */
  public record StoppedEarly(String rule) implements Command {
  }

  /**
   * The run resumes from its checkpoint at {@code step}: the collapse detector is brought to where the rules stood
   * then, from the samples of the run directory ({@link Detection#prime}; the resumed run's samples of that step,
   * snapshotted again, are not fed to it a second time), and each rule still firing is handed on
   * once more (so an early-stop policy acts on it) without a second {@code alert_firing} event. A run's
   * {@code run_resumed} {@link Event} does the same.
   */
  public record Resumed(long step) implements Command {
  }

  /** Replies once everything before it is written. */
  public record Flush(ActorRef<Done> replyTo) implements Command {
  }

  /** Mutable gauge value, strongly referenced. */
  static final class Holder {
    volatile double value = Double.NaN;
    /** While {@link #holding} and {@link System#nanoTime()} is before this, the gauge reads at least 1. */
    volatile long holdUntilNanos;
    volatile boolean holding;

    /** What a scrape reads: the value, or 1 for an alert that fired within its export hold. */
    double read() {
      return holding && System.nanoTime() - holdUntilNanos < 0 ? Math.max(1, value) : value;
    }
  }

  private final MeterRegistry registry;
  private final RunLog log;
  private final Map<String, String> runLabels;
  private final Tags runTags;
  private final Map<String, Holder> gauges = new HashMap<>();
  private final List<Holder> strong = new java.util.ArrayList<>(); // counters' state (Micrometer keeps it weakly)

  private final CollapseDetector detector;
  private final Consumer<Alert> onAlert;
  /** A resumed run's checkpoint step (-1: none) and the series the detector was primed with at it ({@link Resumed}). */
  private long checkpointStep = -1;
  private final Set<String> primedAtCheckpoint = new HashSet<>();
  /** The rule whose alert stopped the run ({@link StoppedEarly}); null while none did. */
  private String stoppedEarlyBy;

  public static Behavior<Command> create(MeterRegistry registry, RunLog log, Map<String, String> runLabels) {
    return create(registry, log, runLabels, null, alert -> { });
  }

  /**
   * With a collapse detector: every published sample is also fed to it; a rule changing state sets
   * {@code splinewatch_collapse_alert{rule}}, is written to {@code events.jsonl} and handed to {@code onAlert}.
   */
  public static Behavior<Command> create(MeterRegistry registry, RunLog log, Map<String, String> runLabels,
      CollapseDetector detector, Consumer<Alert> onAlert) {
    return create(registry, log, runLabels, detector, onAlert, List.of());
  }

  /**
   * With the run's analyzers: their {@code splinewatch_snapshots_dropped_total} and
   * {@code splinewatch_analysis_failures_total} series exist at 0 from the first scrape, so that Prometheus's
   * {@code increase()} counts the first drop or failure (a counter first seen at 1 has no increase).
   */
  public static Behavior<Command> create(MeterRegistry registry, RunLog log, Map<String, String> runLabels,
      CollapseDetector detector, Consumer<Alert> onAlert, List<String> analyzers) {
    return Behaviors.setup(ctx -> new MetricsActor(ctx, registry, log, runLabels, detector, onAlert, analyzers));
  }

  /** The analyzers a run's {@code config.json} names ({@code settings.analyzers}); none where it names none. */
  public static List<String> analyzersOf(Map<String, Object> config) {
    if (config.get("settings") instanceof Map<?, ?> settings && settings.get("analyzers") instanceof List<?> names) {
      return names.stream().filter(String.class::isInstance).map(String.class::cast).toList();
    }
    return List.of();
  }

  private MetricsActor(ActorContext<Command> ctx, MeterRegistry registry, RunLog log, Map<String, String> runLabels,
      CollapseDetector detector, Consumer<Alert> onAlert, List<String> analyzers) {
    super(ctx);
    this.detector = detector;
    this.onAlert = onAlert;
    this.registry = registry;
    this.log = log;
    this.runLabels = new TreeMap<>(runLabels);
    Tags tags = Tags.empty();
    for (var e : this.runLabels.entrySet()) {
      tags = tags.and(e.getKey(), e.getValue());
    }
    this.runTags = tags;
    // 1 from the run's start until its training ends (TrainingEnded) or this actor stops (the run finished, failed or
    // was stopped), then 0: every shipped Prometheus alert is gated on it, so a finished run whose series linger, or
    // whose last analyses are still draining, raises nothing
    gauge(MetricFamily.RUN_ACTIVE, Map.of()).value = 1;
    dropCounter("none"); // make the families visible from the first scrape, with the labels they carry later
    failures(runTags.and("analyzer", "none"));
    for (String analyzer : analyzers) {
      dropCounter(analyzer);
      failures(runTags.and("analyzer", analyzer));
    }
    if (detector != null) {
      for (String rule : CollapseDetector.RULES) {
        gauge(MetricFamily.COLLAPSE_ALERT, Map.of("rule", rule, "severity", detector.severity(rule))).value = 0;
        gauge(MetricFamily.ALERT_CONSECUTIVE_BREACHES, Map.of("rule", rule)).value = 0;
      }
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(AnalysisTook.class, this::onAnalysisTook)
        .onMessage(SnapshotDropped.class, m -> {
          Counter c = dropCounter(m.analyzer());
          c.increment();
          log.append(List.of(Sample.of(MetricFamily.SNAPSHOTS_DROPPED_TOTAL, c.count(), -1, "analyzer",
              m.analyzer())), runLabels);
          return this;
        })
        .onMessage(SnapshotsUnanalysed.class, m -> {
          Counter c = Counter.builder(MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL.meterName())
              .tags(runTags.and("analyzer", m.analyzer())).description(MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL.help())
              .register(registry);
          c.increment(m.count());
          log.append(List.of(Sample.of(MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL, c.count(), -1, "analyzer",
              m.analyzer())), runLabels);
          return this;
        })
        .onMessage(AnalysisFailed.class, m -> {
          failures(runTags.and("analyzer", m.analyzer())).increment();
          log.event(Map.of("type", "analysis_failed", "analyzer", m.analyzer(), "step", m.step(), "error",
              m.error(), "time", System.currentTimeMillis()));
          return this;
        })
        .onMessage(Event.class, m -> {
          log.event(m.fields());
          if ("run_resumed".equals(m.fields().get("type")) && m.fields().get("step") instanceof Number step) {
            resumed(step.longValue());
          }
          return this;
        })
        .onMessage(Resumed.class, m -> {
          resumed(m.step());
          return this;
        })
        .onMessage(NonFiniteWeights.class, m -> {
          if (detector != null) {
            raised(detector.nonFiniteWeights(m.step(), m.entry()));
          }
          return this;
        })
        .onMessage(TrainingEnded.class, m -> {
          gauge(MetricFamily.RUN_ACTIVE, Map.of()).value = 0;
          return this;
        })
        .onMessage(StoppedEarly.class, m -> {
          if (stoppedEarlyBy == null && m.rule() != null && !m.rule().isEmpty()) {
            stoppedEarlyBy = m.rule();
            gauge(MetricFamily.RUN_STOPPED_EARLY, Map.of("rule", m.rule())).value = 1;
          }
          return this;
        })
        .onMessage(Flush.class, m -> {
          m.replyTo().tell(Done.getInstance());
          return this;
        })
        .onSignal(PostStop.class, s -> {
          gauge(MetricFamily.RUN_ACTIVE, Map.of()).value = 0;
          log.close();
          return this;
        })
        .build();
  }

  private Counter dropCounter(String analyzer) {
    return Counter.builder(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.meterName()).tags(runTags.and("analyzer", analyzer))
        .description(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.help()).register(registry);
  }

  private Counter failures(Tags tags) {
    return Counter.builder(MetricFamily.ANALYSIS_FAILURES_TOTAL.meterName()).tags(tags)
        .description(MetricFamily.ANALYSIS_FAILURES_TOTAL.help()).register(registry);
  }

  private Behavior<Command> onPublish(Publish m) {
    ScrapeConsistency.publication(() -> {
      for (Sample s : m.samples()) {
        gauge(s.name(), s.labels()).value = s.value();
      }
    });
    log.append(m.samples(), runLabels);
    if (detector != null) {
      raised(detector.observe(primedAtCheckpoint.isEmpty() ? m.samples() : notPrimed(m.samples())));
    }
    return this;
  }

  /**
   * The samples but those of the checkpoint's step the detector was primed with: the resumed run snapshots that step
   * again, and the detector has judged it once already.
   */
  private List<Sample> notPrimed(List<Sample> samples) {
    return samples.stream().filter(x -> x.step() != checkpointStep
        || !primedAtCheckpoint.remove(RunData.seriesKey(x.name(), x.labels()))).toList();
  }

  /** See {@link Resumed}. */
  private void resumed(long step) {
    if (detector == null) {
      return;
    }
    List<Alert> still;
    try {
      RunData run = RunData.read(log.dir());
      still = Detection.prime(detector, run, step);
      checkpointStep = step;
      primedAtCheckpoint.clear();
      primedAtCheckpoint.addAll(Detection.seriesAt(run, step));
    } catch (RuntimeException e) { // the earlier samples unreadable: the rules start afresh, as before a resume
      getContext().getLog().warn("the collapse rules start afresh: the run's earlier samples could not be read ({})",
          e.getMessage());
      return;
    }
    for (String rule : CollapseDetector.RULES) {
      gauge(MetricFamily.COLLAPSE_ALERT, Map.of("rule", rule, "severity", detector.severity(rule))).value =
          detector.firing(rule) ? 1 : 0;
      gauge(MetricFamily.ALERT_CONSECUTIVE_BREACHES, Map.of("rule", rule)).value = detector.consecutiveBreaches(rule);
    }
    for (Alert a : still) {
      onAlert.accept(new Alert(a.rule(), detector.severity(a.rule()), true, a.run(), a.step(), a.series(), a.values(),
          a.sentence() + "; still firing at the checkpoint's step " + step));
    }
  }

  /** Records the alerts the detector raised (gauge, {@code events.jsonl}) and hands them on. */
  private void raised(List<Alert> alerts) {
    for (Alert a : alerts) {
      Holder state = gauge(MetricFamily.COLLAPSE_ALERT, Map.of("rule", a.rule(), "severity",
          detector.severity(a.rule())));
      if (a.firing() && detector.exportHoldMillis() > 0) {
        // an alert that resolves within seconds still shows on the next scrapes (and so reaches Alertmanager)
        state.holdUntilNanos = System.nanoTime() + detector.exportHoldMillis() * 1_000_000;
        state.holding = true;
      }
      state.value = detector.firing(a.rule()) ? 1 : 0;
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("type", a.firing() ? "alert_firing" : "alert_resolved");
      event.put("rule", a.rule());
      event.put("severity", a.severity());
      event.put("run", a.run());
      event.put("step", a.step());
      event.put("series", a.series());
      Map<String, Object> vals = new LinkedHashMap<>();
      a.values().forEach((k, v) -> vals.put(k, Double.isFinite(v) ? v : String.valueOf(v)));
      event.put("values", vals);
      event.put("message", a.sentence());
      event.put("time", System.currentTimeMillis());
      log.event(event);
      onAlert.accept(a);
    }
    for (String rule : CollapseDetector.RULES) {
      gauge(MetricFamily.ALERT_CONSECUTIVE_BREACHES, Map.of("rule", rule)).value =
          detector.consecutiveBreaches(rule);
    }
  }

  private Behavior<Command> onAnalysisTook(AnalysisTook m) {
    Timer.builder(MetricFamily.ANALYSIS_SECONDS.meterName()).description(MetricFamily.ANALYSIS_SECONDS.help())
        .tags(runTags.and("analyzer", m.analyzer())).register(registry)
        .record(Duration.ofNanos((long) (m.seconds() * 1e9)));
    log.append(List.of(Sample.of(MetricFamily.ANALYSIS_SECONDS, m.seconds(), m.step(), "analyzer", m.analyzer())),
        runLabels);
    return this;
  }

  private Holder gauge(MetricFamily family, Map<String, String> labels) {
    return gauge(family.id(), labels);
  }

  private Holder gauge(String name, Map<String, String> labels) {
    String key = name + new TreeMap<>(labels);
    Holder h = gauges.get(key);
    if (h == null) {
      h = new Holder();
      Tags tags = runTags;
      for (var e : new TreeMap<>(labels).entrySet()) {
        tags = tags.and(e.getKey(), e.getValue());
      }
      if (name.endsWith("_total")) {
        // a running total: a counter (Micrometer adds the _total suffix back)
        FunctionCounter.builder(name.substring(0, name.length() - 6).replace('_', '.'), h, x -> x.value).tags(tags)
            .description(MetricFamily.helpOf(name)).baseUnit(MetricFamily.unitOf(name)).register(registry);
        strong.add(h);
      } else {
        Gauge.builder(name.replace('_', '.'), h, Holder::read).tags(tags).strongReference(true)
            .description(MetricFamily.helpOf(name)).baseUnit(MetricFamily.unitOf(name)).register(registry);
      }
      gauges.put(key, h);
    }
    return h;
  }
}
