package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A trainer's search for the monitor: what it says when it cannot join. */
class MonitorLinkTest {

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainerThatNoNodeLetsJoinNamesTheAddressReachabilityAndTlsSettingsToCheck() throws Exception {
    // something accepts TCP at the address but never lets a node in, as a monitor with TLS does a plain trainer, or a
    // starved one does not in time
    try (ServerSocket notANode = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      int port = notANode.getLocalPort();
      Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", "127.0.0.1:" + port,
          "splinewatch.cluster.join-timeout", "2s"));
      ClusterSettings settings = ClusterSettings.fromConfig(c);
      ActorSystem<Void> trainer = ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c);
      try {
        var e = assertThrows(IllegalStateException.class, () -> MonitorLink.findMetricsNode(trainer, settings));
        assertEquals("cannot reach the monitor at 127.0.0.1:" + port + ": no splinewatch node let this trainer join"
            + " within 2 s (splinewatch.cluster.join-timeout raises it); expected a running ./monitor serve there: check --monitor HOST:PORT (its --host and"
            + " cluster --port, default 25520), that it is reachable from here, and that this trainer uses the"
            + " monitor's TLS settings (--tls-dir DIR --tls-name NAME with a certificate of its CA, or none); a"
            + " monitor starved of CPU answers too late as well (its scheduling group at nice 19 on a machine loaded"
            + " by other sessions: give it a lower splinewatch.serve.scheduling-group-nice, e.g. 10)",
            e.getMessage());
      } finally {
        trainer.terminate();
      }
    }
  }

  /**
   * The line said how long it waited but not which setting makes the wait longer (a busy machine's need), nor, until
   * session 53, that a monitor starved at nice 19 is a cause, and which setting gives it more CPU.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aClusterWithoutAMetricsNodeIsNamedWithTheWaitAndTheSettingThatRaisesIt() throws Exception {
    Config first = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.join-timeout", "1s"));
    ActorSystem<Void> trainer = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(first),
        List.of("trainer"), first); // a cluster of its own: up, with no metrics node in it
    try {
      assertTrue(ClusterNode.awaitUp(trainer, java.time.Duration.ofSeconds(30), () -> false), "up");
      String seed = ClusterNode.address(trainer);
      ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
          "splinewatch.cluster.seed", seed, "splinewatch.cluster.join-timeout", "1s")));
      var e = assertThrows(IllegalStateException.class, () -> MonitorLink.findMetricsNode(trainer, settings));
      assertEquals("no splinewatch monitor (metrics node) found at " + seed + " within 1 s"
          + " (splinewatch.cluster.join-timeout raises it, which a busy machine may need); start one with ./monitor"
          + " serve, or check --monitor HOST:PORT; a monitor starved of CPU answers too late as well (its scheduling"
          + " group at nice 19 on a machine loaded by other sessions: give it a lower"
          + " splinewatch.serve.scheduling-group-nice, e.g. 10)", e.getMessage());
    } finally {
      trainer.terminate();
    }
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainerWhoseMonitorAddressRefusesConnectionsFailsBeforeItsNodeStarts() throws Exception {
    int port = closedPort();
    Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", "127.0.0.1:" + port,
        "splinewatch.cluster.join-timeout", "2s"));
    ClusterSettings settings = ClusterSettings.fromConfig(c);
    var e = assertThrows(IllegalStateException.class,
        () -> ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c));
    assertTrue(e.getMessage().startsWith("cannot reach the monitor at 127.0.0.1:" + port + ": nothing listened there"
        + " within 2 s ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("; expected a running ./monitor serve there: check --monitor HOST:PORT (its"
        + " --host and cluster --port, default 25520) and that it is reachable from here"), e.getMessage());
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aMonitorThatStartsListeningWithinTheJoinTimeoutIsWaitedFor() throws Exception {
    int port = closedPort();
    ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
        "splinewatch.cluster.seed", "127.0.0.1:" + port, "splinewatch.cluster.join-timeout", "30s")));
    CompletableFuture<ServerSocket> late = CompletableFuture.supplyAsync(() -> {
      try {
        Thread.sleep(1_500);
        return new ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try {
      ClusterNode.checkSeedListens(settings, true); // returns once the socket listens, well before 30 s
      assertTrue(late.isDone(), "returned only after the monitor's socket was bound");
    } finally {
      late.join().close();
    }
  }

  private static int closedPort() throws java.io.IOException {
    try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return free.getLocalPort(); // nothing listens there once closed
    }
  }
}
