package org.splinewatch.experiment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.Objects;
import java.util.TreeMap;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.MetricFamily;

/**
 * The six findings (issue 27: F1–F6) decided from the runs of an {@link ExperimentPlan} by rules fixed here, before
 * any run: the thresholds below are constants, the same for every data set, seed and plan, and never tuned on
 * results. Every finding gets the numbers it was decided on (per run, and mean ± sd per method), the rule in words,
 * a verdict ({@link #HOLDS}, {@link #DOES_NOT_HOLD} or {@link #INCONCLUSIVE}) and one sentence on what was seen.
 *
 * <p>Longer than our usual class on purpose: the six rules stand side by side, fixed together before any run, so
 * that one file shows every threshold a verdict depends on.
 */
public final class Findings {
  public static final String HOLDS = "holds";
  public static final String DOES_NOT_HOLD = "does not hold";
  public static final String INCONCLUSIVE = "inconclusive";

  /** F1: an SSL run's linear-probe accuracy is "comparable" when at most this far below the supervised run's. */
  static final double COMPARABLE_ACCURACY = 0.05;
  /** F3: a geometry signal fires when the region count falls below this × its pre-onset median. */
  static final double REGION_DROP = 0.8;
  /** F3: ... or the boundary flip ratio exceeds this × its pre-onset maximum. */
  static final double FLIP_JUMP = 2.0;
  /** F3: accuracy has dropped when the kNN accuracy is this far below its pre-onset median. */
  static final double ACCURACY_DROP = 0.05;
  /** F4, F5, F6: a change counts when it exceeds 10 % of the value it starts from. */
  static final double CHANGE = 0.10;
  /** F4: the last layer's ID "tracks" accuracy when |Spearman ρ| reaches this over at least 6 runs. */
  static final double TRACKING_RHO = 0.5;
  /** F6: the terminal phase starts at the first snapshot whose training loss is below this. */
  static final double TERMINAL_LOSS = 0.01;

  private Findings() {
  }

  /** One decided finding. */
  public record Finding(String id, String claim, String rule, String verdict, String seen,
      Map<String, Object> numbers) {
  }

  /** Decides all six findings from the runs of {@code plan} ({@code data} by run id; missing runs are skipped). */
  public static List<Finding> decide(ExperimentPlan plan, Map<String, RunData> data) {
    return List.of(f1(plan, data), f2(plan, data), f3(plan, data), f4(plan, data), f5(plan, data), f6(plan, data));
  }

  // ---- series access ----

  /**
   * The family's finite values per step, averaged over the series whose labels include {@code labels} (e.g.
   * planes): what the rules decide on.
   */
  static TreeMap<Long, Double> series(RunData r, MetricFamily family, Map<String, String> labels) {
    return series(r, family, labels, false);
  }

  /**
   * As {@link #series(RunData, MetricFamily, Map)} but keeping NaN and infinite values (a step with one averages to
   * a non-finite value): what the report's charts draw, a gap where the value is not a number.
   */
  static TreeMap<Long, Double> samples(RunData r, MetricFamily family, Map<String, String> labels) {
    return series(r, family, labels, true);
  }

  private static TreeMap<Long, Double> series(RunData r, MetricFamily family, Map<String, String> labels,
      boolean nonFinite) {
    TreeMap<Long, double[]> sums = new TreeMap<>();
    for (RunData.Series s : r.series().values()) {
      if (!s.name().equals(family.id()) || !s.labels().entrySet().containsAll(labels.entrySet())) {
        continue;
      }
      for (double[] p : s.points()) {
        if (nonFinite || Double.isFinite(p[1])) {
          double[] acc = sums.computeIfAbsent((long) p[0], k -> new double[2]);
          acc[0] += p[1];
          acc[1]++;
        }
      }
    }
    TreeMap<Long, Double> out = new TreeMap<>();
    sums.forEach((step, acc) -> out.put(step, acc[0] / acc[1]));
    return out;
  }

  static double last(TreeMap<Long, Double> s) {
    return s.isEmpty() ? Double.NaN : s.lastEntry().getValue();
  }

