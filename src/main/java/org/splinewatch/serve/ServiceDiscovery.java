package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;

/**
 * Prometheus file-based service discovery: a run with a metrics endpoint writes {@code <dir>/<run-id>.json} (in a
 * shared directory {@code <run-id>.<out>-<hex>.json}: {@link DiscoverySettings#fileName}) with its target and removes
 * it when it ends, so Prometheus with {@code file_sd_configs: [{files: ['<dir>/*.json']}]} scrapes every running
 * {@code ./trainer} without config edits. The file carries no labels: the metrics already carry
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
      // its temporary is named .<file>.<hex>.tmp, which Prometheus' '*.json' pattern never reads
      DurableFiles.writeAtomically(file, ("[{\"targets\":[\"" + advertised + ":" + port + "\"],\"labels\":{}}]\n")
          .getBytes(StandardCharsets.UTF_8));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the Prometheus service-discovery file in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  /**
   * Registers a target as configured: in {@code splinewatch.metrics.sd-dir} (or {@code <out>/prometheus-sd} when
   * empty), named by {@link DiscoverySettings#fileName}, advertising {@code splinewatch.metrics.advertise-host} (or
   * the bind host when empty).
   */
  public static Path register(DiscoverySettings settings, Path out, String name, String bindHost, int port) {
    return register(settings.dir(out), settings.fileName(out, name, bindHost), settings.host(bindHost), port);
  }

  /**
   * What a monitor records for the next one on its {@code --out} ({@link OutLock#record}): the discovery file it wrote
   * and that file's identity, so that the next one can remove it if this monitor is killed and cannot; and what a
   * process keeps for its own {@link #unregister}. Empty when the identity cannot be read.
   */
  public static String left(Path file) {
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

  /** What {@link #removeUnrecorded} did: the files it removed, and one warning line for each it left in place. */
  record Unrecorded(List<Path> removed, List<String> warnings) {
  }

  /** How long {@link #removeUnrecorded} waits for a left target's port to answer. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
  private static final Pattern MONITOR_FILE = Pattern.compile("monitor-([0-9]{1,5})\\.json");
  private static final Pattern TARGET = Pattern.compile("\\[\\{\"targets\":\\[\"([^\"]+):([0-9]{1,5})\"\\],"
      + "\"labels\":\\{\\}\\}\\]\n?");

  /**
   * The discovery files a monitor from before monitors recorded theirs ({@link #left}) may have left in {@code dir},
   * the {@code --out}'s own directory: each {@code monitor-<port>.json} but {@code ours} (called after
   * {@link #removeLeft}: a later monitor's file is recorded and gone by then). This monitor holds the {@code --out}'s
   * lock, but a monitor of a release without it may still run there, so such a file is removed only when it holds one
   * target as a monitor writes it, on the port its name says, on this host ({@code advertised}: the host this monitor
   * writes in its own file) and nothing answers there (connection refused) while the file stays the same. Otherwise
   * one warning line names it and why it stays.
   */
  static Unrecorded removeUnrecorded(Path dir, Path ours, Path out, String advertised) {
    List<Path> removed = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> list = Files.list(dir)) {
      files = list.filter(f -> MONITOR_FILE.matcher(f.getFileName().toString()).matches()
          && (ours == null || !f.getFileName().equals(ours.getFileName()))).sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      return new Unrecorded(List.of(), List.of());
    }
    for (Path file : files) {
      String stays = "left " + file + " in place: it may be the Prometheus target of a monitor that ran on " + out
          + " before monitors recorded theirs in " + OutLock.FILE + ", but ";
      String delete = "; delete it if no monitor of " + out + " serves that target";
      String why;
      try {
        String identity = identity(file);
        Matcher m = TARGET.matcher(Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) ? Files.readString(file)
            : "");
        String port = MONITOR_FILE.matcher(file.getFileName().toString()).replaceFirst("$1");
        if (!m.matches() || !m.group(2).equals(port)) {
          why = "it is not one target on port " + port + " as a monitor writes it";
        } else {
          String host = m.group(1);
          String target = host + ":" + port;
          if (!onThisHost(host, advertised)) {
            why = "its target " + target + " is not on this host, so whether a monitor serves it cannot be checked"
                + " here";
          } else {
            Optional<String> answer = answers(host, Integer.parseInt(port));
            if (answer.isPresent()) {
              why = answer.get();
            } else if (!identity(file).equals(identity)) {
              why = "it was written again while it was checked";
            } else {
              Files.delete(file);
              removed.add(file);
              continue;
            }
          }
        }
      } catch (IOException | RuntimeException e) { // RuntimeException: a path or host this system cannot use
        why = "it cannot be read (" + (e instanceof IOException io ? IoErrors.reason(io) : e.getMessage()) + ")";
      }
      warnings.add(stays + why + delete);
    }
    return new Unrecorded(List.copyOf(removed), List.copyOf(warnings));
  }

  /**
   * Whether {@code host} (from a target file) is this machine: loopback, a wildcard, an address of one of its
   * interfaces, or the host this monitor advertises itself. No name is looked up.
   */
  static boolean onThisHost(String host, String advertised) {
    String h = BrowsableUrl.unbracketed(host);
    if (h.equalsIgnoreCase("localhost") || h.equalsIgnoreCase(advertised) || BrowsableUrl.wildcard(h)) {
      return true;
    }
    if (!h.matches("[0-9.]+") && !h.contains(":")) {
      return false; // a name: looking it up could take long, and say nothing of where it pointed then
    }
    try {
      InetAddress a = InetAddress.getByName(h); // a literal: not looked up
      return BrowsableUrl.ofThisMachine(a);
    } catch (IOException e) {
      return false;
    }
  }

  /** Empty when nothing listens on {@code host:port} (refused); else why the target may be served (a line part). */
  private static Optional<String> answers(String host, int port) {
    String h = BrowsableUrl.unbracketed(host);
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(h, port), (int) PROBE_TIMEOUT.toMillis());
      return Optional.of(host + ":" + port + " answers (a monitor, or another process, listens there)");
    } catch (ConnectException e) {
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of("whether anything answers on " + host + ":" + port + " cannot be told ("
          + IoErrors.reason(e) + ")");
    }
  }

  /** The file's key (device and inode where the file system has them), modification time and size. */
  private static String identity(Path file) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
    return a.fileKey() + " " + a.lastModifiedTime() + " " + a.size();
  }

  /**
   * Removes the file this process registered, while it is still the one it wrote ({@code written}: {@link #left} of it
   * just after {@link #register}): another process that wrote a file of that name since keeps its target. Null: nothing
   * to do; {@code written} empty (its identity could not be read): removed as it is.
   */
  public static void unregister(Path file, String written) {
    if (file == null) {
      return;
    }
    if (written != null && !written.isEmpty()) {
      removeLeft(written, null);
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // the run is over either way; a stale file only makes Prometheus report the target down
    }
  }
}
