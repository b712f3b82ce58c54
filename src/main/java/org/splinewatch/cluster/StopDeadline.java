package org.splinewatch.cluster;

import java.time.Duration;

/**
 * The one deadline of a monitor's stop ({@code splinewatch.cluster.finish-timeout} from the stop's start): each of
 * the stop's waits (the HTTP runs' ends, the reports, the metrics node's last reports) gets what is left of it, so
 * that the whole stop takes about finish-timeout, not that much for each wait one after another. A trainer's stop by a
 * signal has one too, its {@code signal-grace} from the signal ({@code SignalStop#deadline}), which its waits on a
 * remote monitor share.
 */
public final class StopDeadline {
  private final Duration total;
  /** {@link System#nanoTime()} at which the time runs out. */
  private final long end;

  private StopDeadline(Duration total) {
    this.total = total;
    this.end = System.nanoTime() + total.toNanos();
  }

  /** A deadline {@code total} from now. */
  public static StopDeadline in(Duration total) {
    return new StopDeadline(total);
  }

  /** What is left of it (zero once it passed). */
  public Duration left() {
    return Duration.ofNanos(Math.max(0, end - System.nanoTime()));
  }

  /** What is left of it less {@code margin} kept back for what comes after (zero once that passed). */
  public Duration leftBefore(Duration margin) {
    Duration left = left().minus(margin);
    return left.isNegative() ? Duration.ZERO : left;
  }

  /** What is left of it, at most {@code wait}. */
  public Duration left(Duration wait) {
    Duration left = left();
    return left.compareTo(wait) < 0 ? left : wait;
  }

  /** The whole time the stop was given. */
  public Duration total() {
    return total;
  }
}
