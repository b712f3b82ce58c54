package org.splinewatch.alerts;

import java.util.Map;

/**
 * A rule changing state: {@code firing} true when it starts firing, false when it resolves.
 *
 * @param series   the labels of the series that triggered it ({@code layer} or {@code plane})
 * @param values   the values the rule looked at
 * @param sentence what happened, for people
 */
public record Alert(String rule, String severity, boolean firing, String run, long step, Map<String, String> series,
    Map<String, Double> values, String sentence) {
  public Alert {
    series = Map.copyOf(series);
    values = Map.copyOf(values);
  }
}
