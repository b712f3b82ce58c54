package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link WorkerPool}: workers "node/name", reachability per node, least-loaded routing that takes turns. */
class WorkerPoolTest {

  private static WorkerPool<String, String> pool(int inFlight) {
    return new WorkerPool<>(inFlight, w -> w.substring(0, w.indexOf('/')));
  }

  private static Set<String> listing(String... workers) {
    return new LinkedHashSet<>(List.of(workers));
  }

  @Test
  void routesToTheLeastLoadedAndTakesTurns() {
    WorkerPool<String, String> p = pool(2);
    assertFalse(p.listingSeen());
    assertNull(p.leastLoaded(), "no workers yet");
    p.listed(listing("a/w", "b/w"));
    assertTrue(p.listingSeen());
    List<String> chosen = new ArrayList<>();
    for (long t = 1; t <= 4; t++) {
      String w = p.leastLoaded();
      chosen.add(w);
      p.sent(w, t, 10 * t);
    }
    assertEquals(List.of("a/w", "b/w", "a/w", "b/w"), chosen);
    assertNull(p.leastLoaded(), "both hold in-flight-per-analyzer = 2");
    assertFalse(p.idle());
    assertTrue(p.finished("b/w", 2));
    assertFalse(p.finished("b/w", 2), "a second answer for the same transfer is ignored");
    assertFalse(p.finished("a/w", 99));
    assertEquals("b/w", p.leastLoaded());
  }

  @Test
  void equallyLoadedWorkersTakeTurnsEvenWhenIdle() {
    WorkerPool<String, String> p = pool(1);
    p.listed(listing("a/w", "b/w", "c/w"));
    List<String> chosen = new ArrayList<>();
    for (long t = 1; t <= 6; t++) {
      String w = p.leastLoaded();
      chosen.add(w);
      p.sent(w, t, t);
      assertTrue(p.finished(w, t));
    }
    assertEquals(List.of("a/w", "b/w", "c/w", "a/w", "b/w", "c/w"), chosen);
    assertTrue(p.idle());
  }

  @Test
  void aWorkerThatLeavesOrBecomesUnreachableLosesWhatItHolds() {
    WorkerPool<String, String> p = pool(3);
    p.listed(listing("a/w", "b/w"));
    p.sent("a/w", 1, 100);
    p.sent("a/w", 2, 200);
    p.sent("b/w", 3, 300);
    List<WorkerPool.Lost<String>> lost = p.reachability("a", false);
    assertEquals(List.of(new WorkerPool.Lost<>("a/w", 1, 100), new WorkerPool.Lost<>("a/w", 2, 200)), lost);
    assertEquals("b/w", p.leastLoaded(), "only b is usable");
    assertEquals(List.of(), p.reachability("a", true), "back, with nothing in flight");
    assertEquals("a/w", p.leastLoaded());
    assertEquals(List.of(new WorkerPool.Lost<>("b/w", 3, 300)), p.listed(listing("a/w")));
    assertTrue(p.idle());
    assertEquals(List.of(), p.listed(listing()));
    assertTrue(p.isEmpty());
  }

  @Test
  void aWorkerListedOnAnUnreachableNodeIsNotUsedUntilItIsReachable() {
    WorkerPool<String, String> p = pool(1);
    p.reachability("a", false);
    p.listed(listing("a/w"));
    assertTrue(p.isEmpty());
    assertNull(p.leastLoaded());
    p.reachability("a", true);
    assertEquals("a/w", p.leastLoaded());
  }

  @Test
  void opensTheRunOncePerWorkerAndForgetsWorkersThatLeft() {
    WorkerPool<String, String> p = pool(1);
    p.listed(listing("a/w", "b/w"));
    assertTrue(p.open("a/w"));
    assertFalse(p.open("a/w"));
    assertFalse(p.open("x/w"), "not a usable worker");
    assertEquals(List.of("a/w"), p.opened());
    p.listed(listing("b/w"));
    p.listed(listing("a/w", "b/w"));
    assertEquals(List.of(), p.opened(), "a worker that came back is a new one: the run is opened again");
    assertTrue(p.open("a/w"));
  }

  @Test
  void aTimedOutTransferIsForgottenWhereverItIs() {
    WorkerPool<String, String> p = pool(2);
    p.listed(listing("a/w", "b/w"));
    p.sent("a/w", 1, 100);
    p.sent("b/w", 2, 200);
    assertEquals(200L, p.timedOut(2));
    assertNull(p.timedOut(2));
    assertFalse(p.finished("b/w", 2), "a late answer after the timeout is ignored");
    assertFalse(p.idle());
  }
}
