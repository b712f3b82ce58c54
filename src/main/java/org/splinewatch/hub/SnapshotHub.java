package org.splinewatch.hub;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Broadcasts snapshots to every analyzer in parallel. Each analyzer has its own stream: a queue the trainer offers
 * to without waiting, a conflating {@link DropOldestBuffer} of {@code bufferSize} snapshots that drops the oldest
 * when the analyzer lags (each drop reported through {@code onDrop}), and {@code mapAsync(1)} calling the analyzer.
 * An analysis that fails completes exceptionally and is skipped; the stream goes on. An analyzer may keep a longer
 * buffer of its own (the priority analyzers of {@code splinewatch.analysis.priority}, whose snapshots the collapse
 * rules need).
 */
public final class SnapshotHub {

  /**
   * An analyzer as the hub sees it: a name, an asynchronous analysis and how many un-analysed snapshots it keeps
   * ({@code 0}: the hub's buffer size).
   */
  public record Analyzer(String name, Function<WeightSnapshot, CompletionStage<?>> analyze, int bufferSize) {
    public Analyzer(String name, Function<WeightSnapshot, CompletionStage<?>> analyze) {
      this(name, analyze, 0);
    }
  }

  private final List<Pair<String, BoundedSourceQueue<WeightSnapshot>>> queues = new ArrayList<>();
  private final List<CompletionStage<Done>> done = new ArrayList<>();
  private final Consumer<String> onDrop;

  public SnapshotHub(ActorSystem<?> system, List<Analyzer> analyzers, int bufferSize, Consumer<String> onDrop) {
    if (bufferSize < 1) {
      throw new IllegalArgumentException("hub buffer size must be at least 1, got " + bufferSize);
    }
    this.onDrop = onDrop;
    for (Analyzer a : analyzers) {
      int keep = a.bufferSize() > 0 ? a.bufferSize() : bufferSize;
      Pair<BoundedSourceQueue<WeightSnapshot>, CompletionStage<Done>> m = Source.<WeightSnapshot>queue(1)
          .conflateWithSeed(s -> {
            DropOldestBuffer<WeightSnapshot> b = new DropOldestBuffer<>(keep, dropped -> onDrop.accept(a.name()));
            b.add(s);
            return b;
          }, (b, s) -> {
            b.add(s);
            return b;
          })
          .mapConcat(DropOldestBuffer::drain)
          .mapAsync(1, s -> a.analyze().apply(s).handle((r, e) -> Done.getInstance()))
          .toMat(Sink.ignore(), Keep.both())
          .run(system);
      queues.add(Pair.create(a.name(), m.first()));
      done.add(m.second());
    }
  }

  /** Offers a snapshot to every analyzer; never blocks. A full queue counts as a drop for that analyzer. */
  public void publish(WeightSnapshot snapshot) {
    for (var q : queues) {
      QueueOfferResult r = q.second().offer(snapshot);
      if (r != QueueOfferResult.enqueued()) {
        onDrop.accept(q.first());
      }
    }
  }

  /** No more snapshots; completes when every analyzer has finished what it holds. */
  public CompletionStage<Done> complete() {
    queues.forEach(q -> q.second().complete());
    return CompletableFuture.allOf(done.stream().map(CompletionStage::toCompletableFuture)
        .toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }
}
