package org.splinewatch.alerts;

import com.typesafe.config.Config;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.settings.ConfigErrors;

/**
 * The early-stop mode and the settings of each collapse rule, from {@code splinewatch.alerts} (defaults in
 * reference.conf, taken from metrics.md §8.1). Read once at start-up with {@link #fromConfig}, which checks every
 * value and names the key of a bad one.
 *
 * @param earlyStop {@code warn} (alerts only), {@code stop} (a rule in {@code stopOn} stops the run, exit code 3) or
 *     {@code alertmanager} (such a rule stops it only when its alert arrives through the control endpoint)
 * @param stopOn    the rules that stop the run, and whose severity is critical
 * @param exportHoldMillis how long {@code splinewatch_collapse_alert} stays 1 after its rule fired, at least, even when
 *     the rule resolves sooner ({@code export-hold}): a scrape every 5-15 s sees an alert that lasted 3 s, so that
 *     Prometheus and Alertmanager (and {@code --early-stop alertmanager}) do not miss it; events.jsonl keeps the
 *     exact times
 */
public record AlertSettings(String earlyStop, List<String> stopOn, StdCollapse.Settings std,
    DimCollapse.Settings dim, KnnChance.Settings knn, RegionDrop.Settings regions, Divergence.Settings divergence,
    DeadRepresentation.Settings dead, TrainingBatchCollapse.Settings batch, long exportHoldMillis) {

  /**
   * {@code warn}: alerts only, nothing stops the run; {@code stop}: a rule in {@code stop-on} stops it in process (and
   * through the control endpoint); {@code alertmanager}: only through the control endpoint, so Alertmanager's routing,
   * inhibition and silences decide.
   */
  public static final List<String> EARLY_STOP = List.of("warn", "stop", "alertmanager");

  /**
   * The refusal of an early-stop mode that is none of {@link #EARLY_STOP}; {@code setting} names where it is set and
   * the value ({@code --early-stop maybe}, {@code config file my.conf, line 2: splinewatch.alerts.early-stop =
   * "maybe"}).
   */
  public static String unknownMode(String setting) {
    return setting + ": unknown early-stop mode; expected one of: " + String.join(", ", EARLY_STOP);
  }

  /** Whether {@code mode} is one of {@link #EARLY_STOP}, in any case, as {@link #fromConfig} reads it. */
  public static boolean isMode(String mode) {
    return EARLY_STOP.contains(mode.toLowerCase(Locale.ROOT));
  }

  public static AlertSettings fromConfig(Config root) {
    ConfigBlock block = ConfigBlock.of(root, "splinewatch.alerts"); // whole counts, finite thresholds
    Config c = block.config();
    String mode = c.getString("early-stop").toLowerCase(Locale.ROOT);
    if (!EARLY_STOP.contains(mode)) { // named as the user set it: a config file's line, a -D property, ...
      throw new IllegalArgumentException(unknownMode(ConfigErrors.setting(root, block.name("early-stop"))));
    }
    List<String> stopOn = c.getStringList("stop-on");
    for (String r : stopOn) {
      if (!CollapseDetector.RULES.contains(r)) {
        throw new IllegalArgumentException("splinewatch.alerts.stop-on: unknown rule '" + r + "'; expected some of: "
            + String.join(", ", CollapseDetector.RULES));
      }
    }
    AlertSettings s = new AlertSettings(mode, stopOn, StdCollapse.Settings.fromConfig(block),
        DimCollapse.Settings.fromConfig(block), KnnChance.Settings.fromConfig(block),
        RegionDrop.Settings.fromConfig(block), Divergence.Settings.fromConfig(block),
        DeadRepresentation.Settings.fromConfig(block), TrainingBatchCollapse.Settings.fromConfig(block),
        block.durationAtLeast("export-hold", java.time.Duration.ZERO, "0: the exported alert state follows the rule"
            + " exactly").toMillis());
    s.check();
    return s;
  }

  /** Rejects counts below 1, a negative warm-up, and threshold pairs out of range or in the wrong order. */
  private void check() {
    java.util.Map<String, Long> counts = new java.util.LinkedHashMap<>();
    counts.put("n-fire", (long) std.counts().fire());
    counts.put("n-clear", (long) std.counts().clear());
    counts.put("dead-rows-n-fire", (long) dead.counts().fire());
    counts.put("rankme-n-fire", (long) dim.counts().fire());
    counts.put("rankme-sudden-window", (long) dim.suddenWindow());
    counts.put("region-window", (long) regions.window());
    counts.put("batch-n-fire", (long) batch.counts().fire());
    counts.put("batch-n-clear", (long) batch.counts().clear());
    counts.put("batch-window", (long) batch.window());
    // the first one below 1, in the options' common words (splinewatch.alerts.n-fire 0: expected at least 1)
    for (var count : counts.entrySet()) {
      ConfigBlock.requireAtLeast("splinewatch.alerts." + count.getKey(), count.getValue(), 1);
    }
    // the one given below 0, in the options' common words (splinewatch.alerts.warmup-steps -1: expected at least 0)
    for (var warmup : List.of(Map.entry("warmup-steps", std.warmupSteps()),
        Map.entry("batch-warmup-steps", batch.warmupSteps()))) {
      ConfigBlock.requireAtLeast("splinewatch.alerts." + warmup.getKey(), warmup.getValue(), 0);
    }
    // each rule's pair of thresholds, the one crossed first when the series gets worse on the left: a rule that
    // fires below a threshold clears at or above it (hysteresis), one that fires above clears below it. Ratios and
    // fractions lie in [0, 1]; the kNN thresholds are multiples of chance (1/C), at most C = 10.
    pair("std-fire", std.fire(), "std-clear", std.clear(), 1);
    pair("std-fire-relative", std.fireRelative(), "std-clear-relative", std.clearRelative(), 1);
    pair("rankme-ratio-fire", dim.ratioFire(), "rankme-ratio-clear", dim.ratioClear(), 1);
    pair("rankme-drop-fire", dim.dropFire(), "rankme-drop-clear", dim.dropClear(), 1);
    pair("knn-chance-fire", knn.fire(), "knn-chance-clear", knn.clear(), 10);
    pair("region-drop-fire", regions.fire(), "region-drop-clear", regions.clear(), 1);
    pair("dead-rows-clear", dead.clear(), "dead-rows-fire", dead.fire(), 1);
    pair("batch-std-fire", batch.stdFire(), "batch-std-clear", batch.stdClear(), 2);
    pair("batch-std-drop-fire", batch.stdDropFire(), "batch-drop-clear", batch.dropClear(), 1);
    pair("batch-rank-drop-fire", batch.rankDropFire(), "batch-drop-clear", batch.dropClear(), 1);
    pair("batch-rankme-drop-fire", batch.rankMeDropFire(), "batch-drop-clear", batch.dropClear(), 1);
    pair("batch-scale-drop-fire", batch.scaleDropFire(), "batch-drop-clear", batch.dropClear(), 1);
    if (!(dim.suddenFire() >= 0 && dim.suddenFire() <= 1)) { // a fraction of the recent maximum; 0: off
      throw new IllegalArgumentException("splinewatch.alerts.rankme-sudden-fire " + dim.suddenFire()
          + ": expected a number in [0, 1]");
    }
  }

  /** Both values in {@code [0, max]}, the worse-side one ({@code lowKey}) not above the other. */
  private static void pair(String lowKey, double low, String highKey, double high, double max) {
    for (Object[] kv : new Object[][] {{lowKey, low}, {highKey, high}}) {
      double v = (Double) kv[1];
      if (!(v >= 0 && v <= max)) {
        throw new IllegalArgumentException("splinewatch.alerts." + kv[0] + " " + v + ": expected a number in [0, "
            + (max == 1 ? "1" : max == 2 ? "2" : "10 (multiples of chance)") + "]");
      }
    }
    if (!(low <= high)) {
      throw new IllegalArgumentException("splinewatch.alerts." + lowKey + " " + low + ": expected at most"
          + " splinewatch.alerts." + highKey + " (" + high + "; the clear threshold lies on the healthy side of the"
          + " fire threshold)");
    }
  }
}
