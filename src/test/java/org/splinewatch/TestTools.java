package org.splinewatch;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Helpers shared by the tests that start servers or external programs. */
public final class TestTools {
  /**
   * How long a test kit's probe waits for a message that must come: Pekko's default 3 s is short on a loaded machine.
   */
  public static final java.time.Duration PROBE_WAIT = java.time.Duration.ofSeconds(30);

  private TestTools() {
  }

  /** Whether {@code binary --version} runs and exits 0 (tests skip where a Debian package is missing). */
  public static boolean installed(String binary) {
    try {
      return new ProcessBuilder(binary, "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Mounts a tmpfs of {@code size} (e.g. "32k") at {@code dir}, created if missing; false where this process may not
   * mount (tests that fill a disk skip there; {@code .ci/run} runs as root). Undo with {@link #unmount}.
   */
  public static boolean mountTmpfs(Path dir, String size) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString())
        .redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor() == 0;
  }

  /** Lazily unmounts what {@link #mountTmpfs} mounted at {@code dir}. */
  public static void unmount(Path dir) throws IOException, InterruptedException {
    new ProcessBuilder("umount", "-l", dir.toString()).redirectErrorStream(true).start().waitFor();
  }

  /**
   * A loopback port that was free a moment ago, chosen below the kernel's ephemeral range (32768-60999 on Linux by
   * default; read from {@code /proc}). A port from {@code new ServerSocket(0)} lies inside that range, so between
   * the pick and the server's bind the kernel could hand it to an outgoing connection (Prometheus scraping,
   * Alertmanager posting) and the server would find it taken.
   */
  public static int freePort() throws IOException {
    int low = ephemeralLow();
    int span = Math.min(low - 10_000, 20_000);
    for (int tries = 0; tries < 200 && span > 0; tries++) {
      int port = low - 1 - RANDOM.nextInt(span);
      if (!HANDED_OUT.add(port)) {
        continue; // two picks in a row must differ even before either is bound
      }
      try (ServerSocket s = new ServerSocket()) {
        s.setReuseAddress(false);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static final Random RANDOM = new Random();
  private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** The first port of the kernel's ephemeral range, 32768 where it cannot be read. */
  private static int ephemeralLow() {
    try {
      return Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim()
          .split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return 32768;
    }
  }

  /**
   * Starts a real {@code prometheus} on loopback {@code port} with {@code config} (written to
   * {@code dir/prometheus.yml}), its database in {@code dir/data} and its output in {@code dir/prometheus.log}.
   */
  public static Process startPrometheus(Path dir, int port, String config) throws IOException {
    Path file = Files.writeString(dir.resolve("prometheus.yml"), config);
    return new ProcessBuilder("prometheus", "--config.file=" + file, "--storage.tsdb.path=" + dir.resolve("data"),
        "--web.listen-address=127.0.0.1:" + port).redirectErrorStream(true)
        .redirectOutput(dir.resolve("prometheus.log").toFile()).start();
  }

  /**
   * The command line of a child JVM that runs {@code Main} on this test's class path with the heap option {@code heap}
   * (e.g. {@code -Xmx768m}), then {@code args}; a mutable list, for tests that add more.
   */
  public static List<String> mainCommand(String heap, String... args) {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), heap, "-cp",
        System.getProperty("java.class.path"), org.splinewatch.cli.Main.class.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  /**
   * Writes {@code text} to {@code file} readable by its owner only (rw-------), as a deployment token file must be
   * ({@code chmod 600}); returns {@code file}.
   */
  public static Path ownerOnlyFile(Path file, String text) throws IOException {
    Files.writeString(file, text);
    Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  /**
   * Runs {@code Main.execute(args)} in this JVM with stdout and stderr captured, asserts its exit code and returns what
   * it printed.
   */
  public static String cli(int expected, String... args) {
    java.io.PrintStream err = System.err;
    java.io.PrintStream out = System.out;
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    java.io.PrintStream capture = new java.io.PrintStream(buf, true);
    System.setErr(capture);
    System.setOut(capture);
    int code;
    try {
      code = org.splinewatch.cli.Main.execute(args);
    } finally {
      System.setErr(err);
      System.setOut(out);
    }
    String text = buf.toString();
    org.junit.jupiter.api.Assertions.assertEquals(expected, code, text);
    return text;
  }

  /**
   * {@code k} orthonormal vectors of length {@code dim}: Gram–Schmidt on Gaussian vectors drawn from {@code r}, one
   * vector's draws after another's (a random basis of a k-dimensional subspace, for tests with known spectra).
   */
  public static double[][] orthonormal(java.util.Random r, int k, int dim) {
    double[][] q = new double[k][dim];
    for (int a = 0; a < k; a++) {
      for (int j = 0; j < dim; j++) {
        q[a][j] = r.nextGaussian();
      }
      for (int b = 0; b < a; b++) {
        double dot = 0;
        for (int j = 0; j < dim; j++) {
          dot += q[a][j] * q[b][j];
        }
        for (int j = 0; j < dim; j++) {
          q[a][j] -= dot * q[b][j];
        }
      }
      double norm = 0;
      for (int j = 0; j < dim; j++) {
        norm += q[a][j] * q[a][j];
      }
      for (int j = 0; j < dim; j++) {
        q[a][j] /= Math.sqrt(norm);
      }
    }
    return q;
  }

  /**
   * Makes a directory read-only for this process: its mode, and where that does not stop this user (root) its
   * immutable attribute ({@code chattr +i}, ext4 and similar); both undone on close.
   */
  public record ReadOnly(Path dir, boolean immutable, boolean held) implements AutoCloseable {
    public static ReadOnly of(Path dir) throws Exception {
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
      if (!Files.isWritable(dir)) {
        return new ReadOnly(dir, false, true);
      }
      boolean immutable = chattr("+i", dir);
      return new ReadOnly(dir, immutable, !Files.isWritable(dir));
    }

    private static boolean chattr(String flag, Path dir) {
      try {
        return new ProcessBuilder("chattr", flag, dir.toString()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
      } catch (java.io.IOException e) {
        return false; // no chattr here
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public void close() throws Exception {
      if (immutable) {
        chattr("-i", dir);
      }
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
