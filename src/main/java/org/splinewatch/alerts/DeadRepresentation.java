package org.splinewatch.alerts;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code dead_representation}: more than {@code dead-rows-fire} (a tenth) of the probe embeddings on a layer are
 * exactly zero (every ReLU of the layer off: the network has died, as VICReg without its variance term does on
 * MNIST); clear below {@code dead-rows-clear}. Healthy runs have none, so it fires on the first such snapshot
 * ({@code dead-rows-n-fire = 1}).
 */
public record DeadRepresentation(Settings settings, Hysteresis hysteresis) implements CollapseRule {
  public static final String NAME = "dead_representation";

  /**
   * @param counts {@code dead-rows-n-fire}, {@code n-clear}
   * @param fire   {@code dead-rows-fire}, the fraction of zero rows above which it breaches
   * @param clear  {@code dead-rows-clear}, the fraction below which it is clear
   */
  public record Settings(Hysteresis.Counts counts, double fire, double clear) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("dead-rows-n-fire"), alerts.integer("n-clear")),
          alerts.finite("dead-rows-fire"), alerts.finite("dead-rows-clear"));
    }
  }

  public DeadRepresentation(Settings settings) {
    this(settings, new Hysteresis(settings.counts()));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.EMBEDDING_ZERO_ROWS_RATIO;
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    if (Double.isNaN(v.value())) {
      return Optional.empty();
    }
    String layer = CollapseRule.layer(v);
    return Optional.of(new Verdict(Map.of("layer", layer), v.value() > settings.fire(), v.value() < settings.clear(),
        Map.of("zero_rows_ratio", v.value()),
        String.format(Locale.ROOT, "representation died on layer %s: %.0f %% of the probe embeddings are"
            + " exactly zero", layer, 100 * v.value())));
  }
}
