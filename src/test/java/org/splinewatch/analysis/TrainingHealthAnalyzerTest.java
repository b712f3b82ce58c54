package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/** Weight norms and update-to-weight ratios of consecutive snapshots, against hand-computed values. */
class TrainingHealthAnalyzerTest {
  private static WeightSnapshot snapshot(long step, float[] w1, float[] w2) {
    return new WeightSnapshot("h", step, 0, 0, 2, List.of(new Layer.Dense(2, 2, w1, new float[2]),
        Layer.Activation.relu(), new Layer.Dense(2, 1, w2, new float[] {5f})), 0, false, 1.0, 1e-3, 1.0);
  }

  private static Map<String, Double> byKey(List<Sample> samples) {
    Map<String, Double> m = new HashMap<>();
    samples.forEach(s -> m.put(s.name() + "/" + s.labels().get("layer"), s.value()));
    return m;
  }

  @Test
  void normsAndRatiosOfConsecutiveSnapshots() {
    TrainingHealthAnalyzer a = new TrainingHealthAnalyzer();
    Map<String, Double> first = byKey(a.analyze(snapshot(0, new float[] {3, 4, 0, 0}, new float[] {1, 0})));
    assertEquals(5.0, first.get("splinewatch_layer_weight_norm/1"), 1e-12);
    assertEquals(1.0, first.get("splinewatch_layer_weight_norm/2"), 1e-12); // the bias 5 is left out
    assertEquals(Math.sqrt(26), first.get("splinewatch_layer_weight_norm/all"), 1e-12);
    assertEquals(3, first.size(), "no update without a previous snapshot: " + first);
    // layer 1 moves by (0, 0, 3, 4): |dW| = 5, |W| = sqrt(9 + 16 + 9 + 16); layer 2 does not move
    Map<String, Double> second = byKey(a.analyze(snapshot(100, new float[] {3, 4, 3, 4}, new float[] {1, 0})));
    assertEquals(5.0, second.get("splinewatch_layer_update_norm/1"), 1e-12);
    assertEquals(5.0 / Math.sqrt(50), second.get("splinewatch_layer_update_ratio/1"), 1e-12);
    assertEquals(0.0, second.get("splinewatch_layer_update_ratio/2"), 1e-12);
    assertEquals(5.0 / Math.sqrt(51), second.get("splinewatch_layer_update_ratio/all"), 1e-12);
  }

  @Test
  void nonFiniteWeightsAreAnError() {
    TrainingHealthAnalyzer a = new TrainingHealthAnalyzer();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> a.analyze(snapshot(0, new float[] {Float.NaN, 0, 0, 0}, new float[] {1, 0})));
    assertEquals("layer 1 has non-finite weights at step 0", e.getMessage());
  }

  @Test
  void theNormLoopsGiveBitForBitTheSumsOfTheLoopTheyReplaced() {
    // the sums moved out of analyze into two small methods (less for C2 to compile on-stack, docs/performance.md);
    // summed in the same order, so the metrics do not change in the last bit
    Random r = new Random(3);
    float[] w = new float[300_000];
    float[] p = new float[w.length];
    for (int k = 0; k < w.length; k++) {
      w[k] = (float) r.nextGaussian() * 0.05f;
      p[k] = w[k] + (float) r.nextGaussian() * 1e-4f;
    }
    double ws = 0;
    double us = 0;
    for (int k = 0; k < w.length; k++) { // the loop analyze had inline
      ws += (double) w[k] * w[k];
      double d = (double) w[k] - p[k];
      us += d * d;
    }
    assertEquals(Double.doubleToLongBits(ws), Double.doubleToLongBits(TrainingHealthAnalyzer.sumOfSquares(w)));
    assertEquals(Double.doubleToLongBits(us),
        Double.doubleToLongBits(TrainingHealthAnalyzer.sumOfSquaredDifferences(w, p)));
  }
}
