package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** {@code splinewatch.regions}: a pad whose planes would have no usable area is refused when the settings are read. */
class RegionSettingsTest {
  private static RegionSettings with(String pad) {
    return RegionSettings.fromConfig(ConfigFactory.parseString("splinewatch.regions.pad = " + pad)
        .withFallback(ConfigFactory.load()));
  }

  @Test
  void aPadWithoutAPositiveFiniteDomainAreaIsRefused() {
    assertEquals(0, with("0").pad()); // the default: 1.5 x the anchors' extent
    assertEquals(-1, with("-1").pad());
    assertEquals(2.5, with("2.5").pad());
    // 2 pad^2 is infinite or 0: every plane's areas were Infinity or 0.0 (Plane.throughAnchors now refuses them)
    for (String pad : new String[] {"1e300", "1e-300"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> with(pad));
      assertEquals("splinewatch.regions.pad " + Double.parseDouble(pad) + ": expected a pad whose domain |s| + |t| <="
          + " pad has positive finite area (2 pad^2), or <= 0 for 1.5 x the anchors' extent", e.getMessage());
    }
  }

  /** A pad beyond float32's range puts every corner of every plane beyond it (it passed, its area being finite). */
  @Test
  void aPadBeyondFloat32IsRefused() {
    assertEquals(3e38, with("3e38").pad());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> with("1e39"));
    assertEquals("splinewatch.regions.pad 1.0E39: expected at most 3.4028235E38 (the domain's corners are float32"
        + " inputs of the network), or <= 0 for 1.5 x the anchors' extent", e.getMessage());
  }
}
