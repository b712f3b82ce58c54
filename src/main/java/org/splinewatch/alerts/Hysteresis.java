package org.splinewatch.alerts;

import java.util.HashMap;
import java.util.Map;

/**
 * The two-level state machine every collapse rule runs per series (metrics.md §8.1): a series that is not firing
 * fires after {@code fire} consecutive breaching snapshots (a snapshot that does not breach starts the count again);
 * a firing series resolves after {@code clear} consecutive clear snapshots (one that is not clear, between the rule's
 * fire and clear thresholds or breaching, starts that count again). A snapshot a rule does not judge (a NaN value)
 * is not fed here and changes nothing. Series are told apart by their labels ({@code layer} or {@code plane}).
 */
public final class Hysteresis {
  /**
   * How many snapshots in a row change the state.
   *
   * @param fire  consecutive breaching snapshots that make a series fire (at least 1)
   * @param clear consecutive clear snapshots that resolve a firing series (at least 1)
   */
  public record Counts(int fire, int clear) {
  }

  /** What one snapshot did to its series. */
  public enum Change {
    /** Nothing: still firing, or still not. */
    NONE,
    /** The series started firing. */
    FIRED,
    /** The firing series resolved. */
    RESOLVED
  }

  private static final class State {
    int breaches;
    int clears;
    boolean firing;
  }

  private final Counts counts;
  private final Map<Map<String, String>, State> series = new HashMap<>();

  public Hysteresis(Counts counts) {
    this.counts = counts;
  }

  /** Feeds one judged snapshot of the series labelled {@code labels}. */
  public Change update(Map<String, String> labels, boolean breach, boolean clear) {
    State s = series.computeIfAbsent(Map.copyOf(labels), k -> new State());
    if (!s.firing) {
      s.breaches = breach ? s.breaches + 1 : 0;
      if (s.breaches >= counts.fire()) {
        s.firing = true;
        s.clears = 0;
        return Change.FIRED;
      }
    } else {
      s.clears = clear ? s.clears + 1 : 0;
      if (s.clears >= counts.clear()) {
        s.firing = false;
        s.breaches = 0;
        return Change.RESOLVED;
      }
    }
    return Change.NONE;
  }

  /** Consecutive breaches of the series (kept while it fires, 0 once it resolves). */
  public int breaches(Map<String, String> labels) {
    State s = series.get(Map.copyOf(labels));
    return s == null ? 0 : s.breaches;
  }

  /** Consecutive breaches, the maximum over the series. */
  public int maxBreaches() {
    int c = 0;
    for (State s : series.values()) {
      c = Math.max(c, s.breaches);
    }
    return c;
  }

  /** Whether some series is firing. */
  public boolean firing() {
    return series.values().stream().anyMatch(s -> s.firing);
  }
}
