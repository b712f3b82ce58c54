package org.splinewatch.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RegionFile;

/**
 * The run report: one self-contained HTML file (uPlot and the pictures inlined, no network needed) with each run's
 * configuration, curves over steps (several runs overlaid), alert steps marked as dashed red lines, and each plane's
 * partition pictures as a timeline (first, last, and a slider).
 */
public final class ReportWriter {
  /** Pictures kept per plane and run (evenly subsampled, first and last always kept). */
  public static final int MAX_PICTURES = 60;
  /**
   * Pictures (and embedding views) in one report, shared by every run's planes (layers): {@link #MAX_PICTURES} each
   * for one run's two planes, fewer for several runs, never fewer than the first and last. A long run's 120 pictures
   * are about 27 MB inlined; five runs overlaid at 60 each did not fit the report's 640 MiB heap.
   */
  public static final int PICTURE_BUDGET = 2 * MAX_PICTURES;

  /** Pictures (views) per plane (layer) and run when {@code timelines} share {@link #PICTURE_BUDGET}. */
  static int perTimeline(int timelines) {
    return Math.max(2, Math.min(MAX_PICTURES, PICTURE_BUDGET / Math.max(1, timelines)));
  }
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A chart: one metric, a label filter, and the label that names its series. */
  private record Chart(String title, MetricFamily family, Map<String, String> filter, String seriesLabel) {
    String metric() {
      return family.id();
    }
  }

  private static final List<Chart> CHARTS = List.of(
      new Chart("Training loss", MetricFamily.TRAINING_LOSS, Map.of(), ""), // one per method (lossTitle)
      new Chart("Linear regions per plane", MetricFamily.REGIONS, Map.of("layer", "all"), "plane"),
      new Chart("Mean region area (fraction of the plane's domain)", MetricFamily.REGION_AREA_MEAN_RATIO, Map.of(),
          "plane"),
      new Chart("Median region eccentricity", MetricFamily.REGION_ECCENTRICITY_MEDIAN, Map.of(), "plane"),
      new Chart("Boundary flip ratio (vs previous snapshot)", MetricFamily.BOUNDARY_FLIP_RATIO, Map.of("layer", "all"),
          "plane"),
      new Chart("Embedding spread (std of l2-normalised)", MetricFamily.EMBEDDING_STD_NORMALIZED, Map.of(), "layer"),
      new Chart("Uniformity", MetricFamily.EMBEDDING_UNIFORMITY, Map.of(), "layer"),
      new Chart("RankMe", MetricFamily.EMBEDDING_RANKME, Map.of(), "layer"),
      new Chart("kNN (probe) accuracy", MetricFamily.KNN_ACCURACY_RATIO, Map.of(), "layer"),
      new Chart("Linear probe accuracy", MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, Map.of(), "layer"),
      new Chart("Intrinsic dimension (TwoNN)", MetricFamily.INTRINSIC_DIMENSION, Map.of(), "layer"),
      new Chart("Neural collapse NC1", MetricFamily.NEURAL_COLLAPSE_NC1, Map.of(), "layer"),
      new Chart("Update-to-weight ratio per layer (between snapshots)", MetricFamily.LAYER_UPDATE_RATIO, Map.of(),
          "layer"),
      new Chart("Weight norm per layer", MetricFamily.LAYER_WEIGHT_NORM, Map.of(), "layer"));

  private ReportWriter() {
  }

  /** The data the page script draws: charts (aligned on steps), alerts, and optionally picture timelines. */
  public static Map<String, Object> data(List<RunData> runs, boolean withPictures) {
    return data(runs, withPictures, 0);
  }

  /**
   * As above with each chart's steps thinned to about {@code buckets} buckets when it has more ({@link #thinned}; 0:
   * every step): the live page polls a run every 2 s, and a run of a million steps has 100,000 loss samples (8 MB
   * of JSON a poll before), more than a chart 560 px wide can show.
   */
  public static Map<String, Object> data(List<RunData> runs, boolean withPictures, int buckets) {
    return data(runs, withPictures, buckets, (run, line) -> { });
  }

