package org.splinewatch.analysis;

import java.nio.file.Path;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.RunInfo;

/** Creates an analyzer's behavior for a run: its probes and planes, the metrics actor it reports to, its run files. */
@FunctionalInterface
public interface AnalyzerFactory {
  Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics, Path runDir);
}
