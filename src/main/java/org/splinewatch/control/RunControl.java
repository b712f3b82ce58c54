package org.splinewatch.control;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.splinewatch.alerts.AlertSettings;

/**
 * The runs this process can stop remotely, by run id (thread-safe), each with the rules allowed to stop it: those of
 * its {@code splinewatch.alerts.stop-on} when its {@code early-stop} is {@code stop} or {@code alertmanager}, none when
 * it is {@code warn}. So an alert arriving through Alertmanager stops a run only for a rule that run stops on.
 */
public final class RunControl {
  private record Entry(List<String> stopOn, Stopper stop, Supplier<String> ended,
      AtomicReference<String> stopReason) {
  }

  /** Stops a run: {@code rule} is the alert's rule (null for a stop that is not an alert's); returns at once. */
  public interface Stopper {
    void stop(String rule, String reason);
  }

  /** What {@link #stop} did: asked the run to stop, found it asked already (by an earlier alert), or no such run. */
  public enum Stop { STOPPING, ALREADY_STOPPING, UNKNOWN_RUN }

  private final Map<String, Entry> runs = new ConcurrentHashMap<>();

  /**
   * Registers a run; {@code stop} receives the reason and must return at once. {@code alerts} null: no rule may stop
   * it.
   */
  public void register(String runId, AlertSettings alerts, Consumer<String> stop) {
    register(runId, alerts, stop, () -> null);
  }

  /**
   * As {@link #register(String, AlertSettings, Consumer)}, with {@code ended} saying whether training has ended: null
   * while it trains, else how it ended in a few words ("finished training at step 200"). A run that stays registered
   * after training, while its analyses drain, then refuses a stop instead of accepting one that stops nothing.
   */
  public void register(String runId, AlertSettings alerts, Consumer<String> stop, Supplier<String> ended) {
    registerForAlerts(runId, alerts, (rule, reason) -> stop.accept(reason), ended);
  }

  /** As above, with the rule of the alert that stops the run ({@code splinewatch_run_stopped_early{rule}}). */
  public void registerForAlerts(String runId, AlertSettings alerts, Stopper stop, Supplier<String> ended) {
    runs.put(runId, new Entry(stopOn(alerts), stop, ended, new AtomicReference<>()));
  }

  /**
   * The registered run's early-stop mode changed (an HTTP run taken over by a registration that asks for another):
   * from now on the rules of {@code alerts} may stop it; a stop already asked stays asked.
   */
  public void changeAlerts(String runId, AlertSettings alerts) {
    runs.computeIfPresent(runId, (id, e) -> new Entry(stopOn(alerts), e.stop(), e.ended(), e.stopReason()));
  }

  private static List<String> stopOn(AlertSettings alerts) {
    return alerts != null && !"warn".equals(alerts.earlyStop()) ? List.copyOf(alerts.stopOn()) : List.of();
  }

  public void unregister(String runId) {
    runs.remove(runId);
  }

  /** Null when {@code rule} may stop the registered run; otherwise why not, in a few words. */
  public String refusal(String runId, String rule) {
    Entry e = runs.get(runId);
    if (e == null) {
      return "unknown run '" + runId + "'";
    }
    String ended = e.ended().get();
    if (ended != null) {
      return "run '" + runId + "' " + ended + "; nothing to stop";
    }
    if (rule == null || rule.isEmpty()) {
      return "the alert has no rule label, so no stop-on rule names it";
    }
    if (e.stopOn().isEmpty()) {
      return "run '" + runId + "' does not stop on alerts (early-stop is warn)";
    }
    return e.stopOn().contains(rule) ? null
        : "rule " + rule + " is not in the stop-on rules of run '" + runId + "' " + e.stopOn();
  }

  /**
   * Asks the run to stop after its current step, once: a later alert of the same collapse (Alertmanager sends each
   * firing rule, and resends them) finds it stopping already and asks nothing more.
   */
  public Stop stop(String runId, String reason) {
    return stop(runId, null, reason);
  }

  /** As {@link #stop(String, String)}, for a firing alert of {@code rule} (null: not an alert's stop). */
  public Stop stop(String runId, String rule, String reason) {
    Entry e = runs.get(runId);
    if (e == null) {
      return Stop.UNKNOWN_RUN;
    }
    if (!e.stopReason().compareAndSet(null, reason)) {
      return Stop.ALREADY_STOPPING;
    }
    e.stop().stop(rule, reason);
    return Stop.STOPPING;
  }

  /**
   * How the registered run's training ended ("finished training at step 200"), or null while it trains or when it is
   * not registered: a run whose training ended stays registered while its analyses drain.
   */
  public String trainingEnded(String runId) {
    Entry e = runs.get(runId);
    return e == null ? null : e.ended().get();
  }

  /** Whether {@code runId} is registered now: it streams to this node and has not finished. */
  public boolean isLive(String runId) {
    return runs.containsKey(runId);
  }

  public Set<String> runIds() {
    return new TreeSet<>(runs.keySet());
  }
}
