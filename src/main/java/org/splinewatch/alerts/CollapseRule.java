package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * One collapse rule of metrics.md §8.1: it reads the samples of one metric family, judges each (breaching, clear, or
 * neither) with what it remembers of the series (baselines, running maxima), and leaves the consecutive counting to
 * its {@link Hysteresis}. The {@link CollapseDetector} feeds it and turns the state changes into {@link Alert}s. Each
 * rule has its own settings record, read from {@code splinewatch.alerts} by {@link AlertSettings#fromConfig}. A rule
 * keeps per-series state: one instance per run, used from one thread.
 */
public sealed interface CollapseRule permits StdCollapse, DimCollapse, KnnChance, RegionDrop,
    CollapseWithRegionDrop, Divergence, DeadRepresentation, TrainingBatchCollapse {

  /** The rule's name, the {@code rule} label of its alerts (e.g. {@code std_collapse}). */
  String name();

  /** The metric family whose samples it judges. */
  MetricFamily family();

  /** What one judged sample is, for alerts ("2 consecutive snapshots"). */
  default String samples() {
    return "snapshots";
  }

  /** Its state machines, one per series. */
  Hysteresis hysteresis();

  /**
   * Judges one sample of {@link #family()}; empty when the sample is not judged (NaN, before the warm-up or a
   * baseline, another series), which leaves the state machine as it is.
   *
   * @param analysis the other samples of the same analysis
   */
  Optional<Verdict> judge(Sample sample, Analysis analysis);

  /**
   * A rule's reading of one sample.
   *
   * @param series   the labels of the series ({@code layer} or {@code plane})
   * @param breach   whether the sample breaches the fire threshold
   * @param clear    whether it lies beyond the clear threshold (on the healthy side)
   * @param values   the values the rule looked at, for the alert
   * @param sentence what the rule saw, for people (the alert adds the count and step)
   */
  record Verdict(Map<String, String> series, boolean breach, boolean clear, Map<String, Double> values,
      String sentence) {
  }

  /** The samples of one analysis (one snapshot of one analyzer, or training scalars), by family and layer. */
  final class Analysis {
    private final Map<String, Double> byKey = new HashMap<>();

    Analysis(List<Sample> samples) {
      for (Sample v : samples) {
        byKey.put(v.name() + v.labels().getOrDefault("layer", v.labels().getOrDefault("output", "")), v.value());
      }
    }

    /**
     * The value of {@code family} on {@code layer} (or, for the trainer's batch statistics, {@code output}) in this
     * analysis, or NaN when it has none.
     */
    double value(MetricFamily family, String layer) {
      return byKey.getOrDefault(family.id() + layer, Double.NaN);
    }
  }

  /** The sample's {@code layer} label, or the empty string. */
  static String layer(Sample v) {
    return v.labels().getOrDefault("layer", "");
  }
}
