package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The scrapes a stopped run waits on: the bound of the wait, and the wait itself. */
class ScrapeLogTest {
  @Test
  void theWaitIsTwiceTheIntervalAtMostTheMaximumAndTheMaximumBeforeAnInterval() throws Exception {
    ScrapeLog log = new ScrapeLog();
    assertEquals(Duration.ofSeconds(60), log.waitFor(Duration.ofSeconds(60)));
    log.served();
    assertEquals(Duration.ofSeconds(60), log.waitFor(Duration.ofSeconds(60)), "one scrape: no interval yet");
    Thread.sleep(50);
    log.served();
    Duration wait = log.waitFor(Duration.ofSeconds(60));
    assertTrue(wait.compareTo(Duration.ofMillis(100)) >= 0 && wait.compareTo(Duration.ofSeconds(5)) < 0,
        wait.toString());
    assertEquals(Duration.ofMillis(20), log.waitFor(Duration.ofMillis(20)));
  }

  @Test
  void awaitAfterEndsWithTheNextScrapeOrItsTimeoutOrWhenCancelled() throws Exception {
    ScrapeLog log = new ScrapeLog();
    log.served();
    long seen = log.count();
    assertFalse(log.awaitAfter(seen, Duration.ofMillis(150), Duration.ofSeconds(60), () -> false));
    long start = System.nanoTime();
    assertFalse(log.awaitAfter(seen, Duration.ofSeconds(30), Duration.ofSeconds(60), () -> true));
    assertTrue(System.nanoTime() - start < 5_000_000_000L, "a cancelled wait ends at once");
    Thread scraper = new Thread(() -> {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
      log.served();
    });
    scraper.start();
    assertTrue(log.awaitAfter(seen, Duration.ofSeconds(30), Duration.ofSeconds(60), () -> false));
    scraper.join();
  }

  @Test
  void aScrapeServedTooLateForItsScraperDoesNotEndTheWaitButExtendsIt() throws Exception {
    // Prometheus drops a scrape that ends after its timeout (1 s where it scrapes every second), the stop with it. The
    // log's clock is the test's: a scraper thread that slept 200 ms and 200 ms more against a 300 ms wait missed it
    // on a loaded machine, where a sleep may take 100 ms longer
    AtomicLong now = new AtomicLong();
    ThreadLocal<Long> read = new ThreadLocal<>(); // the clock as this thread read it last
    ScrapeLog log = new ScrapeLog(() -> {
      read.set(now.get());
      return read.get();
    });
    log.served(Duration.ofMillis(10), Duration.ofSeconds(1));
    long seen = log.inTime();
    assertEquals(1, seen);
    // the clock by which the wait last decided to go on (its cancel check comes right after that reading)
    AtomicLong waitingAt = new AtomicLong(-1);
    Runnable goesOn = () -> waitingAt.set(read.get());
    CompletableFuture<Boolean> waited = await(log, seen, Duration.ofMillis(300), Duration.ofSeconds(30), goesOn);
    awaitWaitingAt(waitingAt, 0, waited);
    now.set(ms(200));
    log.served(Duration.ofMillis(900), Duration.ofSeconds(1)); // too late for its scraper
    // past the 300 ms alone, the wait goes on: the late scrape at 200 ms started it again
    now.set(ms(400));
    awaitWaitingAt(waitingAt, ms(400), waited);
    log.served(Duration.ofMillis(100), Duration.ofSeconds(1));
    assertTrue(waited.get(10, TimeUnit.SECONDS), "it ended with the scrape in time: " + log);
    assertEquals(3, log.count());
    assertEquals(2, log.inTime());
    // late scrapes extend the wait only up to the maximum: 200 ms again and again, never past 400 ms from its start
    long seenNow = log.inTime();
    waitingAt.set(-1);
    CompletableFuture<Boolean> capped = await(log, seenNow, Duration.ofMillis(200), Duration.ofMillis(400), goesOn);
    awaitWaitingAt(waitingAt, ms(400), capped);
    for (long t = 450; t <= 1400; t += 50) {
      now.set(ms(t));
      log.served(Duration.ofSeconds(2), Duration.ofSeconds(1));
      if (t == 700) { // past the first 200 ms: still waiting
        awaitWaitingAt(waitingAt, ms(700), capped);
      }
    }
    assertEquals(false, capped.completeOnTimeout(null, 10, TimeUnit.SECONDS).get(),
        "the wait ends at its maximum, 400 ms from its start (null: it went on): " + log);
  }

  private static long ms(long millis) {
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  /** {@link ScrapeLog#awaitAfter} on another thread, never cancelled, running {@code goesOn} as it goes on waiting. */
  private static CompletableFuture<Boolean> await(ScrapeLog log, long seen, Duration timeout, Duration max,
      Runnable goesOn) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return log.awaitAfter(seen, timeout, max, () -> {
          goesOn.run();
          return false;
        });
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** Waits until {@code wait} has gone on waiting at the log's clock {@code nanos} (it checks every 100 ms). */
  private static void awaitWaitingAt(AtomicLong waitingAt, long nanos, CompletableFuture<Boolean> wait)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (waitingAt.get() < nanos) {
      if (wait.isDone()) {
        throw new AssertionError("the wait ended (" + wait.join() + ") before the clock's " + nanos / 1_000_000
            + " ms");
      }
      assertTrue(System.nanoTime() < deadline, "the wait did not go on at the clock's " + nanos / 1_000_000 + " ms");
      Thread.sleep(5);
    }
  }
}
