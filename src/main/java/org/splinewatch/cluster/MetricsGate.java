package org.splinewatch.cluster;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * What peers of a run talk to on the metrics node: checks every {@link MetricsActor.Command} (only the
 * {@link MetricFamilies} with valid labels, bounded events and strings) before it reaches the run's
 * {@link MetricsActor}, its child. Refused messages are counted and logged by {@link Rejections}. The child resumes
 * after a failure (its gauges stay registered), so one bad message cannot stop a run's metrics. The metrics node
 * spawns it under an unguessable name and gives its reference only to the run's trainer, which hands it to the
 * analyzer nodes it streams to. Samples and events arrive as {@link MetricsNode.SignedPublish} and {@link
 * MetricsNode.SignedEvent} with the run's publish token (the one its trainer registered); a plain {@link
 * MetricsActor.Publish} or {@link MetricsActor.Event}, or one with another token, is refused ({@code bad_token}).
 */
final class MetricsGate {
  static final int MAX_SAMPLES = 10_000;
  static final int MAX_EVENT_FIELDS = 32;
  static final int MAX_STRING = 4_000;

  private MetricsGate() {
  }

  /**
   * From the metrics node only, once it has checked the run's token ({@link MetricsNode.TrainingEnded}): the run's
   * training ended at {@code step}. Not bound to a serializer, so no peer can send it;
   * a {@link MetricsActor.TrainingEnded} sent to the gate from outside is refused.
   */
  record TrainingEnded(long step) {
  }

  /**
   * From the metrics node only: a collapse alert of {@code rule} stopped the run ({@link MetricsActor.StoppedEarly}
   * sent to the gate from outside is refused).
   */
  record StoppedEarly(String rule) {
  }

  /**
   * @param publishToken the run's publish token when its trainer registered one: then only {@link
   *                     MetricsNode.SignedPublish} with it gets through; null: signed publishes need the token first
   *                     announced ({@link MetricsNode.PublishToken}), and plain {@link MetricsActor.Publish} is
   *                     still accepted (clients that register no token, such as HTTP-ingested runs)
   */
  static Behavior<Object> create(Behavior<MetricsActor.Command> metrics, Rejections rejections,
      String publishToken) {
    return create(metrics, rejections, publishToken, error -> { }, java.util.OptionalLong.empty(), new AtomicLong(-1));
  }

