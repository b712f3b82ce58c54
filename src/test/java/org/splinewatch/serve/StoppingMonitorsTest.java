package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/** Where stopping monitors are recorded: {@code $SPLINEWATCH_STOPPING_DIR}, else the user's own directory. */
class StoppingMonitorsTest {
  @TempDir
  Path tmp;

  /**
   * The tests' JVMs (and the processes they start, which inherit the variable) record the monitors they stop under
   * target/: they wrote into the user's own directory, which the user's running monitors share.
   */
  @Test
  void theTestJvmsRecordTheirStoppingMonitorsUnderTarget() {
    String value = System.getenv(StoppingMonitors.DIR_VARIABLE);
    assertTrue(value != null && Path.of(value).toAbsolutePath().normalize().getParent().getFileName().toString()
        .equals("target"), StoppingMonitors.DIR_VARIABLE + "=" + value + "; expected a directory under target/");
    assertEquals(Path.of(value), StoppingMonitors.forUser().directory());
    assertFalse(StoppingMonitors.forUser(null).directory().startsWith(Path.of(value)));
  }

  /** Unset or empty: the user's own directory, as before the variable. */
  @Test
  void withoutTheVariableTheUsersOwnDirectoryIsUsed() {
    Path own = StoppingMonitors.forUser("").directory();
    assertEquals(own, StoppingMonitors.forUser(null).directory());
    assertEquals("stopping", own.getFileName().toString());
    String runtime = System.getenv("XDG_RUNTIME_DIR");
    assertEquals(runtime != null && !runtime.isBlank() && Files.isDirectory(Path.of(runtime))
        ? Path.of(runtime, "splinewatch")
        : Path.of(System.getProperty("java.io.tmpdir"), "splinewatch-" + System.getProperty("user.name")),
        own.getParent());
  }

  /** A directory the variable names is created 0700 and holds the records of the monitors stopping here. */
  @Test
  void theNamedDirectoryIsCreatedOwnerOnlyAndHoldsTheRecords() throws Exception {
    Path dir = tmp.resolve("a").resolve("stopping");
    StoppingMonitors stopping = StoppingMonitors.forUser(dir.toString());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    try (StoppingMonitors.Record r = stopping.record(40001, 40002, tmp.resolve("runs"))) {
      r.stopping(java.time.Duration.ofMinutes(1));
      long pid = ProcessHandle.current().pid();
      assertTrue(Files.exists(dir.resolve(pid + "-40001-40002")));
      assertEquals(List.of(pid), stopping.recorded().stream().map(StoppingMonitors.Stopping::pid).toList());
    }
    assertEquals(List.of(), stopping.recorded());
  }

  /** A file, or a directory others may write to: one line naming the variable, its value and what was expected. */
  @Test
  void aDirectoryThatCannotHoldTheRecordsIsOneLine() throws Exception {
    Path file = Files.writeString(tmp.resolve("file"), "");
    IllegalArgumentException notDir = assertThrows(IllegalArgumentException.class,
        () -> StoppingMonitors.checkOverride(file.toString()));
    assertEquals("SPLINEWATCH_STOPPING_DIR=" + file + " is not a directory; expected a directory of this user's that"
        + " no one else may write to (where stopping monitors are recorded, created 0700 where missing), or"
        + " SPLINEWATCH_STOPPING_DIR unset", notDir.getMessage());
    Path open = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    IllegalArgumentException shared = assertThrows(IllegalArgumentException.class,
        () -> StoppingMonitors.forUser(open.toString()));
    assertEquals("SPLINEWATCH_STOPPING_DIR=" + open + " is another user's, a link, or open to others' writes"
        + " (rwxrwxrwx); expected a directory of this user's that no one else may write to (where stopping monitors"
        + " are recorded, created 0700 where missing), or SPLINEWATCH_STOPPING_DIR unset", shared.getMessage());
    StoppingMonitors.checkOverride(null);
    StoppingMonitors.checkOverride("");
  }

  /** {@code monitor serve} with such a directory: exit 2 with that line, before --out is created. */
  @Test
  void serveWithADirectoryThatCannotHoldTheRecordsIsExit2() throws Exception {
    Path file = Files.writeString(tmp.resolve("file"), "");
    Path runs = tmp.resolve("runs");
    ProcessBuilder pb = new ProcessBuilder(TestTools.mainCommand("-Xmx256m", "monitor", "serve", "--out",
        runs.toString(), "--port", "0", "--metrics-port", "0")).redirectErrorStream(true);
    pb.environment().put(StoppingMonitors.DIR_VARIABLE, file.toString());
    Process p = pb.start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(2, p.waitFor(), said);
    assertTrue(said.contains("error: SPLINEWATCH_STOPPING_DIR=" + file + " is not a directory; expected a directory"
        + " of this user's"), said);
    assertFalse(Files.exists(runs), said);
  }
}
