package org.splinewatch.trainer;

import org.splinewatch.data.LabeledImages;

/** SimCLR (Chen et al. 2020): NT-Xent on the projector outputs of two views ({@link SslLosses#ntXent}). */
final class SimClrTrainer extends TwoViewTrainer {
  SimClrTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int batchSize, double learningRate,
      double temperature, long seed) {
    super(train, batchSize, learningRate, seed);
    net.buildBackbone(encoder, projectionDim);
    finish(SslLosses.ntXent(sd, net.embed(x1), net.embed(x2), batchSize, temperature));
  }
}
