package org.splinewatch.analysis;

import java.util.List;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * One kind of analysis of a run's snapshots: plain code that may keep state between snapshots (the previous
 * patterns, the previous region count) and is run by an {@link AnalyzerActor}. A new instance is created when the
 * actor restarts after a failure.
 */
public interface SnapshotAnalysis extends AutoCloseable {
  /** The samples of one snapshot; throws on bad input (e.g. non-finite weights), which the actor reports. */
  List<Sample> analyze(WeightSnapshot snapshot);

  /** Releases threads or files; called when the actor stops or restarts. */
  @Override
  default void close() {
  }
}
