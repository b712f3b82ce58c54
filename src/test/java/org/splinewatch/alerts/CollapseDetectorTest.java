package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splinewatch.snapshot.Sample;

/** The rule state machines of metrics.md §8.1 on injected values. */
class CollapseDetectorTest {
  private static final AlertSettings DEFAULTS = AlertSettings.fromConfig(ConfigFactory.load());
  /** The step of each detector's next snapshot (a new test instance per test method). */
  private final Map<CollapseDetector, Long> nextStep = new IdentityHashMap<>();

  private List<Alert> feed(CollapseDetector d, String name, Map<String, String> labels, double... values) {
    List<Alert> all = new ArrayList<>();
    // continues from the detector's last step: snapshots 0, 100, 200, ... as at the default interval
    for (double v : values) {
      all.addAll(d.observe(List.of(new Sample(name, labels, v, nextStep.merge(d, 100L, Long::sum) - 100, 0))));
    }
    return all;
  }

  @Test
  void severityIsCriticalExactlyForTheStopOnRules() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    for (String rule : CollapseDetector.RULES) {
      assertEquals(DEFAULTS.stopOn().contains(rule) ? "critical" : "warning", d.severity(rule), rule);
    }
    assertEquals("warning", d.severity("region_drop"));
    assertEquals("critical", d.severity("dim_collapse"));
    AlertSettings onlyStd = AlertSettings.fromConfig(ConfigFactory.load().withValue("splinewatch.alerts.stop-on",
        ConfigValueFactory.fromIterable(List.of("std_collapse"))));
    CollapseDetector narrow = new CollapseDetector(onlyStd, "r", 10);
    assertEquals("warning", narrow.severity("dim_collapse"));
    List<Alert> fired = feed(narrow, "splinewatch_embedding_rankme_ratio", Map.of("layer", "proj"));
    assertTrue(fired.isEmpty());
  }

  @Test
  void stdCollapseFiresAfterThreeBreachesAndResolvesAfterThreeClears() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    Map<String, String> proj = Map.of("layer", "proj");
    assertEquals(List.of(), feed(d, "splinewatch_embedding_std_normalized", proj, 0.9, 0.1, 0.1));
    assertEquals(2, d.consecutiveBreaches("std_collapse"));
    List<Alert> fired = feed(d, "splinewatch_embedding_std_normalized", proj, 0.05);
    assertEquals(1, fired.size());
    Alert a = fired.get(0);
    assertTrue(a.firing());
    assertEquals("std_collapse", a.rule());
    assertEquals("critical", a.severity());
    assertEquals(Map.of("layer", "proj"), a.series());
    assertTrue(a.sentence().contains("layer proj") && a.sentence().contains("0.050"), a.sentence());
    assertTrue(d.firing("std_collapse"));
    // NaN changes nothing; values between the thresholds neither clear nor re-fire
    assertEquals(List.of(), feed(d, "splinewatch_embedding_std_normalized", proj, Double.NaN, 0.25, 0.5, 0.5));
    List<Alert> resolved = feed(d, "splinewatch_embedding_std_normalized", proj, 0.5);
    assertEquals(1, resolved.size());
    assertFalse(resolved.get(0).firing());
    assertFalse(d.firing("std_collapse"));
  }

  @Test
  void deadRepresentationFiresWhenATenthOfTheProbeEmbeddingsAreZero() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    Map<String, String> repr = Map.of("layer", "repr");
    // healthy runs have no zero rows; VICReg without its variance term had 43 % at step 100 (seeds 7 and 123) and
    // 81 % (seed 42). Exactly-zero rows never occur in a healthy run, so the first snapshot with more than a tenth
    // fires (dead-rows-n-fire = 1); a few percent do not
    List<Alert> fired = feed(d, "splinewatch_embedding_zero_rows_ratio", repr, 0, 0.05, 0.43, 0.93);
    assertEquals(1, fired.size());
    assertEquals(200, fired.get(0).step(), "on the first snapshot with more than a tenth of the rows zero");
    assertEquals("dead_representation", fired.get(0).rule());
    assertEquals("critical", fired.get(0).severity());
    assertTrue(fired.get(0).sentence().contains("43 % of the probe embeddings are exactly zero"),
        fired.get(0).sentence());
    // it resolves after n-clear snapshots below dead-rows-clear (5 %), not on one between the thresholds
    assertEquals(List.of(), feed(d, "splinewatch_embedding_zero_rows_ratio", repr, 0.07, 0.01, 0.01));
    List<Alert> resolved = feed(d, "splinewatch_embedding_zero_rows_ratio", repr, 0.0);
    assertEquals(1, resolved.size());
    assertFalse(resolved.get(0).firing());
    assertTrue(DEFAULTS.stopOn().contains("dead_representation"), "a dead network stops runs with early-stop");
    // its own hysteresis is a setting
    AlertSettings three = AlertSettings.fromConfig(ConfigFactory.load()
        .withValue("splinewatch.alerts.dead-rows-n-fire", ConfigValueFactory.fromAnyRef(3)));
    CollapseDetector slow = new CollapseDetector(three, "r", 10);
    assertEquals(List.of(), feed(slow, "splinewatch_embedding_zero_rows_ratio", repr, 0.93, 0.93));
    assertEquals(1, feed(slow, "splinewatch_embedding_zero_rows_ratio", repr, 0.93).size());
  }

  @Test
  void otherLayersWaitForTheirBaselineThenUseIt() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    Map<String, String> repr = Map.of("layer", "repr");
    // no baseline before snapshot 6: a low value on repr is not judged
    assertEquals(List.of(), feed(d, "splinewatch_embedding_std_normalized", repr, 0.1, 0.4, 0.4, 0.4, 0.4));
    assertEquals(0, d.consecutiveBreaches("std_collapse"));
    // baseline b = median(0.4 ×5) = 0.4; fire below min(0.2, 0.1) = 0.1
    assertEquals(List.of(), feed(d, "splinewatch_embedding_std_normalized", repr, 0.4, 0.15, 0.15, 0.15));
    assertEquals(1, feed(d, "splinewatch_embedding_std_normalized", repr, 0.09, 0.09, 0.09).size());
  }

  @Test
  void dimensionalCollapseOnRankMeDrop() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    List<Alert> alerts = new ArrayList<>();
    long step = 0;
    // the first (untrained) snapshot's 200 is not the reference; the best from the second snapshot on is 80
    for (double[] rv : new double[][] {{200, 0.9}, {60, 0.5}, {80, 0.6}, {35, 0.3}, {30, 0.3}, {30, 0.3}}) {
      alerts.addAll(d.observe(List.of(
          new Sample("splinewatch_embedding_rankme_ratio", Map.of("layer", "proj"), rv[1], step, 0),
          new Sample("splinewatch_embedding_rankme", Map.of("layer", "proj"), rv[0], step, 0))));
      step += 100;
    }
    assertEquals(1, alerts.size());
    assertEquals("dim_collapse", alerts.get(0).rule());
    assertEquals(400, alerts.get(0).step(), "the second breaching snapshot (rankme-n-fire = 2)");
    assertEquals(80.0, alerts.get(0).values().get("rankme_max"));
    // the ratio is of the layer's width, not of the best ("best 1.0, ratio 0.004" read as a contradiction)
    assertEquals("dimensional collapse on layer proj: RankMe 30.0, 0.300 of its 100 dimensions (best 80.0 from step"
        + " 100) (2 consecutive snapshots, step 400)", alerts.get(0).sentence());
  }

  /** RankMe of proj at steps 0, 50, 100, ... through a fresh detector; the firing alerts. */
  private static List<Alert> rankMeRun(double... rankMe) {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    List<Alert> alerts = new ArrayList<>();
    for (int i = 0; i < rankMe.length; i++) {
      alerts.addAll(d.observe(List.of(new Sample("splinewatch_embedding_rankme", Map.of("layer", "proj"), rankMe[i],
          50L * i, 0))));
    }
    return alerts.stream().filter(Alert::firing).toList();
  }

  @Test
  void aSuddenLossOfRankFiresOnItsSecondSnapshotAndSlowHealthyCompressionNever() {
    // healthy SimCLR on MNIST (seed 42, tuning set): proj RankMe 41 at step 100 down to 30 at 500, and on; a run that
    // compresses its projector to half of its best over many snapshots is not a sudden collapse
    assertEquals(List.of(), rankMeRun(74, 46, 41, 37, 35, 34, 33, 32, 31, 31, 30, 29, 28, 27, 26, 25, 24, 23));
    // BYOL without predictor switched on after step 250 (tuning set): 28.3 -> 14.9 -> 15.2
    List<Alert> byol = rankMeRun(74, 32, 28, 28.6, 28.5, 28.3, 14.9, 15.2, 14.7);
    assertEquals(1, byol.size());
    assertEquals(350, byol.get(0).step(), "two snapshots after the onset");
    assertEquals(1.0, byol.get(0).values().get("sudden"));
  }

  @Test
  void regionDropAloneWarnsAndWithEmbeddingCollapseIsCritical() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    Map<String, String> plane = Map.of("plane", "0", "layer", "all");
    List<Alert> alone = feed(d, "splinewatch_regions", plane, 1000, 1200, 500, 400, 400);
    assertEquals(List.of("region_drop"), alone.stream().map(Alert::rule).toList(), "self-distillation merges regions");
    // now the embedding spread collapses too: the combined rule fires after three joint breaches
    CollapseDetector e = new CollapseDetector(DEFAULTS, "r", 10);
    List<Alert> joint = new ArrayList<>();
    double[] regions = {1000, 1200, 500, 400, 400};
    double[] std = {0.9, 0.9, 0.1, 0.1, 0.1};
    for (int i = 0; i < regions.length; i++) {
      joint.addAll(e.observe(List.of(
          new Sample("splinewatch_embedding_std_normalized", Map.of("layer", "proj"), std[i], 100L * i, 0),
          new Sample("splinewatch_regions", plane, regions[i], 100L * i, 0))));
    }
    assertTrue(joint.stream().anyMatch(a -> a.rule().equals("collapse_with_region_drop") && a.firing()));
    assertTrue(joint.stream().anyMatch(a -> a.rule().equals("std_collapse")));
  }

  @Test
  void theUntrainedPartitionIsNoReferenceForRegionDrops() {
    // measured on healthy SimSiam (plane 0): 63,154 regions at step 0, then 26,000-28,700 for the rest of the run
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    Map<String, String> plane = Map.of("plane", "0", "layer", "all");
    assertEquals(List.of(), feed(d, "splinewatch_regions", plane, 63154, 27450, 26030, 26418, 26096, 28687, 27998,
        27274, 27045, 26590));
    // a later halving still fires
    assertEquals(List.of("region_drop"), feed(d, "splinewatch_regions", plane, 12000, 11000, 11000).stream()
        .map(Alert::rule).toList());
  }

  @Test
  void knnAtChanceAndDivergence() {
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    assertEquals(1, feed(d, "splinewatch_knn_accuracy_ratio", Map.of("layer", "repr"), 0.9, 0.12, 0.11, 0.1).size());
    List<Alert> div = feed(d, "splinewatch_training_loss", Map.of(), 2.0, Double.POSITIVE_INFINITY);
    assertEquals(1, div.size(), "divergence fires on the first non-finite loss");
    assertEquals("divergence", div.get(0).rule());
    // fired on its first breach: no "(1 consecutive snapshots" count, which reads as a miscount
    assertTrue(div.get(0).sentence().endsWith("became Infinity at step 500 (step 500)"), div.get(0).sentence());
  }

  @Test
  void theWarmUpIsCountedInStepsNotSnapshots() {
    // healthy SimSiam on MNIST snapshotted every 10 steps (measured, repr layer): RankMe falls from 142 to 31 by step
    // 70 and rises again. Counting the warm-up in snapshots took steps 10-60 as the reference and fired at step 50
    double[] rankMe = {141.9, 95.8, 62.8, 45.8, 37.4, 33.1, 31.3, 31.2, 31.9, 32.6, 33.5, 34.5, 35.2, 35.9, 36.2, 36.5};
    double[] ratio = {0.554, 0.374, 0.245, 0.179, 0.146, 0.129, 0.122, 0.122, 0.125, 0.127, 0.131, 0.135, 0.137,
        0.140, 0.141, 0.142};
    CollapseDetector d = new CollapseDetector(DEFAULTS, "r", 10);
    List<Alert> alerts = new ArrayList<>();
    for (int i = 0; i < rankMe.length; i++) {
      alerts.addAll(d.observe(List.of(
          new Sample("splinewatch_embedding_rankme_ratio", Map.of("layer", "repr"), ratio[i], 10L * i, 0),
          new Sample("splinewatch_embedding_rankme", Map.of("layer", "repr"), rankMe[i], 10L * i, 0))));
    }
    assertEquals(List.of(), alerts);
    // a later halving from the post-warm-up best (36.5) still fires, after rankme-n-fire (2) snapshots
    for (int i = 16; i < 19; i++) {
      alerts.addAll(d.observe(List.of(
          new Sample("splinewatch_embedding_rankme", Map.of("layer", "repr"), 15, 10L * i, 0))));
    }
    assertEquals(1, alerts.size());
    assertEquals(170, alerts.get(0).step());
    assertEquals(36.5, alerts.get(0).values().get("rankme_max"));
    // with no warm-up the untrained network is the reference again
    AlertSettings none = AlertSettings.fromConfig(ConfigFactory.load()
        .withValue("splinewatch.alerts.warmup-steps", ConfigValueFactory.fromAnyRef(0)));
    CollapseDetector eager = new CollapseDetector(none, "r", 10);
    List<Alert> early = new ArrayList<>();
    for (int i = 0; i < rankMe.length; i++) {
      early.addAll(eager.observe(List.of(
          new Sample("splinewatch_embedding_rankme", Map.of("layer", "repr"), rankMe[i], 10L * i, 0))));
    }
    assertEquals(List.of("dim_collapse"), early.stream().map(Alert::rule).toList());
    assertEquals(30, early.get(0).step(), "62.8 at step 20 and 45.8 at 30 breach: fires on the second");
  }

  /** The trainer's batch samples (std, with an effective rank of 20), 10 steps apart. */
  private static List<Alert> batches(CollapseDetector d, long fromStep, double... stds) {
    List<Alert> all = new ArrayList<>();
    for (int i = 0; i < stds.length; i++) {
      Map<String, String> projector = Map.of("output", "projector");
      all.addAll(d.observe(List.of(
          new Sample("splinewatch_training_batch_std_normalized", projector, stds[i], fromStep + 10L * i, 0),
          new Sample("splinewatch_training_batch_effective_rank", projector, 20, fromStep + 10L * i, 0))));
    }
    return all;
  }

  @Test
  void batchCollapseFiresAfterItsCountAndResolvesWithHysteresis() {
    var c = ConfigFactory.load();
    for (var kv : Map.ofEntries(Map.entry("batch-n-fire", 2), Map.entry("batch-n-clear", 2),
        Map.entry("batch-std-fire", 0.1), Map.entry("batch-std-clear", 0.2), Map.entry("batch-std-drop-fire", 0.5),
        Map.entry("batch-rank-drop-fire", 0.5), Map.entry("batch-rankme-drop-fire", 0.5),
        Map.entry("batch-scale-drop-fire", 0.5), Map.entry("batch-drop-clear", 0.7), Map.entry("batch-window", 10),
        Map.entry("batch-warmup-steps", 50)).entrySet()) {
      c = c.withValue("splinewatch.alerts." + kv.getKey(), ConfigValueFactory.fromAnyRef(kv.getValue()));
    }
    CollapseDetector d = new CollapseDetector(AlertSettings.fromConfig(c), "r", 10);
    // healthy noise around 0.9 never fires
    assertEquals(List.of(), batches(d, 10, 0.9, 0.85, 0.95, 0.8, 0.9, 0.88, 0.92, 0.86, 0.9, 0.91));
    // one low sample alone does not fire (n-fire 2): the next healthy one starts the count again
    assertEquals(List.of(), batches(d, 110, 0.3, 0.9));
    assertEquals(List.of(), batches(d, 130, 0.3));
    assertEquals(1, d.consecutiveBreaches("batch_collapse"));
    List<Alert> fired = batches(d, 140, 0.2);
    assertEquals(1, fired.size(), "the second breaching sample in a row fires");
    assertTrue(fired.get(0).firing());
    assertEquals("batch_collapse", fired.get(0).rule());
    assertEquals(140, fired.get(0).step());
    assertTrue(fired.get(0).sentence().endsWith("(2 consecutive training batches, step 140)"), fired.get(0).sentence());
    assertEquals(d.severity("batch_collapse"), fired.get(0).severity());
    assertTrue(d.firing("batch_collapse"));
    // 0.6 is clear of the floor but below 0.7 x the recent maximum (0.92): not clear, no resolution
    assertEquals(List.of(), batches(d, 150, 0.6, 0.6, 0.6));
    // back above 0.7 x the recent maximum: the second clear sample in a row resolves it
    List<Alert> back = batches(d, 180, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9);
    assertEquals(1, back.size());
    assertFalse(back.get(0).firing());
    assertEquals(190, back.get(0).step());
    assertFalse(d.firing("batch_collapse"));
    // below the floor before the warm-up (a diverging run): no recent maximum yet, and none printed as NaN
    List<Alert> early = batches(new CollapseDetector(AlertSettings.fromConfig(c), "r", 10), 10, 0.05, 0.05);
    assertEquals(1, early.size());
    assertTrue(early.get(0).sentence().startsWith("training batch collapsed on output projector: std of"
        + " l2-normalised outputs 0.050, centred RankMe") && !early.get(0).sentence().contains("recent maximum NaN"),
        early.get(0).sentence());
  }

  /** Batch samples at steps 1, 10, 20, ...: the projector's std and centred RankMe, the encoder's scale. */
  private static List<Alert> batchRun(CollapseDetector d, double[] std, double[] rankMe, double[] scale) {
    List<Alert> all = new ArrayList<>();
    for (int i = 0; i < std.length; i++) {
      long step = i == 0 ? 1 : 10L * i;
      Map<String, String> projector = Map.of("output", "projector");
      all.addAll(d.observe(List.of(
          new Sample("splinewatch_training_batch_scale", Map.of("output", "encoder"), scale[i], step, 0),
          new Sample("splinewatch_training_batch_rankme", projector, rankMe[i], step, 0),
          new Sample("splinewatch_training_batch_std_normalized", projector, std[i], step, 0))));
    }
    return all;
  }

  @Test
  void healthyByolsEarlyRankFallRaisesNothingAtTheDefaults() {
    // measured, steps 1-250 of healthy BYOL on MNIST, seed 1001 (docs/detection.md): the centred RankMe keeps falling
    // after step 50 (56 -> 41 by step 110, 0.73 of its maximum since 50), which the previous defaults (window 10 from
    // step 50, 0.75) took for a collapse at step 120
    double[] rankMe = {89, 77, 68, 65, 61, 56, 52, 48, 45, 45, 44, 41, 41, 39, 37, 37, 37, 37, 35, 34, 35, 34, 34, 34,
        34, 34};
    double[] scale = {0.18, 0.22, 0.29, 0.32, 0.29, 0.24, 0.27, 0.26, 0.24, 0.27, 0.23, 0.32, 0.24, 0.25, 0.21, 0.25,
        0.34, 0.24, 0.16, 0.21, 0.30, 0.35, 0.33, 0.24, 0.17, 0.31};
    double[] std = {0.57, 0.46, 0.46, 0.50, 0.55, 0.58, 0.55, 0.50, 0.53, 0.52, 0.54, 0.55, 0.58, 0.59, 0.60, 0.61,
        0.65, 0.61, 0.64, 0.64, 0.68, 0.69, 0.71, 0.65, 0.62, 0.68};
    assertEquals(List.of(), batchRun(new CollapseDetector(DEFAULTS, "r", 50), std, rankMe, scale));
    // the same run with SimSiam's fold from step 250 on (measured after --no-stop-gradient, seed 42: 0.79, 0.69, 0.63
    // of the maximum) fires on the second breaching batch
    double[] foldRank = java.util.Arrays.copyOf(rankMe, 30);
    double[] foldStd = java.util.Arrays.copyOf(std, 30);
    double[] foldScale = java.util.Arrays.copyOf(scale, 30);
    double[] tail = {27, 23.5, 21.5, 20};
    for (int i = 0; i < 4; i++) {
      foldRank[26 + i] = tail[i];
      foldStd[26 + i] = 0.66;
      foldScale[26 + i] = 0.3;
    }
    List<Alert> fired = batchRun(new CollapseDetector(DEFAULTS, "r", 50), foldStd, foldRank, foldScale);
    assertEquals(List.of("batch_collapse"), fired.stream().map(Alert::rule).toList());
    assertEquals(280, fired.get(0).step(), "23.5 at 270 and 21.5 at 280 are under 0.77 x 34");
  }

  @Test
  void badSettingsNameTheKey() {
    var bad = ConfigFactory.load().withValue("splinewatch.alerts.early-stop", ConfigValueFactory.fromAnyRef("halt"));
    var e = assertThrows(IllegalArgumentException.class, () -> AlertSettings.fromConfig(bad));
    assertTrue(e.getMessage().contains("halt") && e.getMessage().contains("warn, stop, alertmanager"), e.getMessage());
    var rule = ConfigFactory.load().withValue("splinewatch.alerts.stop-on",
        ConfigValueFactory.fromIterable(List.of("std_colapse")));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AlertSettings.fromConfig(rule)).getMessage()
        .contains("std_colapse"));
    var warm = ConfigFactory.load().withValue("splinewatch.alerts.warmup-steps", ConfigValueFactory.fromAnyRef(-1));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AlertSettings.fromConfig(warm)).getMessage()
        .contains("warmup-steps"));
    var batch = ConfigFactory.load().withValue("splinewatch.alerts.batch-rank-drop-fire",
        ConfigValueFactory.fromAnyRef(0.95));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AlertSettings.fromConfig(batch)).getMessage()
        .contains("batch-rank-drop-fire"));
  }
}
