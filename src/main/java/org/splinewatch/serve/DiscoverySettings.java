package org.splinewatch.serve;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.List;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.snapshot.RunIds;

/**
 * How a metrics endpoint is found and reached ({@code splinewatch.metrics.sd-dir}, {@code advertise-host}, {@code
 * allowed-hosts}). Read once at start-up.
 *
 * @param sdDir         the Prometheus service-discovery directory, or null for {@code <out>/prometheus-sd}
 * @param advertiseHost the host put in the target, or empty for the bind host
 * @param allowedHosts  host names answered besides loopback, the advertised and the bind host
 */
public record DiscoverySettings(Path sdDir, String advertiseHost, List<String> allowedHosts) {
  public DiscoverySettings {
    allowedHosts = List.copyOf(allowedHosts);
  }

  public static DiscoverySettings fromConfig(Config config) {
    String dir = config.getString("splinewatch.metrics.sd-dir");
    return new DiscoverySettings(dir.isEmpty() ? null : Path.of(dir),
        config.getString("splinewatch.metrics.advertise-host"),
        config.getStringList("splinewatch.metrics.allowed-hosts"));
  }

  /** The {@code Host} headers a server bound to {@code bindHost} answers (DNS-rebinding guard). */
  public MetricsHttpServer.AllowedHosts allowed(String bindHost) {
    return MetricsHttpServer.AllowedHosts.of(allowedHosts, advertiseHost, bindHost);
  }

  /** The directory of the target files for runs under {@code out}. */
  public Path dir(Path out) {
    return sdDir == null ? out.resolve(RunIds.DISCOVERY_DIR) : sdDir;
  }

  /** The host to advertise for a server bound to {@code bindHost}. */
  public String host(String bindHost) {
    return advertiseHost.isEmpty() ? bindHost : advertiseHost;
  }
}
