package org.splinewatch.alerts;

import com.typesafe.config.Config;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code divergence}: a non-finite training loss. It fires on the first one and, as nothing clears it, stays firing
 * for the rest of the run; finite losses are not judged.
 */
public record Divergence(Settings settings, Hysteresis hysteresis) implements CollapseRule {
  public static final String NAME = "divergence";

  /** @param counts fire on the first breach; {@code n-clear} (never reached: a diverged run does not recover) */
  public record Settings(Hysteresis.Counts counts) {
    static Settings fromConfig(Config alerts) {
      return new Settings(new Hysteresis.Counts(1, alerts.getInt("n-clear")));
    }
  }

  public Divergence(Settings settings) {
    this(settings, new Hysteresis(settings.counts()));
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.TRAINING_LOSS;
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    if (Double.isFinite(v.value())) {
      return Optional.empty();
    }
    return Optional.of(new Verdict(Map.of(), true, false, Map.of("loss", v.value()),
        "the training loss became " + v.value() + " at step " + v.step()));
  }
}
