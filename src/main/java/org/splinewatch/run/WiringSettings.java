package org.splinewatch.run;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.analysis.AnalysisPriority;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.analysis.RegionSettings;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.control.ControlSettings;
import org.splinewatch.metrics.MemorySettings;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.serve.DiscoverySettings;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.trainer.NetworkFootprint;
import org.splinewatch.trainer.RunSettings;

/**
 * Everything an {@link EmbeddedRun} reads from the configuration besides its {@link
 * RunSettings}, read once at start-up (so a bad value is an error before anything starts).
 *
 * @param cluster   the cluster to join ({@code splinewatch.cluster.seed} set: {@code ./trainer --monitor}), on the
 *                  trainer's port; null for a run analysed in this process
 * @param overwrite {@code --overwrite}: an earlier run's directory of the same id is deleted first
 * @param analyzers the analyzers a run that joins a cluster asks its analyzer nodes for
 * @param interruptedAdvice the advice after an interrupt ({@code splinewatch.lifecycle.interrupted-advice}; empty:
 *                  resume with {@code --resume}), set by a caller that reruns runs its own way
 * @param analyseAfterStop a run stopped by an alert or the control endpoint still analyses its queued snapshots
 *                  ({@code splinewatch.lifecycle.analyse-after-stop}; by default they are skipped)
 */
public record WiringSettings(ClusterSettings cluster, boolean overwrite, Duration signalGrace, Duration abortDrain,
    AlertSettings alerts, ControlSettings control, DiscoverySettings discovery, MemorySettings memory,
    RetentionSettings retention, RunMeta meta, List<String> analyzers, AnalysisPriority priority,
    String interruptedAdvice, boolean analyseAfterStop) {
  /** {@code splinewatch.cluster.trainer-port}, checked under its own key (withPort named splinewatch.cluster.port). */
  private static int trainerPort(Config config) {
    ConfigBlock cluster = ConfigBlock.of(config, "splinewatch.cluster");
    int port = cluster.integer("trainer-port");
    ClusterSettings.checkPort(cluster.name("trainer-port"), port);
    return port;
  }

  public static WiringSettings fromConfig(Config config) {
    boolean remote = !config.getString("splinewatch.cluster.seed").isEmpty();
    ClusterSettings cluster = remote ? ClusterSettings.fromConfig(config).withPort(trainerPort(config)) : null;
    ConfigBlock block = ConfigBlock.of(config, "splinewatch.lifecycle");
    Config lifecycle = block.config();
    Duration abortDrain = lifecycle.hasPath("abort-drain-timeout") ? block.positiveDuration("abort-drain-timeout")
        : Duration.ofSeconds(5);
    return new WiringSettings(cluster, lifecycle.getBoolean("overwrite"), signalGrace(block, abortDrain),
        abortDrain, AlertSettings.fromConfig(config), ControlSettings.fromConfig(config),
        DiscoverySettings.fromConfig(config), MemorySettings.fromConfig(config), RetentionSettings.fromConfig(config),
        RunMeta.fromConfig(config), config.getStringList("splinewatch.analysis.enabled"),
        AnalysisPriority.fromConfig(config), lifecycle.hasPath("interrupted-advice")
            ? lifecycle.getString("interrupted-advice") : "",
        lifecycle.hasPath("analyse-after-stop") && lifecycle.getBoolean("analyse-after-stop"));
  }

  /**
   * The analysis the trainer's memory check counts in this JVM ({@link RunSettings#checkNetwork}): {@code analyzers}
   * (none where a monitor analyses the run), the priority analyzers and their buffer, and the boundary analyzer's grid
   * and data probes ({@code splinewatch.regions} in {@code config}).
   */
  public NetworkFootprint.Analysis footprint(List<AnalyzerSpec> analyzers, Config config) {
    RegionSettings regions = RegionSettings.fromConfig(config);
    return new NetworkFootprint.Analysis(remote() ? List.of() : analyzers.stream().map(AnalyzerSpec::name).toList(),
        priority.analyzers(), priority.bufferSize(), regions.grid(), regions.dataProbes());
  }

  /** The shortest signal grace: time to finish a step and write the checkpoint and run files. */
  static final Duration MIN_SIGNAL_GRACE = Duration.ofSeconds(1);

  /**
   * {@code signal-grace}: at least {@link #MIN_SIGNAL_GRACE} and longer than {@code abort-drain-timeout}, which a
   * signalled run may spend waiting for its analyses before it writes its files (0s exited at once, with nothing).
   */
  private static Duration signalGrace(ConfigBlock lifecycle, Duration abortDrain) {
    Duration grace = lifecycle.durationAtLeast("signal-grace", MIN_SIGNAL_GRACE, "time to finish the current step"
        + " and write the checkpoint and run files");
    if (grace.compareTo(abortDrain) <= 0) {
      throw new IllegalArgumentException(lifecycle.name("signal-grace") + " " + ConfigBlock.describe(grace)
          + ": expected more than splinewatch.lifecycle.abort-drain-timeout (" + ConfigBlock.describe(abortDrain)
          + "), which a signalled run may spend waiting for its analyses before it writes its files");
    }
    return grace;
  }

  /** Whether the run joins a cluster: its metrics and analysis happen on the monitor's nodes. */
  public boolean remote() {
    return cluster != null;
  }
}
