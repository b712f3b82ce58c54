package org.splinewatch.regions;

import java.util.Arrays;

/**
 * Open-addressing map from an undirected edge {@code {a, b}} to an int, without boxing. {@link #clear()} costs the
 * number of entries, not the capacity, so it can be cleared once per neuron.
 */
final class EdgeMap {
  private long[] keys;
  private int[] values;
  private int[] used;
  private int size;
  private int mask;

  EdgeMap(int expected) {
    int cap = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
    keys = new long[cap];
    values = new int[cap];
    used = new int[cap];
    Arrays.fill(keys, -1L);
    mask = cap - 1;
  }

  static long key(int a, int b) {
    return a < b ? ((long) a << 32) | b : ((long) b << 32) | a;
  }

  int size() {
    return size;
  }

  /** Bytes of its arrays (key, value and slot list per entry of capacity). */
  long bytes() {
    return 16L * keys.length;
  }

  /**
   * The value stored for the edge; when there is none, stores {@code ifAbsent} and returns {@code -1 - ifAbsent}
   * (negative): one probe instead of a {@link #get} and a {@link #put}.
   */
  int getOrPut(long key, int ifAbsent) {
    if (2 * (size + 1) > keys.length) {
      grow();
    }
    int i = slot(key);
    if (keys[i] == key) {
      return values[i];
    }
    keys[i] = key;
    values[i] = ifAbsent;
    used[size++] = i;
    return -1 - ifAbsent;
  }

  /** Value stored for the edge, or -1. */
  int get(long key) {
    int i = slot(key);
    return keys[i] == key ? values[i] : -1;
  }

  void put(long key, int value) {
    if (2 * (size + 1) > keys.length) {
      grow();
    }
    int i = slot(key);
    if (keys[i] != key) {
      keys[i] = key;
      used[size++] = i;
    }
    values[i] = value;
  }

  /** Adds {@code delta} to the edge's value (absent counts as 0) and returns the new value. */
  int add(long key, int delta) {
    if (2 * (size + 1) > keys.length) {
      grow();
    }
    int i = slot(key);
    if (keys[i] != key) {
      keys[i] = key;
      values[i] = 0;
      used[size++] = i;
    }
    return values[i] += delta;
  }

  void clear() {
    for (int k = 0; k < size; k++) {
      keys[used[k]] = -1L;
    }
    size = 0;
  }

  /** Calls {@code visitor} with every (key, value) pair. */
  void forEach(java.util.function.BiConsumer<Long, Integer> visitor) {
    for (int k = 0; k < size; k++) {
      visitor.accept(keys[used[k]], values[used[k]]);
    }
  }

  long keyAt(int k) {
    return keys[used[k]];
  }

  int valueAt(int k) {
    return values[used[k]];
  }

  private int slot(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    int i = (int) (h >>> 40) & mask;
    while (keys[i] != -1L && keys[i] != key) {
      i = (i + 1) & mask;
    }
    return i;
  }

  private void grow() {
    long[] oldKeys = keys;
    int[] oldValues = values;
    int[] oldUsed = used;
    int oldSize = size;
    int cap = keys.length * 2;
    keys = new long[cap];
    values = new int[cap];
    used = new int[cap];
    Arrays.fill(keys, -1L);
    mask = cap - 1;
    size = 0;
    for (int k = 0; k < oldSize; k++) {
      put(oldKeys[oldUsed[k]], oldValues[oldUsed[k]]);
    }
  }
}
