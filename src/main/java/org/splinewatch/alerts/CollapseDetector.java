package org.splinewatch.alerts;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.snapshot.Sample;

/**
 * The in-process collapse rules of metrics.md §8.1, one {@link CollapseRule} record each, with a two-threshold state
 * machine per series ({@link Hysteresis}): a rule fires after {@code n-fire} consecutive breaching snapshots and
 * resolves after {@code n-clear} consecutive clear ones; a NaN value leaves the state unchanged. Feed it the samples of
 * one analysis at a time ({@link #observe}); it hands each sample to the rules that read its metric family and returns
 * the state changes as {@link Alert}s. The severities below are those of the default {@code stop-on}; a run's
 * severity of a rule is {@link #severity}: critical exactly when the rule is in its {@code stop-on}. Rules (each
 * record's javadoc has the details):
 * <ul>
 *   <li>{@link StdCollapse} {@code std_collapse} (critical): {@code std_normalized < min(0.2, 0.25·b)}, clear above
 *       {@code min(0.3, 0.35·b)}, {@code b} the layer's baseline from step {@code warmup-steps} (100) on.</li>
 *   <li>{@link DimCollapse} {@code dim_collapse} (critical): {@code rankme_ratio < rankme-ratio-fire} (0.02), or
 *       {@code rankme} below half its best from step {@code warmup-steps} on, or a sudden drop below
 *       {@code rankme-sudden-fire} of its recent maximum; fires after {@code rankme-n-fire} breaching snapshots.</li>
 *   <li>{@link KnnChance} {@code knn_chance} (warning): {@code knn_accuracy < 1.5/C}, clear above {@code 2/C}.</li>
 *   <li>{@link RegionDrop} {@code region_drop} (warning): {@code regions < 0.5·max(regions over the last 10
 *       snapshots)} on a plane, from step {@code warmup-steps} on.</li>
 *   <li>{@link CollapseWithRegionDrop} {@code collapse_with_region_drop} (critical): {@code region_drop} on some plane
 *       while {@code std_collapse} or {@code dim_collapse} breaches on some layer (region drops alone are expected for
 *       self-distillation).</li>
 *   <li>{@link Divergence} {@code divergence} (critical): a non-finite training loss; fires at once.</li>
 *   <li>{@link DeadRepresentation} {@code dead_representation} (critical): more than {@code dead-rows-fire} (a tenth)
 *       of the probe embeddings on a layer are exactly zero; clear below {@code dead-rows-clear}; fires on the first
 *       such snapshot ({@code dead-rows-n-fire = 1}).</li>
 *   <li>{@link TrainingBatchCollapse} {@code batch_collapse} (critical): between snapshots, the std of the training
 *       batch's l2-normalised outputs (trainer-side, every 10 steps) below {@code batch-std-fire}, or it or their
 *       effective rank suddenly below a fraction of its recent maximum, for {@code batch-n-fire} samples in a row.</li>
 * </ul>
 */
public final class CollapseDetector {
  public static final List<String> RULES = List.of(StdCollapse.NAME, DimCollapse.NAME, KnnChance.NAME,
      RegionDrop.NAME, CollapseWithRegionDrop.NAME, Divergence.NAME, DeadRepresentation.NAME, TrainingBatchCollapse.NAME);

  private final AlertSettings s;
  private final String run;
  /** The rules in evaluation order (a sample's alerts come in this order). */
  private final List<CollapseRule> rules;
  /** The rules by the metric family they read. */
  private final Map<String, List<CollapseRule>> byFamily = new HashMap<>();

  public CollapseDetector(AlertSettings settings, String run, int classes) {
    this.s = settings;
    this.run = run;
    StdCollapse std = new StdCollapse(settings.std());
    DimCollapse dim = new DimCollapse(settings.dim());
    this.rules = List.of(new Divergence(settings.divergence()), std, new DeadRepresentation(settings.dead()), dim,
        new KnnChance(settings.knn(), classes), new RegionDrop(settings.regions()),
        new CollapseWithRegionDrop(settings.regions(), std, dim), new TrainingBatchCollapse(settings.batch()));
    for (CollapseRule r : rules) {
      byFamily.computeIfAbsent(r.family().id(), k -> new ArrayList<>()).add(r);
    }
  }

  private Optional<CollapseRule> rule(String name) {
    return rules.stream().filter(r -> r.name().equals(name)).findFirst();
  }

  /** Consecutive breaches of a rule, the maximum over its series (exported as a gauge). */
  public int consecutiveBreaches(String rule) {
    return rule(rule).map(r -> r.hysteresis().maxBreaches()).orElse(0);
  }

  /**
   * A rule's severity for this run: {@code critical} when it is in {@code stop-on} (it stops the run with
   * {@code --early-stop stop}, and Alertmanager routes it to the stop webhook), {@code warning} otherwise. So the
   * exported label, the console and the routing agree with what can stop the run.
   */
  public String severity(String rule) {
    return s.stopOn().contains(rule) ? "critical" : "warning";
  }

  /** How long the exported alert state stays 1 after its rule fired, at least (milliseconds). */
  public long exportHoldMillis() {
    return Math.max(0, s.exportHoldMillis());
  }

  /** Whether any series of the rule is firing. */
  public boolean firing(String rule) {
    return rule(rule).map(r -> r.hysteresis().firing()).orElse(false);
  }

  /** Evaluates the rules on the values of one analysis (one snapshot of one analyzer, or training scalars). */
  public List<Alert> observe(List<Sample> values) {
    List<Alert> out = new ArrayList<>();
    CollapseRule.Analysis analysis = new CollapseRule.Analysis(values);
    for (Sample v : values) {
      for (CollapseRule rule : byFamily.getOrDefault(v.name(), List.of())) {
        rule.judge(v, analysis).ifPresent(verdict -> alert(rule, verdict, v.step()).ifPresent(out::add));
      }
    }
    return out;
  }

  /**
   * A snapshot whose weights hold a non-finite number ({@code entry}, the first) at {@code step}: fed to the
   * {@code divergence} rule as a breach, so it fires as on a non-finite loss (nothing when it already fires).
   */
  public List<Alert> nonFiniteWeights(long step, String entry) {
    return rule(Divergence.NAME).flatMap(r -> alert(r, Divergence.weights(step, entry), step)).stream().toList();
  }

  /** "3 consecutive snapshots, " for a rule that waited for several breaches; nothing for one that fires at once. */
  private static String breachesText(int breaches, String samples) {
    return breaches > 1 ? breaches + " consecutive " + samples + ", " : "";
  }

  /** Feeds a verdict to the rule's state machine; the alert when the series fires or resolves. */
  private Optional<Alert> alert(CollapseRule rule, CollapseRule.Verdict verdict, long step) {
    String name = rule.name();
    return switch (rule.hysteresis().update(verdict.series(), verdict.breach(), verdict.clear())) {
      case FIRED -> Optional.of(new Alert(name, severity(name), true, run, step, verdict.series(), verdict.values(),
          verdict.sentence() + " (" + breachesText(rule.hysteresis().breaches(verdict.series()), rule.samples())
              + "step " + step + ")"));
      case RESOLVED -> Optional.of(new Alert(name, severity(name), false, run, step, verdict.series(),
          verdict.values(), name + " resolved at step " + step));
      case NONE -> Optional.empty();
    };
  }
}
