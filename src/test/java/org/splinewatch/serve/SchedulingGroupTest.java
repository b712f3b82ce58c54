package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SchedulingGroup}: on a /proc laid out in a folder (a session leader, a process sharing its session, a
 * kernel without autogroups), then for real: a JVM in a session of its own ends with its autogroup at nice 19, and
 * the launcher's {@code own-session.sh} runs a command in another session, forwards SIGINT to it and exits with its
 * status.
 */
class SchedulingGroupTest {
  @TempDir
  Path proc;

  private void process(long pid, long session, String autogroup, String enabled) throws IOException {
    Files.createDirectories(proc.resolve(pid + ""));
    // a command name with spaces and brackets: the session is counted from the last ')'
    Files.writeString(proc.resolve(pid + "/stat"), pid + " (java (x) y) S 1 " + session + " " + session
        + " 0 -1 4194560 0 0");
    if (autogroup != null) {
      Files.writeString(proc.resolve(pid + "/autogroup"), autogroup);
    }
    if (enabled != null) {
      Files.createDirectories(proc.resolve("sys/kernel"));
      Files.writeString(proc.resolve("sys/kernel/sched_autogroup_enabled"), enabled + "\n");
    }
  }

  @Test
  void aSessionLeaderLowersItsGroupToNice19() throws IOException {
    process(4242, 4242, "/autogroup-7 nice 0\n", "1");
    String line = SchedulingGroup.yieldToOtherSessions(proc, 4242, 19);
    assertEquals("19", Files.readString(proc.resolve("4242/autogroup")));
    assertTrue(line.startsWith("scheduling: analyzers at idle priority, in a scheduling group of their own at nice 19"),
        line);
  }

  /**
   * The nice is splinewatch.serve.scheduling-group-nice: 19 starved the monitor on a machine overloaded by other
   * sessions, so a lower one may be chosen, and the line names the value, its weight and the setting.
   */
  @Test
  void theGroupGetsTheConfiguredNiceAndTheLineNamesItAndTheSetting() throws IOException {
    process(4246, 4246, "/autogroup-8 nice 0\n", "1");
    String line = SchedulingGroup.yieldToOtherSessions(proc, 4246, 10);
    assertEquals("10", Files.readString(proc.resolve("4246/autogroup")));
    assertEquals("scheduling: analyzers at idle priority, in a scheduling group of their own at nice 10"
        + " (splinewatch.serve.scheduling-group-nice; Linux autogroups, weight 110 against a nice-0 group's 1024):"
        + " training in other terminals and services comes first", line);
    process(4247, 4247, "/autogroup-9 nice 0\n", "1");
    line = SchedulingGroup.yieldToOtherSessions(proc, 4247, 0);
    assertEquals("0", Files.readString(proc.resolve("4247/autogroup")));
    assertTrue(line.contains("at nice 0 (splinewatch.serve.scheduling-group-nice; Linux autogroups, weight 1024")
        && line.endsWith("shares the CPU with this monitor as an equal"), line);
    process(4248, 100, "/autogroup-7 nice 0\n", "1");
    line = SchedulingGroup.yieldToOtherSessions(proc, 4248, 12);
    assertTrue(line.endsWith("a group of its own at nice 12 (splinewatch.serve.scheduling-group-nice)"), line);
  }

  /**
   * A stopping monitor's group goes back to nice 0, an equal share: at nice 19 on a machine busy in other sessions its
   * stop (the runs' ends, the cluster's leave) took 58-138 s where it takes 5-18.5 s at 0. A group the monitor did not
   * lower (a shared session's, or one already at 0) is left alone.
   */
  @Test
  void aStoppingMonitorsGroupGoesBackToNice0() throws IOException {
    process(4250, 4250, "/autogroup-7 nice 19\n", "1");
    assertTrue(SchedulingGroup.equalShareToStop(proc, 4250, (file, value) -> Files.writeString(file, value)));
    assertEquals("0", Files.readString(proc.resolve("4250/autogroup")));
    process(4251, 100, "/autogroup-3 nice 19\n", "1"); // the terminal's group, which it shares
    assertFalse(SchedulingGroup.equalShareToStop(proc, 4251, (file, value) -> Files.writeString(file, value)));
    assertEquals("/autogroup-3 nice 19\n", Files.readString(proc.resolve("4251/autogroup")));
    process(4252, 4252, "/autogroup-8 nice 0\n", "1");
    assertFalse(SchedulingGroup.equalShareToStop(proc, 4252, (file, value) -> Files.writeString(file, value)));
    assertEquals("/autogroup-8 nice 0\n", Files.readString(proc.resolve("4252/autogroup")));
  }

