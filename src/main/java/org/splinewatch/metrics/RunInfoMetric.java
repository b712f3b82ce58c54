package org.splinewatch.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splinewatch.snapshot.MetricFamily;

/**
 * {@code splinewatch_run_info{run, method, dataset, encoder, hidden, batch_size, learning_rate, seed, git_commit,
 * git_dirty, tags} 1}: a run's configuration as labels (the Prometheus "info" idiom), built from the run's
 * {@code config.json} map, so runs can be grouped by hyperparameters and other series joined to runs.
 */
public final class RunInfoMetric {
  public static final List<String> LABELS = List.of("run", "method", "dataset", "encoder", "hidden", "batch_size",
      "learning_rate", "seed", "git_commit", "git_dirty", "tags");

  private RunInfoMetric() {
  }

  /** The label values of a run's {@code config.json} map (missing values are empty strings). */
  @SuppressWarnings("unchecked")
  public static Map<String, String> labels(Map<String, Object> config) {
    Map<String, Object> settings = config.get("settings") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    Map<String, String> l = new LinkedHashMap<>();
    l.put("run", text(config.get("run_id")));
    l.put("method", text(config.get("method")));
    l.put("dataset", text(config.get("dataset")));
    l.put("encoder", text(settings.get("encoder")));
    Object hidden = settings.get("hidden");
    l.put("hidden", hidden instanceof List<?> list ? String.join(",", list.stream().map(String::valueOf).toList())
        : hidden instanceof int[] a ? String.join(",", Arrays.stream(a).mapToObj(String::valueOf).toList())
        : text(hidden));
    l.put("batch_size", text(settings.get("batch_size")));
    l.put("learning_rate", text(settings.get("learning_rate")));
    l.put("seed", text(config.get("seed")));
    l.put("git_commit", text(config.get("git_commit")));
    l.put("git_dirty", text(config.get("git_dirty")));
    Object tags = config.get("tags");
    StringBuilder t = new StringBuilder();
    if (tags instanceof Map<?, ?> tm) {
      for (var e : new TreeMap<>(tm).entrySet()) {
        t.append(t.length() == 0 ? "" : ",").append(e.getKey()).append('=').append(e.getValue());
      }
    }
    l.put("tags", t.toString());
    return l;
  }

  /** Registers the gauge (value 1) for the run described by {@code config}. */
  public static void register(MeterRegistry registry, Map<String, Object> config) {
    Tags tags = Tags.empty();
    for (var e : labels(config).entrySet()) {
      tags = tags.and(e.getKey(), e.getValue());
    }
    Gauge.builder(MetricFamily.RUN_INFO.meterName(), () -> 1.0).tags(tags).strongReference(true)
        .description(MetricFamily.RUN_INFO.help()).register(registry);
  }

  private static String text(Object o) {
    return o == null ? "" : String.valueOf(o);
  }
}
