package org.splinewatch.monitor;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** The runs this process can stop remotely, by run id (thread-safe). */
public final class RunControl {
  private final Map<String, Consumer<String>> runs = new ConcurrentHashMap<>();

  /** Registers a run; {@code stop} receives the reason and must return at once. */
  public void register(String runId, Consumer<String> stop) {
    runs.put(runId, stop);
  }

  public void unregister(String runId) {
    runs.remove(runId);
  }

  /** Asks the run to stop after its current step; false when no such run is registered. */
  public boolean stop(String runId, String reason) {
    Consumer<String> s = runs.get(runId);
    if (s == null) {
      return false;
    }
    s.accept(reason);
    return true;
  }

  public Set<String> runIds() {
    return new TreeSet<>(runs.keySet());
  }
}
