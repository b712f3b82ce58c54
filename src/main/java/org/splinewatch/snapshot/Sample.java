package org.splinewatch.snapshot;

import java.util.Map;
import java.util.TreeMap;

/**
 * One measured value. {@code name} is the Prometheus name ({@code splinewatch_regions}, a {@link MetricFamily});
 * {@code labels} are the metric-specific labels (layer, plane, rule), to which the run's own labels (run, method,
 * dataset) are added.
 */
public record Sample(String name, Map<String, String> labels, double value, long step, long timeMillis) {
  public Sample {
    labels = Map.copyOf(labels);
  }

  /** A sample of a catalogued family; {@code labelPairs} are label name/value pairs. */
  public static Sample of(MetricFamily family, double value, long step, String... labelPairs) {
    return of(family.id(), value, step, labelPairs);
  }

  /**
   * A sample by Prometheus name: for names read back from a run's files or received from a peer; code that publishes
   * names its family through {@link #of(MetricFamily, double, long, String...)}.
   */
  public static Sample of(String name, double value, long step, String... labelPairs) {
    if (labelPairs.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in name/value pairs");
    }
    Map<String, String> labels = new TreeMap<>();
    for (int i = 0; i < labelPairs.length; i += 2) {
      labels.put(labelPairs[i], labelPairs[i + 1]);
    }
    return new Sample(name, labels, value, step, System.currentTimeMillis());
  }
}