  @Test
  void aNiceOutside0To19IsRefusedWithOneLineNamingTheSettingAndTheRange() throws IOException {
    process(4249, 4249, "/autogroup-7 nice 0\n", "1");
    for (int nice : new int[] {-1, 20}) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> SchedulingGroup.yieldToOtherSessions(proc, 4249, nice));
      assertTrue(e.getMessage().startsWith("splinewatch.serve.scheduling-group-nice " + nice
          + ": expected a whole number from 0 to 19 ("), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    assertEquals("/autogroup-7 nice 0\n", Files.readString(proc.resolve("4249/autogroup")), "left alone");
    assertNull(SchedulingGroup.outOfRange(0));
    assertNull(SchedulingGroup.outOfRange(19));
  }

  /**
   * The kernel takes one autogroup write every 100 ms from all unprivileged processes together and refuses the others
   * with EAGAIN: a refused write is tried again, and a lasting refusal is named with the number of tries.
   */
  @Test
  void aWriteTheKernelRefusesForNowIsTriedAgain() throws IOException {
    process(4250, 4250, "/autogroup-7 nice 0\n", "1");
    List<Long> tries = new ArrayList<>();
    String line = SchedulingGroup.yieldToOtherSessions(proc, 4250, 19, (file, value) -> {
      tries.add(System.nanoTime());
      if (tries.size() < SchedulingGroup.WRITE_TRIES) {
        throw new IOException("Resource temporarily unavailable");
      }
      Files.writeString(file, value);
    });
    assertEquals(SchedulingGroup.WRITE_TRIES, tries.size());
    assertTrue(tries.get(1) - tries.get(0) >= TimeUnit.MILLISECONDS.toNanos(100), "more than the kernel's 100 ms");
    assertEquals("19", Files.readString(proc.resolve("4250/autogroup")));
    assertTrue(line.startsWith("scheduling: analyzers at idle priority, in a scheduling group of their own at nice 19"),
        line);
    line = SchedulingGroup.yieldToOtherSessions(proc, 4250, 10, (file, value) -> {
      throw new IOException("Operation not permitted");
    });
    assertEquals("scheduling: could not set this monitor's scheduling group to nice 10 (" + proc.resolve(
        "4250/autogroup") + ": Operation not permitted, 3 tries), so training in other sessions shares the CPU with it"
        + " as an equal", line);
  }

  @Test
  void aProcessSharingItsSessionLeavesTheGroupAndSaysHowToGetOne() throws IOException {
    process(4243, 100, "/autogroup-7 nice 0\n", "1");
    String line = SchedulingGroup.yieldToOtherSessions(proc, 4243, 19);
    assertEquals("/autogroup-7 nice 0\n", Files.readString(proc.resolve("4243/autogroup")), "left alone");
    assertTrue(line.contains("shares its session's scheduling group") && line.contains("./monitor serve"), line);
  }

  @Test
  void withoutAutogroupsThereIsNothingToDoOrSay() throws IOException {
    process(4244, 4244, null, "1"); // a kernel built without them: no autogroup file
    assertNull(SchedulingGroup.yieldToOtherSessions(proc, 4244, 19));
    process(4245, 4245, "/autogroup-9 nice 0\n", "0"); // built with them, turned off
    assertNull(SchedulingGroup.yieldToOtherSessions(proc, 4245, 19));
    assertEquals("/autogroup-9 nice 0\n", Files.readString(proc.resolve("4245/autogroup")));
  }

  @Test
  void theSessionIsReadAfterTheCommandName() {
    assertEquals(77, SchedulingGroup.sessionOf("12 (a) b) c) S 1 5 77 0"));
    assertEquals(-1, SchedulingGroup.sessionOf("12 (truncated) S 1"));
  }

  private static boolean autogroups() throws IOException {
    Path enabled = Path.of("/proc/sys/kernel/sched_autogroup_enabled");
    return Files.isRegularFile(Path.of("/proc/self/autogroup")) && Files.isReadable(enabled)
        && Files.readString(enabled).trim().equals("1") && new ProcessBuilder("setsid", "--version").start()
        .onExit().join().exitValue() == 0 && new ProcessBuilder("env", "--default-signal=INT", "true").start()
        .onExit().join().exitValue() == 0;
  }

