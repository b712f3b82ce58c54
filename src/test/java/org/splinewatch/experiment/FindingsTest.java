package org.splinewatch.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.MetricFamily;

/** The findings' fixed rules on hand-made series whose verdict is known. */
class FindingsTest {
  @Test
  void fallRiseFallNeedsAllThreePhases() {
    assertTrue(Findings.fallRiseFall(List.of(10.0, 6.0, 5.0, 8.0, 9.0, 4.0)));
    assertFalse(Findings.fallRiseFall(List.of(10.0, 8.0, 6.0, 4.0)), "only falls");
    assertFalse(Findings.fallRiseFall(List.of(10.0, 6.0, 9.0, 9.5)), "falls, rises, never falls again");
    assertFalse(Findings.fallRiseFall(List.of(5.0, 8.0, 4.0)), "rises first");
    assertFalse(Findings.fallRiseFall(List.of(10.0, 9.5, 10.2, 9.6)), "changes within 10 % do not count");
  }

  @Test
  void turningPointsMarkTheZigzagsExtremes() {
    // falls to 5 at step 300, rises to 12 at step 600, falls again: turns at 300 and 600 (small wiggles ignored)
    TreeMap<Long, Double> lc = points(100, 10, 200, 7, 300, 5, 400, 5.2, 500, 9, 600, 12, 700, 11.8, 800, 6, 900, 4);
    assertEquals(List.of(300L, 600L), Findings.turningPoints(lc));
    assertEquals(List.of(), Findings.turningPoints(points(100, 10, 200, 9.5, 300, 9.2)), "within 10 %");
  }

  @Test
  void hunchbackPeaksInside() {
    assertTrue(Findings.hunchback(List.of(5.0, 12.0, 6.0)));
    assertFalse(Findings.hunchback(List.of(5.0, 8.0, 12.0)), "peak at the last layer");
    assertFalse(Findings.hunchback(List.of(10.0, 10.5, 6.0)), "peak less than 10 % above the first layer");
    assertFalse(Findings.hunchback(List.of(5.0, 12.0)), "two layers have no interior");
  }

  @Test
  void spearmanOfMonotoneAndReversedRanks() {
    assertEquals(1, Stats.spearman(List.of(1.0, 2.0, 5.0, 9.0), List.of(0.1, 0.2, 0.3, 0.9)), 1e-12);
    assertEquals(-1, Stats.spearman(List.of(1.0, 2.0, 5.0), List.of(3.0, 2.0, 1.0)), 1e-12);
    assertTrue(Double.isNaN(Stats.spearman(List.of(1.0, 2.0), List.of(1.0, 2.0))));
  }

  static RunData run(String id, Map<String, TreeMap<Long, Double>> series) {
    Map<String, RunData.Series> s = new TreeMap<>();
    series.forEach((key, points) -> {
      String name = key.contains("{") ? key.substring(0, key.indexOf('{')) : key;
      Map<String, String> labels = new TreeMap<>();
      if (key.contains("{")) {
        for (String kv : key.substring(key.indexOf('{') + 1, key.length() - 1).split(",")) {
          labels.put(kv.split("=")[0], kv.split("=")[1]);
        }
      }
      List<double[]> pts = new ArrayList<>();
      points.forEach((step, v) -> pts.add(new double[] {step, v}));
      s.put(key, new RunData.Series(name, labels, pts));
    });
    var finished = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode().put("type", "run_finished");
    return new RunData(Path.of(id), id, Map.of(), s, List.of(), Map.of(), List.of(finished), List.of());
  }

  static TreeMap<Long, Double> points(double... stepValue) {
    TreeMap<Long, Double> t = new TreeMap<>();
    for (int i = 0; i < stepValue.length; i += 2) {
      t.put((long) stepValue[i], stepValue[i + 1]);
    }
    return t;
  }

  @Test
  void f1HoldsWhenComparableSelfSupervisedRunsHaveFewerRegions() {
    ExperimentPlan plan = ExperimentPlan.of(true, List.of(1, 2), List.of("mnist"), List.of("supervised", "simclr",
        "vicreg"));
    Map<String, RunData> data = new HashMap<>();
    String regions = MetricFamily.REGIONS.id() + "{layer=all,plane=0}";
    String probe = MetricFamily.LINEAR_PROBE_ACCURACY_RATIO.id() + "{layer=repr}";
    for (int seed : List.of(1, 2)) {
      data.put("supervised-mnist-s" + seed, run("sup", Map.of(regions, points(0, 100, 300, 1000),
          probe, points(300, 0.95))));
      data.put("simclr-mnist-s" + seed, run("simclr", Map.of(regions, points(0, 100, 300, 500),
          probe, points(300, 0.93))));
      data.put("vicreg-mnist-s" + seed, run("vicreg", Map.of(regions, points(0, 100, 300, 700),
          probe, points(300, 0.92))));
    }
    Findings.Finding f = Findings.f1(plan, data);
    assertEquals(Findings.HOLDS, f.verdict(), f.toString());
    // the same counts with the self-supervised accuracy far below: no comparable pair, inconclusive
    data.replaceAll((id, r) -> id.startsWith("supervised") ? r : run(id, Map.of(regions, points(0, 100, 300, 500),
        probe, points(300, 0.5))));
    assertEquals(Findings.INCONCLUSIVE, Findings.f1(plan, data).verdict());
  }

