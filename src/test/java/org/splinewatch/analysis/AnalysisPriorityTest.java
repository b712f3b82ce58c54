package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;

/** Priority analyzers go first on the shared analysis thread; everyone else is first come, first served. */
@ExtendWith(LogCapturingExtension.class)
class AnalysisPriorityTest {
  @Test
  void ranksByTheAnalyzerNameAtTheEndOfTheActorName() {
    AnalysisPriority p = new AnalysisPriority(List.of("embedding", "boundary"), 16);
    assertEquals(0, p.rank("analyzer-embedding"));
    assertEquals(0, p.rank("run-a-1234-embedding"));
    assertEquals(1, p.rank("analyzer-boundary"));
    assertEquals(2, p.rank("analyzer-regions"));
    assertEquals(2, p.rank("run-embedding-1234-regions"), "a run id containing the name does not count");
    assertTrue(p.has("embedding"));
    assertFalse(p.has("regions"));
    AnalysisPriority defaults = AnalysisPriority.fromConfig(ConfigFactory.load());
    assertEquals(List.of("embedding"), defaults.analyzers());
    assertTrue(defaults.bufferSize() > 1);
  }

  @Test
  void theEmbeddingAnalyzerOvertakesQueuedRegionWork() throws Exception {
    ActorTestKit kit = ActorTestKit.create("priority", ConfigFactory.load());
    try {
      List<String> order = new CopyOnWriteArrayList<>();
      CountDownLatch running = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch done = new CountDownLatch(4);
      DispatcherSelector analysis = DispatcherSelector.fromConfig("splinewatch-analysis-dispatcher");
      ActorRef<String> regions = kit.spawn(Behaviors.receiveMessage(m -> {
        if (m.equals("block")) {
          running.countDown();
          release.await(10, TimeUnit.SECONDS);
        } else {
          order.add("regions " + m);
          done.countDown();
        }
        return Behaviors.same();
      }), "analyzer-regions", analysis);
      ActorRef<String> boundary = kit.spawn(Behaviors.receiveMessage(m -> {
        order.add("boundary " + m);
        done.countDown();
        return Behaviors.same();
      }), "analyzer-boundary", analysis);
      ActorRef<String> embedding = kit.spawn(Behaviors.receiveMessage(m -> {
        order.add("embedding " + m);
        done.countDown();
        return Behaviors.same();
      }), "analyzer-embedding", analysis);
      // the single analysis thread is busy with a long region analysis while other work queues up behind it
      regions.tell("block");
      assertTrue(running.await(10, TimeUnit.SECONDS));
      regions.tell("100");
      boundary.tell("100");
      embedding.tell("100");
      Thread.sleep(100);
      embedding.tell("200");
      Thread.sleep(100);
      release.countDown();
      assertTrue(done.await(10, TimeUnit.SECONDS), "all analysed: " + order);
      assertEquals(List.of("embedding 100", "embedding 200"), order.subList(0, 2), order.toString());
      // then first come, first served (the region actor queues again after the message it was busy with)
      assertEquals(List.of("boundary 100", "regions 100"), order.subList(2, 4), order.toString());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
