package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.Test;
import org.splinewatch.cli.TrainCommand;

/**
 * The failure detector's tolerated heartbeat silence: 20 s by default (a saturated 2-core machine delayed heartbeats
 * by up to 15 s; 10 s left a margin of seconds before a node was marked unreachable and downed), and
 * {@code splinewatch.cluster.heartbeat-pause} is what a started cluster node's Pekko reads.
 */
class FailureDetectorSettingsTest {
  private static final String PEKKO_KEY = "pekko.cluster.failure-detector.acceptable-heartbeat-pause";

  @Test
  void theDefaultToleratesTwentySecondsOfHeartbeatSilence() {
    Config c = TrainCommand.load(Map.of(), null);
    ClusterSettings settings = ClusterSettings.fromConfig(c);
    assertEquals(Duration.ofSeconds(20), settings.heartbeatPause());
    assertEquals(Duration.ofSeconds(20), settings.nodeConfig(c, List.of("metrics")).getDuration(PEKKO_KEY));
  }

  @Test
  void aNodeWaitsThirtySecondsForItsTransportToBind() {
    // Pekko's 3 s was overrun on a loaded 2-core machine: monitor serve failed with "Future timed out after [3000
    // milliseconds]" (reference.conf)
    Config c = TrainCommand.load(Map.of(), null);
    assertEquals(Duration.ofSeconds(30), ClusterSettings.fromConfig(c).nodeConfig(c, List.of("metrics"))
        .getDuration("pekko.remote.artery.bind.bind-timeout"));
  }

  @Test
  void aStartedNodeUsesTheConfiguredPause() {
    Config c = TrainCommand.load(Map.of("splinewatch.cluster.port", 0, "splinewatch.cluster.heartbeat-pause", "33s"),
        null);
    ActorSystem<Void> system = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c),
        List.of("trainer"), c);
    try {
      Config detector = Cluster.get(Adapter.toClassic(system)).settings().FailureDetectorConfig();
      assertEquals(Duration.ofSeconds(33), detector.getDuration("acceptable-heartbeat-pause"));
    } finally {
      system.terminate();
    }
  }
}
