package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A plane's domain corners are inputs of a float32 network: corners beyond float32's range, or corners that all round
 * to the origin in float32, are refused in one line for both forms of plane (they were counted as partitions).
 */
class PlaneFloat32Test {
  @Test
  void anExplicitPlaneWhoseCornersLeaveFloat32IsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Plane.explicit(
        new double[] {3e38, 0}, new double[] {1e38, 0}, new double[] {0, 1}));
    assertEquals("plane corner origin ± u ± v reaches " + (3e38 + 1e38) + " in input coordinate 0, beyond float32's"
        + " range; expected |origin| + |u| + |v| within 3.4028235E38 in every coordinate (the network reads float32"
        + " inputs)", e.getMessage());
    // as large as float32 goes: still a plane
    assertEquals(4 * 1.7e38 * 1.6e38, Plane.explicit(new double[2], new double[] {1.7e38, 0},
        new double[] {0, 1.6e38}).domainArea(), 1e64);
  }

  @Test
  void anExplicitPlaneWhoseCornersAreItsOriginInFloat32IsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Plane.explicit(
        new double[] {1e10, -3}, new double[] {1e-3, 0}, new double[] {0, 1e-8}));
    assertEquals("plane corners origin ± u ± v all round to the origin in float32: the largest step of a direction,"
        + " 0.001, is below float32's resolution there (its largest coordinate 1.0E10 has a step of 1024.0); expected"
        + " u or v that move a coordinate by at least half its float32 step (the network reads float32 inputs)",
        e.getMessage());
    // one coordinate that moves is enough: -3 ± 1e-6 is another float32
    Plane.explicit(new double[] {1e10, -3}, new double[] {1e-3, 0}, new double[] {0, 1e-6});
  }

  @Test
  void aPadWhoseCornersLeaveFloat32OrRoundToTheCentroidIsRefused() {
    double[] a1 = {1, 0};
    double[] a2 = {0, 1};
    double[] a3 = {0, 0};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Plane.throughAnchors(a1, a2, a3, 1e39)); // its area, 2e78, is finite in doubles
    assertTrue(e.getMessage().startsWith("plane corner c ± pad·e1, c ± pad·e2 of pad 1.0E39 reaches "),
        e.getMessage());
    // e1 = (2, -1)/√5: coordinate 0 reaches float32's largest value first, at pad (3.4028235E38 - 1/3)·√5/2
    assertTrue(e.getMessage().contains(", beyond float32's range; expected a pad of at most "
        + (Float.MAX_VALUE - 1 / 3.0) / (2 / Math.sqrt(5)) + " for these anchors (the network reads float32 inputs)"),
        e.getMessage());
    Plane.throughAnchors(a1, a2, a3, 3e38);
    double[] far = {1e10, 1e10};
    IllegalArgumentException tiny = assertThrows(IllegalArgumentException.class, () -> Plane.throughAnchors(
        new double[] {1e10 + 1, 1e10}, new double[] {1e10, 1e10 + 1}, far, 1e-3));
    assertTrue(tiny.getMessage().startsWith("plane corners c ± pad·e1, c ± pad·e2 of pad 0.001 all round to"
        + " the origin in float32") && tiny.getMessage().endsWith("; expected a larger pad (the network reads"
        + " float32 inputs)"), tiny.getMessage());
  }
}
