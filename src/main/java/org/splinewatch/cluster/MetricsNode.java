package org.splinewatch.cluster;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.monitor.RunControl;
import org.splinewatch.monitor.RunGuardian;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.wire.CborSerializable;

/**
 * The metrics role: one per metrics node, registered under {@link #KEY}. Each run that joins gets a
 * {@link MetricsActor} here (same names and labels as a single process, one shared registry behind one
 * {@code /metrics}), its run directory ({@code config.json}, {@code metrics.jsonl}, {@code events.jsonl}, the report
 * at the end) and a collapse detector whose alerts go back to the run's trainer. The control endpoint can stop any
 * registered run. A trainer whose node leaves before {@link RunFinished} has its run marked failed.
 */
public final class MetricsNode extends AbstractBehavior<MetricsNode.Command> {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "splinewatch-metrics");

  /** Messages. */
  public sealed interface Command extends CborSerializable {
  }

  /**
   * A trainer starts streaming a run here. {@code trainer} receives {@link TrainerActor.Stop} (from alerts or the
   * control endpoint) and is watched: if it goes away before {@link RunFinished}, the run is marked failed.
   */
  public record RegisterRun(String runId, Map<String, String> labels, Map<String, Object> config, int classes,
      AlertSettings alerts, ActorRef<TrainerActor.Command> trainer, ActorRef<RunGuardian.AlertRaised> alertsTo,
      ActorRef<Registered> replyTo) implements Command {
  }

  /** The run's metrics actor on this node, or why the run was refused. */
  public record Registered(String runId, ActorRef<MetricsActor.Command> metrics, String metricsUrl, String error)
      implements CborSerializable {
  }

  /** The run ended; {@code event} is its {@code run_finished} event. Replies once written. */
  public record RunFinished(String runId, Map<String, Object> event, ActorRef<Done> replyTo) implements Command {
  }

  private record TrainerGone(String runId) implements Command {
  }

  private record AlertFired(String runId, Alert alert) implements Command {
  }

  private record Run(Path dir, ActorRef<MetricsActor.Command> metrics, RegisterRun registration) {
  }

  private final MeterRegistry registry;
  private final Path out;
  private final RunControl control;
  private final String metricsUrl;
  private final Map<String, Run> runs = new HashMap<>();

  /** @param metricsUrl where this node serves {@code /metrics} (told to trainers; empty when none) */
  public static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new MetricsNode(ctx, registry, out, control, metricsUrl);
    });
  }

  private MetricsNode(ActorContext<Command> ctx, MeterRegistry registry, Path out, RunControl control,
      String metricsUrl) {
    super(ctx);
    this.metricsUrl = metricsUrl;
    this.registry = registry;
    this.out = out;
    this.control = control;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(RegisterRun.class, this::onRegister)
        .onMessage(AlertFired.class, m -> {
          Run run = runs.get(m.runId());
          if (run != null) {
            run.registration().alertsTo().tell(new RunGuardian.AlertRaised(m.alert()));
          }
          return this;
        })
        .onMessage(RunFinished.class, m -> {
          Run run = runs.remove(m.runId());
          if (run != null) {
            finish(run, m.event());
            try {
              org.splinewatch.report.ReportWriter.write(List.of(org.splinewatch.report.RunData.read(run.dir())),
                  run.dir().resolve("report.html"));
            } catch (RuntimeException e) {
              getContext().getLog().warn("cannot write the report of run {}: {}", m.runId(), e.getMessage());
            }
          }
          m.replyTo().tell(Done.getInstance());
          return this;
        })
        .onMessage(TrainerGone.class, m -> {
          Run run = runs.remove(m.runId());
          if (run != null) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", "run_finished");
            event.put("exit_code", 1);
            event.put("stopped", false);
            event.put("status", "failed");
            event.put("error", "the trainer's node left the cluster before the run finished");
            event.put("time", System.currentTimeMillis());
            finish(run, event);
          }
          return this;
        })
        .build();
  }

  private Behavior<Command> onRegister(RegisterRun m) {
    if (!m.runId().matches("[A-Za-z0-9._-]+")) {
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "run id '" + m.runId() + "' may only contain letters, digits,"
          + " '.', '_' and '-'"));
      return this;
    }
    if (runs.containsKey(m.runId())) {
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "run '" + m.runId() + "' is already streaming to this"
          + " monitor; choose another --run-id"));
      return this;
    }
    Path dir = out.resolve(m.runId());
    try {
      RunLog.writeConfig(dir, m.config());
      RunLog log = new RunLog(dir);
      org.splinewatch.metrics.RunInfoMetric.register(registry, m.config());
      CollapseDetector detector = m.alerts() == null ? null : new CollapseDetector(m.alerts(), m.runId(), m.classes());
      ActorRef<Command> self = getContext().getSelf();
      ActorRef<MetricsActor.Command> metrics = getContext().spawn(MetricsActor.create(registry, log, m.labels(),
          detector, alert -> self.tell(new AlertFired(m.runId(), alert))), "run-" + m.runId() + "-" + System.nanoTime());
      runs.put(m.runId(), new Run(dir, metrics, m));
      getContext().watchWith(m.trainer(), new TrainerGone(m.runId()));
      control.register(m.runId(), reason -> m.trainer().tell(new TrainerActor.Stop(reason)));
      m.replyTo().tell(new Registered(m.runId(), metrics, metricsUrl, null));
    } catch (RuntimeException e) {
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor cannot create " + dir + ": " + e.getMessage()));
    }
    return this;
  }

  private void finish(Run run, Map<String, Object> event) {
    RunLog.appendEvent(run.dir(), event);
    control.unregister(run.registration().runId());
    getContext().unwatch(run.registration().trainer());
    getContext().stop(run.metrics());
  }
}
