package org.splinewatch.serve;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.control.ControlSettings;
import org.splinewatch.metrics.MemorySettings;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.settings.ConfigBlock;

/**
 * What a {@link MonitorServer} reads from the configuration, read once when it starts.
 *
 * @param finishedRunMetersGrace how long a finished run's meters stay on {@code /metrics}
 * @param analysisTimeout        how long one analysis on this node's analyzers may take
 * @param metricsHost            bind address of {@code /metrics} unless {@code --metrics-host} says otherwise
 * @param metricsPort            its port unless {@code --metrics-port} says otherwise
 * @param out                    the directory of run directories unless {@code --out} says otherwise
 * @param schedulingGroupNice    the nice its own scheduling group is set to, 0 to 19 ({@link SchedulingGroup})
 */
public record ServeSettings(MemorySettings memory, ControlSettings control, DiscoverySettings discovery,
    RetentionSettings retention, Duration finishedRunMetersGrace, Duration analysisTimeout,
    AnalyzerCatalogue analyzers, String metricsHost, int metricsPort, Path out, int schedulingGroupNice) {
  public static ServeSettings fromConfig(Config config) {
    return new ServeSettings(MemorySettings.fromConfig(config), ControlSettings.fromConfig(config),
        DiscoverySettings.fromConfig(config), RetentionSettings.fromConfig(config),
        ConfigBlock.of(config, "splinewatch.retention").durationAtLeast("finished-run-meters-grace", Duration.ZERO,
            "0: at once"),
        ConfigBlock.of(config, "splinewatch.analysis").positiveDuration("timeout"),
        AnalyzerCatalogue.fromConfig(config),
        config.getString("splinewatch.metrics.host"), ConfigBlock.of(config, "splinewatch.metrics").integer("port"),
        Path.of(config.getString("splinewatch.run.out")), schedulingGroupNice(config));
  }

  private static int schedulingGroupNice(Config config) {
    int nice = ConfigBlock.of(config, "splinewatch.serve").integer("scheduling-group-nice");
    String refused = SchedulingGroup.outOfRange(nice);
    if (refused != null) {
      throw new IllegalArgumentException(refused);
    }
    return nice;
  }
}
