package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;

/** A cluster transport that does not start in time is one line naming the wait and its setting, not Pekko's words. */
@ExtendWith(LogCapturingExtension.class)
class BindTimeoutTest {

  /**
   * Seen with a 1 ms bind timeout in a cold JVM (Artery's ArteryTcpTransport.bindInboundStreams, Scala's Await): a
   * warm one binds within 1 ms at times, so the start's failure is mapped here as Pekko throws it.
   */
  @Test
  void aTransportThatDoesNotStartInTimeNamesTheWaitAndItsSetting() {
    Config c = ClusterRunIT.nodeConfig(Map.of(ClusterNode.BIND_TIMEOUT, "30s"));
    RuntimeException e = ClusterNode.startFailure(new java.util.concurrent.TimeoutException(
        "Future timed out after [30000 milliseconds]"), ClusterSettings.fromConfig(c), c);
    assertTrue(e instanceof IllegalStateException, e.toString());
    assertEquals("the cluster transport did not start listening on 127.0.0.1:0 within 30 s"
        + " (pekko.remote.artery.bind.bind-timeout): the machine is too busy; start it again when the load is lower,"
        + " or raise that setting", e.getMessage());
    Config fast = ClusterRunIT.nodeConfig(Map.of(ClusterNode.BIND_TIMEOUT, "1ms"));
    assertTrue(ClusterNode.startFailure(new java.util.concurrent.TimeoutException("Future timed out after [1"
        + " millisecond]"), ClusterSettings.fromConfig(fast), fast).getMessage().contains("within 0.001 s ("));
    // anything else keeps its own exception; a checked one is wrapped
    IllegalArgumentException other = new IllegalArgumentException("x");
    assertSame(other, ClusterNode.startFailure(other, ClusterSettings.fromConfig(c), c));
    assertTrue(ClusterNode.startFailure(new java.io.IOException("y"), ClusterSettings.fromConfig(c), c)
        instanceof IllegalStateException);
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
