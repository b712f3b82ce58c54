package org.splinewatch.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/** {@link SnapshotHub}: never blocks the publisher, drops the oldest for a lagging analyzer, counts every drop. */
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class SnapshotHubTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static WeightSnapshot snapshot(long step) {
    return new WeightSnapshot("hub", step, 0, 0, 1, List.of(new Layer.Dense(1, 1, new float[] {1}, new float[] {0})),
        0, false, 0, 0, 0);
  }

  /**
   * The drops a hub reports, told apart by where they happen: at the entrance (the analyzer's one-element queue is
   * still full; reported inside {@code publish}, on the publishing thread) or in the drop-oldest buffer (on the
   * stream's thread).
   */
  private static final class Drops implements Consumer<String> {
    private final ThreadLocal<Boolean> publishing = ThreadLocal.withInitial(() -> false);
    final AtomicInteger atEntrance = new AtomicInteger();
    final List<String> buffered = new CopyOnWriteArrayList<>();

    @Override
    public void accept(String analyzer) {
      if (publishing.get()) {
        atEntrance.incrementAndGet();
      } else {
        buffered.add(analyzer);
      }
    }

    /**
     * Publishes until the snapshot has entered the hub (a hub with one analyzer): a snapshot offered while the
     * previous one is still in the entrance queue is offered again, so that the order in which snapshots reach the
     * buffer, and so which ones it drops, does not depend on thread scheduling.
     */
    void enter(SnapshotHub hub, WeightSnapshot s) throws InterruptedException {
      while (true) {
        int before = atEntrance.get();
        publishing.set(true);
        try {
          hub.publish(s);
        } finally {
          publishing.set(false);
        }
        if (atEntrance.get() == before) {
          return;
        }
        Thread.sleep(5);
      }
    }
  }

  private static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
      Thread.sleep(2);
    }
  }

  @Test
  void publishingFinishesWhileTheAnalyzerIsBlockedAndTheOldestAreDropped() throws Exception {
    int buffer = 3;
    int n = 40;
    CompletableFuture<Void> gate = new CompletableFuture<>(); // the analysis of step 0 hangs until released
    List<Long> saw = new CopyOnWriteArrayList<>();
    Drops drops = new Drops();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("slow", s -> {
      saw.add(s.step());
      return s.step() == 0 ? gate : CompletableFuture.completedFuture(null);
    })), buffer, drops);
    drops.enter(hub, snapshot(0));
    await("the analyzer holds step 0", () -> saw.equals(List.of(0L)));

    List<Throwable> failure = new CopyOnWriteArrayList<>();
    Thread producer = new Thread(() -> {
      try {
        for (long step = 1; step < n; step++) {
          drops.enter(hub, snapshot(step));
        }
      } catch (Throwable e) {
        failure.add(e);
      }
    }, "producer");
    producer.start();
    producer.join(TimeUnit.SECONDS.toMillis(20));
    boolean finished = !producer.isAlive();
    List<Long> sawWhileBlocked = List.copyOf(saw);
    gate.complete(null); // release the analyzer whatever happened, so that the hub can complete
    assertTrue(finished, "the producer finished publishing " + n + " snapshots while the analyzer was blocked");
    assertEquals(List.of(), failure);
    assertEquals(List.of(0L), sawWhileBlocked, "the analyzer was still blocked on step 0");
    await("the buffer dropped all but the newest " + buffer, () -> drops.buffered.size() == n - 1 - buffer);

    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<Long> expected = new ArrayList<>(List.of(0L));
    for (long step = n - buffer; step < n; step++) {
      expected.add(step);
    }
    assertEquals(expected, saw, "after step 0, only the newest " + buffer + " were kept: the oldest were dropped");
    assertEquals(n - 1 - buffer, drops.buffered.size(), "every other snapshot counted as dropped, once");
    assertTrue(drops.buffered.stream().allMatch("slow"::equals));
  }

  @Test
  void aFastAnalyzerIsNotHeldUpByABlockedOne() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> fastSaw = new CopyOnWriteArrayList<>();
    AtomicInteger drops = new AtomicInteger();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(
        new SnapshotHub.Analyzer("slow", s -> gate),
        new SnapshotHub.Analyzer("fast", s -> {
          fastSaw.add(s.step());
          return CompletableFuture.completedFuture(null);
        })), 1, name -> {
          if (name.equals("fast")) {
            drops.incrementAndGet();
          }
        });
    for (long step = 0; step < 5; step++) {
      hub.publish(snapshot(step));
      long want = step + 1;
      await("the fast analyzer saw step " + step, () -> fastSaw.size() + drops.get() >= want);
    }
    assertFalse(gate.isDone());
    // each snapshot was published after the fast analyzer had taken the one before: it never lagged
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L), fastSaw, "the fast analyzer saw everything while the slow one hung");
    assertEquals(0, drops.get());
    gate.complete(null);
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void anAnalyzerWithItsOwnBufferKeepsABurst() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> keeper = new CopyOnWriteArrayList<>();
    Drops drops = new Drops();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(
        new SnapshotHub.Analyzer("keeper", s -> {
          keeper.add(s.step());
          return s.step() == 0 ? gate : CompletableFuture.completedFuture(null);
        }, 16)), 1, drops);
    // the analyzer is held on the first snapshot (as behind a long region analysis) while ten more arrive
    for (long step = 0; step <= 10; step++) {
      drops.enter(hub, snapshot(step));
    }
    gate.complete(null);
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), keeper);
    assertEquals(List.of(), drops.buffered);
  }

  @Test
  void abandoningSkipsTheWaitingSnapshotsCountsThemAndLetsTheOneInProgressFinish() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> saw = new CopyOnWriteArrayList<>();
    List<Long> fastSaw = new CopyOnWriteArrayList<>();
    // with two analyzers a snapshot cannot be offered again after a drop at one entrance (the other would get it
    // twice), so drops at the entrance are counted per analyzer and the expected counts follow from them
    List<String> dropped = new CopyOnWriteArrayList<>();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(
        new SnapshotHub.Analyzer("slow", s -> {
          saw.add(s.step());
          return s.step() == 0 ? gate : CompletableFuture.completedFuture(null);
        }, 16),
        new SnapshotHub.Analyzer("fast", s -> {
          fastSaw.add(s.step());
          return CompletableFuture.completedFuture(null);
        })), 16, dropped::add);
    for (long step = 0; step <= 5; step++) {
      hub.publish(snapshot(step));
      if (step == 0) {
        await("the slow analyzer holds step 0", () -> saw.equals(List.of(0L)));
      }
    }
    long slowDrops = dropped.stream().filter("slow"::equals).count();
    long fastDrops = dropped.stream().filter("fast"::equals).count();
    await("the fast analyzer saw every snapshot it was given", () -> fastSaw.size() == 6 - fastDrops);
    SnapshotHub.Abandoned a = hub.abandon();
    assertEquals(java.util.Map.of("slow", 5 - slowDrops), a.unanalysed(),
        "steps 1 to 5 were waiting behind step 0 (" + slowDrops + " dropped at the entrance)");
    assertTrue(slowDrops < 5, "at least one snapshot waited behind step 0");
    assertFalse(a.done().toCompletableFuture().isDone(), "the analysis in progress is waited for");
    gate.complete(null);
    a.done().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(0L), saw, "no waiting snapshot was analysed after the hub was abandoned");
    assertEquals(java.util.Map.of(), hub.cutShort(), "the analysis in progress finished: nothing cut short");
  }

  @Test
  void anAnalysisStillRunningWhenTheWaitEndsIsCountedOnceAsCutShort() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> saw = new CopyOnWriteArrayList<>();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("slow", s -> {
      saw.add(s.step());
      return gate;
    })), 16, name -> { });
    hub.publish(snapshot(0));
    await("the slow analyzer holds step 0", () -> saw.equals(List.of(0L)));
    SnapshotHub.Abandoned a = hub.abandon();
    assertEquals(java.util.Map.of(), a.unanalysed(), "nothing was waiting");
    // the abort-drain timeout ran out with step 0 still being analysed: it counts as unanalysed, once
    assertEquals(java.util.Map.of("slow", 1L), hub.cutShort());
    assertEquals(java.util.Map.of(), hub.cutShort());
    gate.complete(null);
    a.done().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(java.util.Map.of(), hub.cutShort(), "finishing late does not count it again");
  }

  @Test
  void givingUpAfterADrainTimeoutCountsTheWaitingAndTheRunningSnapshotsOnce() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> saw = new CopyOnWriteArrayList<>();
    Drops drops = new Drops();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("slow", s -> {
      saw.add(s.step());
      return s.step() == 0 ? gate : CompletableFuture.completedFuture(null);
    }, 16)), 16, drops);
    drops.enter(hub, snapshot(0));
    await("the slow analyzer holds step 0", () -> saw.equals(List.of(0L)));
    for (long step = 1; step <= 3; step++) {
      drops.enter(hub, snapshot(step));
    }
    var drained = hub.complete().toCompletableFuture();
    assertFalse(drained.isDone(), "step 0 is still being analysed: the drain waits");
    // drain-timeout ran out: steps 1 to 3 were waiting, step 0 was in progress
    assertEquals(java.util.Map.of("slow", 4L), hub.giveUp());
    assertEquals(java.util.Map.of(), hub.giveUp(), "counted once");
    gate.complete(null);
    drained.get(10, TimeUnit.SECONDS);
    assertEquals(List.of(0L), saw, "no waiting snapshot was analysed after the hub gave up");
    assertEquals(java.util.Map.of(), hub.cutShort(), "finishing late does not count it again");
    assertTrue(drops.buffered.isEmpty(), "nothing was dropped: " + drops.buffered);
  }

  /**
   * A stream holds its buffer and the snapshot in analysis, and drops the oldest of what waits. The stream before
   * (a conflating buffer, then {@code mapConcat}) handed the analyzer its whole buffer at once: while the first of
   * those was analysed, the others (here steps 2 and 3) could not be dropped and the buffer refilled behind them,
   * twice as many snapshots as it was sized for, and old ones analysed instead of the newest.
   */
  @Test
  void aLaggingAnalyzerKeepsOnlyItsNewestAndTheOneInAnalysis() throws Exception {
    int buffer = 3;
    Map<Long, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();
    gates.put(0L, new CompletableFuture<>());
    gates.put(1L, new CompletableFuture<>());
    List<Long> saw = new CopyOnWriteArrayList<>();
    Drops drops = new Drops();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("slow", s -> {
      saw.add(s.step());
      return gates.getOrDefault(s.step(), CompletableFuture.completedFuture(null));
    })), buffer, drops);
    drops.enter(hub, snapshot(0));
    await("the analyzer holds step 0", () -> saw.equals(List.of(0L)));
    for (long step = 1; step <= 3; step++) {
      drops.enter(hub, snapshot(step));
    }
    gates.get(0L).complete(null); // steps 1-3 waited; the analyzer takes step 1 and hangs on it
    await("the analyzer holds step 1", () -> saw.equals(List.of(0L, 1L)));
    for (long step = 4; step <= 10; step++) {
      drops.enter(hub, snapshot(step));
    }
    await("steps 2 to 7 dropped", () -> drops.buffered.size() == 6);
    gates.get(1L).complete(null);
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(0L, 1L, 8L, 9L, 10L), saw, "after step 1, the newest 3");
    assertEquals(6, drops.buffered.size());
  }

  /**
   * Publishes steps 0 to {@code n - 1} to one analyzer with a buffer of 8, completes the hub and returns the steps it
   * was handed, after checking that none was dropped.
   */
  private List<Long> handedOn(int n, java.util.function.LongFunction<CompletionStage<?>> analysis) throws Exception {
    List<Long> saw = new CopyOnWriteArrayList<>();
    Drops drops = new Drops();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("analyzer", s -> {
      saw.add(s.step());
      return analysis.apply(s.step());
    })), 8, drops);
    for (long step = 0; step < n; step++) {
      drops.enter(hub, snapshot(step));
    }
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(), drops.buffered);
    return saw;
  }

  @Test
  void anAnalysisThatThrowsIsSkippedAndTheStreamGoesOn() throws Exception {
    assertEquals(List.of(0L, 1L, 2L, 3L), handedOn(4, step -> {
      if (step == 1) {
        throw new IllegalStateException("boom before any future");
      }
      return CompletableFuture.completedFuture(null);
    }));
  }

  @Test
  void aFailingAnalysisDoesNotStopTheStream() throws Exception {
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), handedOn(6, step -> step % 2 == 0
        ? CompletableFuture.failedFuture(new IllegalStateException("boom")) : CompletableFuture.completedFuture(null)));
  }

}
