package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

class LocalComplexityAnalyzerTest {
  @Test
  void classifierSnapshotsGetEveryLayerRadiusAndPointSet() {
    LocalComplexityAnalyzer a = new LocalComplexityAnalyzer(TestSnapshots.run(),
        new LocalComplexitySettings(20, 4, 0.05, 1));
    List<Sample> samples = a.analyze(TestSnapshots.classifier(3, 100));
    List<Sample> lc = samples.stream().filter(s -> s.name().equals(MetricFamily.LOCAL_COMPLEXITY.id())).toList();
    // 2 radii × 2 point sets (test, boundary: the test run has no fit subset) × (2 layers + all)
    assertEquals(12, lc.size());
    assertEquals(Set.of("1", "2", "all"), lc.stream().map(s -> s.labels().get("layer")).collect(Collectors.toSet()));
    assertEquals(Set.of("0.05", "0.5"), lc.stream().map(s -> s.labels().get("radius")).collect(Collectors.toSet()));
    assertEquals(Set.of("test", "boundary"), lc.stream().map(s -> s.labels().get("points"))
        .collect(Collectors.toSet()));
    for (Sample s : samples) {
      assertTrue(Double.isFinite(s.value()) && s.value() >= 0, s.toString());
      assertEquals(100, s.step());
    }
    for (String points : List.of("test", "boundary")) {
      double perLayer = lc.stream().filter(s -> s.labels().get("points").equals(points)
          && s.labels().get("radius").equals("0.5") && !s.labels().get("layer").equals("all"))
          .mapToDouble(Sample::value).sum();
      double all = lc.stream().filter(s -> s.labels().get("points").equals(points)
          && s.labels().get("radius").equals("0.5") && s.labels().get("layer").equals("all"))
          .findFirst().orElseThrow().value();
      assertEquals(perLayer, all, 1e-9, "the total is the sum of the layers");
    }
  }

  @Test
  void boundaryPointsAreTheSmallestLogitMargins() {
    // logits = the input itself: margins |x0 − x1| = 3, 0.1, 1, 0.5
    PiecewiseLinearNet identity = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 2, new float[] {1, 0, 0, 1}, new float[] {0, 0})));
    double[] probes = {3, 0, 0.2, 0.3, 1, 0, 0, 0.5};
    double[] near = LocalComplexityAnalyzer.nearestToDecisionBoundary(identity, probes, 4, 2);
    assertArrayEquals(new double[] {0.2, 0.3, 0, 0.5}, near);
  }
}
