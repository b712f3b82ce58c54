package org.splinewatch.alerts;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.splinewatch.snapshot.Sample;

/**
 * The in-process collapse rules of metrics.md §8.1, each a two-threshold state machine per series: a rule fires after
 * {@code n-fire} consecutive breaching snapshots and resolves after {@code n-clear} consecutive clear ones; a NaN value
 * leaves the state unchanged. Feed it the samples of one analysis at a time ({@link #observe}); it returns the state
 * changes. The severities below are those of the default {@code stop-on}; a run's severity of a rule is
 * {@link #severity}: critical exactly when the rule is in its {@code stop-on}. Rules:
 * <ul>
 *   <li>{@code std_collapse} (critical): {@code std_normalized < min(0.2, 0.25·b)}, clear above
 *       {@code min(0.3, 0.35·b)}; {@code b} is the series' median over its first five snapshots from step
 *       {@code warmup-steps} (100) on (steps 100–500 at the default interval); until then {@code b = 1} on
 *       {@code proj}/{@code pred} layers (whose {@code b} never drops below 1, so a collapse during the baseline
 *       window is still caught) and other layers are not evaluated.</li>
 *   <li>{@code dim_collapse} (critical): {@code rankme_ratio < 0.05} or {@code rankme < 0.5·max(rankme so far)}, the
 *       maximum taken over the snapshots from step {@code warmup-steps} on (the untrained network's rank is not a
 *       reference: a healthy SimCLR projector drops from about 74 at step 0 to about 41 at step 100 on MNIST, and
 *       healthy SimSiam's from 74 to 27 by step 50 before it rises again); or a sudden drop: {@code rankme <
 *       rankme-sudden-fire·max(rankme of the previous rankme-sudden-window snapshots)}. It fires after
 *       {@code rankme-n-fire} breaching snapshots.</li>
 *   <li>{@code knn_chance} (warning): {@code knn_accuracy < 1.5/C}, clear above {@code 2/C}.</li>
 *   <li>{@code region_drop} (warning): {@code regions < 0.5·max(regions over the last 10 snapshots)} on a plane,
 *       from step {@code warmup-steps} on (the untrained network's partition is not a reference).</li>
 *   <li>{@code collapse_with_region_drop} (critical): {@code region_drop} on some plane while {@code std_collapse} or
 *       {@code dim_collapse} breaches on some layer (region drops alone are expected for self-distillation).</li>
 *   <li>{@code divergence} (critical): a non-finite training loss; fires at once.</li>
 *   <li>{@code dead_representation} (critical): more than {@code dead-rows-fire} (a tenth) of the probe embeddings on a
 *       layer are exactly zero (every ReLU of the layer off: the network has died, as VICReg without its variance
 *       term does on MNIST); clear below {@code dead-rows-clear}. Healthy runs have none, so it fires on the first
 *       such snapshot ({@code dead-rows-n-fire = 1}).</li>
 * </ul>
 */
public final class CollapseDetector {
  public static final List<String> RULES = List.of("std_collapse", "dim_collapse", "knn_chance", "region_drop",
      "collapse_with_region_drop", "divergence", "dead_representation");

  private final AlertSettings s;
  private final String run;
  private final int classes;
  private final Map<String, Machine> machines = new HashMap<>();
  private final Map<String, List<Double>> stdHistory = new HashMap<>();
  private final Map<String, Double> rankMeMax = new HashMap<>();
  private final Map<String, ArrayWindow> rankMeRecent = new HashMap<>();
  private final Map<String, ArrayWindow> regionWindows = new HashMap<>();
  private final Map<String, Boolean> lastBreach = new HashMap<>();

  public CollapseDetector(AlertSettings settings, String run, int classes) {
    this.s = settings;
    this.run = run;
    this.classes = classes;
  }

  /** Consecutive breaches of a rule, the maximum over its series (exported as a gauge). */
  public int consecutiveBreaches(String rule) {
    int c = 0;
    for (Machine m : machines.values()) {
      if (m.rule.equals(rule)) {
        c = Math.max(c, m.fire);
      }
    }
    return c;
  }

  /**
   * A rule's severity for this run: {@code critical} when it is in {@code stop-on} (it stops the run with
   * {@code --early-stop stop}, and Alertmanager routes it to the stop webhook), {@code warning} otherwise. So the
   * exported label, the console and the routing agree with what can stop the run.
   */
  public String severity(String rule) {
    return s.stopOn().contains(rule) ? "critical" : "warning";
  }

  /** Whether any series of the rule is firing. */
  public boolean firing(String rule) {
    return machines.values().stream().anyMatch(m -> m.rule.equals(rule) && m.firing);
  }

