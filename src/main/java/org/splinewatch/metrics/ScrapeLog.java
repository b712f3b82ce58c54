package org.splinewatch.metrics;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The scrapes of one {@code /metrics} endpoint (thread-safe): how many were served, how far apart, and a bounded wait
 * for the next one. A run stopped early by an alert waits for it so that Prometheus sees its
 * {@code splinewatch_run_stopped_early} before the endpoint goes away (docs/alerting.md).
 */
public final class ScrapeLog {
  /** Intervals kept for {@link #interval()}: the median of the last few ignores one manual {@code curl}. */
  private static final int INTERVALS = 8;

  private long count;
  /** Scrapes served within half their scraper's timeout ({@link #served(Duration, Duration)}). */
  private long inTime;
  private long lastNanos;
  /** Set once the run is about to end: scrapes answer with Connection: close ({@link #closeConnections()}). */
  private volatile boolean closing;
  private final ArrayDeque<Long> intervals = new ArrayDeque<>();
  /** The clock of the intervals and the waits' deadlines: {@link System#nanoTime()}, or a test's. */
  private final LongSupplier nanoTime;

  public ScrapeLog() {
    this(System::nanoTime);
  }

  /** Test hook: {@code nanoTime} tells the time instead of {@link System#nanoTime()}. */
  ScrapeLog(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  /** A scrape of a scraper with no known timeout was served (its body taken) now. */
  public void served() {
    served(Duration.ZERO, null);
  }

  /**
   * A scrape was served (its body taken) now, {@code took} after its request reached the route, to a scraper that
   * gives up after {@code scraperTimeout} (Prometheus sends it as X-Prometheus-Scrape-Timeout-Seconds; null: not
   * known). One that took more than half of it is not counted {@link #inTime()}: the time before the route and the
   * response's way back are not measured, and Prometheus drops a scrape that ends after its timeout, samples and all.
   */
  public synchronized void served(Duration took, Duration scraperTimeout) {
    if (scraperTimeout == null || took.multipliedBy(2).compareTo(scraperTimeout) <= 0) {
      inTime++;
    }
    long now = nanoTime.getAsLong();
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

  /**
   * From now on every scrape's response closes its connection once it is written: the endpoint goes away soon, and a
   * connection closed by the server's termination while a response is on its way truncates it.
   */
  public void closeConnections() {
    closing = true;
  }

  /** Whether scrapes now close their connections ({@link #closeConnections()}). */
  public boolean closing() {
    return closing;
  }

  /** Scrapes served so far within half their scraper's timeout, which the scraper could take. */
  public synchronized long inTime() {
    return inTime;
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
   * Waits until more than {@code seenInTime} scrapes were served {@link #inTime()}, at most {@code timeout}, or until
   * {@code cancelled} says so (checked every 100 ms); whether one came. A scrape served too late for its scraper shows
   * that a scraper is there, only slow: it starts the timeout again, never past {@code max} from now.
   */
  public synchronized boolean awaitAfter(long seenInTime, Duration timeout, Duration max, BooleanSupplier cancelled)
      throws InterruptedException {
    long start = nanoTime.getAsLong();
    long deadline = start + Math.min(timeout.toNanos(), max.toNanos());
    long late = count - inTime;
    while (inTime <= seenInTime) {
      if (count - inTime > late) {
        late = count - inTime;
        deadline = Math.min(nanoTime.getAsLong() + timeout.toNanos(), start + max.toNanos());
      }
      long left = deadline - nanoTime.getAsLong();
      if (left <= 0 || cancelled.getAsBoolean()) {
        return false;
      }
      wait(Math.max(1, Math.min(100, left / 1_000_000)));
    }
    return true;
  }

  @Override
  public synchronized String toString() {
    return "ScrapeLog[" + count + " scrapes, " + inTime + " in time, intervals " + Arrays.toString(intervals.toArray()) + "]";
  }
}
