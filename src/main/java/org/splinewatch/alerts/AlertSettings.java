package org.splinewatch.alerts;

import com.typesafe.config.Config;
import java.util.List;
import java.util.Locale;

/**
 * Thresholds and hysteresis of the collapse rules, from {@code splinewatch.alerts} (defaults in reference.conf, taken
 * from metrics.md §8.1).
 *
 * @param earlyStop {@code warn} (alerts only), {@code stop} (a rule in {@code stopOn} stops the run, exit code 3) or
 *     {@code alertmanager} (such a rule stops it only when its alert arrives through the control endpoint)
 * @param warmupSteps snapshots of earlier steps are no reference for the drop rules and the std baseline (the
 *     untrained network and its first updates), whatever the snapshot interval
 */
public record AlertSettings(String earlyStop, List<String> stopOn, int nFire, int nClear, double stdFire,
    double stdFireRelative, double stdClear, double stdClearRelative, double rankMeRatioFire,
    double rankMeRatioClear, double rankMeDropFire, double rankMeDropClear, double knnChanceFire,
    double knnChanceClear, double regionDropFire, double regionDropClear, int regionWindow, double deadRowsFire,
    double deadRowsClear, int deadRowsNFire, long warmupSteps, int rankMeNFire, double rankMeSuddenFire,
    int rankMeSuddenWindow) {

  /**
   * {@code warn}: alerts only, nothing stops the run; {@code stop}: a rule in {@code stop-on} stops it in process (and
   * through the control endpoint); {@code alertmanager}: only through the control endpoint, so Alertmanager's routing,
   * inhibition and silences decide.
   */
  public static final List<String> EARLY_STOP = List.of("warn", "stop", "alertmanager");

  public static AlertSettings fromConfig(Config root) {
    Config c = root.getConfig("splinewatch.alerts");
    String mode = c.getString("early-stop").toLowerCase(Locale.ROOT);
    if (!EARLY_STOP.contains(mode)) {
      throw new IllegalArgumentException("unknown early-stop mode '" + mode + "'; expected one of: "
          + String.join(", ", EARLY_STOP));
    }
    List<String> stopOn = c.getStringList("stop-on");
    for (String r : stopOn) {
      if (!CollapseDetector.RULES.contains(r)) {
        throw new IllegalArgumentException("splinewatch.alerts.stop-on: unknown rule '" + r + "'; expected some of: "
            + String.join(", ", CollapseDetector.RULES));
      }
    }
    AlertSettings s = new AlertSettings(mode, stopOn, c.getInt("n-fire"), c.getInt("n-clear"),
        c.getDouble("std-fire"), c.getDouble("std-fire-relative"), c.getDouble("std-clear"),
        c.getDouble("std-clear-relative"), c.getDouble("rankme-ratio-fire"), c.getDouble("rankme-ratio-clear"),
        c.getDouble("rankme-drop-fire"), c.getDouble("rankme-drop-clear"), c.getDouble("knn-chance-fire"),
        c.getDouble("knn-chance-clear"), c.getDouble("region-drop-fire"), c.getDouble("region-drop-clear"),
        c.getInt("region-window"), c.getDouble("dead-rows-fire"), c.getDouble("dead-rows-clear"),
        c.getInt("dead-rows-n-fire"), c.getLong("warmup-steps"), c.getInt("rankme-n-fire"),
        c.getDouble("rankme-sudden-fire"), c.getInt("rankme-sudden-window"));
    if (s.nFire < 1 || s.nClear < 1 || s.regionWindow < 1 || s.deadRowsNFire < 1 || s.rankMeNFire < 1
        || s.rankMeSuddenWindow < 1) {
      throw new IllegalArgumentException("splinewatch.alerts: n-fire, n-clear, dead-rows-n-fire, rankme-n-fire,"
          + " rankme-sudden-window and region-window must be at least 1");
    }
    if (s.warmupSteps < 0) {
      throw new IllegalArgumentException("splinewatch.alerts.warmup-steps must be at least 0, got " + s.warmupSteps);
    }
    // each rule's pair of thresholds, the one crossed first when the series gets worse on the left: a rule that
    // fires below a threshold clears at or above it (hysteresis), one that fires above clears below it. Ratios and
    // fractions lie in [0, 1]; the kNN thresholds are multiples of chance (1/C), at most C = 10.
    Object[][] pairs = {
        {"std-fire", s.stdFire, "std-clear", s.stdClear, 1.0},
        {"std-fire-relative", s.stdFireRelative, "std-clear-relative", s.stdClearRelative, 1.0},
        {"rankme-ratio-fire", s.rankMeRatioFire, "rankme-ratio-clear", s.rankMeRatioClear, 1.0},
        {"rankme-drop-fire", s.rankMeDropFire, "rankme-drop-clear", s.rankMeDropClear, 1.0},
        {"knn-chance-fire", s.knnChanceFire, "knn-chance-clear", s.knnChanceClear, 10.0},
        {"region-drop-fire", s.regionDropFire, "region-drop-clear", s.regionDropClear, 1.0},
        {"dead-rows-clear", s.deadRowsClear, "dead-rows-fire", s.deadRowsFire, 1.0}};
    for (Object[] p : pairs) {
      double max = (Double) p[4];
      for (int i = 0; i < 4; i += 2) {
        double v = (Double) p[i + 1];
        if (!(v >= 0 && v <= max)) {
          throw new IllegalArgumentException("splinewatch.alerts." + p[i] + " " + v + ": expected a number in [0, "
              + (max == 1 ? "1" : "10 (multiples of chance)") + "]");
        }
      }
      if (!((Double) p[1] <= (Double) p[3])) {
        throw new IllegalArgumentException("splinewatch.alerts: " + p[0] + " " + p[1] + " must not exceed " + p[2]
            + " " + p[3] + " (the clear threshold lies on the healthy side of the fire threshold)");
      }
    }
    return s;
  }
}
