package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.splinewatch.data.LabeledImages;

/**
 * BYOL (Grill et al. 2020): an online network (encoder, projector, predictor) regresses the projection of the other
 * view by a target network (encoder, projector) whose weights are an exponential moving average of the online ones:
 * {@code L = ‖p̂1 − ẑ'2‖² + ‖p̂2 − ẑ'1‖²} (mean over the batch), targets fed as constants (no gradient), and after
 * each step {@code θ' ← τ_k θ' + (1 − τ_k) θ} with the cosine schedule
 * {@code τ_k = 1 − (1 − τ_0)(cos(π k/K) + 1)/2}. Ablation: {@code predictor = false} uses {@code p = z} (collapses).
 */
final class ByolTrainer extends TwoViewTrainer {
  private final SameDiff target = SameDiff.create();
  /** The target network's {@code {W, b}} per layer (convolution stages first), and the online layers they follow. */
  private final List<INDArray[]> targetParams = new ArrayList<>();
  private final List<SDVariable[]> onlineParams = new ArrayList<>();
  private final String targetOut;
  private final double tauBase;
  private final double healthyTauBase;
  private final long totalSteps;

  ByolTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int predictorHidden, int batchSize,
      double learningRate, double tauBase, long totalSteps, boolean predictor, long seed) {
    this(train, encoder, projectionDim, predictorHidden, batchSize, learningRate, tauBase, totalSteps, predictor, seed,
        0, tauBase);
  }

  /**
   * With {@code ablateFrom > 0} the ablations ({@code predictor = false}, {@code tauBase}) take effect only once that
   * many steps are done; before, the predictor is used and the EMA base rate is {@code healthyTauBase}.
   */
  ByolTrainer(LabeledImages train, EncoderSpec encoder, int projectionDim, int predictorHidden, int batchSize,
      double learningRate, double tauBase, long totalSteps, boolean predictor, long seed, long ablateFrom,
      double healthyTauBase) {
    super(train, batchSize, learningRate, seed);
    ablateFrom(ablateFrom);
    this.tauBase = tauBase;
    this.healthyTauBase = healthyTauBase;
    this.totalSteps = Math.max(1, totalSteps);
    net.buildBackbone(encoder, projectionDim);
    SDVariable z1 = net.embed(x1);
    SDVariable z2 = net.embed(x2);
    SDVariable[] p = net.predict(z1, z2, projectionDim, predictorHidden, predictor || switched(), true);
    SDVariable p1 = p[0];
    SDVariable p2 = p[1];
    if (!predictor && switched()) {
      // p = h(z) while healthy, p = z once ablated
      SDVariable s = ablationSwitch();
      p1 = p1.add(z1.sub(p1).mul(s));
      p2 = p2.add(z2.sub(p2).mul(s));
    }
    // the target network starts as a copy of the online encoder (its convolution stages too: they used to be left
    // out, so a CNN target fed raw pixels to the first dense layer) and projector
    SDVariable x = target.placeHolder("x", DataType.FLOAT, -1, inputDim);
    List<SDVariable[]> copies = new ArrayList<>();
    this.targetOut = net.copyInto(target, x, onlineParams, copies);
    for (SDVariable[] l : copies) {
      targetParams.add(new INDArray[] {l[0].getArr(), l[1].getArr()});
    }
    SDVariable t1 = sd.placeHolder("t1", DataType.FLOAT, -1, projectionDim); // target projection of view 2
    SDVariable t2 = sd.placeHolder("t2", DataType.FLOAT, -1, projectionDim); // target projection of view 1
    finish(SslLosses.byol(p1, t1).add(SslLosses.byol(p2, t2)), "t1", "t2");
  }

  @Override
  protected INDArray[] extraInputs(INDArray v1, INDArray v2) {
    INDArray t2 = target.output(Map.of("x", v1), targetOut).get(targetOut);
    INDArray t1 = target.output(Map.of("x", v2), targetOut).get(targetOut);
    return new INDArray[] {t1, t2};
  }

  /** {@code τ_k} of the cosine schedule after {@code k} of {@code K} steps. */
  static double tau(double tauBase, long k, long total) {
    return 1 - (1 - tauBase) * (Math.cos(Math.PI * Math.min(k, total) / total) + 1) / 2;
  }

  @Override
  protected void afterStep(long stepsDone) {
    double tau = tau(ablated() ? tauBase : healthyTauBase, stepsDone, totalSteps);
    for (int i = 0; i < onlineParams.size(); i++) {
      for (int j = 0; j < 2; j++) {
        INDArray t = targetParams.get(i)[j];
        INDArray online = onlineParams.get(i)[j].getArr().mul(1 - tau);
        t.muli(tau).addi(online);
        online.close(); // a weight-sized temporary every step: freed now, not when a GC finds it
      }
    }
  }

  @Override
  protected List<SameDiff> checkpointGraphs() {
    return List.of(sd, target);
  }

  /** The target network's projection of {@code x} (tests). */
  INDArray targetProjection(INDArray x) {
    return target.output(Map.of("x", x), targetOut).get(targetOut);
  }

  /** Target parameters (tests). */
  List<INDArray[]> targetParams() {
    return targetParams;
  }
}
