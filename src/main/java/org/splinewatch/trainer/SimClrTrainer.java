package org.splinewatch.trainer;

import org.splinewatch.data.LabeledImages;

/** SimCLR (Chen et al. 2020): NT-Xent on the projector outputs of two views ({@link SslLosses#ntXent}). */
final class SimClrTrainer extends TwoViewTrainer {
  SimClrTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int batchSize, double learningRate,
      double temperature, long seed) {
    super(train, batchSize, learningRate, seed);
    buildBackbone(encoder.kind(), encoder.channels(), encoder.hidden(), projectionDim);
    finish(SslLosses.ntXent(sd, embed(x1), embed(x2), batchSize, temperature));
  }
}
