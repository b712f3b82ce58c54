package org.splinewatch.cluster;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.trainer.TrainerActor;

/**
 * What a cluster trainer gives its metrics node at registration as the address for stops and alerts, instead of its
 * system guardian (whose address every node can guess): an actor with an unguessable name that passes on only the {@link TrainerActor.Stop}s and {@link MetricsNode.RunAlert}s (an alert may stop the run) that
 * carry the run's stop token (chosen by the trainer and told to the metrics node in {@link MetricsNode.RegisterRun}). What it passes on arrives at the guardian as a
 * {@link Verified}, a message no peer can send (it is not bound to a serializer); the guardian refuses a stop or an
 * alert that arrives any other way. A refused stop is counted by {@link Rejections} and logged once.
 */
public final class TrainerDoor {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A stop or an alert that came through a run's door (local only: never crosses the network). */
  public record Verified(Object message) {
  }

  private TrainerDoor() {
  }

  /** 128 random bits in hex: a run's stop token, or an unguessable actor name. */
  public static String secret() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Opens a door to {@code system}'s guardian that lets through the stops carrying {@code stopToken}. */
  public static ActorRef<Object> open(ActorSystem<Object> system, String stopToken, Rejections rejections) {
    return system.systemActorOf(create(system, stopToken, rejections), "run-door-" + secret(), Props.empty());
  }

  /** The door's behaviour: {@code guardian} receives what is let through, wrapped in {@link Verified}. */
  public static Behavior<Object> create(ActorRef<Object> guardian, String stopToken, Rejections rejections) {
    byte[] expected = stopToken.getBytes(StandardCharsets.UTF_8);
    return Behaviors.receive(Object.class)
        .onMessage(TrainerActor.Stop.class, m -> {
          if (m.token() != null && MessageDigest.isEqual(expected, m.token().getBytes(StandardCharsets.UTF_8))) {
            guardian.tell(new Verified(new TrainerActor.Stop(Rejections.clip(m.reason(), 1000), m.token())));
          } else {
            rejections.reject("trainer", "bad_token", "unknown", "Stop ('" + Rejections.clip(m.reason(), 80)
                + "') without the run's stop token: the trainer goes on");
          }
          return Behaviors.same();
        })
        .onMessage(MetricsNode.RunAlert.class, m -> {
          if (m.token() == null || !MessageDigest.isEqual(expected, m.token().getBytes(StandardCharsets.UTF_8))) {
            rejections.reject("trainer", "bad_token", "unknown", "an alert without the run's stop token: ignored");
          } else if (m.alert() == null) {
            rejections.reject("trainer", "bad_alert", "unknown", "RunAlert without an alert");
          } else {
            guardian.tell(new Verified(new AlertRaised(m.alert())));
          }
          return Behaviors.same();
        })
        .onAnyMessage(m -> {
          rejections.reject("trainer", "bad_message", "unknown", "unexpected " + m.getClass().getSimpleName());
          return Behaviors.same();
        })
        .build();
  }
}
