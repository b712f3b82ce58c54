package org.splinewatch.trainer;

import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.metrics.CpuByRole;

/**
 * Draws training batches and augments each image twice on a daemon thread ({@code splinewatch-augment}), two batches
 * ahead, so that augmentation does not stall training steps. The view buffers go back to the augmentation thread
 * once copied, and the two input arrays are allocated once: a new 800 KB ND4J buffer per view and step is freed only
 * when the GC runs, and its fresh pages cost the training thread page faults (perf: most of its system time), more of
 * them the more the heap churns. If the augmentation thread fails, {@link #next} rethrows its failure.
 */
final class ViewPrefetcher implements AutoCloseable {
  /** The backend's buffers are host memory (the CPU backend): {@link #copyInto} copies in bulk. */
  private static final boolean HOST_BUFFERS = Nd4j.getBackend().getClass().getSimpleName().startsWith("Cpu");
  private final LabeledImages train;
  private final int batchSize;
  private final int inputDim;
  private final long seed;
  private final BlockingQueue<float[][]> prefetched = new ArrayBlockingQueue<>(2);
  private final BlockingQueue<float[][]> recycled = new ArrayBlockingQueue<>(4);
  private Thread thread;
  private volatile Throwable failure;
  private volatile boolean closed;
  private INDArray view1;
  private INDArray view2;

  /** Batches of {@code batchSize} images of {@code train}; the batch order and augmentations follow {@code seed}. */
  ViewPrefetcher(LabeledImages train, int batchSize, long seed) {
    this.train = train;
    this.batchSize = batchSize;
    this.inputDim = train.pixelsPerImage();
    this.seed = seed;
  }

  /** Starts the augmentation thread. */
  void start() {
    thread = new Thread(this::produce, "splinewatch-augment");
    thread.setDaemon(true);
    thread.start();
  }

  private void produce() {
    CpuByRole.register("augmentation");
    try {
      BatchSampler sampler = new BatchSampler(train, batchSize, seed ^ 0x5eed);
      SplittableRandom rnd = new SplittableRandom(seed ^ 0xa11a);
      Augmenter aug = new Augmenter(train.rows(), train.cols());
      float[] clean = new float[batchSize * inputDim];
      int[] labels = new int[batchSize];
      while (!closed) {
        sampler.next(clean, labels);
        float[][] pair = recycled.poll();
        float[] v1 = pair != null ? pair[0] : new float[clean.length];
        float[] v2 = pair != null ? pair[1] : new float[clean.length];
        for (int b = 0; b < batchSize; b++) {
          aug.augment(clean, b * inputDim, v1, b * inputDim, rnd);
          aug.augment(clean, b * inputDim, v2, b * inputDim, rnd);
        }
        prefetched.put(new float[][] {v1, v2});
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      // the training thread waits for views: it must learn that none will come (next() rethrows this)
      failure = e;
    } finally {
      CpuByRole.threadEnding(); // the run's CPU summary still counts this thread once it has ended
    }
  }

  /**
   * The next two augmented views {@code [batchSize, inputDim]}, waiting for them. The same two arrays every call: they
   * hold the new views until the next call.
   *
   * @throws IllegalStateException if the augmentation thread failed, or the wait was interrupted
   */
  INDArray[] next() {
    float[][] views = null;
    try {
      while (views == null) {
        views = prefetched.poll(200, TimeUnit.MILLISECONDS);
        Throwable failed = failure;
        if (views == null && failed instanceof OutOfMemoryError oom) {
          throw new IllegalStateException(BackgroundOutOfMemory.line("splinewatch-augment", oom), failed);
        }
        if (views == null && failed != null) {
          throw new IllegalStateException("the augmentation thread failed: " + (failed.getMessage() == null
              ? failed.toString() : failed.getMessage()), failed);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for augmented views", e);
    }
    if (view1 == null) {
      view1 = Nd4j.create(DataType.FLOAT, batchSize, inputDim);
      view2 = Nd4j.create(DataType.FLOAT, batchSize, inputDim);
    }
    copyInto(view1, views[0]);
    copyInto(view2, views[1]);
    recycled.offer(views);
    return new INDArray[] {view1, view2};
  }

  /**
   * Writes {@code values} into the host buffer of {@code view} (a fresh {@code [batch, inputDim]} array, no offset).
   * {@code DataBuffer.setData(float[])} writes element by element through ND4J's indexer: about 6 % of the training
   * thread's samples (Java and native) in a JFR profile of the default run (two 200,704-float views per step), a
   * third of its Java samples. On the CPU backend the
   * buffer is host memory, so one bulk copy through its NIO view does the same; other backends keep {@code setData},
   * which also tells them the host copy changed.
   */
  static void copyInto(INDArray view, float[] values) {
    DataBuffer data = view.data();
    if (HOST_BUFFERS && data.length() == values.length) {
      data.asNioFloat().put(0, values);
    } else {
      data.setData(values);
    }
  }

  /** Stops the augmentation thread. */
  @Override
  public void close() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
    }
  }
}
