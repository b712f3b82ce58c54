package org.splinewatch.ingest;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ids of the runs whose end this monitor saw begin over HTTP, the last {@link #CAPACITY} of them, so that a late
 * snapshot or a second finish is answered 409 ("has finished") rather than 404 ("register it first"). Thread-safe:
 * the routes read it, the ingestion actor and the run actors add to it.
 */
final class FinishedRuns {
  static final int CAPACITY = 1000;
  private final Map<String, Boolean> ids = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > CAPACITY;
    }
  };

  synchronized void add(String runId) {
    ids.remove(runId); // re-inserted as the newest
    ids.put(runId, Boolean.TRUE);
  }

  synchronized void remove(String runId) {
    ids.remove(runId);
  }

  synchronized boolean contains(String runId) {
    return ids.containsKey(runId);
  }

  /** The one-line answer for a request to a run that has finished. */
  static String finished(String runId) {
    return "run '" + runId + "' has finished (or is finishing) on this monitor; expected snapshots and finish"
        + " requests only between registration and finish: register a new run with another run id to send more";
  }
}