  /**
   * The last value over the first at a step > 0; NaN with fewer than two such steps (a value over itself is no
   * change).
   */
  static double trainedChange(TreeMap<Long, Double> s) {
    SortedMap<Long, Double> trained = s.tailMap(0L, false);
    return trained.size() < 2 ? Double.NaN : last(s) / firstTrained(s);
  }

  /** The first value at a step > 0 (the untrained network at step 0 is no reference). */
  static double firstTrained(TreeMap<Long, Double> s) {
    Map.Entry<Long, Double> e = s.higherEntry(0L);
    return e == null ? Double.NaN : e.getValue();
  }

  private static TreeMap<Long, Double> regions(RunData r) {
    return series(r, MetricFamily.REGIONS, Map.of("layer", "all"));
  }

  private static List<ExperimentPlan.Run> runs(ExperimentPlan plan, ExperimentPlan.Role role) {
    return plan.runs().stream().filter(r -> r.role() == role).toList();
  }

  private static ExperimentPlan.Run methodRun(ExperimentPlan plan, String method, String dataset, int seed) {
    return plan.runs().stream().filter(r -> r.role() == ExperimentPlan.Role.METHOD && r.method().equals(method)
        && r.dataset().equals(dataset) && r.seed() == seed).findFirst().orElse(null);
  }

  // ---- F1 ----

  static Finding f1(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    List<Double> comparableRatios = new ArrayList<>();
    int fewer = 0;
    int notComparable = 0;
    for (String dataset : plan.datasets()) {
      for (String method : ExperimentPlan.SSL) {
        List<Double> ratios = new ArrayList<>();
        for (int seed : plan.seeds()) {
          RunData sup = get(data, methodRun(plan, "supervised", dataset, seed));
          RunData ssl = get(data, methodRun(plan, method, dataset, seed));
          if (sup == null || ssl == null) {
            continue;
          }
          double rs = last(regions(sup));
          double rm = last(regions(ssl));
          double as = last(series(sup, MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, Map.of()));
          double am = last(series(ssl, MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, Map.of()));
          boolean comparable = am >= as - COMPARABLE_ACCURACY;
          double ratio = rm / rs;
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("regions_ssl", rm);
          row.put("regions_supervised", rs);
          row.put("ratio", ratio);
          row.put("probe_accuracy_ssl", am);
          row.put("probe_accuracy_supervised", as);
          row.put("comparable", comparable);
          numbers.put(method + "/" + dataset + "/s" + seed, row);
          if (!Double.isFinite(ratio)) {
            continue;
          }
          ratios.add(ratio);
          if (comparable) {
            comparableRatios.add(ratio);
            fewer += ratio < 1 ? 1 : 0;
          } else {
            notComparable++;
          }
        }
        if (!ratios.isEmpty()) {
          numbers.put(method + "/" + dataset + " ratio mean ± sd", Stats.meanSd(ratios));
        }
      }
    }
    String rule = "Final region count (plane 0, all layers) of each self-supervised run over the supervised run's of"
        + " the same data set and seed. Only pairs whose final linear-probe accuracy is at most "
        + pct(COMPARABLE_ACCURACY) + " below the supervised run's count. Holds if at least 3 comparable pairs exist"
        + " and at least 75 % of them have a ratio below 1; does not hold if at least 75 % have a ratio of 1 or more;"
        + " else inconclusive.";
    int n = comparableRatios.size();
    String verdict = n < 3 ? INCONCLUSIVE : fewer >= 0.75 * n ? HOLDS : n - fewer >= 0.75 * n ? DOES_NOT_HOLD
        : INCONCLUSIVE;
    String seen = String.format(Locale.ROOT, "%d of %d comparable pairs had fewer regions than supervised (ratio"
        + " mean %s); %d pairs were not comparable in accuracy.", fewer, n, fmt(Stats.mean(comparableRatios)),
        notComparable);
    return new Finding("F1", "Self-supervised encoders carve fewer linear regions than supervised ones at comparable"
        + " linear-probe accuracy.", rule, verdict, seen, numbers);
  }

  // ---- F2 ----

