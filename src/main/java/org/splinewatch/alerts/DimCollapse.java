package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code dim_collapse}: the effective rank of a layer's embeddings falls. It breaches when
 * {@code rankme_ratio < rankme-ratio-fire}, or {@code rankme < rankme-drop-fire·max(rankme so far)}, the maximum taken
 * over the snapshots from step {@code warmup-steps} on (the untrained network's rank is not a reference: a healthy
 * SimCLR projector drops from about 74 at step 0 to about 41 at step 100 on MNIST, and healthy SimSiam's from 74 to 27
 * by step 50 before it rises again); or on a sudden drop, {@code rankme < rankme-sudden-fire·max(rankme of the
 * previous rankme-sudden-window snapshots)}. It clears above {@code rankme-ratio-clear} and
 * {@code rankme-drop-clear·max}, and fires after {@code rankme-n-fire} breaching snapshots. It judges the
 * {@code rankme} samples and reads {@code rankme_ratio} from the same analysis.
 *
 * @param best       the best RankMe of each layer from the warm-up on
 * @param recent     the latest RankMe values of each layer, for the sudden drop
 * @param lastBreach whether each layer's latest judged snapshot breached (read by {@link CollapseWithRegionDrop})
 */
public record DimCollapse(Settings settings, Hysteresis hysteresis, Map<String, Double> best,
    Map<String, RecentValues> recent, Map<String, Boolean> lastBreach) implements CollapseRule {
  public static final String NAME = "dim_collapse";

  /**
   * @param counts        {@code rankme-n-fire}, {@code n-clear}
   * @param ratioFire     {@code rankme-ratio-fire}
   * @param ratioClear    {@code rankme-ratio-clear}
   * @param dropFire      {@code rankme-drop-fire}, a fraction of the best RankMe so far
   * @param dropClear     {@code rankme-drop-clear}
   * @param suddenFire    {@code rankme-sudden-fire}, a fraction of the recent maximum (0 turns the sudden drop off)
   * @param suddenWindow  {@code rankme-sudden-window}, the snapshots of that maximum
   * @param warmupSteps   {@code warmup-steps}: the best and recent values start there
   */
  public record Settings(Hysteresis.Counts counts, double ratioFire, double ratioClear, double dropFire,
      double dropClear, double suddenFire, int suddenWindow, long warmupSteps) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("rankme-n-fire"), alerts.integer("n-clear")),
          alerts.finite("rankme-ratio-fire"), alerts.finite("rankme-ratio-clear"),
          alerts.finite("rankme-drop-fire"), alerts.finite("rankme-drop-clear"),
          alerts.finite("rankme-sudden-fire"), alerts.integer("rankme-sudden-window"),
          alerts.longInteger("warmup-steps"));
    }
  }

  public DimCollapse(Settings settings) {
    this(settings, new Hysteresis(settings.counts()), new HashMap<>(), new HashMap<>(), new HashMap<>());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.EMBEDDING_RANKME;
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
    double ratio = analysis.value(MetricFamily.EMBEDDING_RANKME_RATIO, layer);
    // the untrained network has an unrepresentatively high rank (training compresses healthy projectors too), so
    // the running best starts at warmup-steps
    boolean reference = v.step() >= settings.warmupSteps();
    double max = reference ? Math.max(best.getOrDefault(layer, 0.0), v.value()) : Double.NaN;
    if (reference) {
      best.put(layer, max);
    }
    boolean drop = reference && v.value() < settings.dropFire() * max;
    // a sudden drop: below rankme-sudden-fire x the maximum of the previous rankme-sudden-window snapshots. A collapse
    // switched on mid-run loses 40-70 % of the projector's RankMe within one snapshot; healthy training compresses it
    // by a few percent per snapshot (SimCLR 41 -> 30 over 400 steps), which the best-so-far rule would flag in a long
    // run
    boolean sudden = false;
    if (reference) {
      RecentValues window = recent.computeIfAbsent(layer, k -> new RecentValues(settings.suddenWindow()));
      sudden = !window.isEmpty() && v.value() < settings.suddenFire() * window.max();
      window.add(v.value());
    }
    boolean breach = (!Double.isNaN(ratio) && ratio < settings.ratioFire()) || drop || sudden;
    boolean clear = (Double.isNaN(ratio) || ratio > settings.ratioClear())
        && (!reference || v.value() > settings.dropClear() * max);
    lastBreach.put(layer, breach);
    Map<String, Double> vals = new LinkedHashMap<>();
    vals.put("rankme", v.value());
    vals.put("rankme_max", max);
    if (!Double.isNaN(ratio)) {
      vals.put("rankme_ratio", ratio);
    }
    vals.put("sudden", sudden ? 1.0 : 0.0);
    // the ratio is RankMe over the layer's width, not over the best: "best 1.0, ratio 0.004" read as a contradiction
    String share = Double.isNaN(ratio) || ratio <= 0 ? ""
        : String.format(Locale.ROOT, ", %.3f of its %d dimensions", ratio, Math.round(v.value() / ratio));
    String since = reference ? String.format(Locale.ROOT, " (best %.1f from step %d)", max, settings.warmupSteps())
        : "";
    return Optional.of(new Verdict(Map.of("layer", layer), breach, clear, vals,
        String.format(Locale.ROOT, "dimensional collapse on layer %s: RankMe %.1f%s%s", layer, v.value(), share,
            since)));
  }
}
