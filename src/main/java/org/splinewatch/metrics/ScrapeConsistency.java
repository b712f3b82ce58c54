package org.splinewatch.metrics;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Keeps a scrape from seeing half of one publication. {@link MetricsActor} sets the gauges of one {@code Publish}
 * (a step's loss, step number, epoch, ...) one after the other; a scrape that ran in between paired the new loss with
 * the old step, which a dashboard that plots one against the other (the comparison by step) then showed at the wrong
 * step. Publications hold the shared side of one lock, a scrape the exclusive side: publications of different runs
 * do not wait for each other, and a scrape sees each publication whole or not at all.
 */
final class ScrapeConsistency {
  private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

  private ScrapeConsistency() {
  }

  /** Runs the gauge updates of one publication. */
  static void publication(Runnable updates) {
    LOCK.readLock().lock();
    try {
      updates.run();
    } finally {
      LOCK.readLock().unlock();
    }
  }

  /** Runs a scrape with no publication half done. */
  static <T> T scrape(Supplier<T> scrape) {
    LOCK.writeLock().lock();
    try {
      return scrape.get();
    } finally {
      LOCK.writeLock().unlock();
    }
  }
}
