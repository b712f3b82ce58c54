package org.splinewatch.cluster;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.splinewatch.alerts.Alert;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.alerts.EarlyStopPolicy;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.metrics.RunInfoMetric;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.wire.CborSerializable;

/**
 * The metrics role: one per metrics node, registered under {@link #KEY}. Each run that joins gets a
 * {@link MetricsActor} here (same names and labels as a single process, one shared registry behind one
 * {@code /metrics}), its run directory ({@code config.json}, {@code metrics.jsonl}, {@code events.jsonl}, the report
 * at the end) and a collapse detector whose alerts go back to the run's trainer. The control endpoint can stop any
 * registered run. A trainer whose node leaves before {@link RunFinished} has its run marked failed. A finished run's
 * meters leave {@code /metrics} after {@code splinewatch.retention.finished-run-meters-grace}.
 *
 * <p>Every message is checked before anything is allocated or written (run id by {@link RunIds}, run labels and
 * config, references present); a refused one is answered where it can be and counted by {@link Rejections}. The
 * run's metrics actor sits behind a {@link MetricsGate} with an unguessable name; registration answers a secret
 * token that only the run's trainer learns, and only {@link RunFinished} with that token ends the run. The trainer
 * registers two tokens of its own: the stop token its stops and alerts carry ({@link TrainerDoor}), and the publish
 * token every {@link SignedPublish} for the run carries. The role
 * restarts with backoff after a failure and keeps its runs.
 *
 * <p>Over 300 lines because it is the whole message protocol of the metrics role (registration, per-run tokens,
 * validated publishing, alerts and run ends), each message checked before it is acted on.
 */
