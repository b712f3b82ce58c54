package org.splinewatch.metrics;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * The scrapes of one {@code /metrics} endpoint (thread-safe): how many were served, how far apart, and a bounded wait
 * for the next one. A run stopped early by an alert waits for it so that Prometheus sees its
 * {@code splinewatch_run_stopped_early} before the endpoint goes away (docs/alerting.md).
 */
public final class ScrapeLog {
  /** Intervals kept for {@link #interval()}: the median of the last few ignores one manual {@code curl}. */
  private static final int INTERVALS = 8;

  private long count;
  private long lastNanos;
  private final ArrayDeque<Long> intervals = new ArrayDeque<>();

  /** A scrape was served (its body taken) now. */
  public synchronized void served() {
    long now = System.nanoTime();
    if (count > 0) {
      intervals.addLast(now - lastNanos);
      if (intervals.size() > INTERVALS) {
        intervals.removeFirst();
      }
    }
    count++;
    lastNanos = now;
    notifyAll();
  }

  /** Scrapes served so far. */
  public synchronized long count() {
    return count;
  }

  /** The median time between the recent scrapes; empty before the second one. */
  public synchronized Optional<Duration> interval() {
    if (intervals.isEmpty()) {
      return Optional.empty();
    }
    long[] sorted = intervals.stream().mapToLong(Long::longValue).sorted().toArray();
    return Optional.of(Duration.ofNanos(sorted[sorted.length / 2]));
  }

  /**
   * How long a stopped run waits for the next scrape: twice the observed interval, at most {@code max} ({@code max}
   * itself before a second scrape gave an interval).
   */
  public Duration waitFor(Duration max) {
    return interval().map(i -> i.multipliedBy(2)).filter(w -> w.compareTo(max) < 0).orElse(max);
  }

  /**
   * Waits until more than {@code seen} scrapes were served, at most {@code timeout}, or until {@code cancelled} says so
   * (checked every 100 ms); whether a scrape came.
   */
  public synchronized boolean awaitAfter(long seen, Duration timeout, BooleanSupplier cancelled)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (count <= seen) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || cancelled.getAsBoolean()) {
        return false;
      }
      wait(Math.max(1, Math.min(100, left / 1_000_000)));
    }
    return true;
  }

  @Override
  public synchronized String toString() {
    return "ScrapeLog[" + count + " scrapes, intervals " + Arrays.toString(intervals.toArray()) + "]";
  }
}
