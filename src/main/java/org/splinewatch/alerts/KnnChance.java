package org.splinewatch.alerts;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code knn_chance}: the kNN accuracy of a layer's embeddings on the probe images falls near chance,
 * {@code knn_accuracy < knn-chance-fire/C}, clear above {@code knn-chance-clear/C} for {@code C} classes.
 *
 * @param classes the run's class count {@code C}
 */
public record KnnChance(Settings settings, int classes, Hysteresis hysteresis) implements CollapseRule {
  public static final String NAME = "knn_chance";

  /**
   * @param counts {@code n-fire}, {@code n-clear}
   * @param fire   {@code knn-chance-fire}, a multiple of chance
   * @param clear  {@code knn-chance-clear}, a multiple of chance
   */
  public record Settings(Hysteresis.Counts counts, double fire, double clear) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("n-fire"), alerts.integer("n-clear")),
          alerts.finite("knn-chance-fire"), alerts.finite("knn-chance-clear"));
    }
  }

  public KnnChance(Settings settings, int classes) {
    this(settings, classes, new Hysteresis(settings.counts()));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.KNN_ACCURACY_RATIO;
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    if (Double.isNaN(v.value())) {
      return Optional.empty();
    }
    String layer = CollapseRule.layer(v);
    return Optional.of(new Verdict(Map.of("layer", layer), v.value() < settings.fire() / classes,
        v.value() > settings.clear() / classes, Map.of("knn_accuracy", v.value()),
        String.format(Locale.ROOT, "kNN accuracy on layer %s is %.3f, near chance (1/%d)", layer, v.value(),
            classes)));
  }
}
