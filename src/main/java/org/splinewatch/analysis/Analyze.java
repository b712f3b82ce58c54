package org.splinewatch.analysis;

import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Analyze one snapshot and reply when done (the common command of every analyzer). {@code deadlineNanos}
 * ({@link System#nanoTime()}) is when the sender stops waiting and counts the analysis as failed itself
 * ({@code splinewatch.analysis.timeout}): an analysis that ends later publishes nothing and is not counted again.
 */
public record Analyze(WeightSnapshot snapshot, ActorRef<Analyzed> replyTo, long deadlineNanos) {
  /** No deadline: the sender waits as long as it takes. */
  public static final long NO_DEADLINE = Long.MIN_VALUE;

  public Analyze(WeightSnapshot snapshot, ActorRef<Analyzed> replyTo) {
    this(snapshot, replyTo, NO_DEADLINE);
  }

  /** Sent now by a sender that waits {@code timeout} for the answer. */
  public static Analyze within(WeightSnapshot snapshot, ActorRef<Analyzed> replyTo, Duration timeout) {
    return new Analyze(snapshot, replyTo, System.nanoTime() + timeout.toNanos());
  }

  /** Whether the sender has stopped waiting by {@code nowNanos}. */
  public boolean late(long nowNanos) {
    return deadlineNanos != NO_DEADLINE && nowNanos - deadlineNanos > 0;
  }
}
