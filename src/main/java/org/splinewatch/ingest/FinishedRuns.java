package org.splinewatch.ingest;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ids of the runs whose end this monitor saw begin over HTTP, the last {@link #CAPACITY} of them, so that a late
 * snapshot or a second finish is answered 409 ("has finished") rather than 404 ("register it first"), and 410 ("gone")
 * for a run the monitor ended itself (its idle timeout): its client cannot know the run ended and should stop sending.
 * It also names the runs an earlier monitor left without an end ({@link LeftRuns}), whose 404 says how to resume them.
 * Thread-safe: the routes read it, the ingestion actor and the run actors add to it.
 */
final class FinishedRuns {
  static final int CAPACITY = 1000;
  /** Run id → why the monitor ended it itself, or "" for a run its client finished. */
  private final Map<String, String> ids = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > CAPACITY;
    }
  };

  /** The runs an earlier monitor on this --out left without an end, which this one marked interrupted. */
  private final java.util.Set<String> left = new java.util.HashSet<>();
  /** Those of them whose report is still to be written: not resumed until it is. */
  private final java.util.Set<String> reporting = new java.util.HashSet<>();

  synchronized void add(String runId) {
    String why = ids.remove(runId); // re-inserted as the newest, still answered 410 if the monitor ended it
    ids.put(runId, why != null ? why : "");
  }

  /**
   * Run {@code runId} takes its client's finish, unless the monitor ended it first (its stop: {@link
   * #endedByMonitorUnlessEnding}): false then, and it stays answered 410. Checked and marked at once, so that a
   * stopping monitor and the run agree on which came first.
   */
  synchronized boolean finishedByClient(String runId) {
    String why = ids.get(runId);
    if (why != null && !why.isEmpty()) {
      return false;
    }
    add(runId);
    return true;
  }

  /**
   * The stopping monitor ends run {@code runId} for {@code why} (answered 410 from now on), unless its end began
   * before (its client's finish taken, its idle timeout): false then, and it ends as it was ending.
   */
  synchronized boolean endedByMonitorUnlessEnding(String runId, String why) {
    if (ids.containsKey(runId)) {
      return false;
    }
    endedByMonitor(runId, why);
    return true;
  }

  /** A run the monitor ended itself, for {@code why} (e.g. its idle timeout): answered 410 from now on. */
  synchronized void endedByMonitor(String runId, String why) {
    ids.remove(runId);
    ids.put(runId, why);
  }

  /** What a request to a finished run is answered: 409, or 410 for a run the monitor ended itself. */
  record Answer(int status, String message) {
  }

  /** The answer for a request to the run {@code runId}; null when it is not among the finished runs. */
  synchronized Answer answer(String runId) {
    String why = ids.get(runId);
    if (why == null) {
      return left.contains(runId) ? new Answer(404, "unknown run '" + runId + "': this monitor started after an"
          + " earlier one on its --out stopped without ending the run, and marked it interrupted; register it again"
          + " with its resume_key to go on with it (the Python client does), or register a new run") : null;
    }
    if (why.isEmpty()) {
      return new Answer(409, finished(runId));
    }
    return new Answer(410, "run '" + runId + "' was ended by this monitor (" + why + "); it takes no more snapshots"
        + " until it is registered again with its resume_key (the Python client does so), or register a new run with"
        + " another run id to send more");
  }

  /**
   * What {@link #clear} took off run {@code runId}: {@code why} its mark (as {@link #ids} holds it; null for none),
   * {@code left} whether an earlier monitor left it.
   */
  record Cleared(String runId, String why, boolean left) {
  }

  /**
   * A registration of run {@code runId} clears its marks (finished, left by an earlier monitor); {@link #restore}
   * puts them back where the metrics node refuses the registration.
   */
  synchronized Cleared clear(String runId) {
    return new Cleared(runId, ids.remove(runId), left.remove(runId));
  }

  /**
   * The registration that cleared {@code cleared} was refused: the run is answered as before it (409, 410, or 404
   * naming the earlier monitor), unless it was marked again meanwhile (the monitor's stop), which stands.
   */
  synchronized void restore(Cleared cleared) {
    String runId = cleared.runId();
    if (cleared.why() != null && !ids.containsKey(runId)) {
      ids.put(runId, cleared.why());
    }
    if (cleared.left()) {
      left.add(runId);
    }
  }

  /** Runs an earlier monitor left without an end (marked interrupted at this one's start): answered 404 as such. */
  synchronized void left(java.util.Collection<String> runIds) {
    left.addAll(runIds);
    reporting.addAll(runIds);
  }

  /** A marked run's report was written (or could not be): it may be resumed now. */
  synchronized void reported(String runId) {
    reporting.remove(runId);
  }

  /** Whether the run was marked interrupted at this monitor's start and its report is still being written. */
  synchronized boolean reporting(String runId) {
    return reporting.contains(runId);
  }

  synchronized boolean contains(String runId) {
    return ids.containsKey(runId);
  }

  /** The one-line answer for a request to a run that has finished. */
  private static String finished(String runId) {
    return "run '" + runId + "' has finished (or is finishing) on this monitor; expected snapshots and finish"
        + " requests only between registration and finish: register a new run with another run id to send more";
  }
}
