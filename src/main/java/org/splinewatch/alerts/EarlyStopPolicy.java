package org.splinewatch.alerts;

import java.util.List;
import java.util.Optional;

/**
 * When a collapse alert stops a run in this process: with {@code early-stop = stop}, a firing alert of a rule in
 * {@code stop-on} ends the run after its current step (exit code 3); {@code warn} and {@code alertmanager} only report
 * (with {@code alertmanager} the stop comes back through the control endpoint instead).
 */
public final class EarlyStopPolicy {
  /** A policy that never stops a run. */
  public static final EarlyStopPolicy NEVER = new EarlyStopPolicy(false, List.of());

  private final boolean stops;
  private final List<String> stopOn;

  private EarlyStopPolicy(boolean stops, List<String> stopOn) {
    this.stops = stops;
    this.stopOn = List.copyOf(stopOn);
  }

  /** The policy of {@code splinewatch.alerts} ({@code null}: {@link #NEVER}). */
  public static EarlyStopPolicy of(AlertSettings alerts) {
    return alerts == null ? NEVER : of(alerts.earlyStop(), alerts.stopOn());
  }

  /** The policy of an {@code early-stop} mode ({@code warn}, {@code stop}, {@code alertmanager}) and its rules. */
  public static EarlyStopPolicy of(String earlyStop, List<String> stopOn) {
    return new EarlyStopPolicy("stop".equals(earlyStop), stopOn);
  }

  /** Why {@code alert} stops the run ({@code collapse alert <rule>: <sentence>}), or empty when it does not. */
  public Optional<String> stopReason(Alert alert) {
    if (alert.firing() && stops && stopOn.contains(alert.rule())) {
      return Optional.of("collapse alert " + alert.rule() + ": " + alert.sentence());
    }
    return Optional.empty();
  }
}
