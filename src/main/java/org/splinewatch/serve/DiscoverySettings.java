package org.splinewatch.serve;

import com.typesafe.config.Config;
import java.nio.file.Path;

/**
 * Where a metrics endpoint is advertised to Prometheus ({@code splinewatch.metrics.sd-dir}, {@code
 * splinewatch.metrics.advertise-host}). Read once at start-up.
 *
 * @param sdDir         the service-discovery directory, or null for {@code <out>/prometheus-sd}
 * @param advertiseHost the host put in the target, or empty for the bind host
 */
public record DiscoverySettings(Path sdDir, String advertiseHost) {
  public static DiscoverySettings fromConfig(Config config) {
    String dir = config.getString("splinewatch.metrics.sd-dir");
    return new DiscoverySettings(dir.isEmpty() ? null : Path.of(dir),
        config.getString("splinewatch.metrics.advertise-host"));
  }

  /** The directory of the target files for runs under {@code out}. */
  public Path dir(Path out) {
    return sdDir == null ? out.resolve("prometheus-sd") : sdDir;
  }

  /** The host to advertise for a server bound to {@code bindHost}. */
  public String host(String bindHost) {
    return advertiseHost.isEmpty() ? bindHost : advertiseHost;
  }
}
