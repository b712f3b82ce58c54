package org.splinewatch.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The single writer of a run's metrics: turns samples into Micrometer gauges (names per architecture.md, labels
 * run/method/dataset plus the sample's own) and appends them to the run log. Gauges hold their value in a
 * {@link Holder} kept strongly here (Micrometer keeps gauge state weakly).
 */
public final class MetricsActor extends AbstractBehavior<MetricsActor.Command> {

  /** Messages. */
  public sealed interface Command {
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

  /** An analysis failed (the analyzer is restarted). */
  public record AnalysisFailed(String analyzer, long step, String error) implements Command {
  }

  /** An event for {@code events.jsonl}. */
  public record Event(Map<String, Object> fields) implements Command {
  }

  /** Replies once everything before it is written. */
  public record Flush(ActorRef<Done> replyTo) implements Command {
  }

  /** Mutable gauge value, strongly referenced. */
  static final class Holder {
    volatile double value = Double.NaN;
  }

  private final MeterRegistry registry;
  private final RunLog log;
  private final Map<String, String> runLabels;
  private final Tags runTags;
  private final Map<String, Holder> gauges = new HashMap<>();

  public static Behavior<Command> create(MeterRegistry registry, RunLog log, Map<String, String> runLabels) {
    return Behaviors.setup(ctx -> new MetricsActor(ctx, registry, log, runLabels));
  }

  private MetricsActor(ActorContext<Command> ctx, MeterRegistry registry, RunLog log, Map<String, String> runLabels) {
    super(ctx);
    this.registry = registry;
    this.log = log;
    this.runLabels = new TreeMap<>(runLabels);
    Tags tags = Tags.empty();
    for (var e : this.runLabels.entrySet()) {
      tags = tags.and(e.getKey(), e.getValue());
    }
    this.runTags = tags;
    dropCounter("none"); // make the family visible from the first scrape
    registry.counter("splinewatch.analysis.failures", runTags);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(AnalysisTook.class, this::onAnalysisTook)
        .onMessage(SnapshotDropped.class, m -> {
          Counter c = dropCounter(m.analyzer());
          c.increment();
          log.append(List.of(Sample.of("splinewatch_snapshots_dropped_total", c.count(), -1, "analyzer",
              m.analyzer())), runLabels);
          return this;
        })
        .onMessage(AnalysisFailed.class, m -> {
          registry.counter("splinewatch.analysis.failures", runTags.and("analyzer", m.analyzer())).increment();
          log.event(Map.of("type", "analysis_failed", "analyzer", m.analyzer(), "step", m.step(), "error",
              m.error(), "time", System.currentTimeMillis()));
          return this;
        })
        .onMessage(Event.class, m -> {
          log.event(m.fields());
          return this;
        })
        .onMessage(Flush.class, m -> {
          m.replyTo().tell(Done.getInstance());
          return this;
        })
        .onSignal(PostStop.class, s -> {
          log.close();
          return this;
        })
        .build();
  }

  private Counter dropCounter(String analyzer) {
    return registry.counter("splinewatch.snapshots.dropped", runTags.and("analyzer", analyzer));
  }

  private Behavior<Command> onPublish(Publish m) {
    for (Sample s : m.samples()) {
      gauge(s.name(), s.labels()).value = s.value();
    }
    log.append(m.samples(), runLabels);
    return this;
  }

  private Behavior<Command> onAnalysisTook(AnalysisTook m) {
    Timer.builder("splinewatch.analysis").description("Time to analyze one snapshot")
        .tags(runTags.and("analyzer", m.analyzer())).register(registry)
        .record(Duration.ofNanos((long) (m.seconds() * 1e9)));
    log.append(List.of(Sample.of("splinewatch_analysis_seconds", m.seconds(), m.step(), "analyzer", m.analyzer())),
        runLabels);
    return this;
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
      Gauge.builder(name.replace('_', '.'), h, x -> x.value).tags(tags).strongReference(true).register(registry);
      gauges.put(key, h);
    }
    return h;
  }
}
