package org.splinewatch.analysis;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Moves the JVM's concurrent G1 threads (marking, refinement, service) to the analyzers' {@code SCHED_IDLE} policy, so
 * that the collector's background work, most of it caused by the analyzers' allocations, also takes only idle cycles
 * and never a core the trainer or its augmentation thread wants (training must never wait for analysis). The
 * stop-the-world workers ({@code GC Thread#n}) keep normal priority: while they run, every Java thread waits for them.
 * G1 starts its concurrent threads when it first needs them, so a daemon thread looks for new ones every
 * {@code every} ({@code /proc/self/task/<tid>/comm}); Linux only, elsewhere it does nothing. Turned off by
 * {@code SPLINEWATCH_GC_PRIORITY=normal} (docs/memory.md).
 */
public final class IdleGcThreads implements AutoCloseable {
  /** Thread names (prefixes) of G1's concurrent threads in OpenJDK 17-21. */
  static final List<String> CONCURRENT = List.of("G1 Main Marker", "G1 Conc#", "G1 Refine#", "G1 Service");
  private static final Path TASKS = Path.of("/proc/self/task");
  /** Every concurrent GC thread seen, by thread id. */
  private final Map<String, Lowered> seen = new HashMap<>();
  private final Thread watcher;

  IdleGcThreads(Duration every) {
    watcher = new Thread(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          scan();
          Thread.sleep(every.toMillis());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "splinewatch-gc-priority");
    watcher.setDaemon(true);
  }

  /**
   * Starts the watcher unless {@code SPLINEWATCH_GC_PRIORITY} is {@code normal} or this is not Linux; returns null
   * then.
   */
  public static IdleGcThreads startFromEnvironment(Duration every) {
    if (normalPriority(System.getenv("SPLINEWATCH_GC_PRIORITY")) || !Files.isDirectory(TASKS)) {
      return null;
    }
    IdleGcThreads t = new IdleGcThreads(every);
    t.watcher.start();
    return t;
  }

  /**
   * Whether {@code SPLINEWATCH_GC_PRIORITY} (its {@code value}) keeps the GC threads at normal priority: true for
   * {@code normal}, false when unset or empty; any other value is a one-line {@link IllegalArgumentException} (a typo
   * would otherwise leave them idle without a word). The commands check it before anything starts (exit code 2).
   */
  public static boolean normalPriority(String value) {
    if (value == null || value.isEmpty()) {
      return false;
    }
    if (!value.equals("normal")) {
      throw new IllegalArgumentException("SPLINEWATCH_GC_PRIORITY='" + value + "' is not normal; expected normal (the"
          + " GC's concurrent threads at normal priority) or unset (idle priority, the default)");
    }
    return true;
  }

  /** Lowers the concurrent GC threads not seen before. */
  synchronized void scan() {
    try (Stream<Path> tasks = Files.list(TASKS)) {
      for (Path task : tasks.toList()) {
        String tid = task.getFileName().toString();
        if (seen.containsKey(tid)) {
          continue;
        }
        String name = comm(task);
        if (CONCURRENT.stream().anyMatch(name::startsWith)) {
          seen.put(tid, new Lowered(name, LowPriorityExecutor.lowerThread(tid)));
        }
      }
    } catch (IOException | RuntimeException e) {
      // a thread that ended while listed, or no /proc: try again on the next scan
    }
  }

  /** The policies of the concurrent GC threads seen so far, by thread name. */
  synchronized Map<String, String> policies() {
    Map<String, String> byName = new HashMap<>();
    seen.values().forEach(l -> byName.put(l.name(), l.policy()));
    return byName;
  }

  /** A thread's name and the policy it got ({@link LowPriorityExecutor#lowerThread}). */
  private record Lowered(String name, String policy) {
  }

  private static String comm(Path task) {
    try {
      return Files.readString(task.resolve("comm")).trim();
    } catch (IOException e) {
      return ""; // ended meanwhile
    }
  }

  @Override
  public void close() {
    watcher.interrupt();
  }
}
