package org.splinewatch.run;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.analysis.AnalysisPriority;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.hub.SnapshotHub;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * A run analysed in this process: a metrics actor (with the collapse rules), the analyzers (supervised, on the
 * analysis dispatcher) and the {@link SnapshotHub} between the trainer and them.
 */
final class LocalHubSink implements SnapshotSink {
  /**
   * What a local run needs: the registry and run log the metrics actor writes, the run's labels, the analyzers
   * ({@code monitoring} false: none), the hub's buffer, the time one analysis may take, and the checkpoint's step a
   * resumed run starts from (-1: a new run), where its collapse rules pick up.
   */
  record Settings(MeterRegistry registry, RunLog log, Map<String, String> runLabels, boolean monitoring,
      List<AnalyzerSpec> analyzers, AlertSettings alerts, int hubBufferSize, Duration analysisTimeout,
      AnalysisPriority priority, long resumeStep) {
  }

  private final ActorRef<MetricsActor.Command> metrics;
  private final SnapshotHub hub;

  private LocalHubSink(ActorRef<MetricsActor.Command> metrics, SnapshotHub hub) {
    this.metrics = metrics;
    this.hub = hub;
  }

  static SnapshotSink.Starter starter(RunInfo run, Settings s) {
    return ctx -> start(ctx, run, s);
  }

  private static SnapshotSink start(ActorContext<RunGuardian.Command> ctx, RunInfo run, Settings s) {
    ActorRef<RunGuardian.Command> guardian = ctx.getSelf();
    CollapseDetector detector = s.monitoring() && s.alerts() != null
        ? new CollapseDetector(s.alerts(), run.runId(), run.classes()) : null;
    // supervised: a metrics actor that fails (a write error: disk full, unwritable directory) stops, and the guardian's
    // ChildFailed signal fails the run instead of silently ending metrics, alerts and early stop
    ActorRef<MetricsActor.Command> metrics = ctx.spawn(Behaviors.supervise(MetricsActor.create(s.registry(), s.log(),
            s.runLabels(), detector, alert -> guardian.tell(new RunGuardian.Alerted(alert)),
            s.monitoring() ? s.analyzers().stream().map(AnalyzerSpec::name).toList() : List.of()))
        .onFailure(SupervisorStrategy.stop().withLoggingEnabled(false)), "metrics");
    ctx.watch(metrics);
    if (detector != null && s.resumeStep() >= 0) {
      metrics.tell(new MetricsActor.Resumed(s.resumeStep())); // before the resumed segment's first sample
    }
    List<SnapshotHub.Analyzer> hubAnalyzers = new ArrayList<>();
    if (s.monitoring()) {
      for (AnalyzerSpec spec : s.analyzers()) {
        ActorRef<Analyze> ref = ctx.spawn(spec.supervised(run, metrics, s.log().dir()), "analyzer-" + spec.name(),
            AnalyzerSpec.DISPATCHER);
        hubAnalyzers.add(new SnapshotHub.Analyzer(spec.name(), snap -> AnalyzerActor.ask(ref, spec.name(), snap,
                s.analysisTimeout(), ctx.getSystem().scheduler(), metrics)
            .whenComplete((a, e) -> {
              if (a != null && a.writeFailed()) {
                guardian.tell(new RunGuardian.RunFilesFailed(a.analyzer(), a.error()));
              }
            }),
            s.priority().has(spec.name()) ? Math.max(s.priority().bufferSize(), s.hubBufferSize()) : 0));
      }
    }
    SnapshotHub hub = new SnapshotHub(ctx.getSystem(), hubAnalyzers, s.hubBufferSize(),
        name -> metrics.tell(new MetricsActor.SnapshotDropped(name)));
    return new LocalHubSink(metrics, hub);
  }

  @Override
  public ActorRef<MetricsActor.Command> metrics() {
    return metrics;
  }

  @Override
  public void publish(WeightSnapshot snapshot) {
    hub.publish(snapshot);
  }

  @Override
  public void stoppedEarly(String rule) {
    metrics.tell(new MetricsActor.StoppedEarly(rule));
  }

  @Override
  public void trainingEnded(long step) {
    metrics.tell(new MetricsActor.TrainingEnded(step));
  }

  @Override
  public CompletionStage<Done> drain() {
    return hub.complete();
  }

  @Override
  public CompletionStage<Done> abandon() {
    SnapshotHub.Abandoned a = hub.abandon();
    countUnanalysed(a.unanalysed());
    return a.done();
  }

  @Override
  public void cutShort() {
    countUnanalysed(hub.cutShort());
  }

  @Override
  public void drainTimedOut() {
    countUnanalysed(hub.giveUp());
  }

  private void countUnanalysed(Map<String, Long> byAnalyzer) {
    byAnalyzer.forEach((analyzer, n) -> metrics.tell(new MetricsActor.SnapshotsUnanalysed(analyzer, n)));
  }

  @Override
  public boolean stopsWithRun() {
    return true;
  }
}