  /** Evaluates the rules on the values of one analysis (one snapshot of one analyzer, or training scalars). */
  public List<Alert> observe(List<Sample> values) {
    List<Alert> out = new ArrayList<>();
    Map<String, Double> byKey = new HashMap<>();
    for (Sample v : values) {
      byKey.put(v.name() + v.labels().getOrDefault("layer", ""), v.value());
    }
    for (Sample v : values) {
      String layer = v.labels().getOrDefault("layer", "");
      switch (v.name()) {
        case "splinewatch_training_loss" -> {
          if (!Double.isFinite(v.value())) {
            step(out, "divergence", severity("divergence"), Map.of(), v.step(), true, false, 1,
                Map.of("loss", v.value()), "the training loss became " + v.value() + " at step " + v.step());
          }
        }
        case "splinewatch_embedding_std_normalized" -> std(out, v, layer);
        case "splinewatch_embedding_zero_rows_ratio" -> {
          if (!Double.isNaN(v.value())) {
            step(out, "dead_representation", severity("dead_representation"), Map.of("layer", layer), v.step(),
                v.value() > s.deadRowsFire(), v.value() < s.deadRowsClear(), s.deadRowsNFire(),
                Map.of("zero_rows_ratio", v.value()),
                String.format(Locale.ROOT, "representation died on layer %s: %.0f %% of the probe embeddings are"
                    + " exactly zero", layer, 100 * v.value()));
          }
        }
        case "splinewatch_embedding_rankme" -> rankMe(out, v, layer,
            byKey.getOrDefault("splinewatch_embedding_rankme_ratio" + layer, Double.NaN));
        case "splinewatch_knn_accuracy_ratio" -> {
          if (!Double.isNaN(v.value())) {
            step(out, "knn_chance", severity("knn_chance"), Map.of("layer", layer), v.step(),
                v.value() < s.knnChanceFire() / classes,
                v.value() > s.knnChanceClear() / classes, s.nFire(), Map.of("knn_accuracy", v.value()),
                String.format(Locale.ROOT, "kNN accuracy on layer %s is %.3f, near chance (1/%d)", layer, v.value(),
                    classes));
          }
        }
        case "splinewatch_regions" -> {
          if ("all".equals(layer)) {
            regions(out, v);
          }
        }
        default -> {
        }
      }
    }
    return out;
  }

  private void std(List<Alert> out, Sample v, String layer) {
    if (Double.isNaN(v.value())) {
      return;
    }
    List<Double> hist = stdHistory.computeIfAbsent(layer, k -> new ArrayList<>());
    if (v.step() >= s.warmupSteps() && hist.size() < 5) {
      hist.add(v.value());
    }
    boolean head = layer.equals("proj") || layer.equals("pred");
    double b;
    if (hist.size() == 5) {
      double[] base = hist.stream().mapToDouble(Double::doubleValue).toArray();
      Arrays.sort(base);
      // projector/predictor outputs are near 1 when healthy: never let a baseline taken during an early collapse
      // lower their threshold below the absolute one (the Prometheus mirror uses the absolute 0.2 there too)
      b = head ? Math.max(1, base[2]) : base[2];
    } else if (head) {
      b = 1;
    } else {
      return;
    }
    double fire = Math.min(s.stdFire(), s.stdFireRelative() * b);
    double clear = Math.min(s.stdClear(), s.stdClearRelative() * b);
    boolean breach = v.value() < fire;
    lastBreach.put("std_collapse" + layer, breach);
    step(out, "std_collapse", severity("std_collapse"), Map.of("layer", layer), v.step(), breach,
        v.value() > clear, s.nFire(),
        Map.of("std_normalized", v.value(), "baseline", b, "threshold", fire),
        String.format(Locale.ROOT, "embedding spread collapsed on layer %s: std of l2-normalised embeddings %.3f"
            + " < %.3f (baseline %.3f)", layer, v.value(), fire, b));
  }

