package org.splinewatch.snapshot;

import java.util.List;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;

/**
 * The network at one training step as framework-agnostic piecewise-linear operators, with the training scalars of
 * that step. Weights are copies owned by the snapshot; analyzers compute the probe embeddings from these operators
 * on their own threads, so the trainer pays only for the weight copy.
 *
 * @param layers          the network from input to embedding (SSL) or logits (supervised)
 * @param reprBlock       index of the block whose output is the representation ("repr")
 * @param classifierHead  whether the final block outputs class logits
 */
public record WeightSnapshot(String runId, long step, int epoch, long wallTimeMillis, int inputDim,
    List<Layer> layers, int reprBlock, boolean classifierHead, double loss, double learningRate,
    double stepsPerSecond) {

  public WeightSnapshot {
    layers = List.copyOf(layers);
  }

  /** Builds the compiled network (cheap; callers that need it repeatedly should keep it). */
  public PiecewiseLinearNet network() {
    return new PiecewiseLinearNet(inputDim, layers);
  }

  /**
   * The network whose linear regions are analysed: the whole classifier for supervised runs (its head gives the
   * decision boundary), the encoder up to the representation for self-supervised runs (the projector is a training
   * device, as in the seed study).
   */
  public PiecewiseLinearNet regionNetwork() {
    PiecewiseLinearNet net = network();
    return classifierHead() ? net : net.prefix(reprBlock + 1);
  }
}
