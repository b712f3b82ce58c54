package org.splinewatch.serve;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.splinewatch.metrics.CpuByRole;

/**
 * The monitor's scheduling group on Linux kernels with autogroups ({@code CONFIG_SCHED_AUTOGROUP}, on when
 * {@code /proc/sys/kernel/sched_autogroup_enabled} is 1). Such a kernel shares the CPU fairly between sessions (a
 * terminal, a service), each scheduled as one group, and a thread's {@code SCHED_IDLE} policy yields only to the
 * threads of its own group. So the analyzers of a {@code monitor serve} started in one terminal, at idle priority,
 * still took a share of the CPU equal to the training's when the training ran in another terminal, as the README's
 * commands have it (docs/performance.md, "Threads": a 600-step {@code --monitor} run trained at 14-15 steps/s
 * beside it, and at 19 with the monitor's group at nice 19; 20-23 unmonitored).
 *
 * <p>A monitor that leads its own session ({@code ./monitor serve} starts it so, as do services) sets its group to
 * the nice of {@value #SETTING} (default 19, the lowest weight a group has: 15 against a nice-0 group's 1,024):
 * training in every other session then comes first. At 19 a monitor on a machine overloaded by other sessions can
 * starve (heartbeats 20 s late, a trainer's join timing out at a load average of 48); 10 (weight 110) gives it more.
 * One that shares a session (started as {@code java -jar}) leaves the group alone, since that would lower the
 * terminal's other commands too, and says so.
 */
public final class SchedulingGroup {
  /** The setting that holds the group's nice value. */
  public static final String SETTING = "splinewatch.serve.scheduling-group-nice";
  /** Its range: below 0 needs CAP_SYS_NICE and would put the monitor ahead of training; 19 is the kernel's lowest. */
  public static final int MIN_NICE = 0;
  public static final int MAX_NICE = 19;
  /** The kernel's CFS weight of nice 0 to 19 (sched_prio_to_weight): a group's share is its weight over the sum. */
  private static final int[] WEIGHTS = {1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29,
      23, 18, 15};

  private SchedulingGroup() {
  }

  /** {@link #yieldToOtherSessions(Path, long, int)} for this process. */
  public static String yieldToOtherSessions(int nice) {
    return yieldToOtherSessions(Path.of("/proc"), ProcessHandle.current().pid(), nice);
  }

  /** Why {@code nice} is refused as {@value #SETTING} (one line), or null when it lies in 0 to 19. */
  public static String outOfRange(long nice) {
    return nice >= MIN_NICE && nice <= MAX_NICE ? null : SETTING + " " + nice + ": expected a whole number from "
        + MIN_NICE + " to " + MAX_NICE + " (the nice of monitor serve's scheduling group: 19 lets training elsewhere"
        + " come first, lower values keep the monitor from starving on an overloaded machine)";
  }

  /**
   * Sets the autogroup of process {@code pid} (its files under {@code proc}) to {@code nice} where the process leads
   * its session; returns the line the monitor prints about it, or null where the kernel has no autogroups (a
   * session's threads then compete one by one, and idle priority means what it says).
   */
  static String yieldToOtherSessions(Path proc, long pid, int nice) {
    return yieldToOtherSessions(proc, pid, nice, (file, value) -> Files.writeString(file, value,
        StandardCharsets.US_ASCII));
  }

  /** Writes a value to a /proc file (a seam for the tests, which cannot make the kernel refuse a write). */
  interface ProcWriter {
    void write(Path file, String value) throws IOException;
  }

  /**
   * Tries to write a group's nice: the kernel takes one such write every 100 ms from all processes without
   * CAP_SYS_ADMIN together and answers the others EAGAIN (seen here as nobody: a second write at once), so a monitor
   * started beside another one could fail for no lasting reason.
   */
  static final int WRITE_TRIES = 3;
  static final long WRITE_RETRY_MILLIS = 150;

