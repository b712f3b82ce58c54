package org.splinewatch.cluster;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * The metric families a peer may publish to a run on the metrics node, and the labels they may carry: exactly the
 * {@code splinewatch_} names the analyzers, the trainer and the transport publish (MessageValidationTest checks this
 * list against every such name in the sources), label names from the README's table, and label values of a
 * restricted alphabet, so nothing a peer sends can add a family or inject text into {@code /metrics}.
 */
public final class MetricFamilies {
  /**
   * The families a peer may publish: those of {@link MetricFamily}, the one list of the families published
   * through {@link org.splinewatch.metrics.MetricsActor} (MessageValidationTest checks it against the sources).
   */
  public static final Set<String> NAMES = MetricFamily.ids();

  /** Labels a published sample may carry (the run's own labels are added by the metrics node). */
  public static final Set<String> LABELS = Set.of("layer", "plane", "rule", "analyzer", "node", "output", "q", "tau",
      "block_size", "radius", "points", "quantile");

  /**
   * Label values: layer names or numbers, plane indices, rule and analyzer names, host:port node addresses, trainer
   * output names, numbers.
   */
  private static final Map<String, Pattern> VALUES = Map.ofEntries(
      Map.entry("layer", Pattern.compile("[A-Za-z0-9_]{1,32}")),
      Map.entry("plane", Pattern.compile("[A-Za-z0-9_]{1,32}")),
      Map.entry("rule", Pattern.compile("[a-z][a-z0-9_]{0,39}")),
      Map.entry("analyzer", Pattern.compile("[a-z][a-z0-9_-]{0,31}")),
      Map.entry("node", Pattern.compile("[A-Za-z0-9_.:\\[\\]-]{1,80}")),
      Map.entry("output", Pattern.compile("[a-z][a-z0-9_]{0,31}")),
      // numbers: the covariance spectrum's quantile and threshold (0.125, 1e-3), the TwoNN block size (51), the local
      // complexity's radius (Double.toString: 0.5, 1.0E-4) and quantile (0.9)
      Map.entry("q", Pattern.compile("[0-9][0-9.]{0,15}")),
      Map.entry("tau", Pattern.compile("[0-9][0-9.e-]{0,15}")),
      Map.entry("block_size", Pattern.compile("[0-9]{1,9}")),
      Map.entry("radius", Pattern.compile("[0-9][0-9.E-]{0,23}")),
      Map.entry("quantile", Pattern.compile("[0-9][0-9.]{0,15}")),
      // the local complexity's point set: train, test, boundary
      Map.entry("points", Pattern.compile("[a-z][a-z0-9_]{0,31}")));
  /** A method or dataset name (a run label). */
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");
  private static final int MAX_LABELS = 4;

  private MetricFamilies() {
  }

  /** Why {@code s} may not be published (one line), or empty when it may. */
  public static Optional<String> problem(Sample s) {
    if (s == null || s.name() == null) {
      return Optional.of("sample without a name");
    }
    if (!NAMES.contains(s.name())) {
      return Optional.of("metric '" + Rejections.clip(s.name(), 80) + "' is not a splinewatch_ family this code"
          + " defines");
    }
    Map<String, String> labels = s.labels();
    if (labels.size() > MAX_LABELS) {
      return Optional.of("metric " + s.name() + " has " + labels.size() + " labels; at most " + MAX_LABELS);
    }
    for (var e : labels.entrySet()) {
      if (!LABELS.contains(e.getKey())) {
        return Optional.of("label '" + Rejections.clip(e.getKey(), 40) + "' is not one of " + LABELS);
      }
      Optional<String> p = labelValueProblem(e.getKey(), e.getValue());
      if (p.isPresent()) {
        return p;
      }
    }
    return Optional.empty();
  }

  /** Why {@code value} is not a valid value of label {@code name}, or empty. */
  public static Optional<String> labelValueProblem(String name, String value) {
    Pattern p = VALUES.get(name);
    if (p == null || value == null || !p.matcher(value).matches()) {
      return Optional.of("label " + name + "='" + Rejections.clip(value, 40) + "' is not a valid value (expected "
          + (p == null ? "a known label" : p.pattern()) + ")");
    }
    return Optional.empty();
  }

  /**
   * Why the run labels a trainer registers are wrong: exactly {@code run} (equal to the run id), {@code method} and
   * {@code dataset} (lower-case names), or empty when they are right.
   */
  public static Optional<String> runLabelsProblem(String runId, Map<String, String> labels) {
    if (labels == null || !labels.keySet().equals(Set.of("run", "method", "dataset"))) {
      return Optional.of("run labels must be exactly run, method and dataset, got "
          + (labels == null ? "none" : Rejections.clip(String.valueOf(labels.keySet()), 100)));
    }
    if (!runId.equals(labels.get("run"))) {
      return Optional.of("run label '" + Rejections.clip(labels.get("run"), 40) + "' differs from the run id");
    }
    for (String k : new String[] {"method", "dataset"}) {
      String v = labels.get(k);
      if (v == null || !NAME.matcher(v).matches()) {
        return Optional.of(k + " '" + Rejections.clip(v, 40) + "' is not 1 to 32 of a-z, 0-9, '_' or '-'");
      }
    }
    return Optional.empty();
  }
}
