package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.trainer.TrainerActor;

/** Registers a SimCLR run on a metrics node under test, as a trainer does, and checks that it was let in. */
final class MetricsNodeRuns {
  private MetricsNodeRuns() {
  }

  /** {@code wait}: how long the node may take to answer (one busy with a report answered nothing until it was written). */
  static MetricsNode.Registered register(ActorTestKit testKit, ActorRef<MetricsNode.Command> node, String run,
      Duration wait) {
    TestProbe<TrainerActor.Command> trainer = testKit.createTestProbe();
    TestProbe<AlertRaised> alerts = testKit.createTestProbe();
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    node.tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", run), 10, null, trainer.ref(), alerts.ref(), reply.ref()));
    MetricsNode.Registered r = reply.receiveMessage(wait);
    assertNull(r.error());
    return r;
  }
}