  /**
   * As above; {@code writerFailed} hears, once, why the run's files could not be written (disk full, I/O error): the
   * child then stops, instead of failing again on every sample with a stack trace each, and the gate answers
   * {@link MetricsActor.Flush} itself and drops the rest. {@code everyBefore} is the snapshot interval the run's
   * config.json recorded before this segment registered (a resumed run's, read by the monitor, which writes it): a
   * {@code run_resumed} without {@code snapshot_every_before} gets it, since a {@code --monitor} trainer cannot read
   * the monitor's config.json ({@code ./monitor detection} counts each segment's snapshots in its own interval).
   * {@code trainingStep} is raised to the last {@code splinewatch_training_step} the run's trainer published (the
   * metrics node records it in the run_finished of a run whose trainer went away).
   */
  static Behavior<Object> create(Behavior<MetricsActor.Command> metrics, Rejections rejections,
      String publishToken, Consumer<String> writerFailed, java.util.OptionalLong everyBefore, AtomicLong trainingStep) {
    return Behaviors.setup(ctx -> {
      // an I/O failure (the run log) stops the child; any other failure resumes it (one bad message)
      ActorRef<MetricsActor.Command> inner = ctx.spawn(Behaviors.supervise(Behaviors.supervise(metrics)
          .onFailure(UncheckedIOException.class, SupervisorStrategy.stop().withLoggingEnabled(false)))
          .onFailure(Exception.class, SupervisorStrategy.resume()), "metrics");
      ctx.watch(inner);
      boolean[] failed = {false};
      String[] bound = {publishToken}; // the run's publish token: registered, or once its publisher announced it
      Predicate<String> runsToken = t -> bound[0] != null && t != null && sameToken(bound[0], t);
      return Behaviors.receive(Object.class)
          .onSignal(ChildFailed.class, f -> {
            failed[0] = true;
            writerFailed.accept(f.getCause().getMessage());
            return Behaviors.same();
          })
          .onSignal(Terminated.class, t -> {
            failed[0] = true;
            return Behaviors.same();
          })
          .onMessage(MetricsActor.Flush.class, f -> failed[0], f -> {
            if (f.replyTo() != null) {
              f.replyTo().tell(Done.getInstance()); // nothing more can be written
            }
            return Behaviors.same();
          })
          .onMessage(Object.class, m -> failed[0], m -> Behaviors.same())
          .onMessage(TrainingEnded.class, e -> {
            inner.tell(new MetricsActor.TrainingEnded(e.step()));
            return Behaviors.same();
          })
          .onMessage(StoppedEarly.class, e -> {
            inner.tell(new MetricsActor.StoppedEarly(e.rule()));
            return Behaviors.same();
          })
          .onMessage(MetricsNode.PublishToken.class, t -> {
            if (t.token() == null || !t.token().matches("[0-9a-f]{32}")) {
              rejections.reject("metrics", "bad_token", "unknown", "PublishToken that is not 32 hex digits");
            } else if (bound[0] == null) {
              bound[0] = t.token();
            } else if (!sameToken(bound[0], t.token())) {
              rejections.reject("metrics", "bad_token", "unknown", "a second PublishToken for a run whose"
                  + " publisher already announced its token");
            }
            return Behaviors.same();
          })
          .onMessage(MetricsNode.SignedPublish.class, p -> {
            if (!runsToken.test(p.token())) {
              rejections.reject("metrics", "bad_token", "unknown", "Publish without the run's publish token");
              return Behaviors.same();
            }
            MetricsActor.Publish publish = new MetricsActor.Publish(p.samples());
            Optional<String> problem = problem(publish);
            if (problem.isPresent()) {
              rejections.reject("metrics", reason(publish), "unknown", problem.get());
            } else {
              for (Sample x : p.samples()) {
                if (x.name().equals(MetricFamily.TRAINING_STEP.id())) {
                  trainingStep.accumulateAndGet(x.step(), Math::max);
                }
              }
              inner.tell(publish);
            }
            return Behaviors.same();
          })
          .onMessage(MetricsNode.SignedNonFiniteWeights.class, w -> {
            // a divergence alert can stop the run: only the run's own side, with its publish token, may raise it
            if (!runsToken.test(w.token())) {
              rejections.reject("metrics", "bad_token", "unknown", "NonFiniteWeights without the run's publish token");
            } else {
              inner.tell(new MetricsActor.NonFiniteWeights(w.step(), Rejections.clip(w.entry(), MAX_STRING)));
            }
            return Behaviors.same();
          })
          .onMessage(MetricsNode.SignedEvent.class, e -> {
            if (!runsToken.test(e.token())) {
              rejections.reject("metrics", "bad_token", "unknown", "Event without the run's publish token");
              return Behaviors.same();
            }
            Optional<String> problem = eventProblem(e.fields());
            if (problem.isPresent()) {
              rejections.reject("metrics", "bad_metrics_message", "unknown", problem.get());
            } else {
              Map<String, Object> fields = javaValues(e.fields());
              if (everyBefore.isPresent() && "run_resumed".equals(fields.get("type"))) {
                fields.putIfAbsent("snapshot_every_before", everyBefore.getAsLong());
              }
              inner.tell(new MetricsActor.Event(fields));
            }
            return Behaviors.same();
          })
          .onMessage(MetricsActor.Publish.class, p -> publishToken != null, p -> {
            rejections.reject("metrics", "bad_token", "unknown", "Publish without the run's publish token");
            return Behaviors.same();
          })
          .onMessage(MetricsActor.Event.class, e -> publishToken != null, e -> {
            rejections.reject("metrics", "bad_token", "unknown", "Event without the run's publish token");
            return Behaviors.same();
          })
          // a run registered without a publish token (an HTTP-ingested run) still takes plain publishes
          .onMessage(MetricsActor.Command.class, m -> {
            Optional<String> problem = problem(m);
            if (problem.isPresent()) {
              String peer = m instanceof MetricsActor.Flush f && f.replyTo() != null
                  ? f.replyTo().path().address().toString() : "unknown";
              rejections.reject("metrics", reason(m), peer, problem.get());
            } else {
              inner.tell(m instanceof MetricsActor.AnalysisFailed f
                  ? new MetricsActor.AnalysisFailed(f.analyzer(), f.step(), Rejections.clip(f.error(), MAX_STRING))
                  : m instanceof MetricsActor.Event e ? new MetricsActor.Event(javaValues(e.fields())) : m);
            }
            return Behaviors.same();
          })
          .onAnyMessage(m -> {
            rejections.reject("metrics", "bad_metrics_message", "unknown", "unknown message "
                + m.getClass().getSimpleName());
            return Behaviors.same();
          })
          .build();
    });
  }

  private static boolean sameToken(String expected, String given) {
    return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }

  /** The label of a refused message in {@code splinewatch_cluster_rejected_total{reason}}. */
  private static String reason(MetricsActor.Command m) {
    return m instanceof MetricsActor.Publish ? "bad_sample" : "bad_metrics_message";
  }

