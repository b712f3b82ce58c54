package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.snapshot.DurableFiles;

/**
 * The monitors of this user that are stopping, by port: a stopping {@code monitor serve} records its pid, the end of
 * its stop, its cluster and HTTP ports and its {@code --out} in a directory of this user's
 * ({@code $SPLINEWATCH_STOPPING_DIR}, else {@code $XDG_RUNTIME_DIR/splinewatch/stopping}, else
 * {@code <java.io.tmpdir>/splinewatch-<user>/stopping}, 0700; the tests' JVMs are given one under {@code target/}).
 * A monitor started on another {@code --out} (whose {@code .monitor-stopping} it cannot see, {@link OutLock}) whose
 * port is still held by one of them waits for it, saying so in one line, instead of failing with "cluster port ... in
 * use". Best effort: where the directory cannot be used, nothing is recorded and such a start fails as before.
 */
public final class StoppingMonitors {
  /** The environment variable naming the directory itself, instead of the user's default one. */
  public static final String DIR_VARIABLE = "SPLINEWATCH_STOPPING_DIR";
  private static final long RETRY_MILLIS = 100;
  private final Path dir;
  /** Whether the directory's parent must be this user's and closed to others too (the default one's). */
  private final boolean parentChecked;

  StoppingMonitors(Path dir) {
    this(dir, true);
  }

  private StoppingMonitors(Path dir, boolean parentChecked) {
    this.dir = dir;
    this.parentChecked = parentChecked;
  }

  /** This user's record of stopping monitors: in {@code $SPLINEWATCH_STOPPING_DIR} where set, else the default. */
  static StoppingMonitors forUser() {
    return forUser(System.getenv(DIR_VARIABLE));
  }

  /** As above, {@code override} the value of {@code $SPLINEWATCH_STOPPING_DIR} (null or empty: unset). */
  static StoppingMonitors forUser(String override) {
    if (override != null && !override.isEmpty()) {
      return new StoppingMonitors(checkedDirectory(override), false);
    }
    String runtime = System.getenv("XDG_RUNTIME_DIR");
    Path base = runtime != null && !runtime.isBlank() && Files.isDirectory(Path.of(runtime))
        ? Path.of(runtime, "splinewatch")
        : Path.of(System.getProperty("java.io.tmpdir"), "splinewatch-" + System.getProperty("user.name"));
    return new StoppingMonitors(base.resolve("stopping"));
  }

  /**
   * The directory {@code $SPLINEWATCH_STOPPING_DIR} names ({@code value}), created 0700 where missing; one that cannot
   * hold the records (a file, not creatable, another user's or open to others' writes): an {@link
   * IllegalArgumentException} in one line. Unset or empty: nothing to check.
   */
  public static void checkOverride(String value) {
    if (value != null && !value.isEmpty()) {
      checkedDirectory(value);
    }
  }

