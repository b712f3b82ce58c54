package org.splinewatch.trainer;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;
import org.splinewatch.data.LabeledImages;

/**
 * SimSiam (Chen and He 2021): a predictor MLP {@code h} on the batch-normalised projector output
 * {@code z = γ ⊙ standardize_batch(u) + β} (learnable affine, as PyTorch's {@code BatchNorm1d} in the paper, so that
 * the no-stop-gradient ablation can collapse through {@code γ → 0} as the paper's figure 2 shows),
 * {@code L = D(p1, sg(z2))/2 + D(p2, sg(z1))/2} with {@code D} the negative cosine. Stop-gradient is exact: the
 * targets {@code z1, z2} are computed by a forward pass before the step and fed as constants (placeholders
 * {@code t1, t2}), so no gradient reaches the target branch. Ablations: {@code stopGradient = false} uses the live
 * {@code z} (collapses), {@code predictor = false} uses {@code p = z} (collapses).
 */
final class SimSiamTrainer extends TwoViewTrainer {
  private final boolean stopGradient;
  /** Whether the loss reads the stop-gradient targets {@code t1, t2} (always, unless ablated from the start). */
  private final boolean targets;
  private final String z1Name;
  private final String z2Name;
  private final SDVariable gamma;
  private final SDVariable beta;
  private final String u1Name;

  SimSiamTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int predictorHidden, int batchSize,
      double learningRate, boolean stopGradient, boolean predictor, long seed) {
    this(train, encoder, projectionDim, predictorHidden, batchSize, learningRate, stopGradient, predictor, seed, 0);
  }

  /** With {@code ablateFrom > 0} the ablations take effect only once that many steps are done. */
  SimSiamTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int predictorHidden, int batchSize,
      double learningRate, boolean stopGradient, boolean predictor, long seed, long ablateFrom) {
    super(train, batchSize, learningRate, seed);
    ablateFrom(ablateFrom);
    this.stopGradient = stopGradient;
    this.targets = stopGradient || switched();
    net.buildBackbone(encoder, projectionDim);
    // the projector output goes through batch normalisation with a learnable affine, as in SimSiam's projector;
    // snapshots append it (batch statistics of the latest training batch) so the monitor watches z itself
    this.gamma = sd.var("bn_gamma", Nd4j.ones(DataType.FLOAT, projectionDim));
    this.beta = sd.var("bn_beta", Nd4j.zeros(DataType.FLOAT, projectionDim));
    SDVariable u1 = net.embed(x1);
    this.u1Name = u1.name();
    SDVariable z1 = SslLosses.batchStandardize(sd, u1).mul(gamma).add(beta);
    SDVariable z2 = SslLosses.batchStandardize(sd, net.embed(x2)).mul(gamma).add(beta);
    this.z1Name = z1.name();
    this.z2Name = z2.name();
    SDVariable[] p = net.predict(z1, z2, projectionDim, predictorHidden, predictor || switched(), false);
    SDVariable p1 = p[0];
    SDVariable p2 = p[1];
    if (!predictor && switched()) {
      // p = h(z) while healthy, p = z once ablated
      SDVariable s = ablationSwitch();
      p1 = p1.add(z1.sub(p1).mul(s));
      p2 = p2.add(z2.sub(p2).mul(s));
    }
    if (targets) {
      SDVariable t1 = sd.placeHolder("t1", DataType.FLOAT, -1, projectionDim); // sg(z2), target of p1
      SDVariable t2 = sd.placeHolder("t2", DataType.FLOAT, -1, projectionDim); // sg(z1), target of p2
      if (!stopGradient) {
        // the constant target while healthy, the live z (gradient through the target branch) once ablated; the
        // values agree (t = z on this batch), only the gradient changes
        SDVariable s = ablationSwitch();
        t1 = t1.add(z2.sub(t1).mul(s));
        t2 = t2.add(z1.sub(t2).mul(s));
      }
      finish(SslLosses.negativeCosine(p1, t1).add(SslLosses.negativeCosine(p2, t2)).div(2), "t1", "t2");
    } else {
      finish(SslLosses.negativeCosine(p1, z2).add(SslLosses.negativeCosine(p2, z1)).div(2));
    }
  }

  /** z's batch normalisation: γ and β as trained, mean and variance of the projector output on the latest batch. */
  @Override
  protected List<WeightCopier.Recipe> projectorTail() {
    return List.of(() -> {
      int d = (int) gamma.getArr().length();
      float[] mean = new float[d];
      float[] var = new float[d];
      INDArray batch = lastBatch();
      if (batch == null) {
        Arrays.fill(var, 1f);
      } else {
        INDArray u = sd.output(Map.of("x1", batch, "x2", batch), u1Name).get(u1Name);
        mean = u.mean(0).toFloatVector();
        var = u.var(false, 0).toFloatVector(); // population variance, as batchStandardize
      }
      return new Layer.BatchNorm(gamma.getArr().toFloatVector(), beta.getArr().toFloatVector(), mean, var, 1e-5);
    });
  }

  /**
   * The projector output as the loss reads it ({@code z}, after the batch normalisation) and before the normalisation
   * ({@code u}), where a collapse shows that the normalisation hides in {@code z}.
   */
  @Override
  protected Map<String, String> projectorOutputs() {
    return Map.of("projector", z1Name, "projector_pre_norm", u1Name);
  }

  @Override
  protected Map<String, String> secondViewOutputs() {
    return Map.of("projector", z2Name, "projector_pre_norm", net.secondEmbeddingName());
  }

  @Override
  protected INDArray[] extraInputs(INDArray v1, INDArray v2) {
    if (!targets) {
      return new INDArray[0];
    }
    Map<String, INDArray> z = sd.output(Map.of("x1", v1, "x2", v2), z1Name, z2Name);
    return new INDArray[] {z.get(z2Name), z.get(z1Name)};
  }
}