  /** Where the kernel has autogroups: a JVM started in a session of its own really lowers its group. */
  @Test
  void aJvmInItsOwnSessionEndsAtNice19() throws Exception {
    assumeTrue(autogroups(), "a Linux kernel with autogroups on, setsid and env --default-signal");
    List<String> cmd = new ArrayList<>(List.of("setsid", "--wait",
        ProcessHandle.current().info().command().orElse("java"), "-Xmx32m", "-cp", System.getProperty("java.class.path"),
        SchedulingGroupChild.class.getName()));
    Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS));
    assertTrue(out.contains("scheduling: analyzers at idle priority, in a scheduling group of their own at nice 19"),
        out);
    assertTrue(out.matches("(?s).*autogroup: /autogroup-\\d+ nice 19.*"), out);
  }

  /**
   * The group was lowered before the node started, so on a busy machine the start itself waited for every other
   * session's CPU (no node after 8 minutes at a load average of 40): while it starts (here: waiting for its --seed)
   * the group is at nice 0.
   */
  @Test
  void serveLowersItsGroupOnlyOnceItsNodeHasStarted() throws Exception {
    assumeTrue(autogroups(), "a Linux kernel with autogroups on, setsid and env --default-signal");
    int closed;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = free.getLocalPort(); // nothing listens there: the node waits for it, up to join-timeout
    }
    Path conf = Files.writeString(proc.resolve("join.conf"), "splinewatch.cluster.join-timeout = 20s\n");
    Path log = proc.resolve("serve.log");
    Process serve = new ProcessBuilder("setsid", "--wait", ProcessHandle.current().info().command().orElse("java"),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), "org.splinewatch.cli.Main", "monitor", "serve",
        "--seed", "127.0.0.1:" + closed, "--port", "0", "--metrics-port", "0", "--out",
        proc.resolve("runs").toString(), "--config", conf.toString()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!(Files.readString(log).contains("waiting for the cluster seed")) && serve.isAlive()
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(Files.readString(log).contains("waiting for the cluster seed"), Files.readString(log));
      // setsid may have forked: the session's java process is then its child
      long pid = serve.descendants().findFirst().map(ProcessHandle::pid).orElse(serve.pid());
      String group = Files.readString(Path.of("/proc/" + pid + "/autogroup")).trim();
      assertTrue(group.endsWith(" nice 0"), "still starting: " + group);
    } finally {
      serve.descendants().forEach(ProcessHandle::destroyForcibly);
      serve.destroyForcibly();
      serve.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /**
   * For real, through -D as JAVA_OPTS would give it: a monitor serve in a session of its own sets its group to the
   * configured nice once its node has started, and its scheduling line names it.
   */
  @Test
  void serveSetsItsGroupToTheConfiguredNice() throws Exception {
    assumeTrue(autogroups(), "a Linux kernel with autogroups on, setsid and env --default-signal");
    Path log = proc.resolve("serve.log");
    Process serve = new ProcessBuilder("setsid", "--wait", ProcessHandle.current().info().command().orElse("java"),
        "-Xmx256m", "-Dsplinewatch.serve.scheduling-group-nice=10", "-cp", System.getProperty("java.class.path"),
        "org.splinewatch.cli.Main", "monitor", "serve", "--port", "0", "--metrics-port", "0", "--out",
        proc.resolve("runs").toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!(Files.readString(log).contains("scheduling:")) && serve.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      String out = Files.readString(log);
      assertTrue(out.contains("scheduling: analyzers at idle priority, in a scheduling group of their own at nice 10"
          + " (splinewatch.serve.scheduling-group-nice;"), out);
      long pid = serve.descendants().findFirst().map(ProcessHandle::pid).orElse(serve.pid());
      String group = Files.readString(Path.of("/proc/" + pid + "/autogroup")).trim();
      assertTrue(group.endsWith(" nice 10"), group);
    } finally {
      serve.descendants().forEach(ProcessHandle::destroyForcibly);
      serve.destroyForcibly();
      serve.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The launcher's own-session.sh: the command runs in another session, Ctrl-C (SIGINT to the launcher) reaches
   * it, and the launcher exits with the command's status.
   */
  @Test
  void theLauncherRunsServeInItsOwnSessionAndForwardsCtrlC() throws Exception {
    assumeTrue(autogroups(), "a Linux kernel with autogroups on, setsid and env --default-signal");
    Path standIn = proc.resolve("stand-in.sh");
    Path ready = proc.resolve("ready");
    // bounded (a minute), and its pid in the ready file: a failing test leaves nothing running
    Files.writeString(standIn, "trap 'echo got INT; exit 7' INT\n"
        + "echo session $(cut -d' ' -f6 /proc/$$/stat) launcher $PPID_SESSION\n"
        + "echo $$ > " + ready + ".tmp && mv " + ready + ".tmp " + ready + "\n"
        + "for i in $(seq 600); do sleep 0.1; done\n");
    // SIGINT at its default, as in a terminal: a shell that starts with it ignored (a test run in the background, as
    // CI may be) cannot trap it
    Process launcher = new ProcessBuilder("env", "--default-signal=INT", "bash", "-c",
        "source src/main/sh/own-session.sh;"
        + " export PPID_SESSION=$(cut -d' ' -f6 /proc/$$/stat); splinewatch_own_session bash " + standIn)
        .redirectErrorStream(true).start();
    String out;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.exists(ready) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(Files.exists(ready), "the command started");
      new ProcessBuilder("kill", "-INT", Long.toString(launcher.pid())).start().waitFor();
      assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher ended with its command");
      out = new String(launcher.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      launcher.destroyForcibly();
      if (Files.exists(ready)) {
        ProcessHandle.of(Long.parseLong(Files.readString(ready).trim())).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    assertEquals(7, launcher.exitValue(), out);
    assertTrue(out.contains("got INT"), out);
    String[] words = out.lines().filter(l -> l.startsWith("session ")).findFirst().orElseThrow().split(" ");
    assertTrue(!words[1].equals(words[3]), "another session than the launcher's: " + out);
  }
}
