package org.splinewatch.run;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Where a run's snapshots go and its metrics are kept: {@link LocalHubSink} (the hub and analyzers of this process)
 * or {@link ClusterPublisherSink} (the analyzer nodes and the metrics node of a cluster). The guardian starts one and
 * does not care which.
 */
public interface SnapshotSink {
  /** The metrics actor the trainer and the analyzers report to. */
  ActorRef<MetricsActor.Command> metrics();

  /** Hands a snapshot on; never blocks (a full buffer drops its oldest snapshot). */
  void publish(WeightSnapshot snapshot);

  /**
   * Training ended at {@code step}, right before {@link #drain()} or {@link #abandon()}: the run's metrics actor sets
   * {@code splinewatch_run_active} to 0 ({@link MetricsActor.TrainingEnded}); a cluster run tells its metrics node,
   * which also refuses stops from then on. By default nothing.
   */
  default void trainingEnded(long step) {
  }

  /**
   * A collapse alert of {@code rule} stopped the run, right before {@link #trainingEnded}: the run's metrics actor
   * sets {@code splinewatch_run_stopped_early{rule}} ({@link MetricsActor.StoppedEarly}). By default nothing: a
   * cluster run's metrics node marks it itself, from the alert or the control endpoint's stop.
   */
  default void stoppedEarly(String rule) {
  }

  /** No more snapshots: completes when what was published has been analysed (or dropped). */
  CompletionStage<Done> drain();

  /**
   * No more snapshots, and the run ended early (stopped, failed, interrupted): snapshots still waiting are not
   * analysed but counted ({@code splinewatch_snapshots_unanalysed_total}); completes when the analyses in progress
   * have finished. By default the same as {@link #drain()} (a cluster run's analyzer nodes work through their own).
   */
  default CompletionStage<Done> abandon() {
    return drain();
  }

  /**
   * After {@link #abandon()}'s wait is over (done, or its timeout): analyses still in progress are counted as
   * unanalysed too. By default nothing (a cluster run's analyses are the monitor's).
   */
  default void cutShort() {
  }

  /**
   * After a normal end's {@link #drain()} ran out of time ({@code drain-timeout}): the snapshots still waiting and
   * the analyses still in progress are counted as unanalysed, so that the run's coverage adds up. By default nothing
   * (a cluster run's analyses are the monitor's).
   */
  default void drainTimedOut() {
  }

  /**
   * Whether the guardian stops once the run's outcome is known; a cluster run's system stays up until the end of the
   * run is recorded on the metrics node.
   */
  boolean stopsWithRun();

  /**
   * Why the metrics actor cannot be reached now (a cluster run whose monitor is gone), so that the run's end does not
   * wait out a timeout for it; empty when it can (always, for a sink in this process).
   */
  default Optional<String> metricsUnreachable() {
    return Optional.empty();
  }

  /** Starts a sink as a child of the run's guardian. */
  @FunctionalInterface
  interface Starter {
    SnapshotSink start(ActorContext<RunGuardian.Command> ctx);
  }
}