  /**
   * As above, telling {@code leftOut} of each partition picture and embedding view it left out as damaged, in one line
   * naming the file and what is wrong with it ({@link #pictureDamage}).
   */
  private static Map<String, Object> data(List<RunData> runs, boolean withPictures, int buckets,
      java.util.function.BiConsumer<RunData, String> leftOut) {
    boolean several = runs.size() > 1;
    List<Map<String, Object>> charts = new ArrayList<>();
    for (Chart c : CHARTS) {
      if (c.family() == MetricFamily.TRAINING_LOSS) {
        // one chart per method: SimCLR's NT-Xent, VICReg's loss and a cross-entropy are not on one scale, and on one
        // axis they read as comparable (until this release they were, legend naming the run only)
        Map<String, List<RunData>> byMethod = new LinkedHashMap<>();
        runs.forEach(r -> byMethod.computeIfAbsent(method(r), m -> new ArrayList<>()).add(r));
        byMethod.forEach((method, group) -> chart(lossTitle(method), c, group, buckets,
            (r, s) -> several ? r.runId() + " (" + method + ")" : method + " loss").ifPresent(charts::add));
        continue;
      }
      chart(c.title(), c, runs, buckets, (r, s) -> {
        String label = c.seriesLabel().isEmpty() ? "" : c.seriesLabel() + " " + s.labels().get(c.seriesLabel());
        return (several ? r.runId() + " " : "") + (label.isEmpty() ? c.metric().replace("splinewatch_", "") : label);
      }).ifPresent(charts::add);
    }
    List<Map<String, Object>> alerts = new ArrayList<>();
    for (RunData r : runs) {
      for (RunData.Alert a : r.alerts()) {
        Map<String, Object> alert = new LinkedHashMap<>(Map.of("run", r.runId(), "step", a.step(), "rule", a.rule(),
            "message", a.message()));
        if (a.resolved()) {
          alert.put("resolved", a.resolvedStep());
        }
        alerts.add(alert);
      }
    }
    List<Map<String, Object>> timelines = new ArrayList<>();
    if (withPictures) {
      int perPlane = perTimeline(runs.stream().mapToInt(r -> r.pictures().size()).sum());
      for (RunData r : runs) {
        for (var e : r.pictures().entrySet()) {
          List<RunData.Picture> pics = subsample(e.getValue(), perPlane);
          List<Long> steps = new ArrayList<>();
          List<String> srcs = new ArrayList<>();
          for (RunData.Picture p : pics) {
            String name = "planes/" + p.file().getFileName();
            try {
              byte[] svg = Files.readAllBytes(p.file());
              Optional<String> damage = pictureDamage(svg);
              if (damage.isPresent()) {
                leftOut.accept(r, name + " (" + svg.length + " bytes) " + damage.get() + "; left out of the report");
                continue;
              }
              srcs.add("data:image/svg+xml;base64," + Base64.getEncoder().encodeToString(svg));
              steps.add(p.step());
            } catch (java.nio.file.NoSuchFileException ex) {
              // deleted by picture retention since the listing: nothing was lost
            } catch (IOException ex) {
              leftOut.accept(r, name + " is unreadable (" + IoErrors.reason(ex) + "); left out of the report");
            }
          }
          if (!srcs.isEmpty()) {
            timelines.add(Map.of("run", r.runId(), "plane", e.getKey(), "steps", steps, "srcs", srcs));
          }
        }
      }
    }
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("charts", charts);
    data.put("alerts", alerts);
    data.put("timelines", timelines);
    List<Map<String, Object>> embeddings = new ArrayList<>();
    if (withPictures) {
      int perLayer = perTimeline(runs.stream().mapToInt(r -> EmbeddingViewData.layers(r.dir()).size()).sum());
      runs.forEach(r -> embeddings.addAll(EmbeddingViewData.read(r.dir(), r.runId(), perLayer,
          r.currentViews(), line -> leftOut.accept(r, line + "; left out of the report"))));
    }
    data.put("embeddings", embeddings);
    // the steps each run was resumed at: report.js resumeMarks draws a dashed line labelled "resumed at step N"
    List<Map<String, Object>> resumes = new ArrayList<>();
    runs.forEach(r -> r.resumedAt().forEach(step -> resumes.add(Map.of("run", r.runId(), "step", step))));
    data.put("resumes", resumes);
    data.put("lastStep", runs.stream().mapToLong(RunData::lastStep).max().orElse(0));
    // several: the page labels each alert line with its run (report.js alertMarks)
    data.put("runs", runs.stream().map(RunData::runId).toList());
    return data;
  }

