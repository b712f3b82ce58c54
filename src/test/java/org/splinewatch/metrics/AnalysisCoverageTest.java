package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
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
    assertEquals("analysed snapshots: embedding 37/37, regions 18/37 (49 %)", c.describe());
    assertEquals(Map.of("analysed", 18L, "offered", 37L), c.event().get("regions"));
    assertEquals("", AnalysisCoverage.of(new SimpleMeterRegistry()).describe());
  }
}
