package org.splinewatch.metrics;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * CPU time this process has used so far, by the role of its threads: where monitoring's cost goes, since on two cores
 * training slows only when something it does not wait for takes a core it wants. The threads of the first three roles
 * register themselves ({@link #register}: the training actor's pinned thread, the augmentation thread, every analysis
 * thread) and report their total as they end ({@link #threadEnding}): the JVM forgets an ended thread's time, and a
 * run's training and analysis threads end before its summary. The JVM's own threads, which no Java API lists, are told
 * apart by their Linux thread name in {@code /proc/self/task/<tid>/comm} ({@code C1/C2 CompilerThread},
 * {@code GC Thread#n}, {@code G1 ...}, {@code VM Thread}); they live as long as the process. {@code other} is the
 * process's total less the rest: the main thread (loading the data), the Pekko, HTTP and statistics threads, and a
 * registered thread's time if it ended without its report.
 *
 * @param seconds CPU seconds by role, in the order of {@link #ROLES}
 */
public record CpuByRole(Map<String, Double> seconds) {
  /** The roles: the training thread, its augmentation thread, the analysis threads, JIT compilers, GC, the rest. */
  public static final List<String> ROLES = List.of("training", "augmentation", "analysis", "jit", "gc", "other");
  /** The roles whose threads register themselves. */
  static final List<String> REGISTERED = List.of("training", "augmentation", "analysis");
  /** Linux counts thread CPU time in clock ticks of 1/100 s ({@code USER_HZ}) on every architecture the JDK runs. */
  private static final double TICKS_PER_SECOND = 100;
  private static final Path TASKS = Path.of("/proc/self/task");
  /** Living registered threads by Java thread id (never reused) to their role. */
  private static final Map<Long, String> THREADS = new ConcurrentHashMap<>();
  /**
   * CPU seconds of registered threads that have ended, by role: an ended thread leaves {@link #THREADS}, so that a
   * long {@code monitor serve}, whose runs start and end analysis threads, keeps one entry per role, not per thread.
   */
  private static final Map<String, DoubleAdder> ENDED = new ConcurrentHashMap<>();

  public CpuByRole {
    seconds = Map.copyOf(seconds);
  }

  /**
   * Counts the calling thread's CPU time, all of it, under {@code role} (one of {@link #REGISTERED}); a thread
   * registers once, its first role stays.
   */
  public static void register(String role) {
    if (!REGISTERED.contains(role)) {
      throw new IllegalArgumentException("unknown role '" + role + "'; expected one of " + REGISTERED);
    }
    THREADS.putIfAbsent(Thread.currentThread().getId(), role);
  }

  /** The calling thread's CPU time, user and system, in ns; -1 where the JVM cannot measure it. */
  public static long currentThreadNanos() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    return threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : -1;
  }

  /** Called by a registered thread as its last act, so that its CPU time stays counted after it ends. */
  public static void threadEnding() {
    // the time is added before the entry goes, so that a concurrent now() may count it twice but never not at all
    String role = THREADS.get(Thread.currentThread().getId());
    long nanos = currentThreadNanos();
    if (role != null && nanos >= 0) {
      ENDED.computeIfAbsent(role, r -> new DoubleAdder()).add(nanos / 1e9);
    }
    THREADS.remove(Thread.currentThread().getId());
  }

  /** Registered threads now living (for tests: ended threads must not stay). */
  static int livingRegistered() {
    return THREADS.size();
  }

  /**
   * The process's CPU time by role now; {@code jit} and {@code gc} are 0 where {@code /proc} is missing (not Linux),
   * the registered roles where the JVM measures no thread CPU time.
   */
  public static CpuByRole now() {
    Map<String, Double> s = new LinkedHashMap<>();
    ROLES.forEach(r -> s.put(r, 0.0));
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    boolean measured = threads.isThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled();
    ENDED.forEach((role, seconds) -> s.merge(role, seconds.sum(), Double::sum));
    THREADS.forEach((id, role) -> {
      long ns = measured ? threads.getThreadCpuTime(id) : 0;
      if (ns < 0) { // ended without its report (killed): its time is in "other", and its entry goes
        THREADS.remove(id);
      }
      s.merge(role, Math.max(0, ns) / 1e9, Double::sum);
    });
    jvmThreadTicks().forEach((role, ticks) -> s.merge(role, ticks / TICKS_PER_SECOND, Double::sum));
    double total = ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os
        && os.getProcessCpuTime() > 0 ? os.getProcessCpuTime() / 1e9 : 0;
    double named = s.values().stream().mapToDouble(Double::doubleValue).sum();
    s.put("other", Math.max(0, total - named));
    return new CpuByRole(s);
  }

  /** The role of one of the JVM's own threads by its Linux name, or null when it is none of them. */
  static String jvmRole(String comm) {
    if (comm.startsWith("C1 CompilerThre") || comm.startsWith("C2 CompilerThre")) {
      return "jit";
    }
    if (comm.startsWith("GC Thread") || comm.startsWith("G1 ") || comm.equals("VM Thread")) {
      return "gc";
    }
    return null;
  }

  /** Clock ticks of the JVM's compiler and GC threads by role, from {@code /proc/self/task}; empty elsewhere. */
  private static Map<String, Long> jvmThreadTicks() {
    Map<String, Long> ticks = new LinkedHashMap<>();
    if (!Files.isDirectory(TASKS)) {
      return ticks;
    }
    try (Stream<Path> tasks = Files.list(TASKS)) {
      for (Path task : tasks.toList()) {
        try {
          String role = jvmRole(Files.readString(task.resolve("comm")).strip());
          if (role != null) {
            ticks.merge(role, statTicks(Files.readString(task.resolve("stat"))), Long::sum);
          }
        } catch (IOException | RuntimeException e) {
          // the thread ended between the listing and the read
        }
      }
    } catch (IOException e) {
      return Map.of();
    }
    return ticks;
  }

  /**
   * {@code utime + stime} of a {@code /proc/.../stat} line: fields 14 and 15, counted after the command name, which
   * sits in parentheses and may itself hold spaces or parentheses.
   */
  static long statTicks(String stat) {
    String[] after = statFields(stat);
    // after[0] is field 3 (state), so field n is after[n - 3]
    return Long.parseLong(after[11]) + Long.parseLong(after[12]);
  }

  /** {@link #statTicks} in seconds: a process's or thread's CPU time from its {@code /proc/.../stat} line. */
  public static double statSeconds(String stat) {
    return statTicks(stat) / TICKS_PER_SECOND;
  }

  /**
   * The fields of a {@code /proc/.../stat} line after the command name (field 3, the state, first): the name sits in
   * parentheses and may itself hold spaces or parentheses, so they are counted from the last closing one.
   */
  public static String[] statFields(String stat) {
    return stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
  }

  /** This minus {@code earlier}, role by role: the CPU used in between. */
  public CpuByRole since(CpuByRole earlier) {
    Map<String, Double> s = new LinkedHashMap<>();
    ROLES.forEach(r -> s.put(r, Math.max(0, get(r) - earlier.get(r))));
    return new CpuByRole(s);
  }

  /** CPU seconds of all roles together. */
  public double total() {
    return seconds.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /** CPU seconds of a role (0 for an unknown one). */
  public double get(String role) {
    return seconds.getOrDefault(role, 0.0);
  }

  /** The {@code cpu_seconds} field of {@code run_finished}: role to seconds, rounded to 0.01 s. */
  public Map<String, Object> toEvent() {
    Map<String, Object> m = new LinkedHashMap<>();
    ROLES.forEach(r -> m.put(r, Math.round(get(r) * 100) / 100.0));
    return m;
  }

  /** Reads a {@code cpu_seconds} field back (roles it lacks are 0). */
  public static CpuByRole fromEvent(Map<String, Double> event) {
    return new CpuByRole(ROLES.stream().collect(Collectors.toMap(r -> r, r -> event.getOrDefault(r, 0.0))));
  }

  /** One line for the console: "CPU: training 35.1 s, augmentation 10.6 s, ...". */
  public String describe() {
    return "CPU: " + ROLES.stream().map(r -> String.format(Locale.ROOT, "%s %.1f s", label(r), get(r)))
        .collect(Collectors.joining(", "));
  }

  private static String label(String role) {
    return switch (role) {
      case "jit" -> "JIT compilers";
      case "gc" -> "GC";
      default -> role;
    };
  }
}
