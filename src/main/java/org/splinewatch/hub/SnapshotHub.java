package org.splinewatch.hub;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * to without waiting, a {@link DropOldestStage} of {@code bufferSize} snapshots that drops the oldest when the
 * analyzer lags (each drop reported through {@code onDrop}), and {@code mapAsync(1)} calling the analyzer, which takes
 * the oldest waiting snapshot when the one before has finished: a stream holds its buffer and the snapshot in
 * analysis (and, for a moment, the one just offered). An analysis that fails (or throws) is skipped; the stream goes
 * on. An analyzer may keep a longer
 * buffer of its own (the priority analyzers of {@code splinewatch.analysis.priority}, whose snapshots the collapse
 * rules need).
 *
 * <p>{@link #complete()} ends a run normally: every analyzer works through what it holds. {@link #abandon()} ends it
 * early (a stop, a failure, a signal): the snapshots still waiting are skipped and counted, only the analyses in
 * progress finish.
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

  /** Snapshots skipped by {@link #abandon()}, per analyzer, and when the analyses in progress have finished. */
  public record Abandoned(Map<String, Long> unanalysed, CompletionStage<Done> done) {
  }

  private final List<Pair<String, BoundedSourceQueue<WeightSnapshot>>> queues = new ArrayList<>();
  private final List<CompletionStage<Done>> done = new ArrayList<>();
  private final Consumer<String> onDrop;
  /** Guards {@link #waiting} and {@link #abandoned}: a snapshot is either started or counted as skipped, never both. */
  private final Object lock = new Object();
  /** Per analyzer (in {@link #queues}' order): snapshots entered and neither dropped nor started. */
  private final long[] waiting;
  /** Per analyzer: analyses started and not finished. */
  private final long[] inProgress;
  private boolean abandoned;

  public SnapshotHub(ActorSystem<?> system, List<Analyzer> analyzers, int bufferSize, Consumer<String> onDrop) {
    if (bufferSize < 1) {
      throw new IllegalArgumentException("hub buffer size must be at least 1, got " + bufferSize);
    }
    this.onDrop = onDrop;
    this.waiting = new long[analyzers.size()];
    this.inProgress = new long[analyzers.size()];
    for (int i = 0; i < analyzers.size(); i++) {
      Analyzer a = analyzers.get(i);
      int index = i;
      int keep = a.bufferSize() > 0 ? a.bufferSize() : bufferSize;
      Pair<BoundedSourceQueue<WeightSnapshot>, CompletionStage<Done>> m = Source.<WeightSnapshot>queue(1)
          .via(new DropOldestStage<WeightSnapshot>(keep, dropped -> {
            boolean count;
            synchronized (lock) {
              // after abandon() every waiting snapshot was counted as unanalysed: one pushed out of the buffer by a
              // last snapshot still at the entrance then is not counted again as dropped
              count = !abandoned;
              if (count) {
                waiting[index]--;
              }
            }
            if (count) {
              onDrop.accept(a.name());
            }
          }))
          .mapAsync(1, s -> start(index) ? analyse(a, s).handle((r, e) -> finished(index))
              : CompletableFuture.completedFuture(Done.getInstance()))
          .toMat(Sink.ignore(), Keep.both())
          .run(system);
      queues.add(Pair.create(a.name(), m.first()));
      done.add(m.second());
    }
  }

  /**
   * The analysis of {@code s}; one that throws instead of failing its stage fails the same way (the stream goes on).
   */
  private static CompletionStage<?> analyse(Analyzer a, WeightSnapshot s) {
    try {
      return a.analyze().apply(s);
    } catch (RuntimeException | Error e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Whether analyzer {@code index} analyses the snapshot it is handed: not after {@link #abandon()}. */
  private boolean start(int index) {
    synchronized (lock) {
      if (abandoned) {
        return false; // counted by abandon()
      }
      waiting[index]--;
      inProgress[index]++;
      return true;
    }
  }

  private Done finished(int index) {
    synchronized (lock) {
      inProgress[index] = Math.max(0, inProgress[index] - 1); // 0 once cutShort() counted it
    }
    return Done.getInstance();
  }

  /**
   * After {@link #abandon()}, when the wait for the analyses in progress is over: those still running are counted
   * as unanalysed too (per analyzer, analyzers with none left out), so that every snapshot offered is either
   * analysed, dropped, failed or unanalysed. An analysis that still finishes afterwards is not counted again here.
   */
  public Map<String, Long> cutShort() {
    Map<String, Long> out = new LinkedHashMap<>();
    synchronized (lock) {
      for (int i = 0; i < queues.size(); i++) {
        if (inProgress[i] > 0) {
          out.put(queues.get(i).first(), inProgress[i]);
        }
        inProgress[i] = 0;
      }
    }
    return out;
  }

  /** Offers a snapshot to every analyzer; never blocks. A full queue counts as a drop for that analyzer. */
  public void publish(WeightSnapshot snapshot) {
    for (int i = 0; i < queues.size(); i++) {
      var q = queues.get(i);
      synchronized (lock) {
        waiting[i]++; // before the offer: the stream may start it at once
      }
      QueueOfferResult r = q.second().offer(snapshot);
      if (r != QueueOfferResult.enqueued()) {
        synchronized (lock) {
          waiting[i]--;
        }
        onDrop.accept(q.first());
      }
    }
  }

  /**
   * No more snapshots, and an early end: the snapshots still waiting for each analyzer are skipped (their counts
   * returned, analyzers with none left out); the returned stage completes when the analyses in progress have finished.
   */
  public Abandoned abandon() {
    return new Abandoned(skipWaiting(), complete());
  }

  /** Marks the hub abandoned and returns, per analyzer with any, the snapshots still waiting, now skipped. */
  private Map<String, Long> skipWaiting() {
    Map<String, Long> unanalysed = new LinkedHashMap<>();
    synchronized (lock) {
      abandoned = true;
      for (int i = 0; i < queues.size(); i++) {
        if (waiting[i] > 0) {
          unanalysed.put(queues.get(i).first(), waiting[i]);
        }
        waiting[i] = 0;
      }
    }
    return unanalysed;
  }

  /**
   * A normal end whose drain ran out of time ({@code drain-timeout}): the snapshots still waiting are skipped, and
   * they and the analyses still in progress are counted as unanalysed (per analyzer, analyzers with none left out),
   * as after an early end. An analysis that still finishes afterwards is not counted again.
   */
  public Map<String, Long> giveUp() {
    synchronized (lock) { // one count of both: no analysis starts or ends between them
      Map<String, Long> left = skipWaiting();
      cutShort().forEach((analyzer, n) -> left.merge(analyzer, n, Long::sum));
      return left;
    }
  }

  /** No more snapshots; completes when every analyzer has finished what it holds. */
  public CompletionStage<Done> complete() {
    queues.forEach(q -> q.second().complete());
    return CompletableFuture.allOf(done.stream().map(CompletionStage::toCompletableFuture)
        .toArray(CompletableFuture[]::new)).thenApply(v -> Done.getInstance());
  }
}
