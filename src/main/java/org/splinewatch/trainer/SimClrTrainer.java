package org.splinewatch.trainer;

import org.splinewatch.data.LabeledImages;

/** SimCLR (Chen et al. 2020): NT-Xent on the projector outputs of two views ({@link SslLosses#ntXent}). */
final class SimClrTrainer extends TwoViewTrainer {
  SimClrTrainer(LabeledImages train, int[] hidden, int projectionDim, int batchSize, double learningRate,
      double temperature, long seed) {
    super(train, batchSize, learningRate, seed);
    buildBackbone(hidden, projectionDim);
    finish(SslLosses.ntXent(sd, embed(x1), embed(x2), batchSize, temperature));
  }
}
