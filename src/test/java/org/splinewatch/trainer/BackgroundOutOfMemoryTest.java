package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.AbstractMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * An {@link OutOfMemoryError} in a splinewatch background thread: one line naming the thread, what ran out and the
 * setting to raise, handed to the run (which then ends as failed), and no stack trace. Before, the batch statistics'
 * thread printed "Exception in thread "splinewatch-batch-statistics" java.lang.OutOfMemoryError" with its stack trace
 * and the run went on. The whole run: FaultInjectionIT.
 */
class BackgroundOutOfMemoryTest {
  private static final NetworkFootprint.Limit HEAP = new NetworkFootprint.Limit(640L << 20,
      "-Xmx640m, the launchers' default", "SPLINEWATCH_HEAP");

  /** Batch outputs whose statistics run out of memory, on the thread that computes them. */
  static final class OutOfMemoryOutputs extends AbstractMap<String, Trainer.BatchOutput> {
    @Override
    public Set<Entry<String, Trainer.BatchOutput>> entrySet() {
      return Set.of(Map.entry("projector", new Trainer.BatchOutput(new double[4], 2, 2, true, null)));
    }

    @Override
    public void forEach(BiConsumer<? super String, ? super Trainer.BatchOutput> action) {
      throw new OutOfMemoryError("Java heap space");
    }
  }

  @Test
  void theLineNamesTheThreadWhatRanOutAndTheSettingToRaise() {
    assertEquals("the splinewatch-batch-statistics thread ran out of memory (Java heap space) with the Java heap's"
        + " maximum of 640 MiB (-Xmx640m, the launchers' default); expected a larger heap (SPLINEWATCH_HEAP) or a"
        + " smaller --hidden, --cnn-channels or --batch-size (docs/memory.md)",
        BackgroundOutOfMemory.line("splinewatch-batch-statistics", new OutOfMemoryError("Java heap space"), HEAP));
    String javacpp = BackgroundOutOfMemory.line("splinewatch-memory", new OutOfMemoryError(
        "Cannot allocate new LongPointer(2): totalBytes = 256, physicalBytes = 1685M"), HEAP);
    assertTrue(javacpp.startsWith("the splinewatch-memory thread ran out of native memory (Cannot allocate"), javacpp);
    assertTrue(javacpp.contains("expected a larger SPLINEWATCH_OFF_HEAP"), javacpp);
    String multi = BackgroundOutOfMemory.line("splinewatch-augment", new OutOfMemoryError("a\nb"), HEAP);
    assertEquals(1, multi.lines().count(), multi);
    // the heap as this JVM's arguments set it
    assertEquals("-Xmx1g in JAVA_OPTS", NetworkFootprint.Limits.heapOf(Map.of("JAVA_OPTS", "-Xmx1g"),
        List.of("-Xmx640m", "-Xmx1g"), 1L << 30).source());
    assertEquals("SPLINEWATCH_HEAP", NetworkFootprint.Limits.heapOf(Map.of("SPLINEWATCH_HEAP", "2g"),
        List.of("-Xmx2048m"), 2L << 30).raise());
  }

  @Test
  void anOutOfMemoryErrorInTheBatchStatisticsThreadEndsTheRunWithOneLineAndNoStackTrace() throws Exception {
    CompletableFuture<String> failed = new CompletableFuture<>();
    PrintStream err = System.err;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setErr(new PrintStream(printed, true));
    String line;
    try (AutoCloseable handler = BackgroundOutOfMemory.install(failed::complete);
        BatchStatistics statistics = new BatchStatistics(samples -> { })) {
      statistics.submit(10, new OutOfMemoryOutputs());
      line = failed.get(10, TimeUnit.SECONDS);
    } finally {
      System.setErr(err);
    }
    assertTrue(line.startsWith("the splinewatch-batch-statistics thread ran out of memory (Java heap space) with the"
        + " Java heap's maximum of "), line);
    assertTrue(line.contains("expected a larger heap ("), line);
    assertEquals(1, line.lines().count(), line);
    assertEquals("", printed.toString(), "no stack trace");
  }

  @Test
  void otherErrorsAndOtherThreadsGoToTheHandlerBefore() throws Exception {
    Thread.UncaughtExceptionHandler outer = Thread.getDefaultUncaughtExceptionHandler();
    BlockingQueue<String> before = new LinkedBlockingQueue<>();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> before.add(t.getName() + ": " + e.getMessage()));
    try {
      CompletableFuture<String> failed = new CompletableFuture<>();
      try (AutoCloseable handler = BackgroundOutOfMemory.install(failed::complete)) {
        throwIn("pool-1-thread-1", new OutOfMemoryError("Java heap space")); // not the run's thread
        throwIn("splinewatch-batch-statistics", new IllegalStateException("a bug")); // not out of memory
      }
      assertEquals("pool-1-thread-1: Java heap space", before.poll(10, TimeUnit.SECONDS));
      assertEquals("splinewatch-batch-statistics: a bug", before.poll(10, TimeUnit.SECONDS));
      assertFalse(failed.isDone(), "neither ends the run: " + failed.getNow(null));
      assertTrue(Thread.getDefaultUncaughtExceptionHandler() != null, "the handler before is back");
      throwIn("splinewatch-memory", new OutOfMemoryError("Java heap space")); // after close: the handler before
      assertEquals("splinewatch-memory: Java heap space", before.poll(10, TimeUnit.SECONDS));
      assertFalse(failed.isDone());
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(outer);
    }
  }

  private static void throwIn(String name, Throwable e) throws InterruptedException {
    Thread t = new Thread(() -> {
      if (e instanceof Error error) {
        throw error;
      }
      throw (RuntimeException) e;
    }, name);
    t.start();
    t.join();
  }
}