  private void rankMe(List<Alert> out, Sample v, String layer, double ratio) {
    if (Double.isNaN(v.value())) {
      return;
    }
    // the untrained network has an unrepresentatively high rank (training compresses healthy projectors too), so
    // the running best starts at warmup-steps
    boolean reference = v.step() >= s.warmupSteps();
    double max = reference ? Math.max(rankMeMax.getOrDefault(layer, 0.0), v.value()) : Double.NaN;
    if (reference) {
      rankMeMax.put(layer, max);
    }
    boolean drop = reference && v.value() < s.rankMeDropFire() * max;
    // a sudden drop: below rankme-sudden-fire x the maximum of the previous rankme-sudden-window snapshots. A collapse
    // switched on mid-run loses 40-70 % of the projector's RankMe within one snapshot; healthy training compresses it
    // by a few percent per snapshot (SimCLR 41 -> 30 over 400 steps), which the best-so-far rule would flag in a long run
    boolean sudden = false;
    if (reference) {
      ArrayWindow recent = rankMeRecent.computeIfAbsent(layer, k -> new ArrayWindow(s.rankMeSuddenWindow()));
      sudden = recent.n > 0 && v.value() < s.rankMeSuddenFire() * recent.max();
      recent.add(v.value());
    }
    boolean breach = (!Double.isNaN(ratio) && ratio < s.rankMeRatioFire()) || drop || sudden;
    boolean clear = (Double.isNaN(ratio) || ratio > s.rankMeRatioClear())
        && (!reference || v.value() > s.rankMeDropClear() * max);
    lastBreach.put("dim_collapse" + layer, breach);
    Map<String, Double> vals = new LinkedHashMap<>();
    vals.put("rankme", v.value());
    vals.put("rankme_max", max);
    if (!Double.isNaN(ratio)) {
      vals.put("rankme_ratio", ratio);
    }
    vals.put("sudden", sudden ? 1.0 : 0.0);
    step(out, "dim_collapse", severity("dim_collapse"), Map.of("layer", layer), v.step(), breach, clear,
        s.rankMeNFire(), vals,
        String.format(Locale.ROOT, "dimensional collapse on layer %s: RankMe %.1f (best %.1f, ratio %.3f)", layer,
            v.value(), max, ratio));
  }

  private void regions(List<Alert> out, Sample v) {
    String plane = v.labels().getOrDefault("plane", "");
    // as for RankMe, the untrained network's partition is no reference: every healthy self-supervised run merges
    // 55-70 % of those regions in its first few hundred steps (README, Collapse alerts)
    if (v.step() < s.warmupSteps()) {
      return;
    }
    ArrayWindow w = regionWindows.computeIfAbsent(plane, k -> new ArrayWindow(s.regionWindow()));
    w.add(v.value());
    double max = w.max();
    boolean breach = v.value() < s.regionDropFire() * max;
    boolean clear = v.value() > s.regionDropClear() * max;
    Map<String, Double> vals = Map.of("regions", v.value(), "recent_max", max);
    step(out, "region_drop", severity("region_drop"), Map.of("plane", plane), v.step(), breach, clear, s.nFire(), vals,
        String.format(Locale.ROOT, "region count on plane %s fell to %.0f (recent maximum %.0f)", plane, v.value(),
            max));
    boolean embeddingBreach = lastBreach.entrySet().stream().anyMatch(e -> e.getValue()
        && (e.getKey().startsWith("std_collapse") || e.getKey().startsWith("dim_collapse")));
    step(out, "collapse_with_region_drop", severity("collapse_with_region_drop"), Map.of("plane", plane), v.step(),
        breach && embeddingBreach,
        clear || !embeddingBreach, s.nFire(), vals,
        String.format(Locale.ROOT, "collapse: region count on plane %s fell to %.0f (recent maximum %.0f) while the"
            + " embedding spread or rank collapsed", plane, v.value(), max));
  }

  private void step(List<Alert> out, String rule, String severity, Map<String, String> series, long stepNo,
      boolean breach, boolean clear, int nFire, Map<String, Double> values, String sentence) {
    String key = rule + new TreeMap<>(series);
    Machine m = machines.computeIfAbsent(key, k -> new Machine(rule));
    if (!m.firing) {
      m.fire = breach ? m.fire + 1 : 0;
      if (m.fire >= nFire) {
        m.firing = true;
        m.clear = 0;
        out.add(new Alert(rule, severity, true, run, stepNo, series, values,
            sentence + " (" + m.fire + " consecutive snapshots, step " + stepNo + ")"));
      }
    } else {
      m.clear = clear ? m.clear + 1 : 0;
      if (m.clear >= s.nClear()) {
        m.firing = false;
        m.fire = 0;
        out.add(new Alert(rule, severity, false, run, stepNo, series, values, rule + " resolved at step " + stepNo));
      }
    }
  }

  private static final class Machine {
    final String rule;
    int fire;
    int clear;
    boolean firing;

    Machine(String rule) {
      this.rule = rule;
    }
  }

  /** The last {@code size} values. */
  private static final class ArrayWindow {
    final double[] v;
    int n;

    ArrayWindow(int size) {
      v = new double[size];
    }

    void add(double x) {
      v[n % v.length] = x;
      n++;
    }

    double max() {
      double m = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < Math.min(n, v.length); i++) {
        m = Math.max(m, v[i]);
      }
      return m;
    }
  }
}
