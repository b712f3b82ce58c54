package org.splinewatch.experiment;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.MetricFamily;

/**
 * Writes what the findings experiment found: {@code results.json} (per finding the numbers, rule and verdict),
 * {@code results.md} (the same as tables a person reads) and {@code report.html} (self-contained plots: region count
 * and area over training per method, local complexity on a log step axis, geometry against accuracy around the
 * collapse onsets, intrinsic dimension per layer, neural-collapse measures).
 *
 * <p>Longer than usual because it writes the one result three ways (JSON, Markdown, plotted HTML) from the same
 * series the rules read.
 */
public final class FindingsReport {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private FindingsReport() {
  }

  /** Writes the three files into {@code dir} (each atomically). */
  public static void write(Path dir, ExperimentPlan plan, List<Findings.Finding> findings, Map<String, RunData> data,
      Map<String, Object> provenance) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("plan", plan.describe());
    json.put("provenance", provenance);
    json.put("runs", data.size());
    Map<String, Object> byId = new LinkedHashMap<>();
    for (Findings.Finding f : findings) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("claim", f.claim());
      one.put("verdict", f.verdict());
      one.put("seen", f.seen());
      one.put("rule", f.rule());
      one.put("numbers", f.numbers());
      byId.put(f.id(), one);
    }
    json.put("findings", byId);
    try {
      atomically(dir.resolve("results.json"), JSON.writeValueAsString(finite(json)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    atomically(dir.resolve("results.md"), markdown(plan, findings, provenance));
    atomically(dir.resolve("report.html"), html(plan, findings, data));
  }

  /** The verdict table printed at the end of the command and at the top of {@code results.md}. */
  public static String table(List<Findings.Finding> findings) {
    StringBuilder sb = new StringBuilder("| finding | verdict | what was seen |\n|---|---|---|\n");
    for (Findings.Finding f : findings) {
      sb.append("| ").append(f.id()).append(" | ").append(f.verdict()).append(" | ").append(f.seen()).append(" |\n");
    }
    return sb.toString();
  }

  static String markdown(ExperimentPlan plan, List<Findings.Finding> findings, Map<String, Object> provenance) {
    StringBuilder sb = new StringBuilder("# splinewatch findings\n\n");
    sb.append(plan.describe()).append(".\n\n");
    provenance.forEach((k, v) -> sb.append("- ").append(k).append(": ").append(v).append('\n'));
    sb.append('\n').append(table(findings)).append('\n');
    for (Findings.Finding f : findings) {
      sb.append("## ").append(f.id()).append(": ").append(f.verdict()).append("\n\n**Claim.** ").append(f.claim())
          .append("\n\n**Rule (fixed before the runs).** ").append(f.rule()).append("\n\n**Seen.** ")
          .append(f.seen()).append("\n\n| item | numbers |\n|---|---|\n");
      f.numbers().forEach((k, v) -> sb.append("| ").append(k).append(" | ").append(cell(v)).append(" |\n"));
      sb.append('\n');
    }
    return sb.toString();
  }

  private static String cell(Object v) {
    if (v instanceof Double d) {
      return Findings.fmt(d);
    }
    if (v instanceof Map<?, ?> m) {
      List<String> parts = new ArrayList<>();
      m.forEach((k, x) -> parts.add(k + " " + (x instanceof Map<?, ?> ? "(" + ((Map<?, ?>) x).size() + " points)"
          : cell(x))));
      return String.join(", ", parts);
    }
    if (v instanceof List<?> l) {
      List<String> parts = new ArrayList<>();
      l.forEach(x -> parts.add(cell(x)));
      return "[" + String.join(", ", parts) + "]";
    }
    return String.valueOf(v);
  }

  /** NaN and infinities become null: JSON has no such numbers. */
  private static Object finite(Object o) {
    if (o instanceof Double d) {
      return Double.isFinite(d) ? d : null;
    }
    if (o instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), finite(v)));
      return out;
    }
    if (o instanceof List<?> l) {
      return l.stream().map(FindingsReport::finite).toList();
    }
    return o;
  }

  // ---- plots ----

  /**
   * One chart: series over a shared x axis (union of their x values; a series is joined over the x values where it has
   * none, and has a gap where its value is NaN or infinite).
   */
  record Chart(String title, String xLabel, boolean logX, List<String> labels, List<Map<Double, Double>> series,
      List<Double> markers) {
  }

  static String html(ExperimentPlan plan, List<Findings.Finding> findings, Map<String, RunData> data) {
    List<Chart> charts = new ArrayList<>();
    for (String dataset : plan.datasets()) {
      charts.add(methodChart(plan, data, dataset, MetricFamily.REGIONS, Map.of("layer", "all"),
          "F1/F2: regions on plane 0 over training, " + dataset + " (mean over seeds)"));
      charts.add(methodChart(plan, data, dataset, MetricFamily.REGION_AREA_MEAN, Map.of(),
          "F2: mean region area over training, " + dataset + " (mean over seeds)"));
    }
    for (ExperimentPlan.Run run : plan.runs()) {
      RunData r = data.get(run.id());
      if (r == null) {
        continue;
      }
      if (run.role() == ExperimentPlan.Role.COLLAPSE) {
        TreeMap<Long, Double> count = Findings.series(r, MetricFamily.REGIONS, Map.of("layer", "all"));
        double base = Stats.median(count.headMap(run.onset(), false).tailMap(0L, false).values());
        Map<Double, Double> relative = new TreeMap<>();
        Findings.samples(r, MetricFamily.REGIONS, Map.of("layer", "all"))
            .forEach((s, v) -> relative.put((double) s, v / base));
        charts.add(new Chart("F3: " + run.id() + " (onset at step " + run.onset() + ")", "step", false,
            List.of("regions / pre-onset median", "kNN accuracy", "boundary flip ratio"),
            List.of(relative, steps(Findings.samples(r, MetricFamily.KNN_ACCURACY_RATIO, Map.of("layer", "repr"))),
                steps(Findings.samples(r, MetricFamily.BOUNDARY_FLIP_RATIO, Map.of("layer", "all")))),
            List.of((double) run.onset())));
      } else if (run.role() == ExperimentPlan.Role.LONG) {
        List<String> labels = new ArrayList<>();
        List<Map<Double, Double>> series = new ArrayList<>();
        String radius = Findings.lcRadius(r);
        for (String points : List.of("train", "test", "boundary")) {
          TreeMap<Long, Double> lc = Findings.samples(r, MetricFamily.LOCAL_COMPLEXITY, Map.of("layer", "all",
              "points", points, "radius", radius));
          if (!lc.isEmpty()) {
            labels.add("LC at " + points + " points (r = " + radius + ")");
            series.add(steps(lc.tailMap(0L, false)));
          }
        }
        TreeMap<Long, Double> train = Findings.series(r, MetricFamily.LOCAL_COMPLEXITY, Map.of("layer", "all",
            "points", "train", "radius", radius));
        List<Double> phases = Findings.turningPoints(train.tailMap(0L, false)).stream().map(Long::doubleValue)
            .toList();
        charts.add(new Chart("F5: local complexity, " + run.id() + " (log step axis; dashed: where LC at the training"
            + " points turns)", "step", true, labels, series, phases));
        charts.add(new Chart("F6: neural collapse, " + run.id(), "step", true,
            List.of("NC1", "self-duality (NC3)", "training loss"),
            List.of(steps(Findings.samples(r, MetricFamily.NEURAL_COLLAPSE_NC1, Map.of()).tailMap(0L, false)),
                steps(Findings.samples(r, MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY, Map.of()).tailMap(0L, false)),
                steps(Findings.samples(r, MetricFamily.TRAINING_LOSS, Map.of()).tailMap(0L, false))), List.of()));
      }
    }
    charts.add(idChart(plan, data));
    StringBuilder sb = new StringBuilder(1 << 16);
    sb.append("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>splinewatch findings</title>\n<style>")
        .append(ReportWriter.resource(ReportWriter.uplotCss()))
        .append("\nbody{font-family:sans-serif;max-width:1100px;margin:1em auto}table{border-collapse:collapse}"
            + "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}.holds{color:#060}"
            + ".does-not-hold{color:#a00}.inconclusive{color:#850}.chart{margin:1.5em 0}</style></head>\n<body>\n")
        .append("<h1>splinewatch findings</h1>\n<p>").append(esc(plan.describe())).append("</p>\n<table><tr>"
            + "<th>finding</th><th>claim</th><th>verdict</th><th>what was seen</th></tr>\n");
    for (Findings.Finding f : findings) {
      sb.append("<tr><td>").append(f.id()).append("</td><td>").append(esc(f.claim())).append("</td><td class=\"")
          .append(f.verdict().replace(' ', '-')).append("\">").append(esc(f.verdict())).append("</td><td>")
          .append(esc(f.seen())).append("</td></tr>\n");
    }
    sb.append("</table>\n<div id=\"charts\"></div>\n<script>").append(ReportWriter.resource(ReportWriter.uplotJs()))
        .append("</script>\n<script>").append(ReportWriter.resource(ReportWriter.reportJs()))
        .append("\nconst CHARTS = ");
    try {
      sb.append(JSON.writeValueAsString(chartData(charts)).replace("<", "\\u003c"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    sb.append(";\n").append(RENDER).append("</script>\n</body></html>\n");
    return sb.toString();
  }

  /**
   * Draws CHARTS with the run report's report.js (its seriesColour, plotValues and legendValue): a NaN or infinite
   * value is a gap in its line and its legend value reads its name; x values where a series has no value are joined
   * over.
   */
  private static final String RENDER = """
      for (const c of CHARTS) {
        const div = document.createElement("div");
        div.className = "chart";
        document.getElementById("charts").appendChild(div);
        const markers = c.markers;
        const opts = {title: c.title, width: 1000, height: 300,
          scales: {x: {time: false, distr: c.logX ? 3 : 1}},
          axes: [{label: c.xLabel}, {size: 60, values: axisValues}],
          series: [{label: c.xLabel}].concat(c.labels.map((l, i) => ({label: l,
            stroke: seriesColour(i, c.labels.length), spanGaps: false, points: {show: true, size: 4},
            value: (u, v, si, idx) => legendValue(u, v, si, idx, c.data[i + 1])}))),
          hooks: {draw: [u => {
            const ctx = u.ctx;
            ctx.save(); ctx.strokeStyle = "#a00"; ctx.setLineDash([6, 4]);
            for (const m of markers) {
              const x = u.valToPos(m, "x", true);
              ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
            }
            ctx.restore();
          }]}};
        new uPlot(opts, [c.data[0]].concat(c.data.slice(1).map(plotValues)), div);
      }
      """;

  private static List<Map<String, Object>> chartData(List<Chart> charts) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Chart c : charts) {
      TreeSet<Double> xs = new TreeSet<>();
      c.series().forEach(s -> xs.addAll(s.keySet()));
      if (c.logX()) {
        xs.removeIf(x -> x <= 0);
      }
      if (xs.isEmpty()) {
        continue;
      }
      List<List<Object>> data = new ArrayList<>();
      data.add(new ArrayList<>(xs));
      for (Map<Double, Double> s : c.series()) {
        List<Object> ys = new ArrayList<>();
        for (double x : xs) {
          ys.add(ReportWriter.chartValue(s.get(x)));
        }
        data.add(ys);
      }
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("title", c.title());
      one.put("xLabel", c.xLabel());
      one.put("logX", c.logX());
      one.put("labels", c.labels());
      one.put("markers", c.markers());
      one.put("data", data);
      out.add(one);
    }
    return out;
  }

  private static Map<Double, Double> steps(SortedMap<Long, Double> s) {
    Map<Double, Double> out = new TreeMap<>();
    s.forEach((k, v) -> out.put((double) k, v));
    return out;
  }

  /**
   * One series per method: the family over training, averaged over the seeds' runs that have a value at the step (NaN
   * where one of those is NaN, a gap in the chart).
   */
  private static Chart methodChart(ExperimentPlan plan, Map<String, RunData> data, String dataset,
      MetricFamily family, Map<String, String> labels, String title) {
    List<String> names = new ArrayList<>();
    List<Map<Double, Double>> series = new ArrayList<>();
    for (String method : plan.methods()) {
      Map<Double, double[]> sums = new TreeMap<>();
      for (ExperimentPlan.Run run : plan.runs()) {
        RunData r = data.get(run.id());
        if (r == null || run.role() != ExperimentPlan.Role.METHOD || !run.method().equals(method)
            || !run.dataset().equals(dataset)) {
          continue;
        }
        Findings.samples(r, family, labels).forEach((s, v) -> add(sums, s, v));
      }
      Map<Double, Double> mean = new TreeMap<>();
      sums.forEach((s, acc) -> mean.put(s, acc[0] / acc[1]));
      names.add(method);
      series.add(mean);
    }
    return new Chart(title, "step", false, names, series, List.of());
  }

  /** F4: final intrinsic dimension per layer (x = layer index; the output layer last), mean over runs per method. */
  private static Chart idChart(ExperimentPlan plan, Map<String, RunData> data) {
    List<String> names = new ArrayList<>();
    List<Map<Double, Double>> series = new ArrayList<>();
    for (String method : plan.methods()) {
      Map<Double, double[]> sums = new TreeMap<>();
      for (ExperimentPlan.Run run : plan.runs()) {
        RunData r = data.get(run.id());
        if (r == null || run.role() != ExperimentPlan.Role.METHOD || !run.method().equals(method)) {
          continue;
        }
        int layer = 1;
        for (; ; layer++) {
          double id = Findings.last(Findings.series(r, MetricFamily.INTRINSIC_DIMENSION,
              Map.of("layer", Integer.toString(layer))));
          if (!Double.isFinite(id)) {
            break;
          }
          add(sums, layer, id);
        }
        double out = Findings.last(Findings.series(r, MetricFamily.INTRINSIC_DIMENSION, Map.of("layer", "out")));
        if (Double.isFinite(out)) {
          add(sums, layer, out);
        }
      }
      Map<Double, Double> mean = new TreeMap<>();
      sums.forEach((l, acc) -> mean.put(l, acc[0] / acc[1]));
      names.add(method);
      series.add(mean);
    }
    return new Chart("F4: intrinsic dimension after each layer at the end of training (last point: the output)",
        "layer", false, names, series, List.of());
  }

  private static void add(Map<Double, double[]> sums, double x, double v) {
    double[] acc = sums.computeIfAbsent(x, k -> new double[2]);
    acc[0] += v;
    acc[1]++;
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  private static void atomically(Path file, String text) {
    try {
      DurableFiles.writeAtomically(file, text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + IoErrors.reason(e), e);
    }
  }

}
