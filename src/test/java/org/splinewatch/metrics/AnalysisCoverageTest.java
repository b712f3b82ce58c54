package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splinewatch.snapshot.MetricFamily;

class AnalysisCoverageTest {
  @Test
  void analysedOverAnalysedPlusDroppedPlusFailed() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Timer regions = Timer.builder(MetricFamily.ANALYSIS_SECONDS.meterName()).tags("run", "r", "analyzer", "regions")
        .register(registry);
    for (int i = 0; i < 18; i++) {
      regions.record(Duration.ofMillis(5));
    }
    Counter.builder(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.meterName()).tags("run", "r", "analyzer", "regions")
        .register(registry).increment(18);
    Counter.builder(MetricFamily.ANALYSIS_FAILURES_TOTAL.meterName()).tags("run", "r", "analyzer", "regions")
        .register(registry).increment(1);
    Timer embedding = Timer.builder(MetricFamily.ANALYSIS_SECONDS.meterName()).tags("run", "r", "analyzer",
        "embedding").register(registry);
    for (int i = 0; i < 37; i++) {
      embedding.record(Duration.ofMillis(1));
    }
    Counter.builder(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.meterName()).tags("run", "r", "analyzer", "none")
        .register(registry);
    AnalysisCoverage c = AnalysisCoverage.of(registry);
    assertEquals("analysed snapshots: embedding 37/37, regions 18/37 (49 %: 18 dropped, 1 failed)", c.describe());
    assertEquals(Map.of("analysed", 18L, "offered", 37L, "dropped", 18L, "failed", 1L), c.event().get("regions"));
    assertEquals("", AnalysisCoverage.of(new SimpleMeterRegistry()).describe());
  }

  @Test
  void snapshotsLeftByAnEarlyEndAreOfferedUnanalysedAndNamed() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Timer regions = Timer.builder(MetricFamily.ANALYSIS_SECONDS.meterName()).tags("run", "r", "analyzer", "regions")
        .register(registry);
    for (int i = 0; i < 3; i++) {
      regions.record(Duration.ofMillis(5));
    }
    Counter.builder(MetricFamily.SNAPSHOTS_UNANALYSED_TOTAL.meterName()).tags("run", "r", "analyzer", "regions")
        .register(registry).increment(9);
    Timer embedding = Timer.builder(MetricFamily.ANALYSIS_SECONDS.meterName()).tags("run", "r", "analyzer",
        "embedding").register(registry);
    for (int i = 0; i < 12; i++) {
      embedding.record(Duration.ofMillis(1));
    }
    AnalysisCoverage c = AnalysisCoverage.of(registry);
    assertEquals("analysed snapshots: embedding 12/12, regions 3/12 (25 %); left unanalysed when the run ended:"
        + " regions 9", c.describe());
    assertEquals(Map.of("analysed", 3L, "offered", 12L, "unanalysed", 9L), c.event().get("regions"));
    assertEquals(Map.of("analysed", 12L, "offered", 12L), c.event().get("embedding"));
  }

  @Test
  void aRemoteRunsCoverageIsItsLoggedAnalysesOverTheSnapshotsItsTrainerTook() {
    // two series of the analysis-step gauge for regions (say, two label sets) add up; probe analysed none of 10
    AnalysisCoverage c = AnalysisCoverage.fromAnalysisSteps(List.of(Map.entry("regions", 6L),
        Map.entry("regions", 2L), Map.entry("embedding", 10L), Map.entry("probe", 0L)), 10);
    assertEquals("analysed snapshots: embedding 10/10, probe 0/10 (0 %), regions 8/10 (80 %)", c.describe());
    // never more analysed than offered: a count that disagrees shows as full coverage, not above it
    assertEquals(Map.of("analysed", 3L, "offered", 3L),
        AnalysisCoverage.fromAnalysisSteps(List.of(Map.entry("embedding", 3L)), 2).event().get("embedding"));
  }
}