  @Test
  void f3GeometryBeforeAccuracy() {
    String regions = MetricFamily.REGIONS.id() + "{layer=all,plane=0}";
    String knn = MetricFamily.KNN_ACCURACY_RATIO.id() + "{layer=repr}";
    // onset 150: regions fall at 175 (below 0.8 × the pre-onset median 1000), accuracy only at 225
    RunData early = run("c", Map.of(regions, points(0, 50, 50, 1000, 100, 1000, 150, 990, 175, 600, 200, 400, 225, 300),
        knn, points(0, 0.1, 50, 0.8, 100, 0.82, 150, 0.81, 175, 0.80, 200, 0.78, 225, 0.6)));
    assertEquals(175, Findings.geometryDetection(early, 150));
    assertEquals(225, Findings.accuracyDetection(early, 150));
  }

  @Test
  void f2HasNoRatioFromASingleSnapshotAfterStepZero() {
    ExperimentPlan plan = ExperimentPlan.of(true, List.of(1, 2), List.of("mnist"), List.of("simclr", "vicreg",
        "byol", "simsiam"));
    String regions = MetricFamily.REGIONS.id() + "{layer=all,plane=0}";
    String area = MetricFamily.REGION_AREA_MEAN.id() + "{plane=0}";
    Map<String, RunData> one = new HashMap<>();
    Map<String, RunData> two = new HashMap<>();
    for (ExperimentPlan.Run run : plan.runs()) {
      one.put(run.id(), run(run.id(), Map.of(regions, points(0, 100, 300, 500), area, points(0, 1, 300, 2))));
      two.put(run.id(), run(run.id(), Map.of(regions, points(0, 100, 150, 500, 300, 400), area,
          points(0, 1, 150, 2, 300, 3))));
    }
    Findings.Finding f = Findings.f2(plan, one);
    assertEquals(Findings.INCONCLUSIVE, f.verdict(), f.toString());
    assertEquals("Contrastive runs: not enough data; self-distillation runs: not enough data over training (a run"
        + " needs two snapshots after step 0).", f.seen());
    Findings.Finding g = Findings.f2(plan, two);
    assertEquals("4 contrastive runs: mean area ×1.50, count ×0.800; 4 self-distillation runs: count ×0.800 over"
        + " training.", g.seen());
  }

  @Test
  void f4CannotBeDecidedWithFewerThanSixRuns() {
    String probe = MetricFamily.LINEAR_PROBE_ACCURACY_RATIO.id() + "{layer=repr}";
    String id = MetricFamily.INTRINSIC_DIMENSION.id();
    for (List<Integer> seeds : List.of(List.of(1), List.of(1, 2, 3))) {
      ExperimentPlan plan = ExperimentPlan.of(true, seeds, List.of("mnist"), List.of("supervised", "simclr"));
      Map<String, RunData> data = new HashMap<>();
      int i = 0;
      for (ExperimentPlan.Run run : plan.runs()) {
        i++;
        // no hunchback (the ID falls with depth) and one accuracy for every run: the ID does not track it
        data.put(run.id(), run(run.id(), Map.of(id + "{layer=1}", points(300, 10 + i), id + "{layer=2}",
            points(300, 8), id + "{layer=out}", points(300, 5), probe, points(300, 0.9))));
      }
      Findings.Finding f = Findings.f4(plan, data);
      if (seeds.size() == 1) {
        assertEquals(Findings.INCONCLUSIVE, f.verdict(), f.toString());
        assertEquals("0 of 2 ID profiles rose then fell with depth; whether the representation's ID tracks accuracy"
            + " cannot be decided with 2 runs (it needs at least 6).", f.seen());
      } else {
        assertEquals(Findings.DOES_NOT_HOLD, f.verdict(), f.toString());
        assertTrue(f.seen().endsWith("had Spearman ρ = n/a over 6 runs."), f.seen());
      }
    }
  }
}
