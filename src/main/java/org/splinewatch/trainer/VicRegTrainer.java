package org.splinewatch.trainer;

import org.splinewatch.data.LabeledImages;

/**
 * VICReg (Bardes, Ponce, LeCun 2022): invariance, variance and covariance terms on the projector (expander) outputs of
 * two views ({@link SslLosses#vicreg}), coefficients 25/25/1 by default. Ablation: a variance coefficient of 0
 * collapses.
 */
final class VicRegTrainer extends TwoViewTrainer {
  VicRegTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int batchSize, double learningRate,
      double invCoeff, double stdCoeff, double covCoeff, long seed) {
    super(train, batchSize, learningRate, seed);
    buildBackbone(encoder.kind(), encoder.channels(), encoder.hidden(), projectionDim);
    finish(SslLosses.vicreg(sd, embed(x1), embed(x2), batchSize, projectionDim, invCoeff, stdCoeff, covCoeff));
  }
}
