package org.splinewatch.snapshot;

import java.lang.ref.WeakReference;
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

  /**
   * The last snapshot compiled and its network. The analyzers of one snapshot each ask for its network; compiling it
   * for each widened every weight to float64 anew (about 14 MB a snapshot of the default SimCLR run, docs/memory.md).
   * The snapshot is held weakly and compared by identity (a record's equals would compare every weight), so a
   * snapshot is not kept alive by this; what is kept is at most one compiled network, until another snapshot's is
   * compiled. An immutable entry in a volatile field: threads see a whole entry or the one before, and two threads
   * that compile the same snapshot at once both get a correct network.
   */
  private record Compiled(WeakReference<WeightSnapshot> snapshot, PiecewiseLinearNet network) {
  }

  private static volatile Compiled lastCompiled;

  /** The compiled network, shared by the callers of one snapshot (it is immutable and safe to share). */
  public PiecewiseLinearNet network() {
    Compiled last = lastCompiled;
    if (last != null && last.snapshot().get() == this) {
      return last.network();
    }
    PiecewiseLinearNet net = new PiecewiseLinearNet(inputDim, layers);
    lastCompiled = new Compiled(new WeakReference<>(this), net);
    return net;
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
