package org.splinewatch.trainer;

import java.lang.management.ManagementFactory;
import java.util.function.Consumer;

/**
 * An {@link OutOfMemoryError} in one of the run's own background threads (named {@code splinewatch-...}: the batch
 * statistics, the augmentation, the memory watch) as one line naming the thread, what ran out and the setting that
 * gives more, instead of the JVM's "Exception in thread" and a stack trace while the run went on without that thread.
 * {@link #install} makes that the JVM's default for uncaught errors; the run then ends as failed with the line, its
 * files written (as over its resident limit). The analyzers' own errors are handled by their actors (the analyzer is
 * disabled, training goes on); Pekko's dispatcher threads have their own handler.
 */
public final class BackgroundOutOfMemory {
  /** The prefix of the threads this handler ends the run for. */
  static final String THREADS = "splinewatch-";

  /** What else makes room in a training run: a smaller network. */
  static final String TRAINER = "or a smaller --hidden, --cnn-channels or --batch-size (docs/memory.md)";

  /** What else makes room on a {@code monitor serve} node: fewer runs analysed at once. */
  public static final String SERVE = "or fewer runs streaming to this node at once, or fewer --analysis-threads"
      + " (docs/memory.md)";

  private BackgroundOutOfMemory() {
  }

  /**
   * The line for {@code e} in {@code thread}: JavaCPP's refusals ("Cannot allocate ... physicalBytes") are native
   * memory (SPLINEWATCH_OFF_HEAP), everything else the Java heap ({@code heap}: its maximum, where it is set).
   */
  static String line(String thread, OutOfMemoryError e, NetworkFootprint.Limit heap) {
    return line(thread, e, heap, TRAINER);
  }

  /** As above, with {@code smaller} what else makes room ({@link #TRAINER}, {@link #SERVE}). */
  static String line(String thread, OutOfMemoryError e, NetworkFootprint.Limit heap, String smaller) {
    String what = e.getMessage() == null || e.getMessage().isBlank() ? "OutOfMemoryError"
        : e.getMessage().lines().findFirst().orElse("");
    if (what.startsWith("Cannot allocate") && what.contains("physicalBytes")) {
      return "the " + thread + " thread ran out of native memory (" + what + "); expected a larger"
          + " SPLINEWATCH_OFF_HEAP " + smaller;
    }
    return "the " + thread + " thread ran out of memory (" + what + ") with the Java heap's maximum of "
        + NetworkFootprint.bytes(heap.bytes()) + " (" + heap.source() + "); expected a larger heap (" + heap.raise()
        + ") " + smaller;
  }

  /** The line for {@code e} in {@code thread}, with this JVM's heap. */
  public static String line(String thread, OutOfMemoryError e) {
    return line(thread, e, heap());
  }

  private static NetworkFootprint.Limit heap() {
    return NetworkFootprint.Limits.heapOf(System.getenv(), ManagementFactory.getRuntimeMXBean().getInputArguments(),
        Runtime.getRuntime().maxMemory());
  }

  /**
   * Until closed, an {@link OutOfMemoryError} no thread of the run's ({@value #THREADS}...) caught goes to
   * {@code fail} as its line, printing nothing; anything else to the handler before (or, without one, as the JVM
   * prints it).
   */
  public static AutoCloseable install(Consumer<String> fail) {
    return install(fail, TRAINER);
  }

  /**
   * As above, the line ending with {@code smaller}, what else makes room: {@code monitor serve} prints it as a warning
   * and goes on serving (it cannot stop the runs it serves).
   */
  public static AutoCloseable install(Consumer<String> fail, String smaller) {
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    // read now: with the heap full, the handler may not be able to read them (or build the line: then this one)
    NetworkFootprint.Limit heap = heap();
    String fallback = "a splinewatch thread ran out of memory with the Java heap's maximum of "
        + NetworkFootprint.bytes(heap.bytes()) + " (" + heap.source() + "); expected a larger heap (" + heap.raise()
        + ") " + smaller;
    Thread.UncaughtExceptionHandler handler = (t, e) -> {
      if (e instanceof OutOfMemoryError oom && t.getName().startsWith(THREADS)) {
        String reason;
        try {
          reason = line(t.getName(), oom, heap, smaller);
        } catch (OutOfMemoryError again) {
          reason = fallback;
        }
        fail.accept(reason);
      } else if (before != null) {
        before.uncaughtException(t, e);
      } else { // what ThreadGroup.uncaughtException prints without a default handler
        System.err.print("Exception in thread \"" + t.getName() + "\" ");
        e.printStackTrace(System.err);
      }
    };
    Thread.setDefaultUncaughtExceptionHandler(handler);
    return () -> {
      if (Thread.getDefaultUncaughtExceptionHandler() == handler) {
        Thread.setDefaultUncaughtExceptionHandler(before);
      }
    };
  }
}