public final class MetricsNode extends AbstractBehavior<MetricsNode.Command> {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "splinewatch-metrics");

  /**
   * Messages. Only the public records cross the network (they are {@link CborSerializable}); the private ones are
   * not bound to a serializer, so no peer can forge them.
   */
  public sealed interface Command {
  }

  /**
   * A trainer starts streaming a run here. {@code trainer} receives {@link TrainerActor.Stop} (from the control
   * endpoint) and {@code alertsTo} the run's alerts, both carrying {@code stopToken} (32 hex digits chosen by the
   * trainer; null for a client that checks no token, such as an HTTP-ingested run living on this node: then alerts
   * go out as plain {@link AlertRaised}); {@code trainer} is watched: if it goes away before {@link RunFinished},
   * the run is marked failed. {@code publishToken} (32 hex digits, or null: the first {@link PublishToken} binds
   * it) is the token every {@link SignedPublish} for the run must carry.
   */
  public record RegisterRun(String runId, Map<String, String> labels, Map<String, Object> config, int classes,
      AlertSettings alerts, ActorRef<TrainerActor.Command> trainer, ActorRef<AlertRaised> alertsTo,
      ActorRef<Registered> replyTo, String stopToken, String publishToken, String resumeKey)
      implements Command, CborSerializable {
    /** Without tokens: stops and alerts go out without one, the first {@link PublishToken} binds the publishes. */
    public RegisterRun(String runId, Map<String, String> labels, Map<String, Object> config, int classes,
        AlertSettings alerts, ActorRef<TrainerActor.Command> trainer, ActorRef<AlertRaised> alertsTo,
        ActorRef<Registered> replyTo) {
      this(runId, labels, config, classes, alerts, trainer, alertsTo, replyTo, null, null);
    }

    /**
     * Without a resume key: the monitor keeps none for the run, so the first registration that resumes it sets one
     * ({@link ResumeKey}).
     */
    public RegisterRun(String runId, Map<String, String> labels, Map<String, Object> config, int classes,
        AlertSettings alerts, ActorRef<TrainerActor.Command> trainer, ActorRef<AlertRaised> alertsTo,
        ActorRef<Registered> replyTo, String stopToken, String publishToken) {
      this(runId, labels, config, classes, alerts, trainer, alertsTo, replyTo, stopToken, publishToken, null);
    }
  }

  /**
   * The run's metrics actor on this node and the token that proves ownership of the run in {@link RunFinished} and
   * {@link TrainingEnded}, or why the run was refused; {@code runIdTaken}: refused because the run id is another
   * run's (streaming here, its directory holds a run, or another trainer started it), which the trainer's command
   * line must change (exit code 2, as a taken run id on the trainer's own machine).
   */
  public record Registered(String runId, ActorRef<MetricsActor.Command> metrics, String metricsUrl, String error,
      String token, boolean runIdTaken, boolean monitorStopping) implements CborSerializable {
    /** An answer whose refusal, if any, is not a taken run id. */
    public Registered(String runId, ActorRef<MetricsActor.Command> metrics, String metricsUrl, String error,
        String token) {
      this(runId, metrics, metricsUrl, error, token, false);
    }

    /** An answer whose refusal, if any, is not the monitor stopping. */
    public Registered(String runId, ActorRef<MetricsActor.Command> metrics, String metricsUrl, String error,
        String token, boolean runIdTaken) {
      this(runId, metrics, metricsUrl, error, token, runIdTaken, false);
    }
  }

  /**
   * The run ended; {@code event} is its {@code run_finished} event, {@code token} the one {@link Registered}
   * answered. Replies once written.
   */
  public record RunFinished(String runId, Map<String, Object> event, ActorRef<Done> replyTo, String token)
      implements Command, CborSerializable {
  }

  /**
   * The run's training ended at {@code step}; its last analyses may still be running. {@code token} is the one
   * {@link Registered} answered. From now on the control endpoint refuses to stop the run (there is nothing left to
   * stop) instead of accepting a stop that stops nothing.
   */
  public record TrainingEnded(String runId, long step, String token) implements Command, CborSerializable {
  }

  /**
   * The run's early-stop mode is now {@code alerts.earlyStop()} (an HTTP run taken over by a registration that asks
   * for another): the alerts that stop it in process, the rules the control endpoint may stop it for, and
   * {@code settings.early_stop} in its {@code config.json} follow it. {@code token} is the one {@link Registered}
   * answered.
   */
  public record EarlyStopChanged(String runId, AlertSettings alerts, String token)
      implements Command, CborSerializable {
  }

  /**
   * Samples for a run's metrics actor (its {@link MetricsGate}) with the run's publish token; a plain
   * {@link MetricsActor.Publish} sent to the gate from outside is refused. {@link PublishSigner} sends these.
   */
  public record SignedPublish(List<Sample> samples, String token) implements CborSerializable {
  }

  /**
   * An event for a run's {@code events.jsonl} (its {@link MetricsGate}) with the run's publish token: for a run
   * registered with one, a plain {@link MetricsActor.Event} from outside is refused, so no other cluster member can
   * write, say, a {@code run_resumed} event (after which the report drops samples) or an {@code alert_firing} into
   * the run's record. {@link PublishSigner} sends these.
   */
  public record SignedEvent(Map<String, Object> fields, String token) implements CborSerializable {
  }

  /** A collapse alert for a trainer that registered a stop token: through its {@link TrainerDoor}. */
  public record RunAlert(Alert alert, String token) implements CborSerializable {
  }

  /**
   * A snapshot refused for non-finite weights ({@link MetricsActor.NonFiniteWeights}) with the run's publish token:
   * it raises the {@code divergence} alert, which can stop the run. {@link PublishSigner} sends these.
   */
  public record SignedNonFiniteWeights(long step, String entry, String token) implements CborSerializable {
  }

  /**
   * The run's publisher tells the run's gate its publish token (32 hex digits) before it hands the gate's address
   * to any analyzer node; the first one binds the run, a different one later is refused.
   */
  public record PublishToken(String token) implements CborSerializable {
  }

  /**
   * The monitor is stopping (its server sends this first, in process; not bound to a serializer, so no peer can send
   * it): from now on a trainer's registration is refused at once, instead of registering a run the stop would leave
   * without its end (or of waiting out its answer-timeout once the node is gone). Runs registered in process (HTTP
   * ingestion, which ends its runs itself on a stop) are still registered. {@code deadline}: the stop's, which also
   * bounds the node's own wait for its last reports when its system terminates (null: {@code reportsOnStop} from
   * now).
   */
  public record Stopping(StopDeadline deadline) implements Command {
    /** A stop whose deadline is the node's {@code reportsOnStop} from now. */
    public Stopping() {
      this(null);
    }
  }

  /** Keyed by the trainer, not the run: one watch per trainer, whatever runs it has registered here. */
  private record TrainerGone(ActorRef<?> trainer) implements Command {
  }

  /** The run's files could not be written (its metrics actor stopped): the run is asked to stop. */
  private record WriterFailed(String runId, String error) implements Command {
  }

  private record AlertFired(String runId, Alert alert) implements Command {
  }

  /** The grace period after a run finished is over: its meters leave {@code /metrics}. */
  private record ForgetMeters(String runId) implements Command {
  }

  /** A finished run's report was written (or {@code failure} says why not): its end is answered now. */
  private record ReportWritten(String runId, ActorRef<Done> replyTo, Throwable failure) implements Command {
  }

  /**
   * A registered run; {@code ended} says how its training ended once its trainer or HTTP client told ({@link
   * TrainingEnded}; null before), read by the control endpoint's threads; {@code trainingStep} the last training step
   * its trainer published (-1: none yet), kept by its gate.
   */
  private record Run(Path dir, ActorRef<MetricsActor.Command> metrics, RegisterRun registration, String token,
      AtomicReference<String> ended, RunLock lock, AtomicLong trainingStep) {
  }

  /**
   * How long a stopping node waits for the reports still being written where its creator gives no wait (tests):
   * {@code splinewatch.cluster.finish-timeout}'s default. {@code monitor serve} gives that setting.
   */
  static final Duration DEFAULT_REPORTS_ON_STOP = Duration.ofSeconds(60);
  private static final int MAX_CONFIG_ENTRIES = 200;
  private static final int MAX_CLASSES = 100_000;

  private final MeterRegistry registry;
  private final Path out;
  private final RunControl control;
  private final String metricsUrl;
  private final Map<String, Run> runs;
  private final Rejections rejections;
  private final int maxRuns;
  private final Duration meterGrace;
  private final RetentionSettings retention;
  private final TimerScheduler<Command> timers;
  private final Predicate<Command> failOn;
  /** The node's reports, one after another (each holds a whole run in the heap); outlives restarts. */
  private final ReportChain reports;
  /** How long the node, stopping, waits for its reports ({@code splinewatch.cluster.finish-timeout}). */
  private final Duration reportsOnStop;
  /** The stop's deadline, set by {@link Stopping} (null before); outlives restarts. */
  private final AtomicReference<StopDeadline> stopping;

  /** @param metricsUrl where this node serves {@code /metrics} (told to trainers; empty when none) */
  public static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl) {
    return create(registry, out, control, metricsUrl, new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL);
  }

  /**
   * Supervised: after a failure the role restarts with backoff (0.2 s to 10 s) and keeps its runs and their
   * children; at most {@code maxRuns} runs at once.
   *
   * @param meterGrace how long a finished run's meters stay on {@code /metrics} (null: for ever)
   * @param retention  rotation of the runs' {@code metrics.jsonl}
   */
  public static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention) {
    return create(registry, out, control, metricsUrl, rejections, maxRuns, meterGrace, retention, new ReportChain());
  }

  /**
   * As above, the finished runs' reports written on {@code reports}, the node's one chain of reports (HTTP ingestion
   * writes the reports of the runs it marked interrupted there too).
   */
  public static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention, ReportChain reports) {
    return create(registry, out, control, metricsUrl, rejections, maxRuns, meterGrace, retention, reports,
        DEFAULT_REPORTS_ON_STOP);
  }

  /**
   * As above; the node, stopping, waits at most {@code reportsOnStop} for the reports still being written
   * ({@code splinewatch.cluster.finish-timeout}).
   */
  public static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention, ReportChain reports,
      Duration reportsOnStop) {
    return create(registry, out, control, metricsUrl, rejections, maxRuns, meterGrace, retention, m -> false,
        reports, reportsOnStop);
  }

  /**
   * Test hook only ({@code RoleRestartTest}): the role throws on the messages {@code failOn} accepts, so that a test
   * can force a failure and watch the supervisor restart it; production passes {@code m -> false}.
   */
  static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention,
      Predicate<Command> failOn) {
    return create(registry, out, control, metricsUrl, rejections, maxRuns, meterGrace, retention, failOn,
        new ReportChain(), DEFAULT_REPORTS_ON_STOP);
  }

  /**
   * Test hook ({@code MetricsNodeReportTest}): {@code report} writes a finished run's report instead of
   * {@link ReportChain#REPORT}.
   */
  static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention,
      Predicate<Command> failOn, Consumer<Path> report) {
    return create(registry, out, control, metricsUrl, rejections, maxRuns, meterGrace, retention, failOn,
        new ReportChain(report), DEFAULT_REPORTS_ON_STOP);
  }

  private static Behavior<Command> create(MeterRegistry registry, Path out, RunControl control, String metricsUrl,
      Rejections rejections, int maxRuns, Duration meterGrace, RetentionSettings retention,
      Predicate<Command> failOn, ReportChain reports, Duration reportsOnStop) {
    Map<String, Run> runs = new HashMap<>(); // outlives restarts
    AtomicReference<StopDeadline> stopping = new AtomicReference<>();
    return Behaviors.supervise(Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new MetricsNode(ctx, registry, out, control, metricsUrl, runs, rejections, maxRuns, meterGrace, retention,
          timers, failOn, reports, reportsOnStop, stopping);
    }))).onFailure(Exception.class, SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
        Duration.ofSeconds(10), 0.2).withStopChildren(false));
  }

  private MetricsNode(ActorContext<Command> ctx, MeterRegistry registry, Path out, RunControl control,
      String metricsUrl, Map<String, Run> runs, Rejections rejections, int maxRuns, Duration meterGrace,
      RetentionSettings retention, TimerScheduler<Command> timers, Predicate<Command> failOn, ReportChain reports,
      Duration reportsOnStop, AtomicReference<StopDeadline> stopping) {
    super(ctx);
    this.failOn = failOn;
    this.reports = reports;
    this.reportsOnStop = reportsOnStop;
    this.stopping = stopping;
    this.meterGrace = meterGrace;
    this.retention = retention;
    this.timers = timers;
    this.metricsUrl = metricsUrl;
    this.registry = registry;
    this.out = out;
    this.control = control;
    this.runs = runs;
    this.rejections = rejections;
    this.maxRuns = maxRuns;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Command.class, failOn::test, m -> {
          throw new IllegalStateException("failure injected by a test");
        })
        .onMessage(RegisterRun.class, this::onRegister)
        .onMessage(Stopping.class, m -> {
          stopping.set(m.deadline() != null ? m.deadline() : StopDeadline.in(reportsOnStop));
          return this;
        })
        .onMessage(WriterFailed.class, m -> {
          // one line, not a stack trace per sample; the trainer or HTTP client hears it as a stop with this reason
          String reason = "metrics writer failed: " + m.error();
          getContext().getLog().error("run {}: {}; asking the run to stop", m.runId(), reason);
          control.stop(m.runId(), reason);
          return this;
        })
        .onMessage(AlertFired.class, m -> {
          Run run = runs.get(m.runId());
          if (run != null) {
            RegisterRun r = run.registration();
            // the trainer (or HTTP client) stops for it by the same policy, unless its training has ended already
            if (run.ended().get() == null
                && EarlyStopPolicy.of(r.alerts()).stopReason(m.alert()).isPresent()) {
              run.metrics().<Object>unsafeUpcast().tell(new MetricsGate.StoppedEarly(m.alert().rule()));
            }
            if (r.stopToken() == null) {
              r.alertsTo().tell(new AlertRaised(m.alert()));
            } else { // a trainer's door: only alerts with the run's stop token pass (they may stop the run)
              r.alertsTo().<Object>unsafeUpcast().tell(new RunAlert(m.alert(), r.stopToken()));
            }
          }
          return this;
        })
        .onMessage(TrainingEnded.class, m -> {
          if (!owner(m.runId(), m.token(), "TrainingEnded", "unknown")) {
            return this;
          }
          if (m.step() < 0) {
            rejections.reject("metrics", "bad_event", "unknown", "TrainingEnded for run '"
                + Rejections.clip(m.runId(), 60) + "' at step " + m.step() + "; expected a step of 0 or more");
            return this;
          }
          Run run = runs.get(m.runId());
          run.ended().set("finished training at step " + m.step());
          run.metrics().<Object>unsafeUpcast().tell(new MetricsGate.TrainingEnded(m.step())); // run_active 0
          return this;
        })
        .onMessage(EarlyStopChanged.class, m -> {
          if (!owner(m.runId(), m.token(), "EarlyStopChanged", "unknown")) {
            return this;
          }
          if (m.alerts() == null || !AlertSettings.EARLY_STOP.contains(m.alerts().earlyStop())) {
            rejections.reject("metrics", "bad_event", "unknown", "EarlyStopChanged for run '"
                + Rejections.clip(m.runId(), 60) + "' without an early-stop mode");
            return this;
          }
          Run run = runs.get(m.runId());
          RegisterRun r = run.registration();
          Map<String, Object> config = new LinkedHashMap<>(r.config());
          if (config.get("settings") instanceof Map<?, ?> settings) {
            Map<String, Object> changed = new LinkedHashMap<>();
            settings.forEach((k, v) -> changed.put(String.valueOf(k), v));
            changed.put("early_stop", m.alerts().earlyStop());
            config.put("settings", changed);
          }
          RegisterRun now = new RegisterRun(r.runId(), r.labels(), config, r.classes(), m.alerts(), r.trainer(),
              r.alertsTo(), r.replyTo(), r.stopToken(), r.publishToken(), r.resumeKey());
          runs.put(m.runId(), new Run(run.dir(), run.metrics(), now, run.token(), run.ended(), run.lock(),
              run.trainingStep()));
          control.changeAlerts(m.runId(), m.alerts());
          try {
            RunLog.writeConfig(run.dir(), config);
          } catch (UncheckedIOException e) { // the run goes on by its new mode; only its record of it is stale
            getContext().getLog().error("run {}: its config.json could not be rewritten: {}", m.runId(),
                e.getMessage());
          }
          return this;
        })
        .onMessage(RunFinished.class, m -> {
          if (!owner(m.runId(), m.token(), "RunFinished", peer(m.replyTo()))) {
            return this;
          }
          if (m.replyTo() == null) {
            rejections.reject("metrics", "not_owner", "unknown", "RunFinished for run '"
                + Rejections.clip(m.runId(), 60) + "' without a reply address");
            return this;
          }
          Map<String, Object> event = m.event();
          var eventProblem = MetricsGate.eventProblem(event);
          if (eventProblem.isEmpty()) {
            event = MetricsGate.javaValues(event); // e.g. cpu_seconds, a map
          } else {
            // the run still ends (nothing is lost); its malformed event is replaced by one that says so
            rejections.reject("metrics", "bad_event", peer(m.replyTo()), eventProblem.get());
            event = new LinkedHashMap<>();
            event.put("type", "run_finished");
            event.put("status", "finished");
            event.put("error", "the trainer's run_finished event was refused: " + eventProblem.get());
            event.put("time", System.currentTimeMillis());
          }
          Run run = runs.remove(m.runId());
          if (run == null) {
            m.replyTo().tell(Done.getInstance());
            return this;
          }
          finish(run, event);
          // the report reads the whole run: seconds for a long one (14 s for a million steps), during which this
          // node would answer no registration, alert or other run's end. It is written on the blocking-IO
          // dispatcher, one report after another (the node's ReportChain, with those of the runs marked interrupted at
          // its start), and the end is answered once it is written, as before
          Executor blocking = getContext().getSystem().dispatchers().lookup(DispatcherSelector.blocking());
          CompletableFuture<Void> written = reports.write(run.dir(), blocking);
          getContext().pipeToSelf(written, (ok, e) -> new ReportWritten(m.runId(), m.replyTo(), e));
          return this;
        })
        .onMessage(ReportWritten.class, m -> {
          if (m.failure() != null) {
            Throwable e = m.failure() instanceof CompletionException && m.failure().getCause() != null
                ? m.failure().getCause() : m.failure();
            getContext().getLog().warn("cannot write the report of run {}: {}", m.runId(), e instanceof
                OutOfMemoryError ? "out of memory (the run's samples do not fit the heap; ./monitor report RUN_DIR"
                + " with more heap writes it)" : e.getMessage());
          }
          m.replyTo().tell(Done.getInstance());
          return this;
        })
        .onMessage(TrainerGone.class, m -> {
          List<String> gone = runs.entrySet().stream().filter(e -> e.getValue().registration().trainer()
              .equals(m.trainer())).map(Map.Entry::getKey).toList();
          if (!gone.isEmpty() && CoordinatedShutdown.get(getContext().getSystem()).getShutdownReason().isPresent()) {
            // this node is the one leaving (a signal, or downed): the trainer goes on and owns its run's end, so the
            // directory here stays without run_finished rather than blaming the trainer
            getContext().getLog().info("this node is stopping; run(s) {} left without their end here", gone);
            return this;
          }
          for (String runId : gone) {
            Run run = runs.remove(runId);
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", "run_finished");
            event.put("exit_code", 1);
            event.put("stopped", false);
            event.put("status", "failed");
            long step = run.trainingStep().get(); // the last its trainer published; none yet: left out, as unknown
            if (step >= 0) {
              event.put("steps", step);
            }
            // what this node cannot tell apart: a trainer that crashed or was killed, and one cut off from here (a
            // network partition, this node paused) that trained on and ended on its own
            event.put("error", "the trainer's node left the cluster before the run finished here: it crashed or was"
                + " killed, or it was cut off from this monitor (a network partition, or this monitor paused) and"
                + " trained on by itself; its console and checkpoints tell which");
            event.put("time", System.currentTimeMillis());
            finish(run, event);
          }
          return this;
        })
        .onMessage(ForgetMeters.class, m -> {
          if (!runs.containsKey(m.runId())) { // not when the id was registered again meanwhile
            List<Meter> gone = registry.getMeters().stream().filter(x -> m.runId().equals(x.getId().getTag("run")))
                .toList();
            gone.forEach(registry::remove);
            getContext().getLog().info("run {} finished {} ago: {} meters removed from /metrics", m.runId(),
                meterGrace, gone.size());
          }
          return this;
        })
        .onSignal(PostStop.class, signal -> {
          runs.values().forEach(r -> r.lock().close()); // left without their end here (the node is stopping)
          return awaitReports();
        })
        .build();
  }

  /**
   * The node stopping (its actor system terminating): waits for the reports still being written on the blocking
   * dispatcher, which the system's termination does not wait for, so that nothing writes into a run directory after
   * the monitor stopped (at most {@code reportsOnStop}, splinewatch.cluster.finish-timeout, and no later than the
   * stop's deadline).
   */
  private Behavior<Command> awaitReports() {
    StopDeadline deadline = stopping.get(); // the server's stop already spent part of it on its own waits
    Duration wait = deadline == null ? reportsOnStop : deadline.left(reportsOnStop);
    List<String> unwritten = reports.awaitWritten(wait);
    if (!unwritten.isEmpty()) {
      getContext().getLog().warn(reportsNotWritten(unwritten, deadline == null ? reportsOnStop : deadline.total()));
    }
    return this;
  }

  /**
   * The line for a stop that did not wait for the reports of {@code runs} to be written: which runs, how long it
   * waited, the setting that raises it and how to write them afterwards.
   */
  public static String reportsNotWritten(List<String> runs, Duration waited) {
    return "stopping with the report of run(s) " + String.join(", ", runs) + " still being written after "
        + MonitorLink.seconds(waited) + " (splinewatch.cluster.finish-timeout raises it); their report.html may be"
        + " missing or incomplete (./monitor report RUN_DIR writes it)";
  }

  /**
   * Whether {@code token} is the registered run {@code runId}'s (constant-time comparison); otherwise the
   * {@code message} is rejected, naming the peer it came from.
   */
  private boolean owner(String runId, String token, String message, String from) {
    Run owned = runId == null ? null : runs.get(runId);
    if (owned != null && token != null && MessageDigest.isEqual(owned.token().getBytes(StandardCharsets.UTF_8),
        token.getBytes(StandardCharsets.UTF_8))) {
      return true;
    }
    rejections.reject("metrics", owned == null ? "unknown_run" : "not_owner", from, message + " for run '"
        + Rejections.clip(runId, 60) + "'" + (owned == null ? ", which is not registered here"
        : " without the run's token"));
    return false;
  }

  /** This node's cluster address, {@code HOST:PORT} (its actor system's name without remoting). */
  private String where() {
    var a = getContext().getSystem().address();
    return a.getHost().isPresent() ? a.getHost().get() + ":" + a.getPort().orElse(0) : a.system();
  }

  private static String peer(ActorRef<?> ref) {
    return ref == null ? "unknown" : ref.path().address().toString();
  }

  /** Why a registration is refused (one line), or null when it is acceptable. */
  private String registrationProblem(RegisterRun m) {
    if (m.trainer() == null || m.alertsTo() == null) {
      return "registration without the trainer's addresses";
    }
    if (m.stopToken() != null && !m.stopToken().matches("[0-9a-f]{32}")
        || m.publishToken() != null && !m.publishToken().matches("[0-9a-f]{32}")
        || m.resumeKey() != null && !m.resumeKey().matches("[0-9a-f]{32}")) {
      return "registration with a stop token, publish token or resume key that is not 32 hex digits";
    }
    var idProblem = RunIds.problem(m.runId());
    if (idProblem.isPresent()) {
      return idProblem.get();
    }
    var labelProblem = MetricFamilies.runLabelsProblem(m.runId(), m.labels());
    if (labelProblem.isPresent()) {
      return labelProblem.get();
    }
    if (m.classes() < 0 || m.classes() > MAX_CLASSES) {
      return "classes must be between 0 and " + MAX_CLASSES + ", got " + m.classes();
    }
    if (m.config() == null) {
      return "registration without the run's config";
    }
    return configProblem(m.config(), "config", 3);
  }

  /**
   * Why a config value is not acceptable, naming where it is, or null: strings of at most 1000 characters without
   * control characters, numbers, booleans, and lists and maps (keys of letters, digits, '.', '_', '-') of at most
   * 200 entries nested up to {@code depth} levels.
   */
  static String configProblem(Object value, String where, int depth) {
    Object v = value;
    if (v == null || v instanceof Number || v instanceof Boolean) {
      return null;
    }
    if (v instanceof String s) {
      return s.length() <= 1000 && s.codePoints().noneMatch(Character::isISOControl) ? null
          : where + " is longer than 1000 characters or holds control characters";
    }
    v = MetricsGate.asJava(v);
    if (depth == 0 || !(v instanceof List || v instanceof Map)) {
      return where + " is nested too deeply or not a string, number, boolean, list or map";
    }
    if (v instanceof List<?> l) {
      if (l.size() > MAX_CONFIG_ENTRIES) {
        return where + " has more than " + MAX_CONFIG_ENTRIES + " entries";
      }
      for (int i = 0; i < l.size(); i++) {
        String p = configProblem(l.get(i), where + "[" + i + "]", depth - 1);
        if (p != null) {
          return p;
        }
      }
      return null;
    }
    Map<?, ?> map = (Map<?, ?>) v;
    if (map.size() > MAX_CONFIG_ENTRIES) {
      return where + " has more than " + MAX_CONFIG_ENTRIES + " entries";
    }
    for (var e : map.entrySet()) {
      if (!(e.getKey() instanceof String k) || !k.matches("[A-Za-z0-9_.-]{1,80}")) {
        return where + " has a key '" + Rejections.clip(String.valueOf(e.getKey()), 40) + "' that is not 1 to 80 of"
            + " letters, digits, '.', '_' or '-'";
      }
      String p = configProblem(e.getValue(), where + "." + k, depth - 1);
      if (p != null) {
        return p;
      }
    }
    return null;
  }

  private Behavior<Command> onRegister(RegisterRun m) {
    if (m.replyTo() == null) {
      rejections.reject("metrics", "bad_registration", peer(m.trainer()), "RegisterRun without a reply address");
      return this;
    }
    if ((stopping.get() != null || CoordinatedShutdown.get(getContext().getSystem()).getShutdownReason().isPresent())
        && !m.replyTo().path().address().hasLocalScope()) {
      // a trainer elsewhere: its run would be left without its end here; told at once, not after its answer-timeout
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor at " + where()
          + " is stopping; start the run again when a monitor runs there, or without --monitor", null, false, true));
      return this;
    }
    String problem = registrationProblem(m);
    if (problem != null) {
      rejections.reject("metrics", "bad_registration", peer(m.replyTo()), problem);
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor refused the run: " + problem, null));
      return this;
    }
    if (runs.containsKey(m.runId())) {
      rejections.reject("metrics", "run_exists", peer(m.replyTo()), "run " + m.runId() + " is already registered");
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "run '" + m.runId() + "' is already streaming to"
          + " this monitor; choose another --run-id", null, true));
      return this;
    }
    if (runs.size() >= maxRuns) {
      rejections.reject("metrics", "too_many_runs", peer(m.replyTo()), runs.size() + " runs are open");
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor already serves " + runs.size()
          + " runs (splinewatch.cluster.max-open-runs)", null));
      return this;
    }
    Path dir;
    try {
      dir = RunIds.runDirectory(out, m.runId());
    } catch (IllegalArgumentException e) {
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, e.getMessage(), null));
      return this;
    }
    Map<String, Object> config = MetricsGate.javaValues(m.config()); // options, settings, tags: maps
    boolean holdsRun = RunIds.holdsRun(dir);
    if (holdsRun && !resumed(config)) {
      // an earlier run's record (finished, or from before this node started): not overwritten, not appended to
      rejections.reject("metrics", "run_exists", peer(m.replyTo()), "run " + m.runId() + " already has a directory");
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor's run directory " + dir
          + " already holds run '" + m.runId() + "'; choose another --run-id, or --resume a checkpoint of that run",
          null, true));
      return this;
    }
    if (holdsRun) { // resuming: only the trainer that started the run (it kept the run's resume key) may append
      var refusal = ResumeKey.refusal(dir, m.runId(), m.resumeKey());
      if (refusal.isPresent()) {
        rejections.reject("metrics", "not_owner", peer(m.replyTo()), "run " + m.runId()
            + " registered as resumed without its resume key");
        m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, refusal.get(), null, true));
        return this;
      }
    }
    // read before config.json is written anew: the interval the run had until this segment (its run_resumed's)
    java.util.OptionalLong everyBefore = holdsRun ? RunLog.recordedSnapshotEvery(dir)
        : java.util.OptionalLong.empty();
    RunLock lock;
    try { // a ./trainer on the same --out may have taken the directory and not written its files yet
      lock = RunLock.acquire(dir);
    } catch (RunLock.InUse | UncheckedIOException e) {
      rejections.reject("metrics", "run_exists", peer(m.replyTo()), "run " + m.runId() + " is in use");
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, e.getMessage(), null, e instanceof RunLock.InUse));
      return this;
    }
    try {
      RunLog.writeConfig(dir, config);
      ResumeKey.store(dir, m.resumeKey(), !holdsRun);
      RunLog log = new RunLog(dir, retention);
      // a run resumed while its earlier segment's meters are still shown (finished-run-meters-grace): the registry
      // would hand this segment those meters, bound to the ended segment, and /metrics kept its last values
      registry.getMeters().stream().filter(x -> m.runId().equals(x.getId().getTag("run"))).toList()
          .forEach(registry::remove);
      RunInfoMetric.register(registry, config);
      CollapseDetector detector = m.alerts() == null ? null : new CollapseDetector(m.alerts(), m.runId(), m.classes());
      ActorRef<Command> self = getContext().getSelf();
      String token = TrainerDoor.secret(); // 128 random bits in hex
      AtomicLong trainingStep = new AtomicLong(-1);
      ActorRef<Object> gate = getContext().spawn(MetricsGate.create(MetricsActor.create(registry,
          log, m.labels(), detector, alert -> self.tell(new AlertFired(m.runId(), alert)),
          MetricsActor.analyzersOf(config).stream().filter(AnalyzerCatalogue.NAMES::contains).distinct().toList()),
          rejections, m.publishToken(), error -> self.tell(new WriterFailed(m.runId(), error)), everyBefore,
          trainingStep), "run-" + TrainerDoor.secret()); // unguessable: peers cannot address the gate
      ActorRef<MetricsActor.Command> metrics = gate.narrow();
      Run run = new Run(dir, metrics, m, token, new AtomicReference<>(), lock, trainingStep);
      runs.put(m.runId(), run);
      // the same message for every run of this trainer: watching it again with another one would throw
      getContext().watchWith(m.trainer(), new TrainerGone(m.trainer()));
      control.registerForAlerts(m.runId(), m.alerts(), (rule, reason) -> {
        m.trainer().tell(new TrainerActor.Stop(reason, m.stopToken()));
        if (rule != null) { // an alert's stop (not the writer's failure): the run is marked stopped early
          gate.tell(new MetricsGate.StoppedEarly(rule));
        }
      }, run.ended()::get);
      m.replyTo().tell(new Registered(m.runId(), metrics, metricsUrl, null, token));
    } catch (RuntimeException e) {
      lock.close();
      m.replyTo().tell(new Registered(m.runId(), null, metricsUrl, "the monitor cannot create " + dir + ": "
          + e.getMessage(), null));
    }
    return this;
  }

  /** Whether a run's configuration says it resumes from a checkpoint ({@code settings.resumed}, ./trainer's). */
  static boolean resumed(Map<String, Object> config) {
    return config.get("settings") instanceof Map<?, ?> settings && Boolean.TRUE.equals(settings.get("resumed"));
  }

  private void finish(Run run, Map<String, Object> event) {
    try {
      RunLog.appendEvent(run.dir(), event);
    } catch (UncheckedIOException e) { // disk full: the run still ends here, and the node goes on
      getContext().getLog().error("run {}: its run_finished event could not be written: {}",
          run.registration().runId(), e.getMessage());
    }
    run.lock().close(); // its files are there: a later run on the directory is refused by them
    control.unregister(run.registration().runId());
    getContext().unwatch(run.registration().trainer());
    getContext().stop(run.metrics());
    if (meterGrace != null) {
      timers.startSingleTimer("forget-" + run.registration().runId(), new ForgetMeters(run.registration().runId()),
          meterGrace);
    }
  }
}
