package org.splinewatch.serve;

import java.nio.file.Files;
import java.nio.file.Path;

/** Run by {@link SchedulingGroupTest} in a session of its own: lowers its group and prints what the kernel says. */
public final class SchedulingGroupChild {
  private SchedulingGroupChild() {
  }

  public static void main(String[] args) throws Exception {
    System.out.println(SchedulingGroup.yieldToOtherSessions(19));
    System.out.println("autogroup: " + Files.readString(Path.of("/proc/self/autogroup")).trim());
  }
}
