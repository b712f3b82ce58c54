package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeometrySettingsTest {
  @Test
  void theDefaultsAreTheBlockCountsOfMetricsMd() {
    GeometrySettings s = GeometrySettings.defaults();
    assertEquals(List.of(1, 2, 4, 8, 16, 20), s.twonnBlocks());
    assertEquals(5, s.twonnBlocksEvery(), "metrics.md §9: TwoNN and its blocks every 5th snapshot");
    assertEquals(s, GeometrySettings.fromConfig(ConfigFactory.load()));
  }

  @Test
  void anEmptyListTurnsTheBlockAnalysisOffAndBadCountsAreErrors() {
    var off = GeometrySettings.fromConfig(ConfigFactory.parseString("splinewatch.geometry.twonn-blocks = []")
        .withFallback(ConfigFactory.defaultReference()));
    assertTrue(off.twonnBlocks().isEmpty());
    var e = assertThrows(IllegalArgumentException.class, () -> new GeometrySettings(List.of(1, 0), 1, 5));
    assertTrue(e.getMessage().contains("twonn-blocks"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new GeometrySettings(List.of(2, 2), 1, 5));
    var every = assertThrows(IllegalArgumentException.class, () -> new GeometrySettings(List.of(1), 1, 0));
    assertTrue(every.getMessage().contains("twonn-blocks-every"), every.getMessage());
  }
}
