package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The live page's charts of a long run are thinned; the report's are not; a divergence and sparse series survive. */
class ChartThinningTest {
  /** The title of a run without config.json's loss chart (one per method: ReportWriter.lossTitle). */
  private static final String LOSS = "Training loss, method not recorded";

  private static RunData longRun() {
    Map<String, RunData.Series> series = new TreeMap<>();
    Points loss = new Points();
    long order = 0;
    for (long step = 10; step <= 1_000_000; step += 10) {
      loss.add(new double[] {step, step == 523_450 ? Double.NaN : 1.0 / step, 0, order++});
    }
    series.put("loss", new RunData.Series("splinewatch_training_loss", Map.of(), loss));
    // regions of two planes: plane 0 every 100 steps, plane 1 at 5 steps only (an analyzer that dropped the rest)
    Points plane0 = new Points();
    Points plane1 = new Points();
    for (long step = 0; step <= 1_000_000; step += 100) {
      plane0.add(new double[] {step, 500, 0, order++});
    }
    for (long step : new long[] {0, 100, 777_700, 777_800, 1_000_000}) {
      plane1.add(new double[] {step, 300, 0, order++});
    }
    series.put("r0", new RunData.Series("splinewatch_regions", Map.of("plane", "0", "layer", "all"), plane0));
    series.put("r1", new RunData.Series("splinewatch_regions", Map.of("plane", "1", "layer", "all"), plane1));
    return new RunData(Path.of("long"), "long", Map.of(), series, List.of(), Map.of(), List.of(), List.of());
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> chart(Map<String, Object> data, String title) {
    return ((List<Map<String, Object>>) data.get("charts")).stream().filter(c -> c.get("title").equals(title))
        .findFirst().orElseThrow();
  }

  @SuppressWarnings("unchecked")
  private static List<Object> values(Map<String, Object> chart, int series) {
    return java.util.Arrays.asList((Object[]) ((List<Map<String, Object>>) chart.get("series")).get(series)
        .get("values"));
  }

  @Test
  void aLongRunsLiveChartsAreThinnedKeepingEndsDivergenceAndSparseSeries() {
    RunData run = longRun();
    Map<String, Object> live = ReportWriter.data(List.of(run), false, 1000);
    Map<String, Object> loss = chart(live, LOSS);
    List<Long> x = (List<Long>) loss.get("x");
    assertTrue(x.size() >= 1000 && x.size() <= 1002, "steps kept: " + x.size());
    assertEquals(10L, x.get(0));
    assertEquals(1_000_000L, x.get(x.size() - 1));
    assertTrue(values(loss, 0).contains("NaN") && x.contains(523_450L), "the divergence is kept");
    for (int i = 1; i < x.size(); i++) {
      assertTrue(x.get(i) > x.get(i - 1), "in order");
    }
    Map<String, Object> regions = chart(live, "Linear regions per plane");
    List<Long> rx = (List<Long>) regions.get("x");
    assertTrue(rx.size() <= 1010, "steps kept: " + rx.size());
    List<Long> plane1 = new ArrayList<>();
    List<Object> v1 = values(regions, 1);
    for (int i = 0; i < rx.size(); i++) {
      if (v1.get(i) != null) {
        plane1.add(rx.get(i));
      }
    }
    // 100 and 777,700 share a bucket with a later sample of their series (its last there is kept): three of five
    assertTrue(plane1.containsAll(List.of(0L, 777_800L, 1_000_000L)) && plane1.size() >= 3, plane1.toString());
    // the report keeps every step
    Map<String, Object> report = ReportWriter.data(List.of(run), false);
    assertEquals(100_000, ((List<Long>) chart(report, LOSS).get("x")).size());
    // fewer steps than twice the buckets: sent whole
    assertEquals(100_000, ((List<Long>) chart(ReportWriter.data(List.of(run), false, 50_000), LOSS)
        .get("x")).size());
  }
}
