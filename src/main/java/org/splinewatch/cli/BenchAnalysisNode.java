package org.splinewatch.cli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.splinewatch.metrics.CpuByRole;

/**
 * The analysis node of {@code bench-overhead --analysis-node}: a {@code monitor serve} in a JVM of its own, started
 * the way {@code ./monitor serve} starts one (in a session, so a scheduling group, of its own where {@code setsid}
 * is on the PATH: the node lowers that group to nice 19 and runs its analyzers at idle priority), on loopback with
 * free ports, writing the monitored blocks' run directories where the blocks' trainers write theirs (so each trainer
 * counts its analysed snapshots from them, as {@code ./trainer --monitor} beside a local monitor does).
 */
final class BenchAnalysisNode implements AutoCloseable {
  /** The banner's first line: "splinewatch monitor: cluster node 127.0.0.1:40123 (roles ...". */
  private static final Pattern ADDRESS = Pattern.compile("cluster node (\\S+:\\d+) \\(");
  /** How long the node may take to start (a cold JVM on a busy 2-core machine: 10-20 s). */
  static final long START_SECONDS = 180;
  /** How long its stop may take (it writes the end of any run still open, leaves the cluster). */
  static final long STOP_SECONDS = 60;

  /** How long the line about the scheduling group may take after the banner. */
  private static final long SCHEDULING_LINE_MILLIS = 10_000;

  private final Process process;
  private final String address;
  private final List<String> lines;

  private BenchAnalysisNode(Process process, String address, List<String> lines) {
    this.process = process;
    this.address = address;
    this.lines = lines;
  }

  /**
   * Starts the node with {@code javaAndOptions} (the java command and JVM options of the blocks) and waits for its
   * cluster address.
   *
   * @throws IllegalStateException with the node's error line when it exits or does not start in time
   */
  static BenchAnalysisNode start(List<String> javaAndOptions, Path out) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    String setsid = onPath("setsid");
    if (setsid != null) {
      cmd.add(setsid);
    }
    cmd.addAll(javaAndOptions);
    cmd.addAll(List.of("monitor", "serve", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--out",
        out.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> lines = new ArrayList<>();
    CompletableFuture<String> started = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          synchronized (lines) {
            lines.add(line);
          }
          Matcher m = ADDRESS.matcher(line);
          if (m.find()) {
            started.complete(m.group(1));
          }
        }
      } catch (IOException e) {
        // the node's output ended with it
      }
      started.completeExceptionally(new IllegalStateException("the analysis node (monitor serve) exited before it"
          + " started: " + lastOf(lines, "error: ")));
    }, "bench-analysis-node-output");
    reader.setDaemon(true);
    reader.start();
    BenchAnalysisNode node = null;
    try {
      String address = started.get(START_SECONDS, TimeUnit.SECONDS);
      node = new BenchAnalysisNode(p, address, lines);
      return node;
    } catch (ExecutionException e) {
      throw (IllegalStateException) e.getCause();
    } catch (TimeoutException e) {
      throw new IllegalStateException("the analysis node (monitor serve) did not start within " + START_SECONDS
          + " s: " + lastOf(lines, ""));
    } finally {
      if (node == null) {
        stop(p);
      }
    }
  }

  /** The node's process (the stop's test sees it gone). */
  ProcessHandle handle() {
    return process.toHandle();
  }

  /** HOST:PORT for the blocks' {@code --monitor}. */
  String address() {
    return address;
  }

  /** The node's line about its scheduling group ("scheduling: ..."), or a line saying it printed none. */
  String scheduling() throws InterruptedException {
    // printed just after the banner, once the node has lowered its group
    String line = lastStartingWith(lines, "  scheduling: ");
    for (long waited = 0; line == null && waited < SCHEDULING_LINE_MILLIS && process.isAlive(); waited += 50) {
      Thread.sleep(50);
      line = lastStartingWith(lines, "  scheduling: ");
    }
    return line != null ? line.strip() : "scheduling: the node printed no line about its scheduling group";
  }

  /** Most CPU the node may use in a second and count as quiet: its cluster's heartbeats and gossip use less. */
  static final double QUIET_CPU_SHARE = 0.05;
  /** The longest wait for a quiet node. */
  static final long QUIET_WAIT_SECONDS = 120;

  /**
   * Waits until the node used at most {@value #QUIET_CPU_SHARE} of a core over a second (at most
   * {@value #QUIET_WAIT_SECONDS} s): after a monitored block the node still writes that run's report and collects
   * its heap, work that would otherwise fall on the next block and slow an unmonitored one. Returns the seconds
   * waited, or -1 when the node stayed busy (or its CPU time cannot be read).
   */
  double awaitQuiet() throws InterruptedException {
    Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
    long start = System.nanoTime();
    double before = cpuSeconds(stat);
    while (before >= 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(QUIET_WAIT_SECONDS)) {
      Thread.sleep(1000);
      double now = cpuSeconds(stat);
      if (now >= 0 && now - before <= QUIET_CPU_SHARE) {
        return (System.nanoTime() - start) / 1e9;
      }
      before = now;
    }
    return -1;
  }

  /** The CPU time of a process from its /proc stat file (user + system); -1 when unreadable. */
  static double cpuSeconds(Path stat) {
    try {
      return CpuByRole.statSeconds(Files.readString(stat, StandardCharsets.US_ASCII));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * The node's peak resident memory so far in bytes (VmHWM of its /proc status, the kernel's high-water mark of its
   * resident set); -1 where there is none (not Linux, or the node has exited).
   */
  long peakResident() {
    return peakResident(Path.of("/proc", Long.toString(process.pid()), "status"));
  }

  /** VmHWM of a /proc status file in bytes; -1 when the file or the line is missing. */
  static long peakResident(Path status) {
    try {
      for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
        Matcher m = VM_HWM.matcher(line);
        if (m.matches()) {
          return Long.parseLong(m.group(1)) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  private static final Pattern VM_HWM = Pattern.compile("VmHWM:\\s+(\\d+) kB");

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop(process);
    }
  }

  private static void stop(Process p) throws InterruptedException {
    p.toHandle().descendants().forEach(ProcessHandle::destroy); // where setsid had to fork
    p.destroy();
    if (!p.waitFor(STOP_SECONDS, TimeUnit.SECONDS)) {
      p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** The last of {@code lines} that starts with {@code prefix}; the last line when none does; "" when empty. */
  private static String lastOf(List<String> lines, String prefix) {
    String line = lastStartingWith(lines, prefix);
    synchronized (lines) {
      return line != null ? line : lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }
  }

  /** The last of {@code lines} that starts with {@code prefix}; null when none does. */
  private static String lastStartingWith(List<String> lines, String prefix) {
    synchronized (lines) {
      for (int i = lines.size() - 1; i >= 0; i--) {
        if (lines.get(i).startsWith(prefix)) {
          return lines.get(i);
        }
      }
      return null;
    }
  }

  /** The executable {@code name} in a directory of the PATH; null when there is none. */
  static String onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Path.of(dir, name).toString();
      }
    }
    return null;
  }
}
