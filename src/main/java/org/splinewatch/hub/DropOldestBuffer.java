package org.splinewatch.hub;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A bounded first-in-first-out buffer that never refuses an element: adding beyond {@code capacity} removes the
 * oldest element and hands it to {@code onDrop}. The one drop-oldest policy of the project, used by the
 * {@link SnapshotHub}'s per-analyzer streams (in a {@link DropOldestStage}) and by the cluster's
 * {@code SnapshotPublisher}. Not thread-safe: each owner (a stream stage, an actor) uses it from one thread at a time.
 *
 * @param <T> the elements (snapshots, encoded snapshots)
 */
public final class DropOldestBuffer<T> {
  private final int capacity;
  private final Consumer<? super T> onDrop;
  private final ArrayDeque<T> items = new ArrayDeque<>();

  /**
   * @param capacity at least 1
   * @param onDrop   called once for each element pushed out, oldest first
   */
  public DropOldestBuffer(int capacity, Consumer<? super T> onDrop) {
    this.capacity = requireCapacity(capacity);
    this.onDrop = onDrop;
  }

  /** {@code capacity}, when it is at least 1 (a buffer's, or a {@link DropOldestStage}'s); else refused. */
  static int requireCapacity(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("buffer capacity must be at least 1, got " + capacity);
    }
    return capacity;
  }

  /** Appends {@code item}; if the buffer then holds more than its capacity, drops the oldest. */
  public void add(T item) {
    items.addLast(item);
    while (items.size() > capacity) {
      onDrop.accept(items.removeFirst());
    }
  }

  /** Removes and returns the oldest element, or null when empty. */
  public T poll() {
    return items.pollFirst();
  }

  /** Removes every element and returns them oldest first. */
  public List<T> drain() {
    List<T> all = new ArrayList<>(items);
    items.clear();
    return all;
  }

  public boolean isEmpty() {
    return items.isEmpty();
  }

  public int size() {
    return items.size();
  }

  public int capacity() {
    return capacity;
  }
}
