package org.splinewatch.control;

import com.typesafe.config.Config;
import java.nio.file.Path;
import org.splinewatch.settings.ConfigBlock;

/**
 * {@code splinewatch.relay} ({@code ./monitor relay}): where it listens and the service-discovery directory it reads
 * the runs from ({@code relay.sd-dir}, else {@code metrics.sd-dir}, else {@code runs/prometheus-sd}). Read once.
 */
public record RelaySettings(String host, int port, Path sdDir) {
  public static RelaySettings fromConfig(Config config) {
    int port = ConfigBlock.of(config, "splinewatch.relay").integer("port");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port " + port + " is not a port; expected 0 (any free one) or 1-65535");
    }
    String dir = config.getString("splinewatch.relay.sd-dir");
    if (dir.isEmpty()) {
      dir = config.getString("splinewatch.metrics.sd-dir");
    }
    return new RelaySettings(config.getString("splinewatch.relay.host"), port,
        dir.isEmpty() ? Path.of("runs", "prometheus-sd") : Path.of(dir));
  }
}
