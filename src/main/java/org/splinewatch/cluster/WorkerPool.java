package org.splinewatch.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The analyzer nodes a trainer's {@link SnapshotPublisher} can send to, and what each one holds: a worker is usable
 * while the receptionist lists it and its node is reachable; a snapshot goes to the usable worker with the fewest
 * snapshots in flight, below {@code inFlightPerWorker}, equally loaded workers taking turns. A worker that stops
 * being usable takes its in-flight snapshots with it ({@link Lost}). Plain bookkeeping, no messages: the publisher
 * does the sending, the timers and the metrics.
 *
 * @param <W> a worker (an actor reference in the publisher)
 * @param <A> the address of a worker's node, the unit of reachability
 */
final class WorkerPool<W, A> {

  /** A snapshot in flight on a worker that left or became unreachable. */
  record Lost<W>(W worker, long transfer, long step) {
  }

  private static final class Load {
    boolean opened;
    final Map<Long, Long> inFlight = new LinkedHashMap<>(); // transfer -> step
  }

  private final int inFlightPerWorker;
  private final Function<W, A> addressOf;
  private final Map<W, Load> workers = new LinkedHashMap<>(); // usable ones, least recently chosen first
  private final Set<A> unreachable = new HashSet<>();
  private Set<W> listed = Set.of();
  private boolean listingSeen;

  WorkerPool(int inFlightPerWorker, Function<W, A> addressOf) {
    if (inFlightPerWorker < 1) {
      throw new IllegalArgumentException("in-flight per worker must be at least 1, got " + inFlightPerWorker);
    }
    this.inFlightPerWorker = inFlightPerWorker;
    this.addressOf = addressOf;
  }

  /** The receptionist's current listing; returns the snapshots held by workers no longer listed. */
  List<Lost<W>> listed(Set<W> workers) {
    listed = new LinkedHashSet<>(workers); // in the listing's order: new workers join in that order
    listingSeen = true;
    return refresh();
  }

  /** A node became reachable or unreachable; returns the snapshots held by workers on it when it became unreachable. */
  List<Lost<W>> reachability(A address, boolean reachable) {
    if (reachable) {
      unreachable.remove(address);
    } else {
      unreachable.add(address);
    }
    return refresh();
  }

  /** Whether the receptionist has answered at least once (before that, no workers is not yet a verdict). */
  boolean listingSeen() {
    return listingSeen;
  }

  /**
   * The usable worker with the fewest snapshots in flight, below the limit, or null when every one is full (or there
   * is none). The chosen worker moves to the back, so that equally loaded workers take turns.
   */
  W leastLoaded() {
    W target = null;
    int least = Integer.MAX_VALUE;
    for (var e : workers.entrySet()) {
      int n = e.getValue().inFlight.size();
      if (n < inFlightPerWorker && n < least) {
        least = n;
        target = e.getKey();
      }
    }
    if (target != null) {
      workers.put(target, workers.remove(target));
    }
    return target;
  }

  /** Marks the run open on a usable worker; true the first time (the caller then opens the run there). */
  boolean open(W worker) {
    Load load = workers.get(worker);
    if (load == null || load.opened) {
      return false;
    }
    load.opened = true;
    return true;
  }

  /** The workers the run was opened on, usable ones only. */
  List<W> opened() {
    List<W> all = new ArrayList<>();
    workers.forEach((w, load) -> {
      if (load.opened) {
        all.add(w);
      }
    });
    return all;
  }

  /** Records a snapshot sent to a usable worker as transfer {@code transfer}. */
  void sent(W worker, long transfer, long step) {
    Load load = workers.get(worker);
    if (load == null) {
      throw new IllegalArgumentException("not a usable worker: " + worker);
    }
    load.inFlight.put(transfer, step);
  }

  /** The worker finished a transfer; true when it was in flight there (false for an unknown or late answer). */
  boolean finished(W worker, long transfer) {
    Load load = workers.get(worker);
    return load != null && load.inFlight.remove(transfer) != null;
  }

  /** Forgets a transfer that took too long, wherever it is; returns its step, or null when it is not in flight. */
  Long timedOut(long transfer) {
    Long step = null;
    for (Load load : workers.values()) {
      Long s = load.inFlight.remove(transfer);
      if (s != null) {
        step = s;
      }
    }
    return step;
  }

  /** Whether no usable worker remains. */
  boolean isEmpty() {
    return workers.isEmpty();
  }

  /** Whether nothing is in flight. */
  boolean idle() {
    return workers.values().stream().allMatch(load -> load.inFlight.isEmpty());
  }

  /** Usable: listed and on a reachable node. Workers that stop being usable lose what they hold. */
  private List<Lost<W>> refresh() {
    List<Lost<W>> lost = new ArrayList<>();
    for (var it = workers.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!listed.contains(e.getKey()) || unreachable.contains(addressOf.apply(e.getKey()))) {
        e.getValue().inFlight.forEach((transfer, step) -> lost.add(new Lost<>(e.getKey(), transfer, step)));
        it.remove();
      }
    }
    for (W w : listed) {
      if (!unreachable.contains(addressOf.apply(w))) {
        workers.computeIfAbsent(w, k -> new Load());
      }
    }
    return lost;
  }
}
