package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * A collapse ablation against its healthy configuration on small synthetic data (fixed seeds, 150 steps each): VICReg
 * without its variance term collapses (std of l2-normalised projector outputs and kNN accuracy fall to chance level)
 * while VICReg with it stays spread and separable.
 */
class CollapseBehaviourTest {
  static final LabeledImages TRAIN = SyntheticData.images(512, 11);
  static final LabeledImages PROBES = SyntheticData.images(200, 12);

  /** {std_normalized of the projector output, kNN accuracy of the representation} on the probes. */
  static double[] trainAndMeasure(Trainer t, int steps) {
    try (t) {
      for (int i = 0; i < steps; i++) {
        t.step();
      }
      WeightSnapshot s = t.snapshot("test", steps, 0, 0, 0);
      PiecewiseLinearNet net = s.network();
      int n = PROBES.count();
      int d = PROBES.pixelsPerImage();
      float[] x = new float[n * d];
      for (int i = 0; i < n; i++) {
        PROBES.image(i, x, i * d);
      }
      double[] in = Layer.widen(x);
      double[] z = net.forward(in, n);
      double std = EmbeddingMetrics.compute(z, z, n, net.outputDim(), PROBES.labels(), 10).stdNormalized();
      double[] h = net.forwardTo(in, n, s.reprBlock() + 1);
      double knn = EmbeddingMetrics.compute(h, h, n, h.length / n, PROBES.labels(), 10).knnAccuracy();
      return new double[] {std, knn};
    }
  }

  @Test
  void vicregWithoutVarianceTermCollapsesAndWithItDoesNot() {
    int[] hidden = {64, 64};
    double[] healthy = trainAndMeasure(new VicRegTrainer(TRAIN, EncoderSpec.mlp(hidden), 32, 64, 1e-3, 25, 25, 1, 1), 150);
    double[] collapsed = trainAndMeasure(new VicRegTrainer(TRAIN, EncoderSpec.mlp(hidden), 32, 64, 1e-3, 25, 0, 1, 1), 150);
    assertTrue(healthy[0] > 0.6, "healthy VICReg keeps its spread: std " + healthy[0]);
    assertTrue(collapsed[0] < 0.3, "VICReg without the variance term collapses: std " + collapsed[0]);
    assertTrue(healthy[1] > 0.9 && collapsed[1] < 0.3, "kNN " + healthy[1] + " vs " + collapsed[1]);
  }
}
