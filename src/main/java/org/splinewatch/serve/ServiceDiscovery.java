package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.splinewatch.metrics.BrowsableUrl;

/**
 * Prometheus file-based service discovery: a run with a metrics endpoint writes {@code <dir>/<run-id>.json} with its
 * target and removes it when it ends, so Prometheus with {@code file_sd_configs: [{files: ['<dir>/*.json']}]} scrapes
 * every running {@code ./trainer} without config edits. The file carries no labels: the metrics already carry
 * {@code run}, {@code method} and {@code dataset}, and target labels of the same names would rename them.
 */
public final class ServiceDiscovery {
  private ServiceDiscovery() {
  }

  /** Writes the target file atomically; returns it. A wildcard bind address is advertised as loopback. */
  public static Path register(Path dir, String runId, String host, int port) {
    String advertised = BrowsableUrl.host(host, "");
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(runId + ".json");
      Path tmp = dir.resolve("." + runId + ".json.tmp");
      Files.writeString(tmp, "[{\"targets\":[\"" + advertised + ":" + port + "\"],\"labels\":{}}]\n");
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the Prometheus service-discovery file in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * Registers a target as configured: in {@code splinewatch.metrics.sd-dir} (or {@code <out>/prometheus-sd} when
   * empty), advertising {@code splinewatch.metrics.advertise-host} (or the bind host when empty).
   */
  public static Path register(DiscoverySettings settings, Path out, String name, String bindHost, int port) {
    return register(settings.dir(out), name, settings.host(bindHost), port);
  }

  /** Removes the file (null: nothing to do). */
  public static void unregister(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // the run is over either way; a stale file only makes Prometheus report the target down
    }
  }
}
