package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code collapse_with_region_drop}: a {@link RegionDrop} breach on some plane while {@link StdCollapse} or
 * {@link DimCollapse} breaches on some layer (their latest judged snapshots). It reads the {@code region_drop} keys
 * ({@link RegionDrop.Settings}) and keeps its own copy of the planes' windows; it clears when the region count clears
 * or no embedding rule breaches any more.
 *
 * @param std     the run's {@code std_collapse} rule, whose breaches it reads
 * @param dim     the run's {@code dim_collapse} rule, whose breaches it reads
 * @param windows the recent region counts of each plane
 */
public record CollapseWithRegionDrop(RegionDrop.Settings settings, StdCollapse std, DimCollapse dim,
    Hysteresis hysteresis, Map<String, RecentValues> windows) implements CollapseRule {
  public static final String NAME = "collapse_with_region_drop";

  public CollapseWithRegionDrop(RegionDrop.Settings settings, StdCollapse std, DimCollapse dim) {
    this(settings, std, dim, new Hysteresis(settings.counts()), new HashMap<>());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.REGIONS;
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    return RegionDrop.read(settings, windows, v).map(r -> {
      boolean embeddingBreach = std.breaching() || dim.breaching();
      return new Verdict(Map.of("plane", r.plane()), r.breach() && embeddingBreach, r.clear() || !embeddingBreach,
          r.values(), String.format(Locale.ROOT, "collapse: region count on plane %s fell to %.0f (recent maximum"
              + " %.0f) while the embedding spread or rank collapsed", r.plane(), r.regions(), r.max()));
    });
  }
}
