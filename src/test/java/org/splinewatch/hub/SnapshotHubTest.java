package org.splinewatch.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/** {@link SnapshotHub}: never blocks the publisher, drops the oldest for a lagging analyzer, counts every drop. */
@ExtendWith(TestKitJUnit5Extension.class)
class SnapshotHubTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static WeightSnapshot snapshot(long step) {
    return new WeightSnapshot("hub", step, 0, 0, 1, List.of(new Layer.Dense(1, 1, new float[] {1}, new float[] {0})),
        0, false, 0, 0, 0);
  }

  @Test
  void aBlockedAnalyzerDropsOldSnapshotsWhileAFastOneSeesEverything() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> slowSaw = new CopyOnWriteArrayList<>();
    List<Long> fastSaw = new CopyOnWriteArrayList<>();
    ConcurrentHashMap<String, AtomicInteger> drops = new ConcurrentHashMap<>();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(
        new SnapshotHub.Analyzer("slow", s -> {
          slowSaw.add(s.step());
          return gate; // held until the test releases it
        }),
        new SnapshotHub.Analyzer("fast", s -> {
          fastSaw.add(s.step());
          return CompletableFuture.completedFuture(null);
        })), 1, name -> drops.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet());
    long t0 = System.nanoTime();
    for (long step = 0; step < 50; step++) {
      hub.publish(snapshot(step));
      Thread.sleep(2);
    }
    double publishMillis = (System.nanoTime() - t0) / 1e6;
    assertTrue(publishMillis < 5_000, "publishing never waited for the blocked analyzer: " + publishMillis + " ms");
    gate.complete(null);
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(0L, slowSaw.get(0), "the first snapshot went straight to the analyzer");
    assertEquals(49L, slowSaw.get(slowSaw.size() - 1), "the newest snapshot is kept");
    assertTrue(slowSaw.size() <= 3, "the blocked analyzer saw only the first and the newest: " + slowSaw);
    assertEquals(50, slowSaw.size() + drops.get("slow").get(), "every snapshot analysed or counted as dropped");
    assertEquals(50, fastSaw.size() + drops.getOrDefault("fast", new AtomicInteger()).get());
    assertTrue(fastSaw.size() >= 40, "the fast analyzer kept up: " + fastSaw.size());
  }

  @Test
  void anAnalyzerWithItsOwnBufferKeepsABurst() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Long> keeper = new CopyOnWriteArrayList<>();
    ConcurrentHashMap<String, AtomicInteger> drops = new ConcurrentHashMap<>();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(
        new SnapshotHub.Analyzer("keeper", s -> {
          keeper.add(s.step());
          return s.step() == 0 ? gate : CompletableFuture.completedFuture(null);
        }, 16)), 1, name -> drops.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet());
    // the analyzer is held on the first snapshot (as behind a long region analysis) while ten more arrive
    for (long step = 0; step <= 10; step++) {
      hub.publish(snapshot(step));
      Thread.sleep(20);
    }
    gate.complete(null);
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L), keeper);
    assertEquals(null, drops.get("keeper"));
  }

  @Test
  void aFailingAnalysisDoesNotStopTheStream() throws Exception {
    List<Long> saw = new CopyOnWriteArrayList<>();
    AtomicInteger drops = new AtomicInteger();
    SnapshotHub hub = new SnapshotHub(testKit.system(), List.of(new SnapshotHub.Analyzer("flaky", s -> {
      saw.add(s.step());
      return s.step() % 2 == 0 ? CompletableFuture.failedFuture(new IllegalStateException("boom"))
          : CompletableFuture.completedFuture(null);
    })), 8, name -> drops.incrementAndGet());
    for (long step = 0; step < 6; step++) {
      hub.publish(snapshot(step));
      Thread.sleep(50); // snapshots arrive seconds apart in a run; a burst faster than the stream counts as drops
    }
    hub.complete().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(0, drops.get());
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), saw);
  }
}
