package org.splinewatch.cluster;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
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
    return last.updateAndGet(previous -> previous.exceptionally(e -> null)
        .thenRunAsync(() -> writer.accept(dir), executor));
  }

  /** The last report added: done once every report added so far is written (or failed). */
  public CompletableFuture<Void> last() {
    return last.get();
  }
}
