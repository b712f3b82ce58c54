package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.serve.MonitorServer;

/**
 * A trainer whose monitor dies mid-run: at the run's end it does not wait out the 30 s flush and 60 s finish
 * timeouts (nor, after SIGTERM, the 25 s signal grace) for a node that is gone; it says in one line that the monitor
 * is gone and where.
 */
@ExtendWith(LogCapturingExtension.class)
class MonitorGoneIT {
  @TempDir
  Path tmp;

  @Test
  void aTrainerWhoseMonitorIsGoneSaysSoAtOnceInsteadOfWaitingOutTheTimeouts() throws Exception {
    MonitorServer monitor = ClusterRunIT.node(List.of("metrics"), "", tmp.resolve("monitor-runs"),
        new PrintStream(new ByteArrayOutputStream()));
    String seed = ClusterNode.address(monitor.system());
    Config config = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", seed));
    ClusterSettings settings = ClusterSettings.fromConfig(config);
    ActorSystem<Object> trainer = ClusterNode.start(Behaviors.<Object>empty(), settings, List.of("trainer"), config);
    try {
      MonitorLink link = MonitorLink.register(trainer, settings, "orphan",
          Map.of("run", "orphan", "method", "simclr", "dataset", "mnist"), Map.of("run_id", "orphan"), 10, null);
      link.flush(); // the monitor is there: this works
      monitor.close();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (link.monitorGone().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      long start = System.nanoTime();
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> link.finish(Map.of("type", "run_finished", "status", "done", "exit_code", 0)));
      long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
      assertTrue(seconds < 5, "finish waited " + seconds + " s for a monitor that is gone");
      assertTrue(e.getMessage().contains("the monitor at " + seed.replaceFirst(".*@", ""))
          || e.getMessage().contains("cut off from the monitor at"), e.getMessage());
      assertTrue(e.getMessage().lines().count() == 1 && !e.getMessage().contains("Exception"), e.getMessage());
    } finally {
      trainer.terminate();
      monitor.close();
    }
  }
}
