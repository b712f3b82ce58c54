package org.splinewatch.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.search.Search;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.splinewatch.snapshot.MetricFamily;

/**
 * How many of the snapshots offered to each analyzer it analysed, read from a run's registry at the end of the run:
 * analysed = the analysis timer's count, offered = analysed + dropped (the drop-oldest buffer) + failed analyses +
 * unanalysed (still waiting or in progress when the run ended early, or when a normal end's drain-timeout ran out).
 * Printed as the run's last line ("analysed snapshots: regions 34/37 (92 %: 2 dropped, 1 failed), ...") and recorded
 * in {@code run_finished}.
 *
 * @param byAnalyzer per analyzer {analysed, offered}, or {analysed, offered, dropped, failed, unanalysed}
 */
public record AnalysisCoverage(Map<String, long[]> byAnalyzer) {

  /** The coverage of every analyzer that reported to {@code registry} (analysed, offered), by name. */
  public static AnalysisCoverage of(MeterRegistry registry) {
    return of(registry, null);
  }

  /**
   * The coverage of run {@code run}'s analyzers in a registry that several runs share (a {@code monitor serve}: the
   * meters carry a {@code run} tag); every run's when {@code run} is null.
   */
  public static AnalysisCoverage of(MeterRegistry registry, String run) {
    Map<String, long[]> out = new TreeMap<>();
    for (Timer t : find(registry, MetricFamily.ANALYSIS_SECONDS, run).timers()) {
      out.computeIfAbsent(t.getId().getTag("analyzer"), k -> new long[5])[0] += t.count();
    }
    List<MetricFamily> unanalysed = List.of(MetricFamily.SNAPSHOTS_DROPPED_TOTAL, MetricFamily.ANALYSIS_FAILURES_TOTAL,
        MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL); // in the order of the array's slots 2, 3 and 4
    for (int slot = 0; slot < unanalysed.size(); slot++) {
      for (Counter c : find(registry, unanalysed.get(slot), run).counters()) {
        out.computeIfAbsent(c.getId().getTag("analyzer"), k -> new long[5])[2 + slot] += (long) c.count();
      }
    }
    out.values().forEach(v -> v[1] = v[0] + v[2] + v[3] + v[4]);
    out.values().removeIf(v -> v[1] == 0); // the placeholder counter that makes the drop family visible early
    return new AnalysisCoverage(out);
  }

  private static Search find(MeterRegistry registry, MetricFamily family, String run) {
    Search s = registry.find(family.meterName()).tagKeys("analyzer");
    return run == null ? s : s.tag("run", run);
  }

  /**
   * This coverage with every one of {@code analyzers} offered (at least) {@code offered} snapshots, those the run
   * handed to its analyzers: an analyzer that reported nothing shows 0 of them. Nothing when none was offered.
   */
  public AnalysisCoverage offered(List<String> analyzers, long offered) {
    Map<String, long[]> out = new TreeMap<>();
    byAnalyzer.forEach((name, v) -> out.put(name, v.clone()));
    if (offered > 0) {
      analyzers.forEach(a -> out.computeIfAbsent(a, k -> new long[5]));
    }
    out.values().forEach(v -> v[1] = Math.max(v[1], offered));
    out.values().removeIf(v -> v[1] == 0);
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
   * {@code analysed snapshots: embedding 37/37, regions 18/37 (49 %: 18 dropped, 1 failed)}, and after a run that
   * ended with snapshots still waiting {@code ; left unanalysed when the run ended: regions 12}; empty when no
   * analyzer reported. A remote run's coverage, read from its log, names no reasons.
   */
  public String describe() {
    if (byAnalyzer.isEmpty()) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    List<String> left = new ArrayList<>();
    byAnalyzer.forEach((name, v) -> {
      parts.add(name + " " + v[0] + "/" + v[1]
          + (v[0] < v[1] ? String.format(java.util.Locale.ROOT, " (%.0f %%%s)", 100.0 * v[0] / v[1], reasons(v)) : ""));
      if (unanalysed(v) > 0) {
        left.add(name + " " + unanalysed(v));
      }
    });
    return "analysed snapshots: " + String.join(", ", parts)
        + (left.isEmpty() ? "" : "; left unanalysed when the run ended: " + String.join(", ", left));
  }

  /** Snapshots left waiting by an early end, 0 when none (or not counted). */
  private static long unanalysed(long[] v) {
    return v.length > 4 ? v[4] : 0;
  }

  /** {@code ": 18 dropped, 1 failed"}: why the drop-oldest buffer's and the failed snapshots went unanalysed. */
  private static String reasons(long[] v) {
    if (v.length <= 4) {
      return "";
    }
    List<String> why = new ArrayList<>();
    if (v[2] > 0) {
      why.add(v[2] + " dropped");
    }
    if (v[3] > 0) {
      why.add(v[3] + " failed");
    }
    return why.isEmpty() ? "" : ": " + String.join(", ", why);
  }

  /**
   * For {@code run_finished}: {analyzer: {analysed, offered}}, with {@code dropped}, {@code failed} and
   * {@code unanalysed} (left by an early end) where there were some.
   */
  public Map<String, Object> event() {
    Map<String, Object> out = new LinkedHashMap<>();
    byAnalyzer.forEach((name, v) -> {
      Map<String, Object> counts = new LinkedHashMap<>(); // a fixed key order (Map.of's differs from JVM to JVM)
      counts.put("analysed", v[0]);
      counts.put("offered", v[1]);
      if (v.length > 4) {
        putIfPositive(counts, "dropped", v[2]);
        putIfPositive(counts, "failed", v[3]);
        putIfPositive(counts, "unanalysed", v[4]);
      }
      out.put(name, counts);
    });
    return out;
  }

  private static void putIfPositive(Map<String, Object> counts, String key, long value) {
    if (value > 0) {
      counts.put(key, value);
    }
  }
}
