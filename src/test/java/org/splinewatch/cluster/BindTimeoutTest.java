package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;

/** A cluster transport that does not start in time is one line naming the wait and its setting, not Pekko's words. */
@ExtendWith(LogCapturingExtension.class)
class BindTimeoutTest {

  @Test
  void aTransportThatDoesNotStartInTimeNamesTheWaitAndItsSetting() {
    // 1 ms: Artery's TCP server cannot start that fast, as on a machine too busy for 30 s
    Config c = ClusterRunIT.nodeConfig(Map.of(ClusterNode.BIND_TIMEOUT, "1ms"));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of("analyzer"), c));
    assertTrue(e.getMessage().startsWith("the cluster transport did not start listening on 127.0.0.1:0 within 1 ms"
        + " (pekko.remote.artery.bind.bind-timeout): the machine is too busy"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void onlyScalasAwaitTimeoutReadsAsOne() {
    assertTrue(ClusterNode.bindTimedOut(new RuntimeException("start failed",
        new java.util.concurrent.TimeoutException("Future timed out after [30000 milliseconds]"))));
    assertFalse(ClusterNode.bindTimedOut(new java.util.concurrent.TimeoutException("Ask timed out")));
    assertFalse(ClusterNode.bindTimedOut(new RuntimeException("other")));
    assertEquals("pekko.remote.artery.bind.bind-timeout", ClusterNode.BIND_TIMEOUT);
  }
}