  static Optional<String> problem(MetricsActor.Command m) {
    if (m instanceof MetricsActor.Publish p) {
      List<Sample> samples = p.samples();
      if (samples == null || samples.size() > MAX_SAMPLES) {
        return Optional.of("Publish needs 0 to " + MAX_SAMPLES + " samples, got "
            + (samples == null ? "null" : samples.size()));
      }
      for (Sample s : samples) {
        Optional<String> bad = MetricFamilies.problem(s);
        if (bad.isPresent()) {
          return bad;
        }
      }
      return Optional.empty();
    }
    if (m instanceof MetricsActor.AnalysisTook t) {
      if (!Double.isFinite(t.seconds()) || t.seconds() < 0) {
        return Optional.of("analysis time " + t.seconds() + " s is not a finite non-negative number");
      }
      return MetricFamilies.labelValueProblem("analyzer", t.analyzer());
    }
    if (m instanceof MetricsActor.SnapshotDropped d) {
      return MetricFamilies.labelValueProblem("analyzer", d.analyzer());
    }
    if (m instanceof MetricsActor.SnapshotsUnanalysed u) {
      return u.count() < 0 ? Optional.of("unanalysed snapshot count " + u.count() + " is negative")
          : MetricFamilies.labelValueProblem("analyzer", u.analyzer());
    }
    if (m instanceof MetricsActor.AnalysisFailed f) {
      return MetricFamilies.labelValueProblem("analyzer", f.analyzer());
    }
    if (m instanceof MetricsActor.Event e) {
      return eventProblem(e.fields());
    }
    if (m instanceof MetricsActor.TrainingEnded) {
      return Optional.of("TrainingEnded sent to a run's metrics; expected MetricsNode.TrainingEnded with the run's"
          + " token");
    }
    if (m instanceof MetricsActor.StoppedEarly) {
      return Optional.of("StoppedEarly sent to a run's metrics; only the metrics node marks a run stopped early");
    }
    if (m instanceof MetricsActor.NonFiniteWeights) {
      return Optional.of("NonFiniteWeights without the run's publish token (expected SignedNonFiniteWeights)");
    }
    if (m instanceof MetricsActor.Flush f) {
      return f.replyTo() == null ? Optional.of("Flush without a reply address") : Optional.empty();
    }
    return Optional.of("unknown message " + m.getClass().getSimpleName());
  }

  /**
   * An event for {@code events.jsonl}: at most {@value #MAX_EVENT_FIELDS} fields named in lower case, values
   * strings (at most {@value #MAX_STRING} characters), numbers, booleans, or up to two levels of lists and maps of
   * those (e.g. {@code analysed_snapshots}: {analyzer: {analysed, offered}}).
   */
  static Optional<String> eventProblem(Map<String, Object> fields) {
    if (fields == null || fields.isEmpty() || fields.size() > MAX_EVENT_FIELDS) {
      return Optional.of("an event needs 1 to " + MAX_EVENT_FIELDS + " fields");
    }
    if (!(fields.get("type") instanceof String type) || !type.matches("[a-z_]{1,40}")) {
      return Optional.of("an event needs a type of 1 to 40 of a-z and '_'");
    }
    for (var e : fields.entrySet()) {
      if (e.getKey() == null || !e.getKey().matches("[a-z_]{1,40}")) {
        return Optional.of("event field '" + Rejections.clip(e.getKey(), 40) + "' is not 1 to 40 of a-z and '_'");
      }
      if (!plainValue(e.getValue(), 2)) {
        return Optional.of("event field " + e.getKey() + " holds a value that is not a short string, number,"
            + " boolean or a small list or map of those");
      }
    }
    return Optional.empty();
  }

  /**
   * Fields as they arrived over the cluster (an event, a run's configuration), with their nested maps and lists
   * (which arrive as Scala collections) turned into Java ones, so that {@code events.jsonl} and {@code config.json}
   * get {@code {"training": 41.3, ...}} and not a Scala collection's bean properties.
   */
  static Map<String, Object> javaValues(Map<String, Object> fields) {
    Map<String, Object> out = new LinkedHashMap<>();
    fields.forEach((k, v) -> out.put(k, deepJava(v)));
    return out;
  }

  private static Object deepJava(Object value) {
    Object v = asJava(value);
    if (v instanceof Map<?, ?> map) {
      // a Scala map has no order of its own: its keys sorted, so that the same value is always written the same way
      Map<Object, Object> m = value instanceof scala.collection.Map<?, ?>
          && map.keySet().stream().allMatch(k -> k instanceof String) ? new TreeMap<>() : new LinkedHashMap<>();
      map.forEach((k, x) -> m.put(k, deepJava(x)));
      return m;
    }
    if (v instanceof List<?> list) {
      return new ArrayList<>(list.stream().map(MetricsGate::deepJava).toList());
    }
    return v;
  }

  /** Values typed Object arrive as Scala collections (Pekko's Jackson has the Scala module): as Java ones. */
  static Object asJava(Object v) {
    if (v instanceof scala.collection.Map<?, ?> sm) {
      return scala.jdk.javaapi.CollectionConverters.asJava(sm);
    }
    if (v instanceof scala.collection.Iterable<?> si) {
      return new ArrayList<>(scala.jdk.javaapi.CollectionConverters.asJavaCollection(si));
    }
    return v;
  }

  private static boolean plainValue(Object value, int depth) {
    Object v = asJava(value);
    if (v == null || v instanceof Number || v instanceof Boolean) {
      return true;
    }
    if (v instanceof String s) {
      return s.length() <= MAX_STRING;
    }
    if (depth == 0) {
      return false;
    }
    if (v instanceof List<?> l) {
      return l.size() <= 64 && l.stream().allMatch(x -> plainValue(x, depth - 1));
    }
    if (v instanceof Map<?, ?> map) {
      return map.size() <= 64 && map.entrySet().stream().allMatch(x -> x.getKey() instanceof String k
          && k.length() <= 64 && plainValue(x.getValue(), depth - 1));
    }
    return false;
  }
}