  static Finding f2(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    Map<String, List<Double>> countChange = new TreeMap<>();
    Map<String, List<Double>> areaChange = new TreeMap<>();
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.METHOD)) {
      RunData r = get(data, run);
      if (r == null || !ExperimentPlan.SSL.contains(run.method())) {
        continue;
      }
      double c = trainedChange(regions(r));
      double a = trainedChange(series(r, MetricFamily.REGION_AREA_MEAN, Map.of()));
      numbers.put(run.id(), Map.of("region_count_end_over_start", c, "mean_area_end_over_start", a));
      if (Double.isFinite(c) && Double.isFinite(a)) {
        countChange.computeIfAbsent(run.method(), k -> new ArrayList<>()).add(c);
        areaChange.computeIfAbsent(run.method(), k -> new ArrayList<>()).add(a);
      }
    }
    countChange.forEach((m, v) -> numbers.put(m + " count change mean ± sd", Stats.meanSd(v)));
    areaChange.forEach((m, v) -> numbers.put(m + " area change mean ± sd", Stats.meanSd(v)));
    List<Double> contrastiveArea = pooled(areaChange, ExperimentPlan.CONTRASTIVE);
    List<Double> contrastiveCount = pooled(countChange, ExperimentPlan.CONTRASTIVE);
    List<Double> distillationCount = pooled(countChange, ExperimentPlan.DISTILLATION);
    String rule = "Per self-supervised run, region count and mean region area at the last snapshot over the first"
        + " snapshot after step 0. Expansion: contrastive runs (SimCLR, VICReg) have a mean area ratio above 1."
        + " Merging: the mean count ratio of self-distillation runs (BYOL, SimSiam) is below the contrastive runs'."
        + " Holds if both; does not hold if neither; inconclusive if one, or if either group has fewer than 2 runs"
        + " (a run with fewer than two snapshots after step 0 has no change to count).";
    String verdict;
    boolean expands = Stats.mean(contrastiveArea) > 1;
    boolean merges = Stats.mean(distillationCount) < Stats.mean(contrastiveCount);
    if (contrastiveArea.size() < 2 || distillationCount.size() < 2) {
      verdict = INCONCLUSIVE;
    } else {
      verdict = expands && merges ? HOLDS : !expands && !merges ? DOES_NOT_HOLD : INCONCLUSIVE;
    }
    // a ratio of the one snapshot after step 0 to itself would read ×1.00: say that there is nothing to compare
    String contrastive = contrastiveArea.isEmpty() ? "contrastive runs: not enough data"
        : String.format(Locale.ROOT, "%d contrastive runs: mean area ×%s, count ×%s", contrastiveArea.size(),
            fmt(Stats.mean(contrastiveArea)), fmt(Stats.mean(contrastiveCount)));
    String distillation = distillationCount.isEmpty() ? "self-distillation runs: not enough data"
        : String.format(Locale.ROOT, "%d self-distillation runs: count ×%s", distillationCount.size(),
            fmt(Stats.mean(distillationCount)));
    String seen = Character.toUpperCase(contrastive.charAt(0)) + contrastive.substring(1) + "; " + distillation
        + " over training" + (contrastiveArea.isEmpty() || distillationCount.isEmpty() ? " (a run needs two"
        + " snapshots after step 0)" : "") + ".";
    return new Finding("F2", "Contrastive training expands regions (mean area up, count down less); self-distillation"
        + " merges them (count falls most).", rule, verdict, seen, numbers);
  }

  // ---- F3 ----

  /** The first step at or after {@code onset} where the geometry signals fire, or -1. */
  static long geometryDetection(RunData r, long onset) {
    TreeMap<Long, Double> count = regions(r);
    TreeMap<Long, Double> flips = series(r, MetricFamily.BOUNDARY_FLIP_RATIO, Map.of("layer", "all"));
    double countBase = Stats.median(count.headMap(onset, false).tailMap(0L, false).values());
    double flipBase = flips.headMap(onset, false).values().stream().mapToDouble(Double::doubleValue).max()
        .orElse(Double.NaN);
    TreeMap<Long, Boolean> fired = new TreeMap<>();
    count.tailMap(onset, true).forEach((step, v) -> {
      if (v < REGION_DROP * countBase) {
        fired.put(step, true);
      }
    });
    flips.tailMap(onset, true).forEach((step, v) -> {
      if (Double.isFinite(flipBase) && flipBase > 0 && v > FLIP_JUMP * flipBase) {
        fired.put(step, true);
      }
    });
    return fired.isEmpty() ? -1 : fired.firstKey();
  }

  /** The first step at or after {@code onset} where the kNN accuracy has dropped, or -1. */
  static long accuracyDetection(RunData r, long onset) {
    TreeMap<Long, Double> knn = series(r, MetricFamily.KNN_ACCURACY_RATIO, Map.of("layer", "repr"));
    double base = Stats.median(knn.headMap(onset, false).tailMap(0L, false).values());
    for (Map.Entry<Long, Double> e : knn.tailMap(onset, true).entrySet()) {
      if (e.getValue() < base - ACCURACY_DROP) {
        return e.getKey();
      }
    }
    return -1;
  }

  static Finding f3(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    List<Double> leads = new ArrayList<>();
    int earlier = 0;
    int notEarlier = 0;
    int undecided = 0;
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.COLLAPSE)) {
      RunData r = get(data, run);
      if (r == null) {
        continue;
      }
      long geometry = geometryDetection(r, run.onset());
      long accuracy = accuracyDetection(r, run.onset());
      numbers.put(run.id(), Map.of("onset", run.onset(), "geometry_step", geometry, "accuracy_step", accuracy));
      if (geometry >= 0 && accuracy >= 0) {
        leads.add((double) (accuracy - geometry));
      }
      if (geometry < 0 && accuracy < 0) {
        undecided++;
      } else if (geometry >= 0 && (accuracy < 0 || geometry < accuracy)) {
        earlier++;
      } else {
        notEarlier++;
      }
    }
    int falseAlarms = 0;
    int healthy = 0;
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.METHOD)) {
      RunData r = get(data, run);
      if (r != null && ExperimentPlan.SSL.contains(run.method())) {
        healthy++;
        long g = geometryDetection(r, plan.onset());
        falseAlarms += g >= 0 ? 1 : 0;
      }
    }
    numbers.put("healthy runs where the geometry rule fired after the same step", falseAlarms + " of " + healthy);
    numbers.put("geometry's lead in steps where both fired, mean ± sd", Stats.meanSd(leads));
    int decided = earlier + notEarlier;
    String rule = "Collapse ablations switched on at a known step (--ablate-from). Geometry fires at the first snapshot"
        + " from the onset where the region count is below " + REGION_DROP + " × its pre-onset median or the"
        + " boundary flip ratio above " + FLIP_JUMP + " × its pre-onset maximum; accuracy drops at the first snapshot"
        + " where the kNN accuracy is " + pct(ACCURACY_DROP) + " below its pre-onset median. Holds if geometry fires"
        + " strictly earlier (at least one snapshot) in at least 2/3 of the runs where either fired; does not hold if"
        + " it does so in at most 1/3; else inconclusive (also with fewer than 2 such runs). The same geometry rule"
        + " on the healthy runs counts its false alarms.";
    String verdict = decided < 2 ? INCONCLUSIVE : earlier >= 2.0 / 3 * decided ? HOLDS
        : earlier <= decided / 3.0 ? DOES_NOT_HOLD : INCONCLUSIVE;
    String seen = String.format(Locale.ROOT, "Geometry fired before the accuracy dropped in %d of %d collapse runs"
        + " (%d with neither); the geometry rule also fired on %d of %d healthy self-supervised runs.", earlier,
        decided, undecided, falseAlarms, healthy);
    return new Finding("F3", "A representation collapse shows in the region geometry at least one snapshot before the"
        + " linear-probe or kNN accuracy drops.", rule, verdict, seen, numbers);
  }

  // ---- F4 ----

  static Finding f4(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    int hunchbacks = 0;
    int profiles = 0;
    Map<String, List<Double>> idByMethod = new TreeMap<>();
    List<Double> lastId = new ArrayList<>();
    List<Double> accuracy = new ArrayList<>();
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.METHOD)) {
      RunData r = get(data, run);
      if (r == null) {
        continue;
      }
      List<Double> ids = new ArrayList<>();
      for (int layer = 1; ; layer++) {
        TreeMap<Long, Double> id = series(r, MetricFamily.INTRINSIC_DIMENSION, Map.of("layer",
            Integer.toString(layer)));
        if (id.isEmpty()) {
          break;
        }
        ids.add(last(id));
      }
      double out = last(series(r, MetricFamily.INTRINSIC_DIMENSION, Map.of("layer", "out")));
      List<Double> profile = new ArrayList<>(ids);
      if (Double.isFinite(out)) {
        profile.add(out);
      }
      double acc = last(series(r, MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, Map.of()));
      boolean hunch = hunchback(profile);
      numbers.put(run.id(), Map.of("id_per_layer", profile, "hunchback", hunch, "probe_accuracy", acc));
      if (profile.size() >= 3) {
        profiles++;
        hunchbacks += hunch ? 1 : 0;
      }
      // the representation is the encoder's last hidden layer (the plan's encoder has two)
      int repr = plan.hidden().split(",").length;
      if (ids.size() >= repr && Double.isFinite(acc)) {
        lastId.add(ids.get(repr - 1));
        accuracy.add(acc);
        idByMethod.computeIfAbsent(run.method(), k -> new ArrayList<>()).add(ids.get(repr - 1));
      }
    }
    double rho = Stats.spearman(lastId, accuracy);
    numbers.put("spearman(representation ID, probe accuracy)", rho);
    numbers.put("runs in the correlation", lastId.size());
    idByMethod.forEach((m, v) -> numbers.put(m + " representation ID mean ± sd", Stats.meanSd(v)));
    boolean tracks = lastId.size() >= 6 && Math.abs(rho) >= TRACKING_RHO;
    String rule = "Per run, the final TwoNN intrinsic dimension after each layer (hidden layers, then the output). A"
        + " hunchback: the maximum at an interior layer, at least " + pct(CHANGE) + " above both ends. Tracking:"
        + " |Spearman ρ| ≥ " + TRACKING_RHO + " between the representation's ID and the final linear-probe accuracy"
        + " over at least 6 runs. Holds if at least 2/3 of the profiles are hunchbacks and the ID tracks accuracy;"
        + " does not hold if at most 1/3 are and it does not track; else inconclusive (also with fewer than 6 runs,"
        + " where tracking cannot be decided).";
    // with fewer than 6 runs whether the ID tracks accuracy is undecided: neither verdict can be reached
    boolean decidable = lastId.size() >= 6;
    String verdict = profiles == 0 || !decidable ? INCONCLUSIVE : hunchbacks >= 2.0 / 3 * profiles && tracks ? HOLDS
        : hunchbacks <= profiles / 3.0 && !tracks ? DOES_NOT_HOLD : INCONCLUSIVE;
    String seen = String.format(Locale.ROOT, "%d of %d ID profiles rose then fell with depth; %s", hunchbacks,
        profiles, decidable ? String.format(Locale.ROOT, "the representation's ID and accuracy had Spearman ρ = %s"
            + " over %d runs.", fmt(rho), lastId.size()) : String.format(Locale.ROOT, "whether the representation's"
            + " ID tracks accuracy cannot be decided with %d run%s (it needs at least 6).", lastId.size(),
            lastId.size() == 1 ? "" : "s"));
    return new Finding("F4", "Intrinsic dimension rises then falls with depth (a hunchback), and the last layer's ID"
        + " tracks accuracy across methods and seeds.", rule, verdict, seen, numbers);
  }

  static boolean hunchback(List<Double> profile) {
    if (profile.size() < 3) {
      return false;
    }
    int peak = 0;
    for (int i = 1; i < profile.size(); i++) {
      if (profile.get(i) > profile.get(peak)) {
        peak = i;
      }
    }
    double top = profile.get(peak);
    return peak > 0 && peak < profile.size() - 1 && top >= (1 + CHANGE) * profile.get(0)
        && top >= (1 + CHANGE) * profile.get(profile.size() - 1);
  }

  // ---- F5 ----

  /** Whether {@code values} fall, rise, then fall again, each by more than {@link #CHANGE}. */
  static boolean fallRiseFall(List<Double> values) {
    for (int peak = 1; peak < values.size() - 1; peak++) {
      double before = Double.POSITIVE_INFINITY;
      for (int i = 0; i < peak; i++) {
        before = Math.min(before, values.get(i));
      }
      double after = Double.POSITIVE_INFINITY;
      for (int i = peak + 1; i < values.size(); i++) {
        after = Math.min(after, values.get(i));
      }
      double p = values.get(peak);
      if (values.get(0) > (1 + CHANGE) * before && p > (1 + CHANGE) * before && after < p / (1 + CHANGE)
          && before < values.get(0)) {
        return true;
      }
    }
    return false;
  }

  static Finding f5(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    List<Double> migration = new ArrayList<>();
    int phases = 0;
    int migrations = 0;
    int runs = 0;
    String radius = Double.toString(0.1);
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.LONG)) {
      RunData r = get(data, run);
      if (r == null) {
        continue;
      }
      radius = lcRadius(r);
      TreeMap<Long, Double> train = series(r, MetricFamily.LOCAL_COMPLEXITY, Map.of("layer", "all", "points", "train",
          "radius", radius));
      TreeMap<Long, Double> boundary = series(r, MetricFamily.LOCAL_COMPLEXITY, Map.of("layer", "all", "points",
          "boundary", "radius", radius));
      if (train.size() < 4) {
        continue;
      }
      runs++;
      List<Double> smooth = Stats.movingMedian(new ArrayList<>(train.values()));
      boolean frf = fallRiseFall(smooth);
      double ratioStart = firstTrained(boundary) / firstTrained(train);
      double ratioEnd = last(boundary) / last(train);
      boolean migrates = ratioEnd > (1 + CHANGE) * ratioStart;
      phases += frf ? 1 : 0;
      migrations += migrates ? 1 : 0;
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("lc_train_by_step", train);
      row.put("fall_rise_fall", frf);
      row.put("boundary_over_train_start", ratioStart);
      row.put("boundary_over_train_end", ratioEnd);
      numbers.put(run.id(), row);
      migration.add(ratioEnd / ratioStart);
    }
    numbers.put("boundary-over-train ratio, end over start, mean ± sd", Stats.meanSd(migration));
    String rule = "Long supervised runs on a small training subset. Local complexity (all layers, radius " + radius
        + ") at the training points, smoothed by a moving median of 3 snapshots: falls, rises, then falls again,"
        + " each by more than " + pct(CHANGE) + ". Migration: LC near the decision boundary over LC at the training"
        + " points rises by more than " + pct(CHANGE) + " from the first snapshot after step 0 to the last. Holds"
        + " if both in every run; does not hold if neither in any run; else inconclusive (also with no run).";
    String verdict = runs == 0 ? INCONCLUSIVE : phases == runs && migrations == runs ? HOLDS
        : phases == 0 && migrations == 0 ? DOES_NOT_HOLD : INCONCLUSIVE;
    String seen = String.format(Locale.ROOT, "The fall-rise-fall pattern appeared in %d of %d long runs; regions"
        + " migrated towards the decision boundary in %d of %d.", phases, runs, migrations, runs);
    return new Finding("F5", "In long supervised training the local complexity around training data falls, rises, then"
        + " falls again, and regions migrate from the data towards the decision boundary.", rule, verdict, seen,
        numbers);
  }

  /**
   * The phases of a series: the steps where its moving median of 3 turns (a zigzag with a {@link #CHANGE} threshold:
   * a minimum or maximum counts once the series has moved more than 10 % away from it). F5's plot marks them.
   */
  static List<Long> turningPoints(SortedMap<Long, Double> series) {
    List<Long> steps = new ArrayList<>(series.keySet());
    List<Double> v = Stats.movingMedian(new ArrayList<>(series.values()));
    List<Long> out = new ArrayList<>();
    if (v.size() < 3) {
      return out;
    }
    int extreme = 0;
    int direction = 0; // +1 rising (tracking a maximum), −1 falling (tracking a minimum), 0 not yet known
    for (int i = 1; i < v.size(); i++) {
      double e = v.get(extreme);
      double x = v.get(i);
      if (direction >= 0 && x > e || direction <= 0 && x < e) {
        if (direction == 0 && Math.abs(x - v.get(0)) > CHANGE * Math.abs(v.get(0))) {
          direction = x > v.get(0) ? 1 : -1;
        }
        extreme = i;
      } else if (direction != 0 && Math.abs(x - e) > CHANGE * Math.abs(e)) {
        out.add(steps.get(extreme));
        direction = -direction;
        extreme = i;
      }
    }
    return out;
  }

  /** The smaller radius a run's local-complexity series were exported at. */
  static String lcRadius(RunData r) {
    return r.series().values().stream().filter(s -> s.name().equals(MetricFamily.LOCAL_COMPLEXITY.id()))
        .map(s -> s.labels().get("radius")).filter(Objects::nonNull)
        .min(Comparator.comparingDouble(Double::parseDouble)).orElse("0.1");
  }

  // ---- F6 ----

  static Finding f6(ExperimentPlan plan, Map<String, RunData> data) {
    Map<String, Object> numbers = new LinkedHashMap<>();
    List<Double> nc1Change = new ArrayList<>();
    List<Double> dualityChange = new ArrayList<>();
    int decreasing = 0;
    int increasing = 0;
    int reached = 0;
    for (ExperimentPlan.Run run : runs(plan, ExperimentPlan.Role.LONG)) {
      RunData r = get(data, run);
      if (r == null) {
        continue;
      }
      TreeMap<Long, Double> loss = series(r, MetricFamily.TRAINING_LOSS, Map.of());
      Long terminal = loss.entrySet().stream().filter(e -> e.getValue() < TERMINAL_LOSS).map(Map.Entry::getKey)
          .findFirst().orElse(null);
      TreeMap<Long, Double> nc1 = series(r, MetricFamily.NEURAL_COLLAPSE_NC1, Map.of());
      TreeMap<Long, Double> duality = series(r, MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY, Map.of());
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("terminal_phase_from_step", terminal == null ? -1 : terminal);
      if (terminal != null && nc1.ceilingEntry(terminal) != null && nc1.lastKey() > terminal) {
        reached++;
        double start = nc1.ceilingEntry(terminal).getValue();
        double end = last(nc1);
        double dStart = duality.ceilingEntry(terminal) == null ? Double.NaN : duality.ceilingEntry(terminal).getValue();
        double dEnd = last(duality);
        row.put("nc1_terminal_start", start);
        row.put("nc1_end", end);
        row.put("self_duality_terminal_start", dStart);
        row.put("self_duality_end", dEnd);
        nc1Change.add(end / start);
        dualityChange.add(dEnd / dStart);
        if (end < (1 - CHANGE) * start && !(dEnd > dStart)) {
          decreasing++;
        } else if (end > (1 + CHANGE) * start) {
          increasing++;
        }
      }
      numbers.put(run.id(), row);
    }
    numbers.put("NC1 end over terminal start, mean ± sd", Stats.meanSd(nc1Change));
    numbers.put("self-duality end over terminal start, mean ± sd", Stats.meanSd(dualityChange));
    String rule = "Long supervised runs: the terminal phase starts at the first snapshot with training loss below "
        + TERMINAL_LOSS + ". NC1 and the self-duality distance (NC3) of the held-out probes at the end against that"
        + " snapshot. Holds if in every run that reached the terminal phase NC1 fell by more than " + pct(CHANGE)
        + " and self-duality did not rise; does not hold if NC1 rose by more than " + pct(CHANGE) + " in every such"
        + " run; else inconclusive (also when no run reached the terminal phase).";
    String verdict = reached == 0 ? INCONCLUSIVE : decreasing == reached ? HOLDS : increasing == reached
        ? DOES_NOT_HOLD : INCONCLUSIVE;
    String seen = String.format(Locale.ROOT, "%d of %d long runs reached the terminal phase; NC1 fell in %d and rose"
        + " in %d of them.", reached, runs(plan, ExperimentPlan.Role.LONG).size(), decreasing, increasing);
    return new Finding("F6", "Neural collapse: NC1 and the class-mean/classifier alignment measures decrease in the"
        + " terminal phase.", rule, verdict, seen, numbers);
  }

  // ---- small statistics ----

  private static RunData get(Map<String, RunData> data, ExperimentPlan.Run run) {
    return run == null ? null : data.get(run.id());
  }

  private static List<Double> pooled(Map<String, List<Double>> byMethod, List<String> methods) {
    List<Double> out = new ArrayList<>();
    methods.forEach(m -> out.addAll(byMethod.getOrDefault(m, List.of())));
    return out;
  }

  static String fmt(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3g", v) : "n/a";
  }

  private static String pct(double v) {
    return String.format(Locale.ROOT, "%.0f %%", 100 * v);
  }
}
