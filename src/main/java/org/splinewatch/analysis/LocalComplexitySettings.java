package org.splinewatch.analysis;

import com.typesafe.config.Config;
import org.splinewatch.settings.ConfigBlock;

/**
 * Settings of the local-complexity analyzer, from the {@code splinewatch.local-complexity} HOCON block
 * (regions.md §6).
 *
 * @param points     points per set (training points, held-out probes, and for classifiers the probes nearest the
 *                   decision boundary); the first {@code points} of each fixed set, so every snapshot sees the same
 * @param directions {@code P/2}: orthonormal directions spanning each point's cross-polytope ({@code P} vertices)
 * @param radius     {@code r}; the analyzer also reports {@code 10r}, so that scale effects are visible
 * @param seed       seed of the directions, drawn once per run
 */
public record LocalComplexitySettings(int points, int directions, double radius, long seed) {

  public static LocalComplexitySettings fromConfig(Config root) {
    ConfigBlock c = ConfigBlock.of(root, "splinewatch.local-complexity");
    LocalComplexitySettings s = new LocalComplexitySettings(c.integer("points"), c.integer("directions"),
        c.finite("radius"), c.longInteger("seed"));
    // the one out of range, in the options' common words (it named all three and the record's fields)
    ConfigBlock.requireAtLeast(c.name("points"), s.points, 1);
    ConfigBlock.requireAtLeast(c.name("directions"), s.directions, 1);
    if (!(s.radius > 0)) { // the radius is finite (ConfigBlock.finite)
      throw new IllegalArgumentException(c.name("radius") + " " + s.radius + ": expected a finite number > 0");
    }
    return s;
  }
}
