package org.splinewatch.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;

/**
 * The reports a metrics node writes into its run directories ({@code report.html}), one after another: those of the
 * runs that end here ({@link MetricsNode}) and those of the runs it marked interrupted at its start (HTTP ingestion).
 * Each reads a whole run into the heap (seconds and much memory for a long one), so one chain for the node keeps one
 * report in memory at a time. Adding a report never waits: it is written on the executor given, after the earlier
 * ones (a failed one does not stop the next).
 */
public final class ReportChain {
  /** A run directory's report, {@code report.html}, read from its files. */
  public static final Consumer<Path> REPORT = dir -> ReportWriter.write(List.of(RunData.read(dir)),
      dir.resolve("report.html"));

  private final Consumer<Path> writer;
  private final AtomicReference<CompletableFuture<Void>> last =
      new AtomicReference<>(CompletableFuture.completedFuture(null));
  /** The run directories whose report is added and not yet written (or failed), oldest first. */
  private final Set<Path> pending = new LinkedHashSet<>();
  /** Those an {@link #awaitWritten} that ran out named already. */
  private final Set<Path> named = new HashSet<>();
  private final AtomicBoolean ranOut = new AtomicBoolean();

  /** Reports written by {@link #REPORT}. */
  public ReportChain() {
    this(REPORT);
  }

  /** Test hook: {@code writer} writes a run directory's report instead of {@link #REPORT}. */
  public ReportChain(Consumer<Path> writer) {
    this.writer = writer;
  }

  /**
   * Writes the report of {@code dir} on {@code executor} once the reports added before are written; completes when
   * it is written, exceptionally with what the writer threw (an {@link OutOfMemoryError} included).
   */
  public CompletableFuture<Void> write(Path dir, Executor executor) {
    synchronized (pending) {
      pending.add(dir);
    }
    CompletableFuture<Void> written = last.updateAndGet(previous -> previous.exceptionally(e -> null)
        .thenRunAsync(() -> writer.accept(dir), executor));
    written.whenComplete((ok, e) -> {
      synchronized (pending) {
        pending.remove(dir);
      }
    });
    return written;
  }

  /**
   * Waits at most {@code timeout} for every report added so far (a stopping node: nothing may write into a run
   * directory after it stopped); the names of the run directories whose report is still being written, or waits its
   * turn, when the time runs out, empty when all are written (or failed: a failure is logged with its run where it was
   * added). A stop waits once: after a wait that ran out, a later one (the node's, after its server's) returns at
   * once, and each run is named by one wait only.
   */
  public List<String> awaitWritten(Duration timeout) {
    if (!ranOut.get()) {
      try {
        last().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return List.of();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException e) {
        return List.of(); // the last report failed: none is still being written
      } catch (TimeoutException e) {
        // the runs named below
      }
      ranOut.set(true);
    }
    List<String> names = new ArrayList<>();
    synchronized (pending) {
      for (Path dir : pending) {
        if (named.add(dir)) {
          names.add(String.valueOf(dir.getFileName()));
        }
      }
    }
    return names;
  }

  /** The last report added: done once every report added so far is written (or failed). */
  public CompletableFuture<Void> last() {
    return last.get();
  }
}
