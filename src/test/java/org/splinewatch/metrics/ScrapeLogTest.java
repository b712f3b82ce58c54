package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
    // Prometheus drops a scrape that ends after its timeout (1 s where it scrapes every second), the stop with it
    ScrapeLog log = new ScrapeLog();
    log.served(Duration.ofMillis(10), Duration.ofSeconds(1));
    long seen = log.inTime();
    assertEquals(1, seen);
    Thread slow = new Thread(() -> {
      try {
        Thread.sleep(200);
        log.served(Duration.ofMillis(900), Duration.ofSeconds(1)); // too late for its scraper
        Thread.sleep(200);
        log.served(Duration.ofMillis(100), Duration.ofSeconds(1));
      } catch (InterruptedException e) {
        // the test failed already
      }
    });
    long start = System.nanoTime();
    slow.start();
    // 300 ms alone would end before the in-time scrape at 400 ms; the late one at 200 ms starts it again
    assertTrue(log.awaitAfter(seen, Duration.ofMillis(300), Duration.ofSeconds(30), () -> false), log.toString());
    assertTrue(System.nanoTime() - start >= 380_000_000L, "it waited for the scrape in time: " + log);
    assertEquals(3, log.count());
    assertEquals(2, log.inTime());
    slow.join();
    // late scrapes extend the wait only up to the maximum
    long seenNow = log.inTime();
    Thread late = new Thread(() -> {
      for (int i = 0; i < 20; i++) {
        log.served(Duration.ofSeconds(2), Duration.ofSeconds(1));
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
    start = System.nanoTime();
    late.start();
    assertFalse(log.awaitAfter(seenNow, Duration.ofMillis(200), Duration.ofMillis(400), () -> false));
    assertTrue(System.nanoTime() - start < 900_000_000L, "at most the maximum");
    late.join();
  }
}
