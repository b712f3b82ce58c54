package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/** Each rule record's verdicts on single samples, with the reference.conf settings. */
class CollapseRuleTest {
  private static final AlertSettings DEFAULTS = AlertSettings.fromConfig(ConfigFactory.load());
  private static final CollapseRule.Analysis NONE = new CollapseRule.Analysis(List.of());

  private static Sample sample(MetricFamily family, double value, long step, String... labels) {
    return Sample.of(family, value, step, labels);
  }

  private static CollapseRule.Verdict verdict(Optional<CollapseRule.Verdict> v) {
    assertTrue(v.isPresent(), "judged");
    return v.get();
  }

  @Test
  void stdCollapseJudgesHeadsAtOnceAndOtherLayersAgainstTheirBaseline() {
    StdCollapse rule = new StdCollapse(DEFAULTS.std());
    assertEquals("std_collapse", rule.name());
    // proj: b = 1 before a baseline, so fire below min(0.2, 0.25) = 0.2 and clear above min(0.3, 0.35) = 0.3
    var low = verdict(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.15, 0, "layer", "proj"), NONE));
    assertTrue(low.breach() && !low.clear());
    assertEquals(Map.of("layer", "proj"), low.series());
    assertEquals(0.2, low.values().get("threshold"));
    assertTrue(rule.breaching());
    var mid = verdict(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.25, 100, "layer", "proj"), NONE));
    assertFalse(mid.breach() || mid.clear());
    assertFalse(rule.breaching());
    // repr: not judged until five snapshots from warmup-steps on give its baseline
    assertTrue(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.01, 0, "layer", "repr"), NONE).isEmpty());
    for (int i = 1; i <= 4; i++) {
      assertTrue(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.4, 100 * i, "layer", "repr"), NONE)
          .isEmpty());
    }
    var based = verdict(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.4, 500, "layer", "repr"), NONE));
    assertEquals(0.4, based.values().get("baseline"));
    assertEquals(0.1, based.values().get("threshold"), 1e-12, "min(0.2, 0.25 x 0.4)");
    assertTrue(rule.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, Double.NaN, 600, "layer", "repr"), NONE)
        .isEmpty());
  }

  @Test
  void dimCollapseReadsTheRatioOfTheSameAnalysisAndTheBestSinceWarmUp() {
    DimCollapse rule = new DimCollapse(DEFAULTS.dim());
    assertEquals("dim_collapse", rule.name());
    Sample ratio = sample(MetricFamily.EMBEDDING_RANKME_RATIO, 0.01, 0, "layer", "proj");
    Sample rank = sample(MetricFamily.EMBEDDING_RANKME, 100, 0, "layer", "proj");
    var v = verdict(rule.judge(rank, new CollapseRule.Analysis(List.of(ratio, rank))));
    assertTrue(v.breach(), "rankme_ratio 0.01 < 0.02");
    assertEquals(0.01, v.values().get("rankme_ratio"));
    assertTrue(Double.isNaN(v.values().get("rankme_max")), "no best before warmup-steps");
    assertTrue(verdict(rule.judge(sample(MetricFamily.EMBEDDING_RANKME, 80, 100, "layer", "proj"), NONE)).clear());
    // a third of the best: a drop, and a sudden one
    var drop = verdict(rule.judge(sample(MetricFamily.EMBEDDING_RANKME, 30, 200, "layer", "proj"), NONE));
    assertTrue(drop.breach() && !drop.clear());
    assertEquals(80.0, drop.values().get("rankme_max"));
    assertEquals(1.0, drop.values().get("sudden"));
    assertTrue(rule.breaching());
  }

  @Test
  void knnChanceIsAMultipleOfChance() {
    KnnChance rule = new KnnChance(DEFAULTS.knn(), 4);
    assertEquals("knn_chance", rule.name());
    // chance is 1/4: fire below 1.5/4 = 0.375, clear above 2/4 = 0.5
    assertTrue(verdict(rule.judge(sample(MetricFamily.KNN_ACCURACY_RATIO, 0.37, 0, "layer", "repr"), NONE))
        .breach());
    var mid = verdict(rule.judge(sample(MetricFamily.KNN_ACCURACY_RATIO, 0.45, 0, "layer", "repr"), NONE));
    assertFalse(mid.breach() || mid.clear());
    assertTrue(verdict(rule.judge(sample(MetricFamily.KNN_ACCURACY_RATIO, 0.51, 0, "layer", "repr"), NONE)).clear());
    assertTrue(verdict(rule.judge(sample(MetricFamily.KNN_ACCURACY_RATIO, 0.51, 0, "layer", "repr"), NONE))
        .sentence().contains("(1/4)"));
  }

  @Test
  void regionDropComparesWithTheRecentMaximumOfWholeNetworkCounts() {
    RegionDrop rule = new RegionDrop(DEFAULTS.regions());
    assertEquals("region_drop", rule.name());
    assertTrue(rule.judge(sample(MetricFamily.REGIONS, 1000, 0, "plane", "0", "layer", "all"), NONE).isEmpty(),
        "before warmup-steps");
    assertTrue(rule.judge(sample(MetricFamily.REGIONS, 10, 200, "plane", "0", "layer", "1"), NONE).isEmpty(),
        "per-layer counts are not judged");
    assertTrue(verdict(rule.judge(sample(MetricFamily.REGIONS, 1000, 100, "plane", "0", "layer", "all"), NONE))
        .clear());
    var half = verdict(rule.judge(sample(MetricFamily.REGIONS, 450, 200, "plane", "0", "layer", "all"), NONE));
    assertTrue(half.breach());
    assertEquals(Map.of("plane", "0"), half.series());
    assertEquals(Map.of("regions", 450.0, "recent_max", 1000.0), half.values());
    // the window holds region-window (10) snapshots: the 1000 leaves it
    for (int i = 0; i < 9; i++) {
      rule.judge(sample(MetricFamily.REGIONS, 450, 300 + 100 * i, "plane", "0", "layer", "all"), NONE);
    }
    assertEquals(450.0, verdict(rule.judge(sample(MetricFamily.REGIONS, 450, 1200, "plane", "0", "layer", "all"),
        NONE)).values().get("recent_max"));
  }

  @Test
  void collapseWithRegionDropNeedsAnEmbeddingBreach() {
    StdCollapse std = new StdCollapse(DEFAULTS.std());
    DimCollapse dim = new DimCollapse(DEFAULTS.dim());
    CollapseWithRegionDrop rule = new CollapseWithRegionDrop(DEFAULTS.regions(), std, dim);
    assertEquals("collapse_with_region_drop", rule.name());
    rule.judge(sample(MetricFamily.REGIONS, 1000, 100, "plane", "0", "layer", "all"), NONE);
    var alone = verdict(rule.judge(sample(MetricFamily.REGIONS, 400, 200, "plane", "0", "layer", "all"), NONE));
    assertFalse(alone.breach());
    assertTrue(alone.clear(), "no embedding rule breaches");
    std.judge(sample(MetricFamily.EMBEDDING_STD_NORMALIZED, 0.05, 300, "layer", "proj"), NONE);
    var joint = verdict(rule.judge(sample(MetricFamily.REGIONS, 400, 300, "plane", "0", "layer", "all"), NONE));
    assertTrue(joint.breach() && !joint.clear());
    assertTrue(joint.sentence().contains("while the embedding spread or rank collapsed"), joint.sentence());
  }

  @Test
  void divergenceJudgesOnlyNonFiniteLosses() {
    Divergence rule = new Divergence(DEFAULTS.divergence());
    assertEquals("divergence", rule.name());
    assertEquals(1, DEFAULTS.divergence().counts().fire(), "fires at once");
    assertTrue(rule.judge(sample(MetricFamily.TRAINING_LOSS, 2.5, 10), NONE).isEmpty());
    var nan = verdict(rule.judge(sample(MetricFamily.TRAINING_LOSS, Double.NaN, 20), NONE));
    assertTrue(nan.breach() && !nan.clear());
    assertEquals(Map.of(), nan.series());
    assertEquals("the training loss became NaN at step 20", nan.sentence());
  }

  @Test
  void deadRepresentationBreachesAboveATenthOfZeroRows() {
    DeadRepresentation rule = new DeadRepresentation(DEFAULTS.dead());
    assertEquals("dead_representation", rule.name());
    assertEquals(1, DEFAULTS.dead().counts().fire());
    assertTrue(verdict(rule.judge(sample(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO, 0.2, 0, "layer", "repr"), NONE))
        .breach());
    var mid = verdict(rule.judge(sample(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO, 0.07, 0, "layer", "repr"), NONE));
    assertFalse(mid.breach() || mid.clear());
    assertTrue(verdict(rule.judge(sample(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO, 0.0, 0, "layer", "repr"), NONE))
        .clear());
    assertTrue(rule.judge(sample(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO, Double.NaN, 0, "layer", "repr"), NONE)
        .isEmpty());
  }

  @Test
  void settingsComeFromTheirKeys() {
    var c = ConfigFactory.parseMap(Map.of("splinewatch.alerts.n-fire", 4, "splinewatch.alerts.rankme-n-fire", 5,
        "splinewatch.alerts.dead-rows-n-fire", 6, "splinewatch.alerts.n-clear", 7,
        "splinewatch.alerts.region-window", 8, "splinewatch.alerts.warmup-steps", 9))
        .withFallback(ConfigFactory.load());
    AlertSettings s = AlertSettings.fromConfig(c);
    assertEquals(new Hysteresis.Counts(4, 7), s.std().counts());
    assertEquals(new Hysteresis.Counts(4, 7), s.knn().counts());
    assertEquals(new Hysteresis.Counts(4, 7), s.regions().counts());
    assertEquals(new Hysteresis.Counts(5, 7), s.dim().counts());
    assertEquals(new Hysteresis.Counts(6, 7), s.dead().counts());
    assertEquals(new Hysteresis.Counts(1, 7), s.divergence().counts());
    assertEquals(8, s.regions().window());
    assertEquals(List.of(9L, 9L, 9L), List.of(s.std().warmupSteps(), s.dim().warmupSteps(), s.regions().warmupSteps()));
    assertEquals(CollapseDetector.RULES, List.of(new StdCollapse(s.std()).name(), new DimCollapse(s.dim()).name(),
        new KnnChance(s.knn(), 10).name(), new RegionDrop(s.regions()).name(), CollapseWithRegionDrop.NAME,
        new Divergence(s.divergence()).name(), new DeadRepresentation(s.dead()).name(),
        new TrainingBatchCollapse(s.batch()).name()));
  }

  /**
   * A batch_collapse rule with stated settings: fire below a std of 0.1, or below half of the last 3 samples' maximum
   * of the std, the effective rank, the centred RankMe or the encoder scale; clear above 0.2 and 0.7 of every maximum.
   */
  private static TrainingBatchCollapse batchRule() {
    return new TrainingBatchCollapse(new TrainingBatchCollapse.Settings(new Hysteresis.Counts(2, 2), 0.1, 0.2, 0.5,
        0.5, 0.5, 0.5, 0.7, 3, 50));
  }

  /** Judges a projector std sample published with the projector's centred RankMe and the encoder's scale. */
  private static CollapseRule.Verdict batchWith(TrainingBatchCollapse rule, double std, double rankMe, double scale,
      long step) {
    Sample s = sample(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, std, step, "output", "projector");
    Sample m = sample(MetricFamily.TRAINING_BATCH_RANKME, rankMe, step, "output", "projector");
    Sample c = sample(MetricFamily.TRAINING_BATCH_SCALE, scale, step, "output", "encoder");
    // the projector's own scale (SimSiam's is batch-normalised to 1; others' grow and shrink freely) is not judged
    Sample projectorScale = sample(MetricFamily.TRAINING_BATCH_SCALE, 1e-9, step, "output", "projector");
    return verdict(rule.judge(s, new CollapseRule.Analysis(List.of(s, m, c, projectorScale))));
  }

  @Test
  void batchCollapseBreachesOnAFallOfTheCentredRankMeOrOfTheEncoderScale() {
    TrainingBatchCollapse rule = batchRule();
    // the scale counts from the first batch (step 1): a fall to under half of its recent maximum breaches at once
    var first = batchWith(rule, 0.9, 30, 1.0, 1);
    assertFalse(first.breach());
    assertTrue(first.clear());
    var shrunk = batchWith(rule, 0.9, 30, 0.4, 10);
    assertTrue(shrunk.breach() && !shrunk.clear());
    assertEquals(1.0, shrunk.values().get("encoder_scale_recent_max"));
    assertEquals(0.4, shrunk.values().get("encoder_scale"));
    // back to 0.9 of the maximum: clear; a RankMe of 5 before the warm-up is no fall (no reference yet)
    var early = batchWith(rule, 0.9, 5, 0.9, 20);
    assertFalse(early.breach());
    assertTrue(early.clear());
    assertTrue(Double.isNaN(early.values().get("rankme_recent_max")));
    // from the warm-up on: RankMe 30, 28, then 12 < 0.5 x 30 breaches with a healthy std and scale
    assertFalse(batchWith(rule, 0.9, 30, 0.9, 50).breach());
    assertFalse(batchWith(rule, 0.9, 28, 0.9, 60).breach());
    var fold = batchWith(rule, 0.9, 12, 0.9, 70);
    assertTrue(fold.breach() && !fold.clear());
    assertEquals(30.0, fold.values().get("rankme_recent_max"));
    assertTrue(fold.sentence().contains("centred RankMe 12.0 (recent maximum 30.0)"), fold.sentence());
    // 20 is no fall (> 0.5 x 30) but not yet back above 0.7 x 30 either
    var between = batchWith(rule, 0.9, 20, 0.9, 80);
    assertFalse(between.breach() || between.clear());
  }

  /** Judges a std sample of the projector published with an effective rank. */
  private static CollapseRule.Verdict batch(TrainingBatchCollapse rule, double std, double rank, long step) {
    Sample s = sample(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, std, step, "output", "projector");
    Sample r = sample(MetricFamily.TRAINING_BATCH_EFFECTIVE_RANK, rank, step, "output", "projector");
    // another output's rank in the same publication must not be read for the projector
    Sample other = sample(MetricFamily.TRAINING_BATCH_EFFECTIVE_RANK, 1, step, "output", "projector_pre_norm");
    return verdict(rule.judge(s, new CollapseRule.Analysis(List.of(s, r, other))));
  }

  @Test
  void batchCollapseBreachesBelowTheFloorOrOnASuddenFallOfStdOrRank() {
    TrainingBatchCollapse rule = batchRule();
    assertEquals("batch_collapse", rule.name());
    assertEquals(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, rule.family());
    // before the warm-up: only the absolute floor, no reference maxima
    var early = batch(rule, 0.05, 1.5, 10);
    assertTrue(early.breach() && !early.clear());
    assertEquals(Map.of("output", "projector"), early.series());
    assertTrue(Double.isNaN(early.values().get("std_recent_max")));
    assertEquals(1.5, early.values().get("effective_rank"));
    var healthy = batch(rule, 0.9, 30, 50);
    assertFalse(healthy.breach());
    assertTrue(healthy.clear());
    // healthy variation: 0.9 -> 0.8 and 30 -> 25 stay above half the recent maxima
    assertFalse(batch(rule, 0.8, 25, 60).breach());
    // a fall of the std to 0.4 < 0.5 x 0.9 breaches although it is far above the floor
    var fall = batch(rule, 0.4, 28, 70);
    assertTrue(fall.breach() && !fall.clear());
    assertEquals(0.9, fall.values().get("std_recent_max"));
    assertTrue(fall.sentence().contains("output projector") && fall.sentence().contains("0.400"), fall.sentence());
    // the window holds the previous 3 samples (0.9, 0.8, 0.4): 0.5 is neither a fall (< 0.45) nor clear (> 0.63)
    var between = batch(rule, 0.5, 28, 80);
    assertFalse(between.breach() || between.clear());
    // the effective rank alone: a fall to 10 < 0.5 x 28 breaches with a healthy std
    var rankFall = batch(rule, 0.9, 10, 90);
    assertTrue(rankFall.breach() && !rankFall.clear());
    assertEquals(28.0, rankFall.values().get("rank_recent_max"));
    // other outputs (SimSiam's pre-normalisation projector) are published, not judged
    Sample pre = sample(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, 0.01, 100, "output", "projector_pre_norm");
    assertTrue(rule.judge(pre, new CollapseRule.Analysis(List.of(pre))).isEmpty());
    assertTrue(rule.judge(sample(MetricFamily.TRAINING_BATCH_STD_NORMALIZED, Double.NaN, 100, "output", "projector"),
        NONE).isEmpty());
  }
}
