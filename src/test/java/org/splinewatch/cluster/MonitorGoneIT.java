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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;
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
          Map.of("run", "orphan", "method", "simclr", "dataset", "mnist"), Map.of("run_id", "orphan"), 10, null, null);
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

  @Test
  void aRunWhoseMonitorDiedEndsWithoutWaitingOutTheFlushTimeouts() throws Exception {
    // the monitor writes the trainer's --out (one machine, the default runs): the end counts coverage there too
    MonitorServer monitor = ClusterRunIT.node(List.of("analyzer", "metrics"), "", tmp.resolve("runs"),
        new PrintStream(new ByteArrayOutputStream()));
    Map<String, Object> o = SyntheticData.tinyRun(tmp, "orphan2", 1_000_000);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    o.put("splinewatch.cluster.seed", ClusterNode.address(monitor.system()));
    o.put("splinewatch.cluster.down-after", "2s");
    o.put("splinewatch.cluster.heartbeat-pause", "10s"); // the wait below is sized for it
    Config config = TrainCommand.load(o, null);
    CompletableFuture<ActorRef<TrainerActor.Command>> trainer = new CompletableFuture<>();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    CompletableFuture<EmbeddedRun.Result> run = CompletableFuture.supplyAsync(() -> EmbeddedRun.run(
        RunSettings.fromConfig(config), config, o, new PrintStream(console, true), List.of(),
        new EmbeddedRun.Listener() {
          @Override
          public void started(Path runDir, int metricsPort, ActorRef<TrainerActor.Command> ref) {
            trainer.complete(ref);
          }
        }));
    try {
      ActorRef<TrainerActor.Command> ref = trainer.get(120, TimeUnit.SECONDS);
      monitor.close();
      Thread.sleep(8_000); // unreachable after the heartbeat pause, then downed
      long start = System.nanoTime();
      ref.tell(new TrainerActor.Stop("test stop"));
      EmbeddedRun.Result result = run.get(120, TimeUnit.SECONDS);
      long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
      assertTrue(seconds < 20, "the run took " + seconds + " s to end after its monitor died: " + console);
      assertTrue(console.toString().contains("warning: this trainer was cut off from the monitor at")
          || console.toString().contains("warning: the monitor at"), console.toString());
      // said once, not again as the reason the coverage cannot be counted
      assertTrue(!console.toString().contains("cannot count the analysed snapshots"), console.toString());
      assertTrue(result.exitCode() == 3, console.toString());
    } finally {
      monitor.close();
      run.cancel(true);
    }
  }
}
