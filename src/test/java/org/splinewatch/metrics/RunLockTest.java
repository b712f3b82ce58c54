package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RunLock}: one run at a time in a run directory, within this process and across processes. */
class RunLockTest {
  @TempDir
  Path tmp;

  @Test
  void aSecondRunOfThisProcessIsRefusedUntilTheFirstEnds() {
    Path dir = tmp.resolve("runs").resolve("r1");
    try (RunLock first = RunLock.acquire(dir)) {
      assertTrue(Files.isRegularFile(dir.resolve(RunLock.FILE)));
      RunLock.InUse refused = assertThrows(RunLock.InUse.class, () -> RunLock.acquire(dir));
      assertEquals("run directory " + dir + " is in use by a run that is running now (it holds .run-lock there);"
          + " expected a run id of its own for each run (--run-id), or this run started once that one has ended",
          refused.getMessage());
      assertTrue(Files.isRegularFile(dir.resolve(RunLock.FILE)), "the refused run left the lock alone");
    }
    RunLock.acquire(dir).close(); // free again
  }

  @Test
  void closingRemovesTheLockAndTheDirectoriesAnEmptyRunLeft() throws Exception {
    Path runs = tmp.resolve("runs");
    RunLock.acquire(runs.resolve("nothing")).close(); // a start-up that ended before writing: nothing is left
    assertFalse(Files.exists(runs), "the run directory and --out it created are removed");
    Path wrote = runs.resolve("wrote");
    try (RunLock lock = RunLock.acquire(wrote)) {
      Files.writeString(wrote.resolve("metrics.jsonl"), "{}\n");
    }
    assertEquals(java.util.List.of("metrics.jsonl"), list(wrote), "the run's files stay; the lock file goes");
    Path prepared = Files.createDirectories(tmp.resolve("prepared"));
    RunLock.acquire(prepared).close();
    assertTrue(Files.isDirectory(prepared), "a directory that was there before is kept");
  }

  /** Another JVM that locks {@code dir}'s lock file as a second ./trainer would: "held", or exit code 5. */
  private Process holder(Path dir) throws Exception {
    Path source = Files.writeString(tmp.resolve("Hold.java"), "import java.nio.channels.*; import java.nio.file.*;"
        + " public class Hold { public static void main(String[] a) throws Exception { Path d = Path.of(a[0]);"
        + " Files.createDirectories(d); FileChannel c = FileChannel.open(d.resolve(\".run-lock\"),"
        + " StandardOpenOption.CREATE, StandardOpenOption.WRITE); if (c.tryLock() == null) System.exit(5);"
        + " System.out.println(\"held\"); System.out.flush(); System.in.read(); } }");
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ProcessBuilder(java, source.toString(), dir.toString()).redirectErrorStream(true).start();
  }

  @Test
  void aRefusalInThisProcessKeepsTheLockForTheOthers() throws Exception {
    Path dir = tmp.resolve("runs").resolve("r3");
    try (RunLock first = RunLock.acquire(dir)) {
      assertThrows(RunLock.InUse.class, () -> RunLock.acquire(dir));
      // closing a second channel on the file would have let go of the process's lock: another process took it
      Process other = holder(dir);
      try {
        assertTrue(other.waitFor(60, TimeUnit.SECONDS));
        assertEquals(5, other.exitValue(), new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
      } finally {
        other.destroyForcibly();
      }
    }
  }

  @Test
  void aRunOfAnotherProcessIsRefused() throws Exception {
    Path dir = tmp.resolve("runs").resolve("r2");
    // another JVM holds the run directory, as a second ./trainer would (a lock of the operating system's)
    Process holder = holder(dir);
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("held", out.readLine());
      assertThrows(RunLock.InUse.class, () -> RunLock.acquire(dir));
      holder.getOutputStream().close(); // it ends: the operating system lets go of its lock
      assertTrue(holder.waitFor(60, TimeUnit.SECONDS));
      RunLock.acquire(dir).close();
    } finally {
      holder.destroyForcibly();
    }
  }

  /**
   * A probe tells a run directory that another process holds now (a running ./trainer) from one whose process ended
   * without closing it (killed: its lock file stays) and from one closed; probing a directory this process holds does
   * not let go of its lock (another process still cannot take it).
   */
  @Test
  void aProbeTellsARunningRunFromAKilledOne() throws Exception {
    Path dir = tmp.resolve("runs").resolve("r4");
    assertEquals(RunLock.Hold.NONE, RunLock.probe(dir));
    Process holder = holder(dir);
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("held", out.readLine());
      assertEquals(RunLock.Hold.HELD, RunLock.probe(dir));
      assertEquals(RunLock.Hold.HELD, RunLock.probe(dir), "the probe let go of nothing it did not take");
    } finally {
      holder.destroyForcibly().waitFor(60, TimeUnit.SECONDS); // killed: the lock file stays, held by no one
    }
    assertEquals(RunLock.Hold.LEFT, RunLock.probe(dir));
    try (RunLock mine = RunLock.acquire(dir)) {
      assertEquals(RunLock.Hold.HELD, RunLock.probe(dir));
      Process other = holder(dir);
      try {
        assertTrue(other.waitFor(60, TimeUnit.SECONDS));
        assertEquals(5, other.exitValue(), "this process still holds it after the probe");
      } finally {
        other.destroyForcibly();
      }
    }
    assertEquals(RunLock.Hold.NONE, RunLock.probe(dir), "closed: the lock file is gone");
  }

  private static java.util.List<String> list(Path dir) throws Exception {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
