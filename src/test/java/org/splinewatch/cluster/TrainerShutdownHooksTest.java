package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A trainer's node registers no Pekko JVM hook: Artery's flushed to a stopped monitor at System.exit, after the run's
 * end had already terminated the node within the signal's grace, and the process exited past that grace.
 */
class TrainerShutdownHooksTest {

  @Test
  void aTrainerNodeHasNoJvmShutdownHooksAndAMetricsNodeKeepsItsCommandsChoice() {
    ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
    assertFalse(settings.nodeConfig(ConfigFactory.empty(), List.of("trainer")).getBoolean("pekko.jvm-shutdown-hooks"));
    // a monitor's node keeps what its command chose (serve turns them off for its own hook)
    assertFalse(settings.nodeConfig(ConfigFactory.empty(), List.of("metrics")).hasPath("pekko.jvm-shutdown-hooks"));
  }
}
