package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;

/**
 * The training session kept across steps (its array cache reused, gradients recycled) trains exactly as
 * {@code SameDiff.fit} called once per step: same weights, same optimiser step count.
 */
class TrainingSessionTest {
  @Test
  void keptSessionReproducesFitStepByStep() {
    var train = CollapseBehaviourTest.TRAIN;
    List<Supplier<TwoViewTrainer>> makers = List.of(
        () -> new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 7),
        () -> new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, 7),
        () -> new ByolTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, 0.99, 100, true, 7),
        () -> new VicRegTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 25, 25, 1, 7));
    for (Supplier<TwoViewTrainer> make : makers) {
      try (TwoViewTrainer kept = make.get(); TwoViewTrainer fit = make.get()) {
        fit.reuseSession = false;
        double lossKept = 0;
        double lossFit = 0;
        for (int i = 0; i < 6; i++) {
          lossKept = kept.step();
          lossFit = fit.step();
        }
        String name = kept.getClass().getSimpleName();
        assertEquals(lossFit, lossKept, name);
        assertEquals(6, kept.iterationCount(), name);
        assertEquals(fit.iterationCount(), kept.iterationCount(), name);
        List<Layer> a = kept.snapshot("a", 6, 0, 0, 0).layers();
        List<Layer> b = fit.snapshot("b", 6, 0, 0, 0).layers();
        assertEquals(b.size(), a.size(), name);
        for (int l = 0; l < a.size(); l++) {
          if (a.get(l) instanceof Layer.Dense da) {
            Layer.Dense db = (Layer.Dense) b.get(l);
            assertArrayEquals(db.weights(), da.weights(), name + " layer " + l);
            assertArrayEquals(db.bias(), da.bias(), name + " layer " + l);
          }
        }
      }
    }
  }
}
