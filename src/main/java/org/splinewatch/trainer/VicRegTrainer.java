package org.splinewatch.trainer;

import org.nd4j.autodiff.samediff.SDVariable;
import org.splinewatch.data.LabeledImages;

/**
 * VICReg (Bardes, Ponce, LeCun 2022): invariance, variance and covariance terms on the projector (expander) outputs of
 * two views ({@link SslLosses#vicreg}), coefficients 25/25/1 by default. Ablation: a variance coefficient of 0
 * collapses.
 */
final class VicRegTrainer extends TwoViewTrainer {
  VicRegTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int batchSize, double learningRate,
      double invCoeff, double stdCoeff, double covCoeff, long seed) {
    this(train, encoder, projectionDim, batchSize, learningRate, invCoeff, stdCoeff, covCoeff, seed, 0, null);
  }

  /**
   * With {@code ablateFrom > 0} the coefficients are {@code healthy} ({inv, std, cov}) until that many steps are done
   * and the given ones after.
   */
  VicRegTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int batchSize, double learningRate,
      double invCoeff, double stdCoeff, double covCoeff, long seed, long ablateFrom, double[] healthy) {
    super(train, batchSize, learningRate, seed);
    ablateFrom(ablateFrom);
    net.buildBackbone(encoder, projectionDim);
    SDVariable z1 = net.embed(x1);
    SDVariable z2 = net.embed(x2);
    if (!switched()) {
      finish(SslLosses.vicreg(sd, z1, z2, batchSize, projectionDim, invCoeff, stdCoeff, covCoeff));
      return;
    }
    // each coefficient is healthy + s·(ablated − healthy): the healthy one before ablate-from, the given one after
    SDVariable s = ablationSwitch();
    double[] ablated = {invCoeff, stdCoeff, covCoeff};
    SDVariable[] c = new SDVariable[3];
    for (int i = 0; i < 3; i++) {
      c[i] = s.mul(ablated[i] - healthy[i]).add(healthy[i]);
    }
    finish(SslLosses.vicreg(sd, z1, z2, batchSize, projectionDim, c[0], c[1], c[2]));
  }
}