  static String yieldToOtherSessions(Path proc, long pid, int nice, ProcWriter writer) {
    String refused = outOfRange(nice);
    if (refused != null) {
      throw new IllegalArgumentException(refused);
    }
    Path autogroup = proc.resolve(pid + "/autogroup");
    if (!Files.isRegularFile(autogroup) || !"1".equals(read(proc.resolve("sys/kernel/sched_autogroup_enabled")))) {
      return null;
    }
    String stat = read(proc.resolve(pid + "/stat"));
    long session = stat == null ? -1 : sessionOf(stat);
    if (session != pid) {
      return "scheduling: this monitor shares its session's scheduling group (Linux autogroups), so training started"
          + " from another terminal shares the CPU with it as an equal despite the analyzers' idle priority; start it"
          + " with ./monitor serve, which gives it a group of its own at nice " + nice + " (" + SETTING + ")";
    }
    for (int tried = 1; ; tried++) {
      try {
        writer.write(autogroup, Integer.toString(nice));
        break;
      } catch (IOException | SecurityException e) {
        if (tried == WRITE_TRIES || e instanceof SecurityException || !pause(WRITE_RETRY_MILLIS)) {
          return "scheduling: could not set this monitor's scheduling group to nice " + nice + " (" + autogroup
              + ": " + e.getMessage() + (tried > 1 ? ", " + tried + " tries" : "") + "), so training in other"
              + " sessions shares the CPU with it as an equal";
        }
      }
    }
    String group = "scheduling: analyzers at idle priority, in a scheduling group of their own at nice " + nice + " ("
        + SETTING + "; Linux autogroups, weight " + WEIGHTS[nice] + " against a nice-0 group's 1024)";
    return group + (nice == 0 ? ": training in other terminals shares the CPU with this monitor as an equal"
        : ": training in other terminals and services comes first");
  }

  /** {@link #equalShareToStop(Path, long, ProcWriter)} for this process. */
  public static boolean equalShareToStop() {
    return equalShareToStop(Path.of("/proc"), ProcessHandle.current().pid(), (file, value) -> Files.writeString(file,
        value, StandardCharsets.US_ASCII));
  }

  /**
   * The monitor stops: the group of process {@code pid}, where {@link #yieldToOtherSessions} lowered it (it leads its
   * session, and the group's nice is above 0), back to nice 0, which an unprivileged process may do. The stop writes
   * the end and report of each run it interrupts, leaves the cluster and frees its ports, which a restart waits for;
   * at nice 19 on a machine busy in other sessions it got 15/1024 of their share: 58-138 s (docs/performance.md, "A
   * monitor's stop"). Returns whether it raised the group.
   */
  static boolean equalShareToStop(Path proc, long pid, ProcWriter writer) {
    Path autogroup = proc.resolve(pid + "/autogroup");
    String group = read(autogroup); // "/autogroup-7 nice 19"
    String stat = read(proc.resolve(pid + "/stat"));
    if (group == null || !group.matches(".* nice [1-9][0-9]*") || stat == null || sessionOf(stat) != pid) {
      return false;
    }
    for (int tried = 1; ; tried++) {
      try {
        writer.write(autogroup, "0");
        return true;
      } catch (IOException | SecurityException e) {
        if (tried == WRITE_TRIES || e instanceof SecurityException || !pause(WRITE_RETRY_MILLIS)) {
          return false; // stopping at the low share, as before
        }
      }
    }
  }

  /** Sleeps {@code millis}; false when interrupted (the interrupt kept). */
  private static boolean pause(long millis) {
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** The session id in a {@code /proc/PID/stat} line: field 6, the fourth after the command name. */
  static long sessionOf(String stat) {
    String[] after = CpuByRole.statFields(stat);
    try {
      return after.length > 3 ? Long.parseLong(after[3]) : -1; // state, ppid, pgrp, session
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII).trim();
    } catch (IOException | SecurityException e) {
      return null;
    }
  }
}
