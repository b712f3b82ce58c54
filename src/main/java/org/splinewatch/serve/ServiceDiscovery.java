package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
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

  /**
   * What a monitor records for the next one on its {@code --out} ({@link OutLock#record}): the discovery file it wrote
   * and that file's identity, so that the next one can remove it if this monitor is killed and cannot.
   */
  static String left(Path file) {
    try {
      return file.toAbsolutePath() + "\n" + identity(file);
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * Removes the discovery file an earlier monitor on this {@code --out} left ({@code recorded}, from {@link #left}):
   * killed, it could not, and Prometheus (and the relay) kept its dead target, down for good. Only while it is still
   * the very file that monitor wrote (a file is written anew, through a rename, at each registration: another
   * monitor on that port has written another one) and is not {@code ours}. The file removed, or null.
   */
  static Path removeLeft(String recorded, Path ours) {
    int nl = recorded.indexOf('\n');
    if (nl <= 0) {
      return null; // nothing recorded: a first start, or a monitor from before this was recorded
    }
    try {
      Path file = Path.of(recorded.substring(0, nl));
      if (ours != null && file.equals(ours.toAbsolutePath()) || !Files.isRegularFile(file)
          || !identity(file).equals(recorded.substring(nl + 1))) {
        return null;
      }
      Files.delete(file);
      return file;
    } catch (IOException | RuntimeException e) { // RuntimeException: a path this file system cannot hold
      return null;
    }
  }

  /** The file's key (device and inode where the file system has them), modification time and size. */
  private static String identity(Path file) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
    return a.fileKey() + " " + a.lastModifiedTime() + " " + a.size();
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
