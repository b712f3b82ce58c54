package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link ClusterNode#awaitService} on a node too busy to answer its receptionist lookups at once. */
class AwaitServiceTest {
  private static final ServiceKey<String> KEY = ServiceKey.create(String.class, "await-service-test");

  /**
   * The lookup's ask had a fixed 5 s timeout: a receptionist that answered after 7 s (both cores busy) failed the
   * wait with an AskTimeoutException though the wait had 20 s, and one that had 2 s took 5 s and threw.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aReceptionistAnsweringLateIsWaitedForUpToTheWaitsOwnTimeout() throws Exception {
    // one thread per dispatcher, so that one blocked actor each holds up the receptionist, whichever it runs on
    Config c = ConfigFactory.parseString("""
        pekko.actor.default-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 1 }
        pekko.actor.internal-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 1 }
        """).withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
      ActorRef<String> service = ctx.spawn(Behaviors.ignore(), "service");
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, service));
      return Behaviors.empty();
    }), "await", c);
    try {
      assertEquals(1, ClusterNode.awaitService(system, KEY, 1, Duration.ofSeconds(20)).size(), "registered");
      CountDownLatch busy = new CountDownLatch(2);
      java.util.concurrent.atomic.AtomicLong blockedSince = new java.util.concurrent.atomic.AtomicLong();
      for (String dispatcher : List.of("pekko.actor.default-dispatcher", "pekko.actor.internal-dispatcher")) {
        system.systemActorOf(Behaviors.setup(ctx -> {
          blockedSince.compareAndSet(0, System.nanoTime()); // the first to block: the other blocks after it
          busy.countDown();
          Thread.sleep(7_000); // a core the receptionist waits for
          return Behaviors.empty();
        }), "busy-" + dispatcher.substring(dispatcher.lastIndexOf('.') + 1), DispatcherSelector.fromConfig(dispatcher));
      }
      assertTrue(busy.await(10, TimeUnit.SECONDS), "both dispatchers blocked");
      long t0 = System.nanoTime();
      // a wait shorter than the lookup's answer ends empty at its own timeout, for the caller's one-line error
      // (1 s, well inside the 7 s the receptionist is held up, and 4 s short of the fixed 5 s it waited)
      assertEquals(Set.of(), ClusterNode.awaitService(system, KEY, 1, Duration.ofSeconds(1)));
      double shortWait = (System.nanoTime() - t0) / 1e9;
      assertTrue(shortWait >= 0.95 && shortWait < 4.5, "ended at its 1 s, not a fixed 5 s: " + shortWait);
      // a longer one gets the answer that comes after 7 s
      assertEquals(1, ClusterNode.awaitService(system, KEY, 1, Duration.ofSeconds(20)).size());
      // from when the first thread blocked, not from t0 (a slow start of the wait is no earlier answer)
      double longWait = (System.nanoTime() - blockedSince.get()) / 1e9;
      assertTrue(longWait >= 6.9, "the receptionist answered only after the blocked threads: " + longWait);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
