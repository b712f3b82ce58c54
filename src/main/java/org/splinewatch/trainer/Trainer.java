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
   * The outputs of the latest loss evaluation's training batch by output ({@code projector}, {@code encoder}, ...),
   * copied to the host: the loss evaluation computes them anyway, and {@link BatchStatistics} turns them into the
   * collapse statistics ({@link EmbeddingMetrics#batchCollapse}) off the training thread. A new map after each
   * evaluation; empty when the trainer has none (the supervised one) or before the first evaluation.
   */
  default Map<String, BatchOutput> batchOutputs() {
    return Map.of();
  }

  /**
   * One output of a training batch: {@code rows × columns} values, row-major; {@code spectral} asks for the O(n·d²)
   * statistics too (the projector outputs; the wider encoder output gets the O(n·d) ones). {@code otherView}: the
   * same output of the batch's second view (the same images, the other augmentation), row for row, or null.
   */
  record BatchOutput(double[] values, int rows, int columns, boolean spectral, double[] otherView) {
    public BatchOutput {
      if (otherView != null && otherView.length != values.length) {
        throw new IllegalArgumentException("the second view has " + otherView.length + " values, expected "
            + values.length);
      }
    }

    /** An output without its second view. */
    public BatchOutput(double[] values, int rows, int columns, boolean spectral) {
      this(values, rows, columns, spectral, null);
    }
  }

  /** Writes the weights and optimiser state that resuming needs into the (existing, empty) directory. */
  void saveCheckpoint(Path dir) throws IOException;

  /** Loads what {@link #saveCheckpoint} wrote; a missing or mismatched file is an error naming it. */
  void loadCheckpoint(Path dir) throws IOException;

  @Override
  void close();
}
