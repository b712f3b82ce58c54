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
    assertFalse(log.awaitAfter(seen, Duration.ofMillis(150), () -> false));
    long start = System.nanoTime();
    assertFalse(log.awaitAfter(seen, Duration.ofSeconds(30), () -> true));
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
    assertTrue(log.awaitAfter(seen, Duration.ofSeconds(30), () -> false));
    scraper.join();
  }
}
