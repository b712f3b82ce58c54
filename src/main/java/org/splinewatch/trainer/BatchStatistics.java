package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * The collapse statistics of the training batches ({@link EmbeddingMetrics#batchCollapse}), computed off the training
 * thread: the trainer hands over the outputs its loss evaluation computed anyway ({@link Trainer#batchOutputs()}) and
 * goes on; one thread computes them and publishes the samples of one batch together, so that a rule reading several
 * of them sees one batch. The thread keeps normal priority, unlike the analyzers' {@code SCHED_IDLE} ones: its work
 * is small (about 3 ms every 10 steps for a 256-image batch) and the alerts read from it must not starve on a machine
 * with no idle time. At most {@link #PENDING} batches wait; when the thread falls further behind the oldest waiting
 * batch is dropped, so memory stays bounded and the alerts judge recent batches.
 */
final class BatchStatistics implements AutoCloseable {
  /** Batches waiting at most (each a few hundred KB of outputs). */
  static final int PENDING = 8;
  private final ThreadPoolExecutor executor;
  private final Consumer<List<Sample>> publish;

  /** {@code publish} receives each batch's samples, on the statistics thread. */
  BatchStatistics(Consumer<List<Sample>> publish) {
    this.publish = publish;
    this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(PENDING),
        r -> {
          Thread t = new Thread(r, "splinewatch-batch-statistics");
          t.setDaemon(true);
          return t;
        }, new ThreadPoolExecutor.DiscardOldestPolicy());
  }

  /** Queues the statistics of the batch trained at {@code step}. */
  void submit(long step, Map<String, Trainer.BatchOutput> outputs) {
    if (!outputs.isEmpty()) {
      executor.execute(() -> publish.accept(samples(step, outputs)));
    }
  }

  /**
   * The samples of one batch: per output its std of l2-normalised rows and scale, for an output with its second view
   * the cross-view and cross-image cosines, and for the spectral (projector) outputs the participation ratio and the
   * centred RankMe.
   */
  static List<Sample> samples(long step, Map<String, Trainer.BatchOutput> outputs) {
    List<Sample> samples = new ArrayList<>();
    outputs.forEach((output, o) -> {
      EmbeddingMetrics.BatchCollapse c = EmbeddingMetrics.batchCollapse(o.values(), o.rows(), o.columns(),
          o.spectral());
      samples.add(Sample.of(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, c.stdNormalized(), step, "output", output));
      samples.add(Sample.of(MetricFamily.TRAINING_BATCH_SCALE, c.scale(), step, "output", output));
      if (o.otherView() != null) {
        double crossView = EmbeddingMetrics.crossViewCosine(o.values(), o.otherView(), o.rows(), o.columns());
        samples.add(Sample.of(MetricFamily.TRAINING_BATCH_CROSS_VIEW_COSINE, crossView, step, "output", output));
        samples.add(Sample.of(MetricFamily.TRAINING_BATCH_CROSS_IMAGE_COSINE, c.crossImageCosine(), step, "output",
            output));
      }
      if (o.spectral()) {
        samples.add(Sample.of(MetricFamily.TRAINING_BATCH_EFFECTIVE_RANK, c.effectiveRank(), step, "output", output));
        samples.add(Sample.of(MetricFamily.TRAINING_BATCH_RANKME, c.rankMe(), step, "output", output));
      }
    });
    return samples;
  }

  /** Finishes the batches already queued (waiting at most {@code millis}), then stops the thread. */
  void drain(long millis) {
    executor.shutdown();
    try {
      executor.awaitTermination(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