  /**
   * The chart {@code title} of {@code c}'s series in {@code runs}, each named by {@code label}, aligned on steps and
   * thinned to about {@code buckets} buckets ({@link #thinned}); empty where none of the runs has such a series.
   */
  private static Optional<Map<String, Object>> chart(String title, Chart c, List<RunData> runs, int buckets,
      java.util.function.BiFunction<RunData, RunData.Series, String> label) {
    List<String> labels = new ArrayList<>();
    List<List<double[]>> points = new ArrayList<>();
    TreeSet<Long> steps = new TreeSet<>();
    java.util.Set<String> drawn = new java.util.LinkedHashSet<>();
    for (RunData r : runs) {
      for (RunData.Series s : r.series().values()) {
        if (!s.name().equals(c.metric()) || !s.labels().entrySet().containsAll(c.filter().entrySet())) {
          continue;
        }
        drawn.add(r.runId());
        labels.add(label.apply(r, s));
        points.add(s.points());
        s.points().forEach(p -> steps.add((long) p[0]));
      }
    }
    if (labels.isEmpty()) {
      return Optional.empty();
    }
    List<Long> x = new ArrayList<>(steps);
    List<Object[]> all = new ArrayList<>();
    for (int i = 0; i < labels.size(); i++) {
      Object[] values = new Object[x.size()];
      for (double[] p : points.get(i)) {
        values[Collections.binarySearch(x, (long) p[0])] = chartValue(p[1]);
      }
      all.add(values);
    }
    if (buckets > 0 && x.size() > 2 * buckets) {
      int[] keep = thinned(all, x.size(), buckets);
      List<Long> kx = new ArrayList<>(keep.length);
      for (int k : keep) {
        kx.add(x.get(k));
      }
      x = kx;
      for (int i = 0; i < all.size(); i++) {
        Object[] kv = new Object[keep.length];
        for (int j = 0; j < keep.length; j++) {
          kv[j] = all.get(i)[keep[j]];
        }
        all.set(i, kv);
      }
    }
    List<Map<String, Object>> series = new ArrayList<>();
    for (int i = 0; i < labels.size(); i++) {
      series.add(Map.of("label", labels.get(i), "values", all.get(i)));
    }
    Map<String, Object> chart = new LinkedHashMap<>();
    chart.put("title", title);
    chart.put("runs", List.copyOf(drawn)); // the page draws only these runs' alert and resume lines on it
    chart.put("x", x);
    chart.put("series", series);
    return Optional.of(chart);
  }

  /** A run's method as its config.json records it ({@code --method}; an HTTP run's registration), or a note of none. */
  static String method(RunData r) {
    Object m = r.config().get("method");
    return m == null || String.valueOf(m).isBlank() ? "method not recorded" : String.valueOf(m);
  }

  /** What each of ./trainer's methods minimises ({@code docs/methods.md}). */
  private static final Map<String, String> LOSS_NAMES = Map.of(
      "simclr", "NT-Xent (InfoNCE)",
      "simsiam", "negative cosine similarity",
      "byol", "normalised prediction MSE",
      "vicreg", "inv. + var. + cov. terms",
      "supervised", "cross-entropy");

  /** The title of the loss chart of {@code method}: the method and, for ./trainer's, what its loss is. */
  static String lossTitle(String method) {
    String name = LOSS_NAMES.get(method);
    return "Training loss, " + method + (name == null ? "" : ": " + name);
  }

  static List<RunData.Picture> subsample(List<RunData.Picture> pics) {
    return subsample(pics, MAX_PICTURES);
  }