  private static Path checkedDirectory(String value) {
    String expected = "; expected a directory of this user's that no one else may write to (where stopping monitors"
        + " are recorded, created 0700 where missing), or " + DIR_VARIABLE + " unset";
    Path dir = Path.of(value);
    try {
      if (Files.exists(dir) && !Files.isDirectory(dir)) {
        throw new IllegalArgumentException(DIR_VARIABLE + "=" + value + " is not a directory" + expected);
      }
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      if (!ownerOnly(dir)) {
        throw new IllegalArgumentException(DIR_VARIABLE + "=" + value + " is another user's, a link, or open to others'"
            + " writes (" + PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)) + ")" + expected);
      }
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalArgumentException(DIR_VARIABLE + "=" + value + " cannot be used (" + e + ")" + expected);
    }
    return dir;
  }

  /** The directory of the records; for tests. */
  Path directory() {
    return dir;
  }

  /** A stopping monitor as it recorded itself; {@code ends}: the end of its stop, milliseconds since the epoch. */
  record Stopping(long pid, long started, long ends, int clusterPort, int httpPort, String out) {
    boolean holds(int port) {
      return port > 0 && (port == clusterPort || port == httpPort);
    }

    /** Whether its process still runs: alive, and started when it recorded (not a pid used again since). */
    boolean running() {
      return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).map(p -> started == 0
          || p.info().startInstant().map(i -> i.toEpochMilli() == started).orElse(true)).orElse(false);
    }
  }

  /** What a monitor records once its stop begins ({@link #stopping}) and removes once it has stopped. */
  final class Record implements AutoCloseable {
    private final Path file;
    private final int clusterPort;
    private final int httpPort;
    private final Path out;

    private Record(int clusterPort, int httpPort, Path out) {
      long pid = ProcessHandle.current().pid();
      this.file = dir.resolve(pid + "-" + clusterPort + "-" + httpPort);
      this.clusterPort = clusterPort;
      this.httpPort = httpPort;
      this.out = out;
    }

    /** The stop has begun and ends within {@code within}. */
    void stopping(Duration within) {
      ProcessHandle self = ProcessHandle.current();
      long started = self.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
      // one line, written aside and moved into place: a start reading it meanwhile finds it whole or not at all
      String line = self.pid() + " " + started + " " + (System.currentTimeMillis() + within.toMillis()) + " "
          + clusterPort + " " + httpPort + " " + out.toAbsolutePath().normalize() + "\n";
      try {
        if (usable()) {
          DurableFiles.writeAtomically(file, line.getBytes(StandardCharsets.UTF_8), true);
        }
      } catch (IOException | RuntimeException e) {
        // a file system without POSIX permissions, or a full one: nothing recorded, a start waits for nothing
      }
    }

    /** The monitor has stopped (its ports are free). */
    @Override
    public void close() {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // read as stale once the process has ended
      }
    }
  }

  /** The record of a monitor on {@code clusterPort} and {@code httpPort} (0: none) with {@code out}. */
  Record record(int clusterPort, int httpPort, Path out) {
    return new Record(clusterPort, httpPort, out);
  }

  /**
   * Whether the directory can hold the records: created 0700 where missing; one (or its parent) that others may write
   * to, or that is not this user's, is not used: another user could make this one's monitors wait.
   */
  private boolean usable() throws IOException {
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    return ownerOnlyDirectory();
  }

  /** Whether the directory (and, for the default one, its parent) is this user's, and no one else may write to it. */
  private boolean ownerOnlyDirectory() throws IOException {
    return (!parentChecked || ownerOnly(dir.getParent())) && ownerOnly(dir);
  }

  /** Whether {@code p} is a directory of this user that no one else may write to. */
  private static boolean ownerOnly(Path p) throws IOException {
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
    return Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
        && Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"))
        && !perms.contains(PosixFilePermission.GROUP_WRITE) && !perms.contains(PosixFilePermission.OTHERS_WRITE);
  }

  /** The stopping monitors recorded now whose process still runs; the records of ended ones are removed. */
  List<Stopping> recorded() {
    List<Stopping> found = new ArrayList<>();
    try {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) || !ownerOnlyDirectory()) {
        return found;
      }
    } catch (IOException | RuntimeException e) {
      return found;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(f -> !f.getFileName().toString().startsWith(".")).toList()) {
        Optional<Stopping> s = read(f);
        if (s.isPresent() && s.get().running()) {
          found.add(s.get());
        } else if (s.isPresent()) {
          Files.deleteIfExists(f); // a monitor killed while it stopped
        }
      }
    } catch (IOException | UncheckedIOException e) {
      // what was read so far
    }
    return found;
  }

  private static Optional<Stopping> read(Path f) {
    try {
      String[] p = Files.readString(f, StandardCharsets.UTF_8).strip().split(" ", 6);
      return Optional.of(new Stopping(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]),
          Integer.parseInt(p[3]), Integer.parseInt(p[4]), p[5]));
    } catch (IOException | RuntimeException e) {
      return Optional.empty(); // removed meanwhile, or not a record
    }
  }

  /** A port this monitor is about to bind: what it is ("cluster port"), where, and the option that sets it. */
  record Port(String what, String host, int port) {
  }

  /**
   * Waits while one of {@code ports} cannot be bound and a stopping monitor of this user holds it: at most until the
   * end of its stop and {@link OutLock#STOPPING_SLACK}, having said so in one line on {@code waiting}. A port in use
   * by anything else is left to the bind that follows (its one-line error). Past that time, an {@link
   * IllegalArgumentException} naming the stopping monitor.
   */
  void awaitPorts(List<Port> ports, Consumer<String> waiting) {
    for (Port p : ports) {
      boolean told = false;
      while (p.port() > 0 && !bindable(p.host(), p.port())) {
        Optional<Stopping> holder = recorded().stream().filter(s -> s.holds(p.port())).findFirst();
        if (holder.isEmpty()) {
          break;
        }
        Stopping s = holder.get();
        long now = System.currentTimeMillis();
        long until = s.ends() + OutLock.STOPPING_SLACK.toMillis();
        if (now > until) {
          throw new IllegalArgumentException(p.what() + " " + p.port() + " on " + p.host() + " is still held by a"
              + " ./monitor serve (pid " + s.pid() + ", --out " + s.out() + ") that is still stopping "
              + MonitorLink.seconds(OutLock.STOPPING_SLACK) + " after its stop should have ended; expected it to exit"
              + " first: start again once it has (or end it with kill -KILL " + s.pid() + "), or choose another port");
        }
        if (!told) {
          waiting.accept("waiting for the ./monitor serve stopping on " + p.what() + " " + p.port() + " (pid "
              + s.pid() + ", --out " + s.out() + ") to free it: it writes the end of its runs (up to "
              + MonitorLink.seconds(Duration.ofSeconds((until - now + 999) / 1000)) + ")");
          told = true;
        }
        try {
          Thread.sleep(RETRY_MILLIS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the ./monitor serve stopping on "
              + p.what() + " " + p.port() + " to free it");
        }
      }
    }
  }

  /** Whether {@code host:port} can be bound now (as the cluster node's own probe binds it). */
  static boolean bindable(String host, int port) {
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress(host, port));
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
