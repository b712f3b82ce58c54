package org.splinewatch.cluster;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.metrics.MetricsActor;

/**
 * A local stand-in for a run's metrics actor on the metrics node (its {@link MetricsGate}): passes every message on,
 * each {@link MetricsActor.Publish}, {@link MetricsActor.Event} and {@link MetricsActor.NonFiniteWeights} signed
 * with the run's publish token, the token of its {@link SnapshotPublisher}, which analyzer nodes learn in {@link
 * AnalyzerWorker.OpenRun} ({@link MetricsNode.SignedPublish}, {@link MetricsNode.SignedEvent}, {@link
 * MetricsNode.SignedNonFiniteWeights}). Code that
 * publishes (a trainer, analyzers) keeps sending plain {@link MetricsActor.Command}s to it.
 */
public final class PublishSigner {
  private PublishSigner() {
  }

  /**
   * @param gate     the run's metrics actor on the metrics node
   * @param token    the run's publish token
   * @param announce whether to tell the gate the token first (only the run's own publisher side does)
   */
  public static Behavior<MetricsActor.Command> create(ActorRef<MetricsActor.Command> gate, String token,
      boolean announce) {
    ActorRef<Object> to = gate.unsafeUpcast();
    return Behaviors.setup(ctx -> {
      if (announce) {
        to.tell(new MetricsNode.PublishToken(token));
      }
      return Behaviors.receive(MetricsActor.Command.class)
          .onMessage(MetricsActor.Publish.class, p -> {
            to.tell(new MetricsNode.SignedPublish(p.samples(), token));
            return Behaviors.same();
          })
          .onMessage(MetricsActor.Event.class, e -> {
            to.tell(new MetricsNode.SignedEvent(e.fields(), token));
            return Behaviors.same();
          })
          .onMessage(MetricsActor.NonFiniteWeights.class, w -> {
            to.tell(new MetricsNode.SignedNonFiniteWeights(w.step(), w.entry(), token));
            return Behaviors.same();
          })
          .onAnyMessage(m -> {
            gate.tell(m);
            return Behaviors.same();
          })
          .build();
    });
  }
}
