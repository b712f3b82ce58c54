package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Training-health signals from consecutive snapshots, at no cost to the trainer (the weights are already in every
 * snapshot): per weight layer ({@code layer} = 1, 2, … over the dense and convolution layers in order, and
 * {@code all}) the Frobenius norm of the weights {@code splinewatch_layer_weight_norm}, the norm of the update since
 * the previous analysed snapshot {@code splinewatch_layer_update_norm} and the update-to-weight ratio
 * {@code splinewatch_layer_update_ratio} = ‖W_t − W_{t−1}‖ / ‖W_t‖. The ratio spans the steps between the two
 * snapshots (usually {@code snapshot-every}), not one step as in the DL4J UI: divide by that count for a per-step
 * figure. Biases are left out. Gradient norms are not computed: the trainer does not keep them.
 */
public final class TrainingHealthAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "health";

  private List<float[]> previous;

  /** The analyzer actor. */
  public static Behavior<Analyze> create(ActorRef<MetricsActor.Command> metrics) {
    return AnalyzerActor.create(NAME, metrics, TrainingHealthAnalyzer::new);
  }

  /** The weight arrays of the dense and convolution layers, in order. */
  static List<float[]> weights(List<Layer> layers) {
    List<float[]> out = new ArrayList<>();
    for (Layer l : layers) {
      if (l instanceof Layer.Dense d) {
        out.add(d.weights());
      } else if (l instanceof Layer.Conv2D c) {
        out.add(c.weights());
      }
    }
    return out;
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    List<float[]> current = weights(s.layers());
    boolean comparable = previous != null && previous.size() == current.size();
    for (int i = 0; comparable && i < current.size(); i++) {
      comparable = previous.get(i).length == current.get(i).length;
    }
    List<Sample> out = new ArrayList<>();
    double weightSq = 0;
    double updateSq = 0;
    for (int i = 0; i < current.size(); i++) {
      float[] w = current.get(i);
      double ws = sumOfSquares(w);
      double us = comparable ? sumOfSquaredDifferences(w, previous.get(i)) : 0;
      if (!Double.isFinite(ws)) {
        throw new IllegalArgumentException("layer " + (i + 1) + " has non-finite weights at step " + s.step());
      }
      weightSq += ws;
      updateSq += us;
      String layer = String.valueOf(i + 1);
      out.add(Sample.of(MetricFamily.LAYER_WEIGHT_NORM, Math.sqrt(ws), s.step(), "layer", layer));
      if (comparable) {
        out.add(Sample.of(MetricFamily.LAYER_UPDATE_NORM, Math.sqrt(us), s.step(), "layer", layer));
        out.add(Sample.of(MetricFamily.LAYER_UPDATE_RATIO, ratio(us, ws), s.step(), "layer", layer));
      }
    }
    out.add(Sample.of(MetricFamily.LAYER_WEIGHT_NORM, Math.sqrt(weightSq), s.step(), "layer", "all"));
    if (comparable) {
      out.add(Sample.of(MetricFamily.LAYER_UPDATE_NORM, Math.sqrt(updateSq), s.step(), "layer", "all"));
      out.add(Sample.of(MetricFamily.LAYER_UPDATE_RATIO, ratio(updateSq, weightSq), s.step(), "layer", "all"));
    }
    // the snapshot's arrays are not reused by the trainer (it copies into fresh snapshots), so keeping them is safe
    previous = current;
    return out;
  }

  // The two loops are small methods of their own: inside analyze (300k weights a snapshot) C2 compiled the whole
  // method, List and Sample code included: 86 kB of machine code in a 900-step run, 3 kB now (docs/performance.md).

  /** Σ w², summed in double in index order. */
  static double sumOfSquares(float[] w) {
    double sum = 0;
    for (float v : w) {
      sum += (double) v * v;
    }
    return sum;
  }

  /** Σ (w − p)², summed in double in index order; {@code p} at least as long as {@code w}. */
  static double sumOfSquaredDifferences(float[] w, float[] p) {
    double sum = 0;
    for (int k = 0; k < w.length; k++) {
      double d = (double) w[k] - p[k];
      sum += d * d;
    }
    return sum;
  }

  /** ‖ΔW‖ / ‖W‖ from the squared norms; 0 for an all-zero layer that did not move, else infinite. */
  private static double ratio(double updateSq, double weightSq) {
    if (weightSq == 0) {
      return updateSq == 0 ? 0 : Double.POSITIVE_INFINITY;
    }
    return Math.sqrt(updateSq / weightSq);
  }
}
