package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Detection lead time of the collapse rules on finished runs: the first step at which each rule fired against the
 * first snapshot where the kNN accuracy of a layer is {@code drop} below its best so far (the rules: metrics.md §8;
 * kNN accuracy: §4.1). A run is an induced collapse when its settings are one of the
 * ablations (SimSiam without stop-gradient, SimSiam/BYOL without predictor, VICReg with variance coefficient 0); any
 * alert on another run is a false alarm.
 */
public final class Detection {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KNN = "splinewatch_knn_accuracy_ratio";

  private Detection() {
  }

  /**
   * One run's detection.
   *
   * @param ablation   the induced collapse, empty for a healthy run
   * @param knn        (step, accuracy) of the layer in step order; empty when the run has no kNN series
   * @param dropStep   first step whose accuracy is {@code drop} below the best of all steps up to it, the untrained
   *                   network's included, empty when it never is
   * @param firstAlerts each rule's first firing alert, in step order
   */
  public record Row(String runId, String method, String ablation, List<double[]> knn, OptionalLong dropStep,
      List<RunData.Alert> firstAlerts) {

    public boolean induced() {
      return !ablation.isEmpty();
    }

    /** The first alert of any rule, empty when none fired. */
    public OptionalLong firstAlertStep() {
      return firstAlerts.isEmpty() ? OptionalLong.empty() : OptionalLong.of(firstAlerts.get(0).step());
    }

    /**
     * The outcome one hopes for: an induced collapse alerted strictly before its drop (or alerted with no drop at all),
     * a healthy run silent.
     */
    public boolean leadsOrSilent() {
      if (!induced()) {
        return firstAlerts.isEmpty();
      }
      OptionalLong alert = firstAlertStep();
      return alert.isPresent() && (dropStep.isEmpty() || alert.getAsLong() < dropStep.getAsLong());
    }

    /** A few words on the outcome. */
    public String verdict() {
      OptionalLong alert = firstAlertStep();
      if (!induced()) {
        return alert.isEmpty() ? "no alarm" : "false alarm at step " + alert.getAsLong();
      }
      if (alert.isEmpty()) {
        return "missed";
      }
      if (dropStep.isEmpty()) {
        return "alerted, no accuracy drop";
      }
      long lead = dropStep.getAsLong() - alert.getAsLong();
      return lead > 0 ? "alerted " + lead + " steps before the drop"
          : lead == 0 ? "alerted on the drop's snapshot" : "alerted " + -lead + " steps after the drop";
    }
  }

  /** The detection of one run, on the kNN accuracy of {@code layer}. */
  public static Row of(RunData run, String layer, double drop) {
    List<double[]> knn = new ArrayList<>();
    for (RunData.Series s : run.series().values()) {
      if (s.name().equals(KNN) && layer.equals(s.labels().get("layer"))) {
        knn.addAll(s.points());
      }
    }
    knn.sort(Comparator.comparingDouble(p -> p[0]));
    OptionalLong dropStep = OptionalLong.empty();
    double best = Double.NEGATIVE_INFINITY;
    for (double[] p : knn) {
      if (!Double.isFinite(p[1])) {
        continue;
      }
      best = Math.max(best, p[1]);
      if (p[1] < best - drop) {
        dropStep = OptionalLong.of((long) p[0]);
        break;
      }
    }
    Map<String, RunData.Alert> first = new LinkedHashMap<>();
    run.alerts().stream().sorted(Comparator.comparingLong(RunData.Alert::step))
        .forEach(a -> first.putIfAbsent(a.rule(), a));
    String method = String.valueOf(run.config().getOrDefault("method", "?"));
    return new Row(run.runId(), method, ablation(method, run.config().get("settings")), knn, dropStep,
        List.copyOf(first.values()));
  }

  /** The collapse ablation named by a run's settings ({@code config.json} "settings"), empty for none. */
  static String ablation(String method, Object settings) {
    if (settings == null) {
      return "";
    }
    JsonNode s;
    try {
      s = JSON.readTree(settings.toString());
    } catch (Exception e) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    if (method.equals("simsiam") && !s.path("stop_gradient").asBoolean(true)) {
      parts.add("no stop-gradient");
    }
    if ((method.equals("simsiam") || method.equals("byol")) && !s.path("predictor").asBoolean(true)) {
      parts.add("no predictor");
    }
    JsonNode vicreg = s.path("vicreg_coefficients");
    if (method.equals("vicreg") && vicreg.size() == 3 && vicreg.get(1).asDouble() == 0) {
      parts.add("variance coefficient 0");
    }
    return String.join(", ", parts);
  }

  /** A Markdown table of the rows and a closing summary: alerts before the drop, alerts at all, false alarms. */
  public static String markdown(List<Row> rows, String layer, double drop) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "kNN drop: first snapshot where the kNN accuracy of %s is %.0f points "
        + "below its best so far (the untrained network's included)%n%n", layer, drop * 100));
    sb.append("| run | method | induced collapse | kNN first → best → last | kNN drop at | first alerts "
        + "(rule@step, severity) | outcome |\n|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      String knn = r.knn().isEmpty() ? "no kNN series" : String.format(Locale.ROOT, "%.3f → %.3f → %.3f",
          r.knn().get(0)[1], r.knn().stream().mapToDouble(p -> p[1]).filter(Double::isFinite).max().orElse(Double.NaN),
          r.knn().get(r.knn().size() - 1)[1]);
      List<String> alerts = r.firstAlerts().stream().map(a -> a.rule() + "@" + a.step()
          + (a.severity().isEmpty() ? "" : " " + a.severity())).toList();
      sb.append("| ").append(r.runId()).append(" | ").append(r.method()).append(" | ")
          .append(r.induced() ? r.ablation() : "—").append(" | ").append(knn).append(" | ")
          .append(r.dropStep().isPresent() ? String.valueOf(r.dropStep().getAsLong()) : "—").append(" | ")
          .append(alerts.isEmpty() ? "none" : String.join(", ", alerts)).append(" | ").append(r.verdict())
          .append(" |\n");
    }
    List<Row> induced = rows.stream().filter(Row::induced).toList();
    List<Row> healthy = rows.stream().filter(r -> !r.induced()).toList();
    long before = induced.stream().filter(Row::leadsOrSilent).count();
    long alerted = induced.stream().filter(r -> r.firstAlertStep().isPresent()).count();
    long falseAlarms = healthy.stream().filter(r -> !r.leadsOrSilent()).count();
    sb.append(String.format(Locale.ROOT, "%ninduced collapses alerted before their accuracy drop: %d of %d (alerted at"
        + " all: %d); healthy runs with a false alarm: %d of %d%n", before, induced.size(), alerted, falseAlarms,
        healthy.size()));
    return sb.toString();
  }
}
