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
    return s;
  }
}
