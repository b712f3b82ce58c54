package org.splinewatch.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splinewatch.snapshot.MetricFamily;

/**
 * How many of the snapshots offered to each analyzer it analysed, read from a run's registry at the end of the run:
 * analysed = the analysis timer's count, offered = analysed + dropped (the drop-oldest buffer) + failed analyses +
 * unanalysed (still waiting when the run ended early). Printed as the run's last lines ("analysed: regions 36/37,
 * ...") and recorded in {@code run_finished}.
 *
 * @param byAnalyzer per analyzer {analysed, offered}, or {analysed, offered, unanalysed}
 */
public record AnalysisCoverage(Map<String, long[]> byAnalyzer) {

  /** The coverage of every analyzer that reported to {@code registry} (analysed, offered), by name. */
  public static AnalysisCoverage of(MeterRegistry registry) {
    Map<String, long[]> out = new TreeMap<>();
    for (Timer t : registry.find(MetricFamily.ANALYSIS_SECONDS.meterName()).tagKeys("analyzer").timers()) {
      out.computeIfAbsent(t.getId().getTag("analyzer"), k -> new long[3])[0] += t.count();
    }
    for (MetricFamily f : List.of(MetricFamily.SNAPSHOTS_DROPPED_TOTAL, MetricFamily.ANALYSIS_FAILURES_TOTAL)) {
      for (Counter c : registry.find(f.meterName()).tagKeys("analyzer").counters()) {
        out.computeIfAbsent(c.getId().getTag("analyzer"), k -> new long[3])[1] += (long) c.count();
      }
    }
    for (Counter c : registry.find(MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL.meterName()).tagKeys("analyzer")
        .counters()) {
      long[] v = out.computeIfAbsent(c.getId().getTag("analyzer"), k -> new long[3]);
      v[1] += (long) c.count();
      v[2] += (long) c.count();
    }
    out.values().forEach(v -> v[1] += v[0]);
    out.values().removeIf(v -> v[1] == 0); // the placeholder counter that makes the drop family visible early
    return new AnalysisCoverage(out);
  }

  /**
   * The coverage read back from a run's log: {@code analyses} holds, per series of the analysis-step gauge, its
   * analyzer and how many analyses it recorded; every analyzer was offered the {@code offered} snapshots the trainer
   * took (a remote run's drops happen before its analyzers, so the trainer's count is the one that holds).
   */
  public static AnalysisCoverage fromAnalysisSteps(List<Map.Entry<String, Long>> analyses, long offered) {
    Map<String, long[]> out = new TreeMap<>();
    analyses.stream().filter(e -> !e.getKey().isEmpty())
        .forEach(e -> out.computeIfAbsent(e.getKey(), k -> new long[2])[0] += e.getValue());
    out.values().forEach(v -> v[1] = Math.max(offered, v[0]));
    return new AnalysisCoverage(out);
  }

  /**
   * {@code analysed: embedding 37/37, regions 18/37 (49 %)}, and after a run that ended early with snapshots still
   * waiting {@code ; left unanalysed by the early end: regions 12}; empty when no analyzer reported.
   */
  public String describe() {
    if (byAnalyzer.isEmpty()) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    List<String> left = new ArrayList<>();
    byAnalyzer.forEach((name, v) -> {
      parts.add(name + " " + v[0] + "/" + v[1]
          + (v[0] < v[1] ? String.format(java.util.Locale.ROOT, " (%.0f %%)", 100.0 * v[0] / v[1]) : ""));
      if (unanalysed(v) > 0) {
        left.add(name + " " + unanalysed(v));
      }
    });
    return "analysed snapshots: " + String.join(", ", parts)
        + (left.isEmpty() ? "" : "; left unanalysed by the early end: " + String.join(", ", left));
  }

  /** Snapshots left waiting by an early end, 0 when none (or not counted). */
  private static long unanalysed(long[] v) {
    return v.length > 2 ? v[2] : 0;
  }

  /** For {@code run_finished}: {analyzer: {analysed, offered}}, with {@code unanalysed} where an early end left some. */
  public Map<String, Object> event() {
    Map<String, Object> out = new LinkedHashMap<>();
    byAnalyzer.forEach((name, v) -> {
      Map<String, Object> counts = new LinkedHashMap<>(); // a fixed key order (Map.of's differs from JVM to JVM)
      counts.put("analysed", v[0]);
      counts.put("offered", v[1]);
      if (unanalysed(v) > 0) {
        counts.put("unanalysed", unanalysed(v));
      }
      out.put(name, counts);
    });
    return out;
  }
}
