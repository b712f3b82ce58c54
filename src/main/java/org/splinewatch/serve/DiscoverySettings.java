package org.splinewatch.serve;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.snapshot.RunIds;

/**
 * How a metrics endpoint is found and reached ({@code splinewatch.metrics.sd-dir}, {@code advertise-host}, {@code
 * allowed-hosts}). Read once at start-up.
 *
 * @param sdDir         the Prometheus service-discovery directory, or null for {@code <out>/prometheus-sd}
 * @param advertiseHost the host put in the target, or empty for the bind host
 * @param allowedHosts  host names answered besides loopback, the advertised and the bind host
 * @param stoppedScrapeWait at most how long a run stopped early by an alert, whose endpoint was scraped, keeps it (and
 *                      its discovery file) up for the next scrape ({@code splinewatch.metrics.stopped-scrape-wait};
 *                      0: not at all)
 */
public record DiscoverySettings(Path sdDir, String advertiseHost, List<String> allowedHosts,
    Duration stoppedScrapeWait) {
  /** The default of {@code splinewatch.metrics.stopped-scrape-wait}. */
  public static final Duration STOPPED_SCRAPE_WAIT = Duration.ofSeconds(60);

  public DiscoverySettings {
    allowedHosts = List.copyOf(allowedHosts);
  }

  public DiscoverySettings(Path sdDir, String advertiseHost, List<String> allowedHosts) {
    this(sdDir, advertiseHost, allowedHosts, STOPPED_SCRAPE_WAIT);
  }

  public static DiscoverySettings fromConfig(Config config) {
    String dir = config.getString("splinewatch.metrics.sd-dir");
    return new DiscoverySettings(dir.isEmpty() ? null : Path.of(dir),
        config.getString("splinewatch.metrics.advertise-host"),
        config.getStringList("splinewatch.metrics.allowed-hosts"),
        ConfigBlock.of(config, "splinewatch.metrics").durationAtLeast("stopped-scrape-wait", Duration.ZERO,
            "0s: a stopped run does not wait for Prometheus's next scrape"));
  }

  /** The {@code Host} headers a server bound to {@code bindHost} answers (DNS-rebinding guard). */
  public MetricsHttpServer.AllowedHosts allowed(String bindHost) {
    return MetricsHttpServer.AllowedHosts.of(allowedHosts, advertiseHost, bindHost);
  }

  /** The directory of the target files for runs under {@code out}. */
  public Path dir(Path out) {
    return sdDir == null ? out.resolve(RunIds.DISCOVERY_DIR) : sdDir;
  }

  /**
   * The target file's name, without {@code .json}, for {@code name} (a run id, or {@code monitor-<port>}) of a process
   * on {@code --out} {@code out} bound to {@code bindHost}. In the {@code --out}'s own {@code prometheus-sd} the name
   * alone: one run per id there. In a shared {@code sd-dir}, where processes of other {@code --out}s (and machines)
   * write theirs, {@code <name>.<out's last name>-<8 hex>}, the hex from the advertised host and the {@code --out}'s
   * real path: two runs with one id on different {@code --out}s keep a file each (one overwrote the other's, and the
   * first to end removed it), and a resumed run writes the same one again.
   */
  public String fileName(Path out, String name, String bindHost) {
    if (sdDir == null) {
      return name;
    }
    Path where;
    try {
      where = out.toRealPath(); // a symlink and its target are one --out (and one run lock)
    } catch (IOException e) {
      where = out.toAbsolutePath().normalize();
    }
    Path last = where.getFileName();
    String readable = last == null ? "" : last.toString().replaceAll("[^A-Za-z0-9._-]", "_");
    readable = readable.length() > 32 ? readable.substring(0, 32) : readable;
    String key = BrowsableUrl.host(host(bindHost), "") + "\n" + where;
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      return name + "." + (readable.isEmpty() ? "" : readable + "-") + HexFormat.of().formatHex(digest, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e); // every JVM has it
    }
  }

  /** The host to advertise for a server bound to {@code bindHost}. */
  public String host(String bindHost) {
    return advertiseHost.isEmpty() ? bindHost : advertiseHost;
  }
}
