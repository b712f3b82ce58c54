package org.splinewatch.trainer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.snapshot.WeightSnapshot;

/** One training method on one data set; driven step by step by the {@link TrainerActor} on a single thread. */
public interface Trainer extends AutoCloseable {
  /** Runs one optimisation step on the next mini-batch and returns its loss. */
  double step();

  /** Copies the current weights into an immutable snapshot. */
  WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond);

  int stepsPerEpoch();

  double learningRate();

  /**
   * Collapse statistics of the latest training batch by output ({@code projector}, ...): the std of its l2-normalised
   * rows times sqrt(d) and their participation ratio ({@link EmbeddingMetrics#batchCollapse}), computed with the loss
   * on the outputs the loss evaluation already has; empty when the trainer has none (the supervised one) or before
   * the first evaluation.
   */
  default Map<String, EmbeddingMetrics.BatchCollapse> batchCollapse() {
    return Map.of();
  }

  /** Writes the weights and optimiser state that resuming needs into the (existing, empty) directory. */
  void saveCheckpoint(Path dir) throws IOException;

  /** Loads what {@link #saveCheckpoint} wrote; a missing or mismatched file is an error naming it. */
  void loadCheckpoint(Path dir) throws IOException;

  @Override
  void close();
}
