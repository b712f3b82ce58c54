package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
}
