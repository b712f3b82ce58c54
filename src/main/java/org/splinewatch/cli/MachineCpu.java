package org.splinewatch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How busy the whole machine's CPUs were between two readings of {@code /proc/stat}'s first line, so that a
 * benchmark can say whether other processes took CPU beside it.
 */
final class MachineCpu {
  private static final Path STAT = Path.of("/proc/stat");

  private MachineCpu() {
  }

  /** Busy and total ticks of all CPUs now, or null where {@code /proc/stat} is missing or unreadable. */
  static long[] ticks() {
    try (var lines = Files.lines(STAT)) {
      return lines.findFirst().map(MachineCpu::parse).orElse(null);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Busy and total ticks of a {@code cpu  user nice system idle iowait irq softirq steal ...} line: idle and iowait
   * are not busy; guest time is already counted in user and nice, so the fields after steal are left out.
   */
  static long[] parse(String line) {
    String[] f = line.trim().split("\\s+");
    if (f.length < 5 || !f[0].equals("cpu")) {
      throw new IllegalArgumentException("not the all-CPU line of /proc/stat: " + line);
    }
    long total = 0;
    long idle = 0;
    for (int i = 1; i < Math.min(f.length, 9); i++) {
      long v = Long.parseLong(f[i]);
      total += v;
      if (i == 4 || i == 5) {
        idle += v;
      }
    }
    return new long[] {total - idle, total};
  }

  /** The busy share of the CPUs between two readings, NaN where either is missing or no time passed. */
  static double busyShare(long[] before, long[] after) {
    if (before == null || after == null || after[1] <= before[1]) {
      return Double.NaN;
    }
    return (double) (after[0] - before[0]) / (after[1] - before[1]);
  }
}
