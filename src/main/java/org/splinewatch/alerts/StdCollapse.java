package org.splinewatch.alerts;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code std_collapse}: the spread of the l2-normalised embeddings on a layer falls,
 * {@code std_normalized < min(std-fire, std-fire-relative·b)}, clear above
 * {@code min(std-clear, std-clear-relative·b)}.
 * {@code b} is the layer's median over its first five snapshots from step {@code warmup-steps} on; until then
 * {@code b = 1} on {@code proj}/{@code pred} layers (whose {@code b} never drops below 1, so a collapse during the
 * baseline window is still caught) and other layers are not judged.
 *
 * @param baselines the first five values of each layer from the warm-up on
 * @param lastBreach whether each layer's latest judged snapshot breached (read by {@link CollapseWithRegionDrop})
 */
public record StdCollapse(Settings settings, Hysteresis hysteresis, Map<String, List<Double>> baselines,
    Map<String, Boolean> lastBreach) implements CollapseRule {
  public static final String NAME = "std_collapse";
  private static final int BASELINE_SNAPSHOTS = 5;

  /**
   * @param counts        {@code n-fire}, {@code n-clear}
   * @param fire          {@code std-fire}, the absolute fire threshold
   * @param fireRelative  {@code std-fire-relative}, the fire threshold as a multiple of the baseline
   * @param clear         {@code std-clear}
   * @param clearRelative {@code std-clear-relative}
   * @param warmupSteps   {@code warmup-steps}: the baseline starts there
   */
  public record Settings(Hysteresis.Counts counts, double fire, double fireRelative, double clear,
      double clearRelative, long warmupSteps) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("n-fire"), alerts.integer("n-clear")),
          alerts.finite("std-fire"), alerts.finite("std-fire-relative"), alerts.finite("std-clear"),
          alerts.finite("std-clear-relative"), alerts.longInteger("warmup-steps"));
    }
  }

  public StdCollapse(Settings settings) {
    this(settings, new Hysteresis(settings.counts()), new HashMap<>(), new HashMap<>());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.EMBEDDING_STD_NORMALIZED;
  }

  /** Whether the latest judged snapshot of some layer breached. */
  boolean breaching() {
    return lastBreach.containsValue(true);
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    if (Double.isNaN(v.value())) {
      return Optional.empty();
    }
    String layer = CollapseRule.layer(v);
    List<Double> hist = baselines.computeIfAbsent(layer, k -> new ArrayList<>());
    if (v.step() >= settings.warmupSteps() && hist.size() < BASELINE_SNAPSHOTS) {
      hist.add(v.value());
    }
    boolean head = layer.equals("proj") || layer.equals("pred");
    double b;
    if (hist.size() == BASELINE_SNAPSHOTS) {
      double[] base = hist.stream().mapToDouble(Double::doubleValue).toArray();
      Arrays.sort(base);
      // projector/predictor outputs are near 1 when healthy: never let a baseline taken during an early collapse
      // lower their threshold below the absolute one (the Prometheus mirror uses the absolute 0.2 there too)
      b = head ? Math.max(1, base[2]) : base[2];
    } else if (head) {
      b = 1;
    } else {
      return Optional.empty();
    }
    double fire = Math.min(settings.fire(), settings.fireRelative() * b);
    double clear = Math.min(settings.clear(), settings.clearRelative() * b);
    boolean breach = v.value() < fire;
    lastBreach.put(layer, breach);
    return Optional.of(new Verdict(Map.of("layer", layer), breach, v.value() > clear,
        Map.of("std_normalized", v.value(), "baseline", b, "threshold", fire),
        String.format(Locale.ROOT, "embedding spread collapsed on layer %s: std of l2-normalised embeddings %.3f"
            + " < %.3f (baseline %.3f)", layer, v.value(), fire, b)));
  }
}
