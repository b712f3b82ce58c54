package org.splinewatch.analysis;

import com.typesafe.config.Config;
import org.splinewatch.settings.ConfigBlock;

/**
 * Settings of the region and boundary-change analyzers, from the {@code splinewatch.regions} HOCON block.
 *
 * @param threads    planes analysed in parallel by the region analyzer (its own pool; 1 = on the analyzer's thread)
 * @param maxRegions region cap per plane; a plane that reaches it reports {@code splinewatch_region_overflow 1}
 * @param pad        half-diagonal of the plane's domain {@code |s|+|t| ≤ pad}; ≤ 0 selects 1.5 × the anchors'
 *                   extent; finite (NaN made every plane one region)
 * @param svg        write an SVG picture per plane per snapshot to {@code runs/<run-id>/planes/}
 * @param svgSize    picture width in pixels
 * @param grid       {@code G}: the boundary-change analyzer probes a {@code G×G} grid on each plane
 * @param dataProbes real probe images also used by the boundary-change analyzer (0 = none)
 */
public record RegionSettings(int threads, int maxRegions, double pad, boolean svg, int svgSize, int grid,
    int dataProbes) {

  public static RegionSettings fromConfig(Config root) {
    ConfigBlock c = ConfigBlock.of(root, "splinewatch.regions");
    RegionSettings s = new RegionSettings(c.integer("threads"), c.integer("max-regions"), c.finite("pad"),
        c.config().getBoolean("svg"), c.integer("svg-size"), c.integer("grid"), c.integer("data-probes"));
    atLeast("--region-threads", s.threads, 1, " (splinewatch.regions.threads)");
    atLeast("splinewatch.regions.max-regions", s.maxRegions, 1, "");
    atLeast("splinewatch.regions.svg-size", s.svgSize, 16, "");
    atLeast("splinewatch.regions.grid", s.grid, 2, "");
    atLeast("splinewatch.regions.data-probes", s.dataProbes, 0, "");
    if (s.pad > Float.MAX_VALUE && org.splinewatch.regions.Plane.hasArea(s.pad)) {
      // every domain corner beyond float32's range, whatever the anchors (Plane.throughAnchors refuses them)
      throw new IllegalArgumentException("splinewatch.regions.pad " + s.pad + ": expected at most " + Float.MAX_VALUE
          + " (the domain's corners are float32 inputs of the network), or <= 0 for 1.5 x the anchors' extent");
    }
    if (s.pad > 0 && !org.splinewatch.regions.Plane.hasArea(s.pad)) {
      // the planes' domains would have area 0 or infinity (Plane.throughAnchors refuses them)
      throw new IllegalArgumentException("splinewatch.regions.pad " + s.pad + ": expected a pad whose domain |s| + |t|"
          + " <= pad has positive finite area (2 pad^2), or <= 0 for 1.5 x the anchors' extent");
    }
    return s;
  }

  /**
   * One line naming the setting (its option where it has one, then {@code key}, its setting, if not empty), what it
   * was and what it must be, in the words of the other options' ranges ({@code --planes 0: expected 1-64}).
   */
  private static void atLeast(String name, int value, int min, String key) {
    if (value < min) {
      throw new IllegalArgumentException(name + " " + value + key + ": expected at least " + min);
    }
  }
}
