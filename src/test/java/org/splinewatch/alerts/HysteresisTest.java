package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.splinewatch.alerts.Hysteresis.Change;

/** The consecutive-snapshot state machine every rule shares. */
class HysteresisTest {
  private static final Map<String, String> A = Map.of("layer", "a");
  private static final Map<String, String> B = Map.of("layer", "b");

  @Test
  void firesAfterConsecutiveBreachesOnly() {
    Hysteresis h = new Hysteresis(new Hysteresis.Counts(3, 2));
    assertEquals(Change.NONE, h.update(A, true, false));
    assertEquals(Change.NONE, h.update(A, true, false));
    assertEquals(2, h.breaches(A));
    // a snapshot that does not breach starts the count again
    assertEquals(Change.NONE, h.update(A, false, false));
    assertEquals(0, h.breaches(A));
    assertEquals(Change.NONE, h.update(A, true, false));
    assertEquals(Change.NONE, h.update(A, true, false));
    assertFalse(h.firing());
    assertEquals(Change.FIRED, h.update(A, true, false));
    assertTrue(h.firing());
    assertEquals(3, h.breaches(A), "kept while firing");
    // firing: further breaches change nothing
    assertEquals(Change.NONE, h.update(A, true, false));
  }

  @Test
  void resolvesAfterConsecutiveClearsOnly() {
    Hysteresis h = new Hysteresis(new Hysteresis.Counts(1, 2));
    assertEquals(Change.FIRED, h.update(A, true, false));
    assertEquals(Change.NONE, h.update(A, false, true));
    // between the thresholds (neither breaching nor clear) starts the clear count again
    assertEquals(Change.NONE, h.update(A, false, false));
    assertEquals(Change.NONE, h.update(A, false, true));
    assertEquals(Change.RESOLVED, h.update(A, false, true));
    assertFalse(h.firing());
    assertEquals(0, h.breaches(A));
    // and fires again from scratch
    assertEquals(Change.FIRED, h.update(A, true, false));
  }

  @Test
  void seriesAreIndependent() {
    Hysteresis h = new Hysteresis(new Hysteresis.Counts(2, 1));
    assertEquals(Change.NONE, h.update(A, true, false));
    assertEquals(Change.NONE, h.update(B, true, false));
    assertEquals(Change.FIRED, h.update(B, true, false));
    assertEquals(1, h.breaches(A));
    assertEquals(2, h.maxBreaches());
    assertEquals(Change.FIRED, h.update(new HashMap<>(A), true, false), "labels compare by content");
    assertEquals(0, new Hysteresis(new Hysteresis.Counts(1, 1)).maxBreaches());
  }
}
