package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.CollapseDetector;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * Detection lead time of the collapse rules on finished runs: the first step at which each rule fired against the
 * first snapshot where the kNN accuracy of a layer is {@code drop} below its best so far (the rules: metrics.md §8;
 * kNN accuracy: §4.1). A run is an induced collapse when its settings are one of the
 * ablations (SimSiam without stop-gradient, SimSiam/BYOL without predictor, VICReg with variance coefficient 0); any
 * alert on another run is a false alarm.
 */
public final class Detection {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KNN = MetricFamily.KNN_ACCURACY_RATIO.id();

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
   * @param divergedStep the first step whose training loss is not finite, empty when none is: from there on a healthy
   *                     run's alerts are right (it diverged) and are not false alarms
   * @param snapshotIntervals the snapshot interval of each segment of the run's trajectory ({@link #intervals}), in
   *                     step order
   */
  public record Row(String runId, String method, String ablation, List<double[]> knn, OptionalLong dropStep,
      List<RunData.Alert> firstAlerts, OptionalLong onsetStep, List<Interval> snapshotIntervals, OptionalLong seed,
      String dataset, OptionalLong divergedStep) {

    /**
     * The snapshots the steps {@code (from, to]} span, each segment's steps in its own interval: {@code (to - from) /
     * snapshot_every} for a run never resumed with another one; infinite where an interval is unknown (0).
     */
    public double snapshotsBetween(long from, long to) {
      double n = 0;
      for (int i = 0; i < snapshotIntervals.size(); i++) {
        long lo = Math.max(from, snapshotIntervals.get(i).after());
        long hi = i + 1 < snapshotIntervals.size() ? Math.min(to, snapshotIntervals.get(i + 1).after()) : to;
        if (hi > lo) {
          long every = snapshotIntervals.get(i).every();
          n += every > 0 ? (double) (hi - lo) / every : Double.POSITIVE_INFINITY;
        }
      }
      return n;
    }

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
        return falseAlarmStep().isEmpty();
      }
      OptionalLong alert = firstAlertFromOnset();
      return criticalBeforeOnset().isEmpty() && alert.isPresent()
          && (dropStep.isEmpty() || alert.getAsLong() < dropStep.getAsLong());
    }

    /**
     * An induced collapse's first critical alert before its onset (a false alarm of the healthy phase, which makes the
     * run a miss whatever follows), empty when there is none; always empty for a healthy run.
     */
    public OptionalLong criticalBeforeOnset() {
      OptionalLong c = firstCriticalStep();
      return induced() && c.isPresent() && c.getAsLong() < onsetStep.orElse(0) ? c : OptionalLong.empty();
    }

    /** The first alert at or after the onset (step 0 for a healthy run or a collapse from the start), or empty. */
    public OptionalLong firstAlertFromOnset() {
      return firstAlerts.stream().mapToLong(RunData.Alert::step).filter(s -> s >= onsetStep.orElse(0)).findFirst();
    }

    /**
     * A healthy run's first alert before it diverged (if it did), empty when there is none; always empty for an
     * induced collapse.
     */
    public OptionalLong falseAlarmStep() {
      OptionalLong alert = firstAlertStep();
      return induced() || alert.isEmpty() || divergedStep.isPresent() && alert.getAsLong() >= divergedStep.getAsLong()
          ? OptionalLong.empty() : alert;
    }

    /** The first critical alert (a rule that stops the run), empty when none fired. */
    public OptionalLong firstCriticalStep() {
      for (RunData.Alert a : firstAlerts) { // in step order
        if (a.severity().equals("critical")) {
          return OptionalLong.of(a.step());
        }
      }
      return OptionalLong.empty();
    }

    /**
     * The goal of an induced collapse: a first critical alert at the onset or within {@code snapshots} snapshots after
     * it, and strictly before the kNN drop (if any); for a healthy run: no alert at all.
     */
    public boolean meetsGoal(int snapshots) {
      if (!induced()) {
        return falseAlarmStep().isEmpty();
      }
      OptionalLong c = firstCriticalStep();
      long delay = c.isPresent() ? c.getAsLong() - onsetStep.orElse(0) : -1;
      // a critical alert before the onset is a false alarm of the healthy phase, not a detection
      return c.isPresent() && delay >= 0 && snapshotsBetween(onsetStep.orElse(0), c.getAsLong()) <= snapshots + 1e-9
          && (dropStep.isEmpty() || c.getAsLong() < dropStep.getAsLong());
    }

    /** A few words on the outcome. */
    public String verdict() {
      OptionalLong alert = firstAlertStep();
      if (!induced()) {
        OptionalLong falseAlarm = falseAlarmStep();
        return falseAlarm.isPresent() ? "false alarm at step " + falseAlarm.getAsLong()
            : divergedStep.isPresent() ? "diverged at step " + divergedStep.getAsLong() + " (non-finite loss; "
                + (alert.isEmpty() ? "not alerted" : "alerts from there on are right") + ")"
            : "no alarm";
      }
      OptionalLong early = criticalBeforeOnset();
      if (early.isPresent()) { // it read "alerted N steps before the drop", while the goal counts it a miss
        return "false alarm at step " + early.getAsLong() + ", before the onset at " + onsetStep.orElse(0);
      }
      alert = firstAlertFromOnset(); // a warning of the healthy phase does not lead the collapse's drop
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

  /**
   * The snapshot interval of one segment of a run's trajectory: {@code every} steps for the steps after {@code after}
   * (up to the next segment's); 0 where unknown.
   */
  public record Interval(long after, long every) {
  }

  /**
   * The snapshot intervals of a run's trajectory, in step order: its first segment's from the start, then each
   * {@code run_resumed}'s (its {@code snapshot_every}) for the steps after its checkpoint's step, a resume replacing
   * what an earlier segment trained after that step. The first segment's interval is the first resume's {@code
   * snapshot_every_before} (a {@code --monitor} run's filled in by the monitor, which holds its config.json); where a
   * resume did not record them (runs of earlier releases) {@code config.json}'s, the last segment's, stands in.
   */
  static List<Interval> intervals(RunData run, long configEvery) {
    List<JsonNode> resumes = RunData.resumes(run.dir());
    JsonNode before = resumes.isEmpty() ? null : resumes.get(0).get("snapshot_every_before");
    List<Interval> out = new ArrayList<>();
    out.add(new Interval(Long.MIN_VALUE, before != null && before.canConvertToLong() ? before.asLong()
        : configEvery));
    for (JsonNode r : resumes) {
      long step = r.path("step").asLong();
      JsonNode every = r.get("snapshot_every");
      out.removeIf(i -> i.after() >= step);
      out.add(new Interval(step, every != null && every.canConvertToLong() ? every.asLong() : configEvery));
    }
    return List.copyOf(out);
  }

  /** What a kNN drop is measured from; {@link #cliName} is its value of {@code --drop-reference}. */
  public enum DropReference {
    /** The best accuracy so far, the untrained network's included: the definition issue 22's goal uses. */
    BEST_SO_FAR("best"),
    /**
     * The best accuracy from the onset snapshot on. A decline of the healthy phase before a mid-run onset is then not
     * counted as the collapse's drop. Not the goal's definition: a second view of the same runs.
     */
    ONSET("onset");

    private final String cliName;

    DropReference(String cliName) {
      this.cliName = cliName;
    }

    public String cliName() {
      return cliName;
    }

    /** The reference named {@code name}, empty when none is. */
    public static java.util.Optional<DropReference> byCliName(String name) {
      return java.util.Arrays.stream(values()).filter(r -> r.cliName.equals(name)).findFirst();
    }

    /** The names, "best or onset". */
    public static String cliNames() {
      return String.join(" or ", java.util.Arrays.stream(values()).map(DropReference::cliName).toList());
    }
  }

  /** A run directory left out of every count: its path and why, in a few words. */
  public record Skipped(Path dir, String reason) {
    /** Why a directory without metrics.jsonl is skipped: it is no run directory (what report refuses as one). */
    static final String NO_METRICS = "no metrics.jsonl";

    /** Whether it was skipped for holding no metrics.jsonl: no run directory, rather than a run with unusable data. */
    public boolean noRunDirectory() {
      return reason.startsWith(NO_METRICS);
    }

    /** The line that names it: {@code skipped DIR: REASON}. */
    public String line() {
      return "skipped " + dir + ": " + reason;
    }
  }

  /** A run directory read for detection: exactly one of {@code run} (a run to count) and {@code skipped} is set. */
  public record Loaded(RunData run, Skipped skipped) {
  }

  /**
   * Reads a run directory for detection. A directory that is not a whole finished run — no or an empty
   * {@code metrics.jsonl}, a malformed or half-written line in it or in {@code events.jsonl}, no {@code config.json},
   * no {@code run_finished} event, or a run whose last one is not done or stopped ({@link RunData#unfinishedEnd}) — is
   * {@link Skipped} with its reason: its silence would otherwise count as a healthy run without a false alarm. A run
   * stopped early by an alert counts.
   * Throws {@link RunData.ReportException} only when {@code dir} is not a directory.
   */
  public static Loaded load(Path dir) {
    if (Files.isDirectory(dir) && !Files.isRegularFile(dir.resolve("metrics.jsonl"))) {
      Path below = RunData.runsBelow(dir); // "." where ./runs was meant: name the directory of runs in it
      int runs = below == null ? 0 : RunData.runsIn(below).size();
      return new Loaded(null, new Skipped(dir, Skipped.NO_METRICS + (below == null ? "" : ", but " + below + " in it is"
          + " a directory of " + runs + (runs == 1 ? " run" : " runs") + " (name it)")));
    }
    RunData run = RunData.read(dir);
    List<String> why = new ArrayList<>(run.problems());
    if (run.series().isEmpty()) {
      why.add(0, "metrics.jsonl has no samples");
    }
    ending(run).ifPresent(why::add);
    return why.isEmpty() ? new Loaded(run, null) : new Loaded(null, new Skipped(dir, String.join("; ", why)));
  }

  /** How the run ended when that was neither done nor stopped ({@link RunData#unfinishedEnd}). */
  static java.util.Optional<String> ending(RunData run) {
    List<JsonNode> ends = run.runEnds();
    return ends.isEmpty() ? java.util.Optional.empty() : RunData.unfinishedEnd(ends.get(ends.size() - 1));
  }

  /** The detection of one run, on the kNN accuracy of {@code layer}, the drop from the best so far. */
  public static Row of(RunData run, String layer, double drop) {
    return of(run, layer, drop, DropReference.BEST_SO_FAR);
  }

  /** The detection of one run, on the kNN accuracy of {@code layer}, the drop measured from {@code reference}. */
  public static Row of(RunData run, String layer, double drop, DropReference reference) {
    List<double[]> knn = new ArrayList<>();
    for (RunData.Series s : run.series().values()) {
      if (s.name().equals(KNN) && layer.equals(s.labels().get("layer"))) {
        knn.addAll(s.points());
      }
    }
    knn.sort(Comparator.comparingDouble(p -> p[0]));
    String method = String.valueOf(run.config().getOrDefault("method", "?"));
    Object settings = run.config().get("settings");
    String ablation = ablation(method, settings);
    JsonNode set = json(settings);
    // the collapse starts at --ablate-from (0: an ablation from the start), or for an HTTP run of the PyTorch example
    // at its --collapse-at; healthy runs have no onset
    OptionalLong onset = ablation.isEmpty() ? OptionalLong.empty()
        : OptionalLong.of(set == null ? 0 : set.has("ablate_from") ? set.path("ablate_from").asLong(0)
            : set.path("collapse_at").asLong(0));
    long every = set == null ? 0 : set.path("snapshot_every").asLong(0);
    OptionalLong dropStep = OptionalLong.empty();
    double best = Double.NEGATIVE_INFINITY;
    for (double[] p : knn) {
      if (!Double.isFinite(p[1]) || reference == DropReference.ONSET && p[0] < onset.orElse(0)) {
        continue;
      }
      best = Math.max(best, p[1]);
      // a drop counts from the onset on (a healthy dip before a mid-run onset is not the collapse)
      if (p[1] < best - drop && p[0] >= onset.orElse(0)) {
        dropStep = OptionalLong.of((long) p[0]);
        break;
      }
    }
    Map<String, RunData.Alert> first = new LinkedHashMap<>();
    run.alerts().stream().sorted(Comparator.comparingLong(RunData.Alert::step))
        .forEach(a -> first.putIfAbsent(a.rule(), a));
    OptionalLong seed;
    try {
      seed = OptionalLong.of(Long.parseLong(String.valueOf(run.config().get("seed"))));
    } catch (NumberFormatException e) {
      seed = OptionalLong.empty();
    }
    return new Row(run.runId(), method, ablation, knn, dropStep, List.copyOf(first.values()), onset,
        intervals(run, every), seed,
        String.valueOf(run.config().getOrDefault("dataset", "?")), divergedStep(run));
  }

  /** The first step at which the run's training loss was not finite (NaN or infinite), empty when it never was. */
  private static OptionalLong divergedStep(RunData run) {
    String loss = MetricFamily.TRAINING_LOSS.id();
    return run.series().values().stream().filter(s -> s.name().equals(loss)).flatMap(s -> s.points().stream())
        .filter(p -> !Double.isFinite(p[1])).mapToLong(p -> (long) p[0]).min();
  }

  private static JsonNode json(Object settings) {
    if (settings == null) {
      return null;
    }
    try {
      return settings instanceof Map<?, ?> ? JSON.valueToTree(settings) : JSON.readTree(settings.toString());
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * The alerts the in-process collapse rules raise with {@code settings} on the run's recorded metrics: the samples
   * of each step fed to a fresh {@link org.splinewatch.alerts.CollapseDetector} in step order, as the metrics actor
   * feeds them live (one step's samples at a time). So thresholds can be tuned on finished runs without training them
   * again.
   */
  public static RunData replay(RunData run, AlertSettings settings, int classes) {
    var detector = new CollapseDetector(settings, run.runId(), classes);
    List<RunData.Alert> alerts = new ArrayList<>();
    for (var step : samplesByStep(run).values()) {
      for (Alert a : detector.observe(step)) {
        if (a.firing()) {
          alerts.add(new RunData.Alert(a.step(), a.rule(), a.severity(), a.sentence()));
        }
      }
    }
    return new RunData(run.dir(), run.runId(), run.config(), run.series(), alerts, run.pictures(), run.runEnds(),
        run.problems(), run.notes());
  }

  /**
   * The run's samples grouped by step, in step order, as the metrics actor received them live: one per series and
   * step, the last written. A resumed run snapshots its checkpoint's step again, so a series can hold that step twice
   * (a step of the trajectory, not two breaches); the live detector, primed without it, saw it once.
   */
  private static TreeMap<Long, List<Sample>> samplesByStep(RunData run) {
    TreeMap<Long, List<Sample>> bySteps = new TreeMap<>();
    for (RunData.Series s : run.series().values()) {
      long latest = Long.MIN_VALUE; // the points are in write order: the later one of a step wins
      for (double[] p : s.points()) {
        long step = (long) p[0];
        Sample sample = new Sample(s.name(), s.labels(), p[1], step, 0);
        List<Sample> at = bySteps.computeIfAbsent(step, k -> new ArrayList<>());
        int earlier = -1;
        for (int i = 0; step <= latest && i < at.size() && earlier < 0; i++) { // a step seen before: rare
          earlier = at.get(i).name().equals(s.name()) && at.get(i).labels().equals(s.labels()) ? i : -1;
        }
        if (earlier >= 0) {
          at.set(earlier, sample);
        } else {
          at.add(sample);
        }
        latest = Math.max(latest, step);
      }
    }
    return bySteps;
  }

  /**
   * Brings a resumed run's fresh {@code detector} to where the run's rules stood at its checkpoint's {@code step}:
   * the recorded samples up to it, the step's own included, fed in step order (reference maxima, consecutive counts,
   * firing states), their alerts discarded (they are in {@code events.jsonl} already). The resumed run snapshots that
   * step again: its samples of a series {@link #seriesAt} lists must not be fed a second time (a breach counted twice,
   * an alert the step fired raised anew). Returns the alerts still firing, the last firing alert of each such rule, so
   * the resumed run can say so once instead of raising them anew later.
   */
  public static List<Alert> prime(CollapseDetector detector, RunData run, long step) {
    Map<String, Alert> lastFired = new LinkedHashMap<>();
    for (List<Sample> samples : samplesByStep(run).headMap(step, true).values()) {
      for (Alert a : detector.observe(samples)) {
        if (a.firing()) {
          lastFired.put(a.rule(), a);
        }
      }
    }
    return lastFired.values().stream().filter(a -> detector.firing(a.rule())).toList();
  }

  /**
   * The series ({@link RunData#seriesKey}) with a recorded sample at {@code step}: those {@link #prime} fed at it.
   */
  public static Set<String> seriesAt(RunData run, long step) {
    Set<String> keys = new java.util.HashSet<>();
    run.series().forEach((key, s) -> {
      if (s.points().stream().anyMatch(p -> (long) p[0] == step)) {
        keys.add(key);
      }
    });
    return keys;
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
    // the PyTorch example's --collapse-at S (an HTTP run): every unit of the representation switched off at step S
    if (s.path("collapse_at").asLong(0) > 0) {
      parts.add("representation switched off");
    }
    // other ablation options the trainer recorded (--ema-tau, the other VICReg coefficients, a nonzero variance one)
    for (JsonNode o : s.path("ablations")) {
      String opt = o.asText();
      boolean named = opt.equals("--no-stop-gradient") || opt.equals("--no-predictor")
          || (opt.equals("--vicreg-std-coeff") && parts.contains("variance coefficient 0"));
      if (!named) {
        parts.add(opt.replaceFirst("^--", ""));
      }
    }
    return String.join(", ", parts);
  }

  /** As {@link #markdown(List, String, double, java.util.Set)} with the tuning seeds 42 and 7. */
  public static String markdown(List<Row> rows, String layer, double drop) {
    return markdown(rows, layer, drop, Set.of(42L, 7L));
  }

  /** Snapshots after the onset within which the goal wants a critical alert. */
  public static final int GOAL_SNAPSHOTS = 2;

  /**
   * A Markdown table of the rows and a closing summary: alerts before the drop, alerts at all, false alarms; then one
   * line per set (tuning: MNIST runs of {@code tuningSeeds}; evaluation: every other run) counting the runs that meet
   * the goal (a critical alert within {@link #GOAL_SNAPSHOTS} snapshots of the onset and before the kNN drop; healthy
   * runs silent).
   */
  public static String markdown(List<Row> rows, String layer, double drop, Set<Long> tuningSeeds) {
    return markdown(rows, layer, drop, tuningSeeds, Set.of("mnist"));
  }

  /**
   * As {@link #markdown(List, String, double, Set)}, with the tuning set the runs of {@code tuningSeeds} on
   * {@code tuningDatasets}.
   */
  public static String markdown(List<Row> rows, String layer, double drop, Set<Long> tuningSeeds,
      Set<String> tuningDatasets) {
    return markdown(rows, layer, drop, tuningSeeds, tuningDatasets, DropReference.BEST_SO_FAR);
  }

  /** As {@link #markdown(List, String, double, Set, Set)}, for rows whose drops were measured from {@code reference}. */
  public static String markdown(List<Row> rows, String layer, double drop, Set<Long> tuningSeeds,
      Set<String> tuningDatasets, DropReference reference) {
    return markdown(rows, layer, drop, tuningSeeds, tuningDatasets, reference, List.of());
  }

  /**
   * {@code --drop} in accuracy points as given: "5 points" for 0.05, "2.5 points" for 0.025 (a whole number of points
   * rounded 0.025 to "3 points" and 0.001 to "0 points").
   */
  static String points(double drop) {
    String p = java.math.BigDecimal.valueOf(drop).movePointRight(2).stripTrailingZeros().toPlainString();
    return p + (p.equals("1") ? " point" : " points");
  }

  /**
   * As {@link #markdown(List, String, double, Set, Set, DropReference)}, then a line saying how many run directories
   * were skipped (counted nowhere above) and one line for each with its reason.
   */
  public static String markdown(List<Row> rows, String layer, double drop, Set<Long> tuningSeeds,
      Set<String> tuningDatasets, DropReference reference, List<Skipped> skipped) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "kNN drop: first snapshot from the onset on where the kNN accuracy of %s is"
        + " %s below %s; onset: --ablate-from (0 for an"
        + " ablation from the start), or an HTTP run's --collapse-at S (the PyTorch example's injected collapse from"
        + " step S); after onset: first critical alert − onset; before drop: kNN drop − first"
        + " critical alert (positive: the alert came first)%n%n", layer, points(drop),
        reference == DropReference.ONSET ? "its best from the onset snapshot on (--drop-reference onset: accuracy"
            + " lost before the onset is not counted; not the goal's definition)"
            : "its best so far (the untrained network's included)"));
    sb.append("| run | method | induced collapse | onset | kNN first → best → last | kNN drop at | first alerts "
        + "(rule@step, severity) | first critical | after onset | before drop | outcome |\n"
        + "|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      String knn = r.knn().isEmpty() ? "no kNN series" : String.format(Locale.ROOT, "%.3f → %.3f → %.3f",
          r.knn().get(0)[1], r.knn().stream().mapToDouble(p -> p[1]).filter(Double::isFinite).max().orElse(Double.NaN),
          r.knn().get(r.knn().size() - 1)[1]);
      List<String> alerts = r.firstAlerts().stream().map(a -> a.rule() + "@" + a.step()
          + (a.severity().isEmpty() ? "" : " " + a.severity())).toList();
      OptionalLong critical = r.firstCriticalStep();
      String afterOnset = "—";
      String beforeDrop = "—";
      if (r.induced() && critical.isPresent()) {
        long delay = critical.getAsLong() - r.onsetStep().orElse(0);
        double snapshots = r.snapshotsBetween(r.onsetStep().orElse(0), critical.getAsLong());
        // before the onset: a false alarm of the healthy phase (it read "-200 (0.0 snapshots)")
        afterOnset = delay + (delay < 0 ? " (before the onset)" : Double.isFinite(snapshots)
            && r.snapshotIntervals().stream().allMatch(i -> i.every() > 0)
            ? String.format(Locale.ROOT, " (%.1f snapshots)", snapshots) : "");
        beforeDrop = r.dropStep().isPresent() ? String.valueOf(r.dropStep().getAsLong() - critical.getAsLong())
            : "no drop";
      }
      sb.append("| ").append(r.runId()).append(" | ").append(r.method()).append(" | ")
          .append(r.induced() ? r.ablation() : "—").append(" | ")
          .append(r.onsetStep().isPresent() ? String.valueOf(r.onsetStep().getAsLong()) : "—").append(" | ")
          .append(knn).append(" | ")
          .append(r.dropStep().isPresent() ? String.valueOf(r.dropStep().getAsLong()) : "—").append(" | ")
          .append(alerts.isEmpty() ? "none" : String.join(", ", alerts)).append(" | ")
          .append(critical.isPresent() ? String.valueOf(critical.getAsLong()) : "none").append(" | ")
          .append(afterOnset).append(" | ").append(beforeDrop).append(" | ").append(r.verdict())
          .append(" |\n");
    }
    List<Row> induced = rows.stream().filter(Row::induced).toList();
    List<Row> healthy = rows.stream().filter(r -> !r.induced()).toList();
    long before = induced.stream().filter(Row::leadsOrSilent).count();
    long alerted = induced.stream().filter(r -> r.firstAlertStep().isPresent()).count();
    long falseAlarms = healthy.stream().filter(r -> !r.leadsOrSilent()).count();
    long diverged = healthy.stream().filter(r -> r.divergedStep().isPresent()).count();
    sb.append(String.format(Locale.ROOT, "%ninduced collapses alerted before their accuracy drop: %d of %d (alerted at"
        + " all: %d); healthy runs with a false alarm: %d of %d%s%n", before, induced.size(), alerted, falseAlarms,
        healthy.size(), diverged == 0 ? "" : " (" + diverged + " of them diverged: an alert from the step of the"
            + " non-finite loss on is right, not a false alarm)"));
    for (String set : List.of("tuning", "evaluation")) {
      List<Row> in = rows.stream().filter(r -> set.equals(tuning(r, tuningSeeds, tuningDatasets) ? "tuning"
          : "evaluation")).toList();
      List<Row> ind = in.stream().filter(Row::induced).toList();
      List<Row> ok = in.stream().filter(r -> !r.induced()).toList();
      sb.append(String.format(Locale.ROOT, "%s set (%s): induced collapses alerted critical within %d snapshots of the"
          + " onset and before the kNN drop: %d of %d (critical at all: %d, before the drop: %d); healthy runs with a"
          + " false alarm: %d of %d%n", set, set.equals("tuning") ? datasetNames(tuningDatasets) + ", seeds "
              + seedList(tuningSeeds) : "every other run", GOAL_SNAPSHOTS,
          ind.stream().filter(r -> r.meetsGoal(GOAL_SNAPSHOTS)).count(), ind.size(),
          ind.stream().filter(r -> r.firstCriticalStep().isPresent()).count(),
          ind.stream().filter(r -> r.firstCriticalStep().isPresent() && r.criticalBeforeOnset().isEmpty()
              && (r.dropStep().isEmpty() || r.firstCriticalStep().getAsLong() < r.dropStep().getAsLong())).count(),
          ok.stream().filter(r -> !r.meetsGoal(GOAL_SNAPSHOTS)).count(), ok.size()));
    }
    if (!skipped.isEmpty()) {
      sb.append(String.format(Locale.ROOT, "%nskipped, incomplete and not counted above: %d run director%s%n",
          skipped.size(), skipped.size() == 1 ? "y" : "ies"));
      skipped.forEach(k -> sb.append(k.line()).append('\n'));
    }
    return sb.toString();
  }

  private static boolean tuning(Row r, Set<Long> tuningSeeds, Set<String> tuningDatasets) {
    return r.seed().isPresent() && tuningSeeds.contains(r.seed().getAsLong()) && tuningDatasets.contains(r.dataset());
  }

  /** The seeds in ascending order, separated by commas: "7, 42" (the line printed the set itself, "[7, 42]"). */
  private static String seedList(Set<Long> seeds) {
    return new TreeSet<>(seeds).stream().map(String::valueOf).collect(Collectors.joining(", "));
  }

  /** "MNIST" for the default tuning set's one data set, else the names as given, sorted. */
  private static String datasetNames(Set<String> datasets) {
    return datasets.equals(Set.of("mnist")) ? "MNIST" : String.join(" and ", new TreeSet<>(datasets));
  }
}