  /** At most {@code max} (at least 2) of {@code pics}, evenly spread, first and last included. */
  static List<RunData.Picture> subsample(List<RunData.Picture> pics, int max) {
    if (pics.size() <= max) {
      return pics;
    }
    List<RunData.Picture> out = new ArrayList<>();
    for (int i = 0; i < max; i++) {
      RunData.Picture p = pics.get((int) Math.round(i * (pics.size() - 1.0) / (max - 1)));
      if (out.isEmpty() || out.get(out.size() - 1) != p) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * The runs with each id that more than one of them has (the same --run-id under two --out directories) followed by
   * the run's directory, "a (runs/lr1/a)", so that their curves, pictures and columns can be told apart.
   */
  static List<RunData> distinctIds(List<RunData> runs) {
    Map<String, Integer> count = new LinkedHashMap<>();
    runs.forEach(r -> count.merge(r.runId(), 1, Integer::sum));
    List<RunData> out = new ArrayList<>();
    for (RunData r : runs) {
      out.add(count.get(r.runId()) == 1 ? r : new RunData(r.dir(), r.runId() + " (" + r.dir() + ")", r.config(),
          r.series(), r.alerts(), r.pictures(), r.runEnds(), r.problems(), r.notes(), r.resumedAt()));
    }
    return out;
  }

  /**
   * For a run whose live planes overflowed their cap: which, that their region counts are not exact, and the command
   * that counts them exactly from the region files the analyzer wrote.
   */
  static Optional<String> overflowLine(RunData r) {
    List<Integer> planes = r.overflowedPlanes();
    if (planes.isEmpty()) {
      return Optional.empty();
    }
    String names = planes.stream().map(String::valueOf).collect(Collectors.joining(", "));
    return Optional.of((planes.size() == 1 ? "plane " : "planes ") + names + " overflowed the live region"
        + " cap (splinewatch_region_overflow 1: no exact count or geometry there); count "
        + (planes.size() == 1 ? "it" : "each") + " exactly offline with ./monitor regions --model "
        + RegionFile.overflowFile(r.dir().resolve("planes"), planes.get(0)) + " --tiled");
  }

  /**
   * What is wrong with a partition picture's bytes, empty for a whole SVG picture. Pictures are written through a
   * temporary file and a rename, so a crash leaves none half-written; one that is damaged all the same (a disk error,
   * an interrupted copy, a full disk under a copy) would show as a broken image, or nothing, in the report.
   */
  static Optional<String> pictureDamage(byte[] svg) {
    String text = new String(svg, StandardCharsets.UTF_8).strip();
    if (text.isEmpty()) {
      return Optional.of("is empty; expected an SVG picture");
    }
    if (!text.startsWith("<svg") && !text.startsWith("<?xml")) {
      return Optional.of("is not an SVG picture (it does not begin with <svg)");
    }
    boolean emptyElement = text.startsWith("<svg") && text.endsWith("/>") && text.indexOf('<', 1) < 0; // <svg/>
    if (!text.endsWith("</svg>") && !emptyElement) {
      return Optional.of("is not a whole SVG picture (it ends early, without </svg>)");
    }
    return Optional.empty();
  }

  /** The report of one or more runs as HTML. */
  public static String html(List<RunData> given) {
    return html(given, line -> { });
  }

  /**
   * As above, telling {@code leftOut} of each picture or embedding view left out as damaged, as {@code run: file
   * (size) what is wrong; left out of the report}; the report says so under the run's status line too.
   */
  private static String html(List<RunData> given, java.util.function.Consumer<String> leftOut) {
    List<RunData> runs = distinctIds(given);
    Map<String, List<String>> damaged = new LinkedHashMap<>();
    // no '<' in the script at all: neither "</script>" nor "<!--" from a run's text can end or alter it
    Map<String, Object> data = data(runs, true, 0, (r, line) -> {
      damaged.computeIfAbsent(r.runId(), k -> new ArrayList<>()).add(line);
      leftOut.accept(r.runId() + ": " + line);
    });
    StringBuilder sb = new StringBuilder(1 << 20);
    String title = runs.size() == 1 ? "splinewatch report: " + runs.get(0).runId()
        : "splinewatch report: " + runs.size() + " runs";
    sb.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title))
        .append("</title>\n<style>").append(resource(uplotCss())).append('\n')
        .append(resource("/org/splinewatch/report/report.css")).append("</style></head>\n<body>\n<h1>")
        .append(esc(title)).append("</h1>\n");
    for (RunData r : runs) {
      sb.append("<div class=\"status ").append(statusClass(r)).append("\" id=\"status-")
          .append(esc(r.runId())).append("\">").append(esc(r.runId())).append(": ").append(esc(status(r)))
          .append("</div>\n");
      r.notes().forEach(n -> sb.append("<div class=\"coverage\">").append(esc(r.runId())).append(": note: ")
          .append(esc(n)).append("</div>\n"));
      damaged.getOrDefault(r.runId(), List.of()).forEach(n -> sb.append("<div class=\"coverage\">")
          .append(esc(r.runId())).append(": note: ").append(esc(n)).append("</div>\n"));
      String coverage = r.coverage(); // sparse curves: snapshots dropped or left unanalysed
      if (!coverage.isEmpty()) {
        sb.append("<div class=\"coverage\">").append(esc(r.runId())).append(": ").append(esc(coverage))
            .append("</div>\n");
      }
      overflowLine(r).ifPresent(line -> sb.append("<div class=\"coverage\">").append(esc(r.runId())).append(": ")
          .append(esc(line)).append("</div>\n"));
      // e.g. an HTTP run that received no snapshot: nothing to draw, and said so
      noSamples(r).ifPresent(line -> sb.append("<div class=\"coverage\">").append(esc(r.runId())).append(": ")
          .append(esc(line)).append("</div>\n"));
      sb.append("<details><summary>configuration of ").append(esc(r.runId()))
          .append("</summary><table class=\"config\">");
      r.config().forEach((k, v) -> sb.append("<tr><td>").append(esc(k)).append("</td><td>")
          .append(esc(String.valueOf(v))).append("</td></tr>"));
      sb.append("</table></details>\n");
      if (!r.alerts().isEmpty()) {
        sb.append("<ul class=\"alerts\">");
        r.alerts().forEach(a -> sb.append("<li>step ").append(a.step()).append(": ").append(esc(a.message()))
            .append(a.resolved() ? " (resolved at step " + a.resolvedStep() + ")" : "").append("</li>"));
        sb.append("</ul>\n");
      }
    }
    hyperparameterTable(sb, runs);
    sb.append("<h2>Curves</h2><p>Dashed red lines: steps where a collapse alert started firing")
        .append(runs.size() > 1 ? ", each labelled with the run it fired in." : ".");
    if (runs.stream().anyMatch(r -> !r.resumedAt().isEmpty())) {
      sb.append(runs.size() > 1
          ? " Dashed blue lines: steps where a run was resumed from a checkpoint (\"resumed at step N\", after the"
              + " run's name)."
          : " Dashed blue lines: steps where the run was resumed from a checkpoint (\"resumed at step N\").");
    }
    if (runs.stream().map(ReportWriter::method).distinct().count() > 1) {
      sb.append(" Each method's training loss has a chart of its own: the losses are of different kinds and scales.");
    }
    sb.append("</p>");
    if (runs.stream().allMatch(r -> r.series().isEmpty())) {
      sb.append("<p class=\"empty\">No curves: ").append(runs.size() == 1 ? "the run recorded" : "the runs recorded")
          .append(" no sample.</p>");
    }
    sb.append("<div id=\"charts\"></div>\n<h2>Partition of each plane over training</h2>")
        .append("<div id=\"timelines\"></div>\n<h2>Probe embeddings (2D PCA, coloured by class)</h2>")
        .append("<div id=\"embeddings\"></div>\n<script>").append(resource(uplotJs())).append("</script>\n<script>")
        .append(resource(reportJs())).append("\nconst DATA = ");
    try {
      sb.append(JSON.writeValueAsString(data).replace("<", "\\u003c"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    sb.append(";\nrenderCharts(DATA, document.getElementById(\"charts\"));\n")
        .append("renderTimelines(DATA, document.getElementById(\"timelines\"));\n")
        .append("renderEmbeddings(DATA, document.getElementById(\"embeddings\"));\n</script>\n</body></html>\n");
    return sb.toString();
  }

  /**
   * What the report and {@code ./monitor report} say of a run whose metrics hold no sample (and no malformed line):
   * for an HTTP run that received no snapshot ({@link RunData#receivedNoSnapshot}), that it received none; empty for a
   * run with samples.
   */
  public static Optional<String> noSamples(RunData r) {
    if (!r.series().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(r.receivedNoSnapshot()
        ? "no snapshot received: the run was registered and ended without one, so it has no samples and no curves"
        : "no samples: its metrics.jsonl holds none, so it has no curves");
  }

  /** What the report and the commands say of a run whose metrics could not be checked ({@link RunData#notChecked}). */
  public static final String NOT_CHECKED = "not checked for metrics cut short";

  /** The words before a run's problems with its files in its status line ({@link #status}). */
  public static final String FILES_INCOMPLETE = "files INCOMPLETE: ";

  /**
   * A run's status in the words of the report's status line (the live page shows the same): first what became of the
   * run, {@code finished at step 300}, {@code interrupted at step 52 by SIGINT}, {@code stopped early at step 121:
   * <reason>}, {@code failed at step 7: <error>}, or {@code not finished (no run_finished event): still running, or it
   * crashed}; then, only where it matters, the files: {@code ; files INCOMPLETE: <problems>} where they are damaged or
   * cut short, or why its metrics were not checked for an early end. Until this release a run with whole files read
   * "complete" before how it ended ("complete; the run was interrupted at step 298"), as if the run were.
   */
  public static String status(RunData r) {
    List<String> damage = r.problems().stream().filter(p -> !RunData.notFinished(p)).toList();
    String state = r.finished() ? ending(r)[1] : r.problems().stream().filter(RunData::notFinished).findFirst()
        .orElse(RunData.NOT_FINISHED).replaceFirst("^the run has ", "");
    if (!damage.isEmpty()) {
      return state + "; " + FILES_INCOMPLETE + String.join("; ", damage);
    }
    return state + r.notChecked().map(n -> "; " + NOT_CHECKED + ": " + n).orElse("");
  }

  /**
   * The class of a run's status line: {@code complete} (green) for a run that finished with whole files, {@code ended}
   * (amber) for one interrupted or stopped early, {@code failed} (red), and {@code incomplete} (red) for one not
   * finished or whose files are damaged.
   */
  static String statusClass(RunData r) {
    return r.complete() ? ending(r)[0] : "incomplete";
  }

  /**
   * How a finished run ended, from its last {@code run_finished}: the class of its status line ({@code complete} when
   * it reached its last step, {@code ended} when stopped early or interrupted, {@code failed}) and its words. An HTTP
   * run that received no snapshot ended at no step: "finished with no snapshot received".
   */
  static String[] ending(RunData r) {
    var end = r.runEnds().get(r.runEnds().size() - 1);
    // an end that records no step (a --monitor run whose trainer was killed, before this release): its samples' last
    String at = r.receivedNoSnapshot() ? " with no snapshot received"
        : " at step " + (end.path("steps").canConvertToLong() ? end.path("steps").asLong() : r.lastStep());
    String reason = end.path("reason").isTextual() ? end.path("reason").asText() : null;
    String status = end.path("status").asText("");
    String[] ended = ended(status);
    String detail = switch (status) {
      // "interrupted by SIGINT" as the trainer words its reason; any other (a monitor's marking) after a colon
      case "interrupted" -> reason == null ? "" : reason.startsWith("interrupted by ")
          ? reason.substring("interrupted".length()) : ": " + reason;
      case "stopped" -> reason == null ? "" : ": " + reason;
      case "failed" -> ": " + end.path("error").asText("");
      default -> "";
    };
    return new String[] {ended[0], ended[1] + at + detail};
  }

  /**
   * The class of the status line and the first words of a run that {@code run_finished} ended with {@code status}:
   * {@code done} (or none: written before statuses were) is {@code finished}, any status not known here {@code ended
   * <status>}.
   */
  private static String[] ended(String status) {
    return switch (status) {
      case "interrupted" -> new String[] {"ended", "interrupted"};
      case "stopped" -> new String[] {"ended", "stopped early"};
      case "failed" -> new String[] {"failed", "failed"};
      case "done", "" -> new String[] {"complete", "finished"};
      default -> new String[] {"ended", "ended " + status};
    };
  }

  /**
   * A finished run's state in the live page's run list ({@code /api/runs}), in the words of its status line without
   * the reason: {@code interrupted at step 52}, {@code stopped early at step 121}, {@code failed at step 7}, and
   * {@code finished} for one that reached its end (the list's step column has its step).
   */
  public static String listedEnding(String status, long endStep) {
    String[] ended = ended(status);
    return ended[0].equals("complete") ? ended[1] : ended[1] + " at step " + endStep;
  }

  /** The runs' settings side by side; rows where the runs differ are marked {@code differs} (highlighted). */
  private static void hyperparameterTable(StringBuilder sb, List<RunData> runs) {
    List<Hyperparameters.Row> rows = Hyperparameters.rows(runs);
    long differing = rows.stream().filter(Hyperparameters.Row::differs).count();
    sb.append("<h2>Hyperparameters</h2><p>").append(runs.size() == 1 ? "The run's settings."
        : differing + " of " + rows.size() + " settings differ between the runs (highlighted).")
        .append("</p>\n<table class=\"hyperparameters\"><tr><th>setting</th>");
    runs.forEach(r -> sb.append("<th>").append(esc(r.runId())).append("</th>"));
    sb.append("</tr>");
    for (Hyperparameters.Row row : rows) {
      sb.append(row.differs() ? "<tr class=\"differs\">" : "<tr>").append("<td>").append(esc(row.name()))
          .append("</td>");
      row.values().forEach(v -> sb.append("<td>").append(esc(v)).append("</td>"));
      sb.append("</tr>");
    }
    sb.append("</table>\n");
  }

  /**
   * The step indices (of {@code n}) a thinned chart keeps: the steps split into {@code buckets} runs of consecutive
   * steps, each series' last sample in each of them, every non-finite value (a divergence must not be thinned away)
   * and the first and last step; in order.
   */
  static int[] thinned(List<Object[]> series, int n, int buckets) {
    java.util.BitSet keep = new java.util.BitSet(n);
    keep.set(0);
    keep.set(n - 1);
    for (int b = 0; b < buckets; b++) {
      int lo = (int) ((long) b * n / buckets);
      int hi = (int) ((long) (b + 1) * n / buckets);
      for (Object[] values : series) {
        for (int i = hi - 1; i >= lo; i--) {
          if (values[i] != null) {
            keep.set(i);
            break;
          }
        }
        for (int i = lo; i < hi; i++) {
          if (values[i] instanceof String) { // "NaN", "Infinity", "-Infinity" (chartValue)
            keep.set(i);
          }
        }
      }
    }
    return keep.stream().toArray();
  }

  /**
   * Writes the report: a regular (or new) file atomically, a character device or a FIFO ({@code /dev/null}, a pipe)
   * through ({@link DurableFiles#writeOutput}). Returns the damaged pictures and embedding views it left out, one
   * line each ({@code run: planes/plane-0-step-00000300.svg (200 bytes) is not a whole SVG picture …}).
   */
  public static List<String> write(List<RunData> runs, Path out) {
    List<String> leftOut = new ArrayList<>();
    try {
      DurableFiles.writeOutput(out, html(runs, leftOut::add).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the report " + out + ": " + IoErrors.reason(e), e);
    }
    return leftOut;
  }

  /**
   * A chart value as report.js's plotValues reads it: null (no sample at this step: the line is joined over it), a
   * finite number, or a non-finite one's name as a string, "NaN", "Infinity" or "-Infinity" (JSON has no such
   * numbers; the line has a gap there and its legend value reads the name).
   */
  public static Object chartValue(Double v) {
    return v == null ? null : Double.isFinite(v) ? v : String.valueOf(v);
  }

  /** Classpath location of the charts' script (plotValues, legendValue, axisValues; the run report's renderers). */
  public static String reportJs() {
    return "/org/splinewatch/report/report.js";
  }

  /** Classpath location of uPlot's script in its web jar (one place for the version). */
  public static String uplotJs() {
    return "/META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.iife.min.js";
  }

  /** Classpath location of uPlot's stylesheet in its web jar. */
  public static String uplotCss() {
    return "/META-INF/resources/webjars/uplot/1.6.30/dist/uPlot.min.css";
  }

  /** A classpath resource as text. */
  public static String resource(String name) {
    try (InputStream in = ReportWriter.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("resource " + name + " missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String esc(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
        .replace("'", "&#39;");
  }
}
