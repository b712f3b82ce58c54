package org.splinewatch.trainer;

import java.util.SplittableRandom;
import org.splinewatch.data.LabeledImages;

/** Epoch-wise shuffled mini-batches of a data set (incomplete last batches are skipped). */
final class BatchSampler {
  private final LabeledImages data;
  private final int batchSize;
  private final SplittableRandom random;
  private final int[] order;
  private int cursor;

  BatchSampler(LabeledImages data, int batchSize, long seed) {
    if (data.count() < batchSize) {
      throw new IllegalArgumentException("the training set has " + data.count() + " images, fewer than the batch size "
          + batchSize);
    }
    this.data = data;
    this.batchSize = batchSize;
    this.random = new SplittableRandom(seed);
    this.order = new int[data.count()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    shuffle();
  }

  int stepsPerEpoch() {
    return data.count() / batchSize;
  }

  /** Fills {@code features} ({@code batch × pixels}) and {@code labels} with the next batch. */
  void next(float[] features, int[] labels) {
    if (cursor + batchSize > order.length) {
      shuffle();
    }
    int p = data.pixelsPerImage();
    for (int b = 0; b < batchSize; b++) {
      int i = order[cursor++];
      data.image(i, features, b * p);
      labels[b] = data.labels()[i];
    }
  }

  private void shuffle() {
    for (int i = order.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    cursor = 0;
  }
}
