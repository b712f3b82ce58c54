package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;

/**
 * {@code --ablate-from STEP}: until STEP the run is the healthy method (same weights, step for step), from STEP the
 * ablation acts (other steps than the healthy method's). That the switched-on ablation collapses a real run is shown
 * end to end by {@code AlertRoutingEndToEndTest}.
 */
class AblateFromTest {
  private static final int[] HIDDEN = {64, 64};

  /** Projector outputs of the probes at the trainer's current weights. */
  private static double[] outputs(Trainer t) {
    PiecewiseLinearNet net = t.snapshot("test", 0, 0, 0, 0).network();
    int n = CollapseBehaviourTest.PROBES.count();
    int d = CollapseBehaviourTest.PROBES.pixelsPerImage();
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      CollapseBehaviourTest.PROBES.image(i, x, i * d);
    }
    return net.forward(Layer.widen(x), n);
  }

  private static void steps(Trainer t, int n) {
    for (int i = 0; i < n; i++) {
      t.step();
    }
  }

  private static double maxDiff(double[] a, double[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  /** Max difference of the projector outputs after {@code onset} steps of both trainers, then after 10 more. */
  private static double[] beforeAndAfter(Trainer healthy, Trainer ablated, int onset) {
    try (healthy; ablated) {
      steps(healthy, onset);
      steps(ablated, onset);
      double before = maxDiff(outputs(healthy), outputs(ablated));
      steps(healthy, 10);
      steps(ablated, 10);
      return new double[] {before, maxDiff(outputs(healthy), outputs(ablated))};
    }
  }

  @Test
  void vicregIsHealthyUntilTheOnsetAndAblatedAfterIt() {
    double[] d = beforeAndAfter(new VicRegTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(HIDDEN), 32, 64, 1e-3,
        25, 25, 1, 1), new VicRegTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(HIDDEN), 32, 64, 1e-3, 25, 0, 1,
        1, 30, new double[] {25, 25, 1}), 30);
    assertTrue(d[0] < 1e-4, "identical to the healthy run before the onset: " + d[0]);
    assertTrue(d[1] > 1e-2, "the variance term is gone after it: " + d[1]);
  }

  @Test
  void simsiamTakesTheHealthyStepsUntilTheOnsetOnly() {
    double[] d = beforeAndAfter(new SimSiamTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(HIDDEN), 32, 16, 64,
        1e-3, true, true, 1), new SimSiamTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(HIDDEN), 32, 16, 64,
        1e-3, false, false, 1, 20), 20);
    assertTrue(d[0] < 1e-4, "identical before the onset: " + d[0]);
    assertTrue(d[1] > 1e-2, "other steps after it (no stop-gradient, no predictor): " + d[1]);
  }

  private static RunSettings settings(Map<String, Object> o) {
    return RunSettings.fromConfig(ConfigFactory.parseMap(o).withFallback(ConfigFactory.load()));
  }

  @Test
  void needsAnAblationAndAStepOfAtLeastZero() {
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> settings(Map.of(
        "splinewatch.run.method", "simclr", "splinewatch.ablation.from-step", 600)));
    assertTrue(none.getMessage().startsWith("--ablate-from 600 needs an ablation option of simclr"), none.getMessage());
    assertThrows(IllegalArgumentException.class, () -> settings(Map.of("splinewatch.run.method", "vicreg",
        "splinewatch.ablation.from-step", 600)));
    IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> settings(Map.of(
        "splinewatch.run.method", "vicreg", "splinewatch.ssl.vicreg-std-coeff", 0, "splinewatch.ablation.from-step",
        -1)));
    assertTrue(negative.getMessage().contains("expected a step >= 0"), negative.getMessage());
    RunSettings ok = settings(Map.of("splinewatch.run.method", "vicreg", "splinewatch.ssl.vicreg-std-coeff", 0,
        "splinewatch.ablation.from-step", 600));
    assertEquals(600, ok.ablateFrom());
    assertEquals(List.of("--vicreg-std-coeff"), ok.ablations());
  }
}
