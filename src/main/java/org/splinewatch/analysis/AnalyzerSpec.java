package org.splinewatch.analysis;

import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.RunInfo;

/** One analyzer to spawn: a name and a behavior factory. */
public record AnalyzerSpec(String name, AnalyzerFactory behavior) {
  /** Dispatcher of every analyzer: the low-priority analysis pool. */
  public static final DispatcherSelector DISPATCHER = DispatcherSelector.fromConfig("splinewatch-analysis-dispatcher");

  /**
   * The analyzer for a run, restarted with backoff when it fails otherwise than in an analysis (which it handles
   * itself, {@link AnalyzerActor}); the trainer never notices.
   */
  public Behavior<Analyze> supervised(RunInfo run, ActorRef<MetricsActor.Command> metrics, Path dir) {
    return Behaviors.supervise(behavior.create(run, metrics, dir))
        .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(10), 0.2));
  }
}
