package org.splinewatch.alerts;

import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code divergence}: a non-finite training loss. It fires on the first one and, as nothing clears it, stays firing
 * for the rest of the run; finite losses are not judged. Non-finite weights are a divergence too: an HTTP-ingested
 * snapshot whose weights hold a NaN or an infinity is refused, and {@link #weights} is this rule's verdict on it (a
 * PyTorch step after a NaN loss makes the weights NaN, so the loss and the weights usually arrive together).
 */
public record Divergence(Settings settings, Hysteresis hysteresis) implements CollapseRule {
  public static final String NAME = "divergence";

  /** @param counts fire on the first breach; {@code n-clear} (never reached: a diverged run does not recover) */
  public record Settings(Hysteresis.Counts counts) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(1, alerts.integer("n-clear")));
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

  /** The verdict on a snapshot refused for non-finite weights: {@code entry} names the first non-finite number. */
  public static Verdict weights(long step, String entry) {
    return new Verdict(Map.of(), true, false, Map.of(), "the weights became non-finite at step " + step + " ("
        + entry + ")");
  }
}
