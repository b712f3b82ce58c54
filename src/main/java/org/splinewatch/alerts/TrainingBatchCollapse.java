package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code batch_collapse}: the training batch's outputs collapse, read between snapshots from the statistics the trainer
 * publishes for its loss evaluations (steps 1, 10, 20, ...; {@code splinewatch_training_batch_*{output}}), judged on
 * the {@code projector} output's std of l2-normalised rows, with the projector's effective rank and centred RankMe and
 * the {@code encoder} output's scale read from the same publication. A sample breaches when
 * <ul>
 *   <li>{@code std < batch-std-fire} (absolute: the outputs the loss reads point almost one way), or</li>
 *   <li>{@code std < batch-std-drop-fire·max(std of the previous batch-window samples)}, or</li>
 *   <li>{@code rank < batch-rank-drop-fire·max(rank of the previous batch-window samples)}, or</li>
 *   <li>{@code rankme < batch-rankme-drop-fire·max(rankme of the previous batch-window samples)} (the projector's
 *       directions fold onto fewer: SimSiam without stop-gradient, which its batch normalisation hides from the
 *       std), or</li>
 *   <li>{@code scale < batch-scale-drop-fire·max(encoder scale of the previous batch-window samples)} (the
 *       representation shrinks to one point: VICReg without its variance term, whose l2-normalised outputs still
 *       spread)</li>
 * </ul>
 * (the falls of std, rank and RankMe from step {@code batch-warmup-steps} on, the scale's from the first batch; a
 * fraction 0 turns one off). It clears above {@code batch-std-clear} when no value is below {@code batch-drop-clear}
 * of its recent maximum, and fires after {@code batch-n-fire} breaching samples in a row (samples, not snapshots).
 * Other outputs (SimSiam's {@code projector_pre_norm}) are published for people and not judged (docs/detection.md).
 *
 * @param recent the latest values of each statistic, by statistic
 */
public record TrainingBatchCollapse(Settings settings, Hysteresis hysteresis, Map<String, RecentValues> recent)
    implements CollapseRule {
  public static final String NAME = "batch_collapse";
  /** The output judged: the projector output as the loss reads it. */
  public static final String JUDGED_OUTPUT = "projector";
  /** The output whose scale is judged: the encoder output, the representation. */
  public static final String SCALE_OUTPUT = "encoder";

  /**
   * @param counts         {@code batch-n-fire}, {@code batch-n-clear}
   * @param stdFire        {@code batch-std-fire}, the absolute fire threshold of the std (0 turns it off)
   * @param stdClear       {@code batch-std-clear}
   * @param stdDropFire    {@code batch-std-drop-fire}, a fraction of the std's recent maximum (0: off)
   * @param rankDropFire   {@code batch-rank-drop-fire}, a fraction of the effective rank's recent maximum (0: off)
   * @param rankMeDropFire {@code batch-rankme-drop-fire}, a fraction of the centred RankMe's recent maximum (0: off)
   * @param scaleDropFire  {@code batch-scale-drop-fire}, a fraction of the encoder scale's recent maximum (0: off)
   * @param dropClear      {@code batch-drop-clear}, the fraction of every recent maximum to be back above to clear
   * @param window         {@code batch-window}, the samples of those maxima
   * @param warmupSteps    {@code batch-warmup-steps}: the recent values of std, rank and RankMe start there
   */
  public record Settings(Hysteresis.Counts counts, double stdFire, double stdClear, double stdDropFire,
      double rankDropFire, double rankMeDropFire, double scaleDropFire, double dropClear, int window,
      long warmupSteps) {
    static Settings fromConfig(ConfigBlock alerts) {
      return new Settings(new Hysteresis.Counts(alerts.integer("batch-n-fire"), alerts.integer("batch-n-clear")),
          alerts.finite("batch-std-fire"), alerts.finite("batch-std-clear"),
          alerts.finite("batch-std-drop-fire"), alerts.finite("batch-rank-drop-fire"),
          alerts.finite("batch-rankme-drop-fire"), alerts.finite("batch-scale-drop-fire"),
          alerts.finite("batch-drop-clear"), alerts.integer("batch-window"), alerts.longInteger("batch-warmup-steps"));
    }
  }

  public TrainingBatchCollapse(Settings settings) {
    this(settings, new Hysteresis(settings.counts()), new HashMap<>());
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String samples() {
    return "training batches";
  }

  @Override
  public MetricFamily family() {
    return MetricFamily.TRAINING_BATCH_STD_NORMALIZED;
  }

  @Override
  public Optional<Verdict> judge(Sample v, Analysis analysis) {
    if (!Double.isFinite(v.value())) {
      return Optional.empty();
    }
    String output = v.labels().getOrDefault("output", "");
    if (!output.equals(JUDGED_OUTPUT)) {
      return Optional.empty();
    }
    double std = v.value();
    double rank = analysis.value(MetricFamily.TRAINING_BATCH_EFFECTIVE_RANK, output);
    double rankMe = analysis.value(MetricFamily.TRAINING_BATCH_RANKME, output);
    double scale = analysis.value(MetricFamily.TRAINING_BATCH_SCALE, SCALE_OUTPUT);
    boolean reference = v.step() >= settings.warmupSteps();
    double stdMax = reference ? recentMax("std", std) : Double.NaN;
    double rankMax = reference ? recentMax("rank", rank) : Double.NaN;
    double rankMeMax = reference ? recentMax("rankme", rankMe) : Double.NaN;
    double scaleMax = recentMax("scale", scale);
    boolean low = std < settings.stdFire();
    boolean breach = low || std < settings.stdDropFire() * stdMax || rank < settings.rankDropFire() * rankMax
        || rankMe < settings.rankMeDropFire() * rankMeMax || scale < settings.scaleDropFire() * scaleMax;
    double back = settings.dropClear();
    boolean clear = std > settings.stdClear() && !(std < back * stdMax) && !(rank < back * rankMax)
        && !(rankMe < back * rankMeMax) && !(scale < back * scaleMax);
    Map<String, Double> values = new LinkedHashMap<>();
    values.put("std_normalized", std);
    values.put("std_recent_max", stdMax);
    values.put("effective_rank", rank);
    values.put("rank_recent_max", rankMax);
    values.put("rankme", rankMe);
    values.put("rankme_recent_max", rankMeMax);
    values.put("encoder_scale", scale);
    values.put("encoder_scale_recent_max", scaleMax);
    return Optional.of(new Verdict(Map.of("output", output), breach, clear, values,
        String.format(Locale.ROOT, "training batch collapsed on output %s: std of l2-normalised outputs %.3f%s,"
            + " centred RankMe %.1f%s, encoder scale %.3g%s", output, std, recent("%.3f", stdMax), rankMe,
            recent("%.1f", rankMeMax), scale, recent("%.3g", scaleMax))));
  }

  /** " (recent maximum X)", or nothing where there is none yet (before the warm-up, or no earlier value). */
  private static String recent(String format, double max) {
    return Double.isNaN(max) ? "" : String.format(Locale.ROOT, " (recent maximum " + format + ")", max);
  }

  /**
   * The maximum of the statistic's previous values (NaN when there are none), then remembers {@code value}; a NaN
   * value (not published) is not remembered.
   */
  private double recentMax(String statistic, double value) {
    RecentValues window = recent.computeIfAbsent(statistic, k -> new RecentValues(settings.window()));
    double max = window.isEmpty() ? Double.NaN : window.max();
    if (Double.isFinite(value)) {
      window.add(value);
    }
    return max;
  }
}
