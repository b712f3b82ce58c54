package org.splinewatch.monitor;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.cluster.SnapshotPublisher;
import org.splinewatch.hub.SnapshotHub;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.trainer.Trainer;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.TrainingProgress;

/**
 * The guardian of one run: wires children and supervises them, nothing else. Analyzers restart on failure with
 * backoff; the trainer's {@link TrainerActor.Finished} ends the run after the hub drains (bounded by the drain
 * timeout), and the outcome completes {@code result}.
 */
public final class RunGuardian {
  private RunGuardian() {
  }

  /** Creates an analyzer's behavior for a run. */
  @FunctionalInterface
  public interface AnalyzerFactory {
    Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics, java.nio.file.Path runDir);
  }

  /** One analyzer to spawn: a name and a behavior factory. */
  public record AnalyzerSpec(String name, AnalyzerFactory behavior) {
    /** Dispatcher of every analyzer: the low-priority analysis pool. */
    public static final DispatcherSelector DISPATCHER = DispatcherSelector.fromConfig("splinewatch-analysis-dispatcher");

    /** The analyzer for a run, restarted with backoff when it fails (the trainer never notices). */
    public Behavior<Analyze> supervised(RunInfo run, ActorRef<MetricsActor.Command> metrics, java.nio.file.Path dir) {
      return Behaviors.supervise(behavior.create(run, metrics, dir))
          .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
    }
  }

  /** What the guardian needs. */
  public record Setup(RunInfo run, java.util.function.Supplier<Trainer> trainer, int epochs, long maxSteps,
      int snapshotEvery, int hubBufferSize, Duration analysisTimeout, Duration drainTimeout, boolean monitoring,
      MeterRegistry registry, RunLog log, Map<String, String> runLabels, List<AnalyzerSpec> analyzers,
      TrainingProgress progress, CompletableFuture<TrainerActor.Finished> result,
      CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef, AlertSettings alerts,
      java.util.function.Consumer<Alert> alertSink, TrainerActor.CheckpointPlan checkpoints, Remote remote) {

    /** A run analysed in this process. */
    public Setup(RunInfo run, java.util.function.Supplier<Trainer> trainer, int epochs, long maxSteps,
        int snapshotEvery, int hubBufferSize, Duration analysisTimeout, Duration drainTimeout, boolean monitoring,
        MeterRegistry registry, RunLog log, Map<String, String> runLabels, List<AnalyzerSpec> analyzers,
        TrainingProgress progress, CompletableFuture<TrainerActor.Finished> result,
        CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef, AlertSettings alerts,
        java.util.function.Consumer<Alert> alertSink, TrainerActor.CheckpointPlan checkpoints) {
      this(run, trainer, epochs, maxSteps, snapshotEvery, hubBufferSize, analysisTimeout, drainTimeout, monitoring,
          registry, log, runLabels, analyzers, progress, result, trainerRef, alerts, alertSink, checkpoints, null);
    }
  }

  /**
   * A run whose metrics live on a cluster's metrics node and whose snapshots go to its analyzer nodes: the metrics
   * actor there, the analyzers to run, and the transport settings.
   */
  public record Remote(ActorRef<MetricsActor.Command> metrics, List<String> analyzers,
      org.splinewatch.cluster.ClusterSettings settings) {
  }

  /** A collapse alert changed state (from the local metrics actor, or from the metrics node of a cluster). */
  public record AlertRaised(Alert alert) implements org.splinewatch.wire.CborSerializable {
  }

  /**
   * End the run after the current step because the process was asked to (SIGTERM/SIGINT): like a {@link
   * TrainerActor.Stop}, but in-flight analyses get only {@code splinewatch.lifecycle.abort-drain-timeout}.
   */
  public record Interrupt(String reason) {
  }

  private record TrainerFinished(TrainerActor.Finished finished) {
  }

  private record TrainerTerminated() {
  }

  private record RunFilesFailed(String analyzer, String error) {
  }

  private record Drained(TrainerActor.Finished finished) {
  }

  public static Behavior<Object> create(Setup s) {
    return Behaviors.setup(ctx -> {
      ActorRef<Object> self = ctx.getSelf();
      ActorRef<MetricsActor.Command> metrics;
      java.util.function.Consumer<WeightSnapshot> publish;
      java.util.function.Supplier<java.util.concurrent.CompletionStage<Done>> drain;
      if (s.remote() != null) {
        metrics = s.remote().metrics();
        ActorRef<SnapshotPublisher.Command> publisher = ctx.spawn(SnapshotPublisher.create(s.run(),
            s.remote().analyzers(), metrics, s.remote().settings(), s.hubBufferSize()), "publisher");
        publish = snap -> publisher.tell(new SnapshotPublisher.Publish(snap));
        drain = () -> AskPattern.<SnapshotPublisher.Command, Done>ask(publisher, SnapshotPublisher.Drain::new,
            s.drainTimeout(), ctx.getSystem().scheduler());
      } else {
        CollapseDetector detector = s.monitoring() && s.alerts() != null
            ? new CollapseDetector(s.alerts(), s.run().runId(), s.run().classes()) : null;
        // supervised: a metrics actor that fails (a write error: disk full, unwritable directory) stops, and the
        // ChildFailed signal below fails the run instead of silently ending metrics, alerts and early stop
        ActorRef<MetricsActor.Command> local = ctx.spawn(Behaviors.supervise(MetricsActor.create(s.registry(),
            s.log(), s.runLabels(), detector, alert -> self.tell(new AlertRaised(alert))))
            .onFailure(SupervisorStrategy.stop().withLoggingEnabled(false)), "metrics");
        ctx.watch(local);
        metrics = local;
        List<SnapshotHub.Analyzer> hubAnalyzers = new ArrayList<>();
        if (s.monitoring()) {
          var priority = org.splinewatch.analysis.AnalysisPriority.fromConfig(ctx.getSystem().settings().config());
          for (AnalyzerSpec spec : s.analyzers()) {
            ActorRef<Analyze> ref = ctx.spawn(spec.supervised(s.run(), local, s.log().dir()),
                "analyzer-" + spec.name(), AnalyzerSpec.DISPATCHER);
            Function<WeightSnapshot, java.util.concurrent.CompletionStage<?>> ask = snap ->
                AskPattern.<Analyze, Analyzed>ask(ref, replyTo -> new Analyze(snap, replyTo), s.analysisTimeout(),
                    ctx.getSystem().scheduler()).thenApply(a -> {
                      if (a.writeFailed()) {
                        self.tell(new RunFilesFailed(a.analyzer(), a.error()));
                      }
                      return a;
                    });
            hubAnalyzers.add(new SnapshotHub.Analyzer(spec.name(), ask,
                priority.has(spec.name()) ? Math.max(priority.bufferSize(), s.hubBufferSize()) : 0));
          }
        }
        SnapshotHub hub = new SnapshotHub(ctx.getSystem(), hubAnalyzers, s.hubBufferSize(),
            name -> local.tell(new MetricsActor.SnapshotDropped(name)));
        publish = hub::publish;
        drain = hub::complete;
      }
      ActorRef<TrainerActor.Finished> finishedAdapter = ctx.messageAdapter(TrainerActor.Finished.class,
          TrainerFinished::new).unsafeUpcast();
      ActorRef<TrainerActor.Command> trainer = ctx.spawn(TrainerActor.create(s.trainer(), s.run().runId(), s.epochs(),
              s.maxSteps(), s.snapshotEvery(), publish, metrics, finishedAdapter, s.progress(), s.checkpoints()),
          "trainer",
          DispatcherSelector.fromConfig("splinewatch-trainer-dispatcher"));
      s.trainerRef().complete(trainer);
      // a trainer that stops without a Finished (it should not: TrainerActor turns every throwable into one) would
      // leave the run waiting forever; its Terminated arrives after any Finished it sent
      ctx.watchWith(trainer, new TrainerTerminated());
      trainer.tell(new TrainerActor.Start());
      com.typesafe.config.Config sys = ctx.getSystem().settings().config();
      Duration abortDrain = sys.hasPath("splinewatch.lifecycle.abort-drain-timeout")
          ? sys.getDuration("splinewatch.lifecycle.abort-drain-timeout") : Duration.ofSeconds(5);
      boolean[] ended = {false, false, false}; // trainer finished, run interrupted, metrics actor failed
      return Behaviors.receive(Object.class)
          .onMessage(Interrupt.class, m -> {
            ended[1] = true;
            trainer.tell(new TrainerActor.Stop(m.reason()));
            return Behaviors.same();
          })
          .onMessage(RunFilesFailed.class, m -> {
            trainer.tell(new TrainerActor.Fail("analyzer " + m.analyzer() + " " + m.error()));
            return Behaviors.same();
          })
          .onMessage(TrainerTerminated.class, m -> {
            if (!ended[0]) {
              var p = s.progress().get();
              self.tell(new TrainerFinished(new TrainerActor.Finished(p.step(), false, null, 0,
                  "the trainer stopped without finishing the run")));
            }
            return Behaviors.same();
          })
          .onSignal(org.apache.pekko.actor.typed.ChildFailed.class, sig -> {
            if (sig.getRef().equals(metrics)) {
              ended[2] = true;
              trainer.tell(new TrainerActor.Fail("metrics writer failed: " + describe(sig.getCause())));
            }
            return Behaviors.same();
          })
          .onMessage(AlertRaised.class, m -> {
            Alert a = m.alert();
            s.alertSink().accept(a);
            if (a.firing() && "stop".equals(s.alerts().earlyStop()) && s.alerts().stopOn().contains(a.rule())) {
              trainer.tell(new TrainerActor.Stop("collapse alert " + a.rule() + ": " + a.sentence()));
            }
            return Behaviors.same();
          })
          .onMessage(TrainerActor.Stop.class, m -> {
            // a stop request from the metrics node of a cluster (alert or control endpoint)
            trainer.tell(m);
            return Behaviors.same();
          })
          .onMessage(TrainerFinished.class, m -> {
            if (ended[0]) {
              return Behaviors.same();
            }
            ended[0] = true;
            // a failed or interrupted run ends within seconds: in-flight analyses get a short grace
            Duration wait = m.finished().error() != null || ended[1]
                ? (abortDrain.compareTo(s.drainTimeout()) < 0 ? abortDrain : s.drainTimeout()) : s.drainTimeout();
            var drained = drain.get().toCompletableFuture().exceptionally(e -> Done.getInstance())
                .completeOnTimeout(Done.getInstance(), wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            ctx.pipeToSelf(drained, (ok, err) -> new Drained(m.finished()));
            return Behaviors.same();
          })
          .onMessage(Drained.class, m -> {
            if (ended[2]) {
              self.tell(new Flushed(m.finished())); // nothing left to flush: the metrics actor is gone
              return Behaviors.same();
            }
            ctx.pipeToSelf(AskPattern.<MetricsActor.Command, Done>ask(metrics, MetricsActor.Flush::new,
                Duration.ofSeconds(30), ctx.getSystem().scheduler()), (ok, err) -> new Flushed(m.finished()));
            return Behaviors.same();
          })
          .onMessage(Flushed.class, m -> {
            s.result().complete(m.finished());
            // in a cluster the system stays up until the end of the run is recorded on the metrics node
            return s.remote() == null ? Behaviors.stopped() : Behaviors.same();
          })
          .build();
    });
  }

  private record Flushed(TrainerActor.Finished finished) {
  }

  /** A failure's message with its cause's (an I/O error names the file, its cause what went wrong), one line. */
  static String describe(Throwable e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    Throwable c = e.getCause();
    if (c != null && c.getMessage() != null && !m.contains(c.getMessage())) {
      m = m + ": " + c.getMessage();
    }
    return m.lines().findFirst().orElse("");
  }
}
