package org.splinewatch.report;

import java.util.AbstractList;
import java.util.Arrays;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.function.Predicate;

/**
 * A metric series' points {step, value, time, order} ({@link RunData.Series}) held in four primitive arrays: 32 bytes
 * a point instead of about 56 for a list of {@code double[4]} (a reference, an array header and its four doubles). A
 * run of a million steps writes millions of samples, and a report overlays several runs in one heap (three such runs
 * did not fit the report's 640 MiB before). {@link #get} returns a fresh array; changing it changes nothing here.
 * Steps and orders are whole numbers below 2^53, so they round-trip through {@code double} exactly.
 */
public final class Points extends AbstractList<double[]> implements RandomAccess {
  private long[] steps = new long[4];
  private double[] values = new double[4];
  private double[] times = new double[4];
  private long[] orders = new long[4];
  private int size;
  /** Points ever added, those removed since included. */
  private long added;

  /** Bytes a point takes here (the arrays' growth headroom aside). */
  public static final int BYTES_PER_POINT = 2 * Long.BYTES + 2 * Double.BYTES;

  @Override
  public double[] get(int i) {
    Objects.checkIndex(i, size);
    return new double[] {steps[i], values[i], times[i], orders[i]};
  }

  /** The step of point {@code i}, without an array. */
  public long step(int i) {
    Objects.checkIndex(i, size);
    return steps[i];
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public boolean add(double[] p) {
    if (p.length != 4) {
      throw new IllegalArgumentException("a point is {step, value, time, order}, got " + p.length + " numbers");
    }
    add((long) p[0], p[1], p[2], (long) p[3]);
    return true;
  }

  /** Adds a point without an array. */
  public void add(long step, double value, double time, long order) {
    if (size == steps.length) {
      int n = Math.max(8, size + (size >> 1));
      steps = Arrays.copyOf(steps, n);
      values = Arrays.copyOf(values, n);
      times = Arrays.copyOf(times, n);
      orders = Arrays.copyOf(orders, n);
    }
    steps[size] = step;
    values[size] = value;
    times[size] = time;
    orders[size] = order;
    size++;
    added++;
    modCount++;
  }

  /**
   * How many points were ever added, also those removed since (a resumed run's superseded samples): the samples read,
   * to compare with the count a run recorded ({@link RunData#cutShort}).
   */
  public long added() {
    return added;
  }

  @Override
  public double[] set(int i, double[] p) {
    double[] old = get(i);
    steps[i] = (long) p[0];
    values[i] = p[1];
    times[i] = p[2];
    orders[i] = (long) p[3];
    return old;
  }

  @Override
  public double[] remove(int i) {
    double[] old = get(i);
    int tail = size - i - 1;
    System.arraycopy(steps, i + 1, steps, i, tail);
    System.arraycopy(values, i + 1, values, i, tail);
    System.arraycopy(times, i + 1, times, i, tail);
    System.arraycopy(orders, i + 1, orders, i, tail);
    size--;
    modCount++;
    return old;
  }

  /** Removes the points {@code filter} accepts in one pass (the resumed run's superseded steps: linear, not n²). */
  @Override
  public boolean removeIf(Predicate<? super double[]> filter) {
    int kept = 0;
    for (int i = 0; i < size; i++) {
      if (!filter.test(new double[] {steps[i], values[i], times[i], orders[i]})) {
        steps[kept] = steps[i];
        values[kept] = values[i];
        times[kept] = times[i];
        orders[kept] = orders[i];
        kept++;
      }
    }
    boolean removed = kept < size;
    size = kept;
    if (removed) {
      modCount++;
    }
    return removed;
  }

  /** Bytes its arrays take, their growth headroom included. */
  public long heldBytes() {
    return (long) steps.length * BYTES_PER_POINT;
  }

  /** Drops the arrays' headroom: a series read whole grows no more. */
  public void trimToSize() {
    if (size < steps.length) {
      steps = Arrays.copyOf(steps, size);
      values = Arrays.copyOf(values, size);
      times = Arrays.copyOf(times, size);
      orders = Arrays.copyOf(orders, size);
    }
  }

  @Override
  public void clear() {
    size = 0;
    modCount++;
  }
}
