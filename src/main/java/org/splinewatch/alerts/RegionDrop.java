package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code region_drop}: the exact region count of the whole network ({@code layer="all"}) on a plane falls,
 * {@code regions < region-drop-fire·max(regions over the last region-window snapshots)}, clear above
 * {@code region-drop-clear·max}, from step {@code warmup-steps} on (the untrained network's partition is not a
 * reference). Region drops alone are expected for self-distillation, so this rule warns; with an embedding collapse
 * it is {@link CollapseWithRegionDrop}.
 *
 * @param windows the recent region counts of each plane
 */
public record RegionDrop(Settings settings, Hysteresis hysteresis, Map<String, RecentValues> windows)
    implements CollapseRule {
  public static final String NAME = "region_drop";

  /**
   * @param counts      {@code n-fire}, {@code n-clear}
   * @param fire        {@code region-drop-fire}, a fraction of the recent maximum
   * @param clear       {@code region-drop-clear}
   * @param window      {@code region-window}, the snapshots of that maximum
   * @param warmupSteps {@code warmup-steps}: snapshots of earlier steps are not judged
   */
  public record Settings(Hysteresis.Counts counts, double fire, double clear, int window, long warmupSteps) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("n-fire"), alerts.integer("n-clear")),
          alerts.finite("region-drop-fire"), alerts.finite("region-drop-clear"), alerts.integer("region-window"),
          alerts.longInteger("warmup-steps"));
    }
  }

  /**
   * A plane's region count against its recent maximum.
   *
   * @param plane  the {@code plane} label
   * @param max    the maximum over the window, this snapshot included
   * @param breach below {@code region-drop-fire·max}
   * @param clear  above {@code region-drop-clear·max}
   */
  record Reading(String plane, double regions, double max, boolean breach, boolean clear) {
    Map<String, Double> values() {
      return Map.of("regions", regions, "recent_max", max);
    }
  }

  public RegionDrop(Settings settings) {
    this(settings, new Hysteresis(settings.counts()), new HashMap<>());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.REGIONS;
  }

  /**
   * Adds a whole-network region count to its plane's window and compares it with the window's maximum; empty for
   * per-layer counts and before the warm-up. {@link CollapseWithRegionDrop} keeps its own windows through this.
   */
  static Optional<Reading> read(Settings settings, Map<String, RecentValues> windows, Sample v) {
    if (!"all".equals(CollapseRule.layer(v))) {
      return Optional.empty();
    }
    String plane = v.labels().getOrDefault("plane", "");
    // as for RankMe, the untrained network's partition is no reference: every healthy self-supervised run merges
    // 55-70 % of those regions in its first few hundred steps (README, Collapse alerts)
    if (v.step() < settings.warmupSteps()) {
      return Optional.empty();
    }
    RecentValues w = windows.computeIfAbsent(plane, k -> new RecentValues(settings.window()));
    w.add(v.value());
    double max = w.max();
    return Optional.of(new Reading(plane, v.value(), max, v.value() < settings.fire() * max,
        v.value() > settings.clear() * max));
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    return read(settings, windows, v).map(r -> new Verdict(Map.of("plane", r.plane()), r.breach(), r.clear(),
        r.values(), String.format(Locale.ROOT, "region count on plane %s fell to %.0f (recent maximum %.0f)",
            r.plane(), r.regions(), r.max())));
  }
}
