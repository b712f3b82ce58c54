package org.splinewatch.alerts;

import com.typesafe.config.Config;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * {@code batch_collapse}: the training batch's projector outputs collapse, read between snapshots from the statistics
 * the trainer computes with the loss every 10 steps, {@code splinewatch_training_batch_std_normalized{output="projector"}}
 * (judged) and {@code splinewatch_training_batch_effective_rank{output="projector"}} (read from the same publication).
 * A sample breaches when
 * <ul>
 *   <li>{@code std < batch-std-fire} (absolute: the outputs the loss reads point almost one way), or</li>
 *   <li>{@code std < batch-std-drop-fire·max(std of the previous batch-window samples)}, or</li>
 *   <li>{@code rank < batch-rank-drop-fire·max(rank of the previous batch-window samples)}</li>
 * </ul>
 * (the two sudden falls from step {@code batch-warmup-steps} on; a fraction 0 turns one off). It clears above
 * {@code batch-std-clear} when neither value is below {@code batch-drop-clear} of its recent maximum, and fires after
 * {@code batch-n-fire} breaching samples in a row (samples, 10 steps apart, not snapshots). Other outputs (SimSiam's
 * {@code projector_pre_norm}, its projector before the batch normalisation) are published for people and not judged:
 * on the tuning runs no collapse showed there first, and healthy SimSiam's drifts down (0.36 to 0.22 in 500 steps,
 * falls to 0.76 of its recent maximum), which would only cost margin (docs/detection.md).
 *
 * @param recentStd  the latest std values of the projector
 * @param recentRank the latest effective ranks of the projector
 */
public record TrainingBatchCollapse(Settings settings, Hysteresis hysteresis, Map<String, RecentValues> recentStd,
    Map<String, RecentValues> recentRank) implements CollapseRule {
  public static final String NAME = "batch_collapse";
  /** The output judged: the projector output as the loss reads it. */
  public static final String JUDGED_OUTPUT = "projector";

  /**
   * @param counts        {@code batch-n-fire}, {@code batch-n-clear}
   * @param stdFire       {@code batch-std-fire}, the absolute fire threshold of the std (0 turns it off)
   * @param stdClear      {@code batch-std-clear}
   * @param stdDropFire   {@code batch-std-drop-fire}, a fraction of the std's recent maximum (0: off)
   * @param rankDropFire  {@code batch-rank-drop-fire}, a fraction of the effective rank's recent maximum (0: off)
   * @param dropClear     {@code batch-drop-clear}, the fraction of either recent maximum to be back above to clear
   * @param window        {@code batch-window}, the samples of those maxima
   * @param warmupSteps   {@code batch-warmup-steps}: the recent values start there
   */
  public record Settings(Hysteresis.Counts counts, double stdFire, double stdClear, double stdDropFire,
      double rankDropFire, double dropClear, int window, long warmupSteps) {
    static Settings fromConfig(Config alerts) {
      return new Settings(new Hysteresis.Counts(alerts.getInt("batch-n-fire"), alerts.getInt("batch-n-clear")),
          alerts.getDouble("batch-std-fire"), alerts.getDouble("batch-std-clear"),
          alerts.getDouble("batch-std-drop-fire"), alerts.getDouble("batch-rank-drop-fire"),
          alerts.getDouble("batch-drop-clear"), alerts.getInt("batch-window"), alerts.getLong("batch-warmup-steps"));
    }
  }

  public TrainingBatchCollapse(Settings settings) {
    this(settings, new Hysteresis(settings.counts()), new HashMap<>(), new HashMap<>());
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
    boolean reference = v.step() >= settings.warmupSteps();
    double stdMax = Double.NaN;
    double rankMax = Double.NaN;
    if (reference) {
      stdMax = recentMax(recentStd, output, std);
      if (Double.isFinite(rank)) {
        rankMax = recentMax(recentRank, output, rank);
      }
    }
    boolean low = std < settings.stdFire();
    boolean stdFall = std < settings.stdDropFire() * stdMax;
    boolean rankFall = rank < settings.rankDropFire() * rankMax;
    boolean breach = low || stdFall || rankFall;
    boolean clear = std > settings.stdClear() && !(std < settings.dropClear() * stdMax)
        && !(rank < settings.dropClear() * rankMax);
    Map<String, Double> values = new LinkedHashMap<>();
    values.put("std_normalized", std);
    values.put("std_recent_max", stdMax);
    values.put("effective_rank", rank);
    values.put("rank_recent_max", rankMax);
    return Optional.of(new Verdict(Map.of("output", output), breach, clear, values,
        String.format(Locale.ROOT, "training batch collapsed on output %s: std of l2-normalised outputs %.3f (recent"
            + " maximum %.3f), effective rank %.1f (recent maximum %.1f)", output, std, stdMax, rank, rankMax)));
  }

  /** The maximum of the output's previous values (NaN when there are none), then remembers {@code value}. */
  private double recentMax(Map<String, RecentValues> recent, String output, double value) {
    RecentValues window = recent.computeIfAbsent(output, k -> new RecentValues(settings.window()));
    double max = window.isEmpty() ? Double.NaN : window.max();
    window.add(value);
    return max;
  }
}
