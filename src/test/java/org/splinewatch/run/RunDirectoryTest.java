package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;

/** The run directory a checkpoint belongs to, and when a --resume continues in it; plain, no training. */
class RunDirectoryTest {
  @TempDir
  Path tmp;

  private Path checkpointOfRun(String out, String id) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(out).resolve(id));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"" + id + "\"}");
    return Files.createDirectories(dir.resolve("checkpoints").resolve("latest"));
  }

  @Test
  void aCheckpointInsideARunDirectoryNamesThatDirectory() throws Exception {
    Path latest = checkpointOfRun("out", "int1");
    Path run = tmp.resolve("out").resolve("int1");
    assertEquals(Optional.of(run), RunDirectory.ofCheckpoint(latest));
    assertEquals(Optional.of(run), RunDirectory.ofCheckpoint(latest.resolveSibling("best")), "any checkpoint name");
    // a relative path, as typed on the command line, names the same directory
    Path relative = Path.of("").toAbsolutePath().relativize(latest);
    assertEquals(Optional.of(run), RunDirectory.ofCheckpoint(relative));
    // not <out>/<run-id>/checkpoints/<name> holding a run: none
    Files.delete(run.resolve("config.json"));
    assertEquals(Optional.of(run), RunDirectory.ofCheckpoint(latest),
        "only checkpoints/: a ./trainer --monitor run's directory (its monitor keeps config.json)");
    Files.writeString(run.resolve("notes.txt"), "mine");
    assertEquals(Optional.empty(), RunDirectory.ofCheckpoint(latest), "no config.json and more: not a run directory");
    Path loose = Files.createDirectories(tmp.resolve("copied").resolve("latest"));
    Files.writeString(tmp.resolve("config.json"), "{}");
    assertEquals(Optional.empty(), RunDirectory.ofCheckpoint(loose), "not under checkpoints/");
    Path hidden = Files.createDirectories(tmp.resolve(".hidden").resolve("checkpoints").resolve("latest"));
    Files.writeString(tmp.resolve(".hidden").resolve("config.json"), "{}");
    assertEquals(Optional.empty(), RunDirectory.ofCheckpoint(hidden), "not a valid run id");
  }

  @Test
  void aResumeWithoutOutOrRunIdContinuesInTheCheckpointsRunDirectory() throws Exception {
    Path latest = checkpointOfRun("out", "int1");
    Config resumed = RunDirectory.resumedInPlace(TrainCommand.load(Map.of("splinewatch.run.resume",
        latest.toString()), null)).config();
    assertEquals(tmp.resolve("out").toString(), resumed.getString("splinewatch.run.out"));
    assertEquals("int1", resumed.getString("splinewatch.run.run-id"));

    // an explicit --out or --run-id naming the checkpoint's own directory continues it too (--out runs, the default
    // written out, started a new run of the default length with a generated id)
    Path link = Files.createSymbolicLink(tmp.resolve("link"), tmp.resolve("out"));
    for (Map<String, Object> own : List.<Map<String, Object>>of(Map.of("splinewatch.run.out", tmp.resolve("out")
        .toString()), Map.of("splinewatch.run.out", link.toString()), Map.of("splinewatch.run.run-id", "int1"),
        Map.of("splinewatch.run.out", tmp.resolve("out").toString(), "splinewatch.run.run-id", "int1"))) {
      Map<String, Object> given = new java.util.HashMap<>(own);
      given.put("splinewatch.run.resume", latest.toString());
      Config c = RunDirectory.resumedInPlace(TrainCommand.load(given, null)).config();
      assertEquals(tmp.resolve("out").toString(), c.getString("splinewatch.run.out"), own.toString());
      assertEquals("int1", c.getString("splinewatch.run.run-id"), own.toString());
    }
    // an explicit --out or --run-id naming another directory wins, from the command line or a configuration file
    Config otherId = TrainCommand.load(Map.of("splinewatch.run.resume", latest.toString(), "splinewatch.run.out",
        tmp.resolve("out").toString(), "splinewatch.run.run-id", "branch"), null);
    assertSame(otherId, RunDirectory.resumedInPlace(otherId).config());
    Config withOut = TrainCommand.load(Map.of("splinewatch.run.resume", latest.toString(), "splinewatch.run.out",
        "elsewhere"), null);
    assertSame(withOut, RunDirectory.resumedInPlace(withOut).config());
    Config withId = TrainCommand.load(Map.of("splinewatch.run.resume", latest.toString(), "splinewatch.run.run-id",
        "branch"), null);
    assertSame(withId, RunDirectory.resumedInPlace(withId).config());
    Path file = Files.writeString(tmp.resolve("run.conf"), "splinewatch.run.out = \"runs\"\n");
    Config fromFile = TrainCommand.load(Map.of("splinewatch.run.resume", latest.toString()), file.toFile());
    assertSame(fromFile, RunDirectory.resumedInPlace(fromFile).config(), "a configuration file's out counts as given");
    // a fresh run, or a checkpoint outside a run directory: as before
    Config fresh = TrainCommand.load(Map.of(), null);
    assertSame(fresh, RunDirectory.resumedInPlace(fresh).config());
    Path loose = Files.createDirectories(tmp.resolve("copied").resolve("latest"));
    Config copied = TrainCommand.load(Map.of("splinewatch.run.resume", loose.toString()), null);
    assertSame(copied, RunDirectory.resumedInPlace(copied).config());
  }

  /**
   * A {@code --monitor} run's directory here holds only {@code checkpoints/} (its monitor keeps config.json). Resumed as
   * the console advises after an interrupt, {@code --resume <out>/<id>/checkpoints/latest} alone, it trained here,
   * without the monitor, to the default length; now it keeps the options the run was started with, the monitor's
   * address among them, from the file the run saved beside its checkpoints.
   */
  @Test
  void aMonitorRunResumedAloneKeepsItsOptionsAndItsMonitor() throws Exception {
    Path run = tmp.resolve("out").resolve("remote1");
    Path latest = Files.createDirectories(run.resolve("checkpoints").resolve("latest"));
    RunDirectory.saveRemoteOptions(run.resolve("checkpoints"), Map.of("splinewatch.cluster.seed", "127.0.0.1:25520",
        "splinewatch.run.max-steps", 3000, "splinewatch.run.snapshot-every", 25, "splinewatch.run.run-id", "remote1"));
    assertEquals(Optional.of(run), RunDirectory.ofCheckpoint(latest), "still a directory of only checkpoints/");
    RunDirectory.InPlace alone = RunDirectory.resumedInPlace(TrainCommand.load(Map.of("splinewatch.run.resume",
        latest.toString()), null));
    assertEquals("127.0.0.1:25520", alone.config().getString("splinewatch.cluster.seed"));
    assertEquals(3000, alone.config().getLong("splinewatch.run.max-steps"));
    assertEquals(25, alone.config().getInt("splinewatch.run.snapshot-every"));
    assertEquals("remote1", alone.config().getString("splinewatch.run.run-id"));
    assertEquals(Map.of("splinewatch.cluster.seed", "127.0.0.1:25520", "splinewatch.run.max-steps", 3000,
        "splinewatch.run.snapshot-every", 25), alone.kept());
    // an option given again wins: another monitor, another length
    RunDirectory.InPlace given = RunDirectory.resumedInPlace(TrainCommand.load(Map.of("splinewatch.run.resume",
        latest.toString(), "splinewatch.cluster.seed", "127.0.0.1:25521", "splinewatch.run.epochs", 2), null));
    assertEquals("127.0.0.1:25521", given.config().getString("splinewatch.cluster.seed"));
    assertEquals(Map.of("splinewatch.run.snapshot-every", 25), given.kept());
  }

  /** A file where the run writes a directory is refused at start, not at the first checkpoint hundreds of steps in. */
  @Test
  void aFileWhereTheRunWritesADirectoryIsRefusedAtStart() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("out").resolve("blocked"));
    Files.writeString(dir.resolve("checkpoints"), "x");
    var settings = outUnderTmp();
    var refused = refused(settings, "blocked");
    assertEquals(dir.resolve("checkpoints") + " is a file; expected the run's checkpoints directory there, or nothing"
        + " (move the file away)", refused.getMessage());
    Files.delete(dir.resolve("checkpoints"));
    assertEquals(dir, RunDirectory.check(settings, "blocked", false));
  }

  /** A run directory is refused as taken; --resume is advised only where it holds a checkpoint to resume. */
  @Test
  void aTakenRunDirectoryAdvisesResumeOnlyWithACheckpoint() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("out").resolve("killed"));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"killed\"}");
    var settings = outUnderTmp();
    var none = refused(settings, "killed");
    assertEquals("run directory " + dir + " already holds a run and no checkpoint to resume; give another --run-id,"
        + " or --overwrite to replace it", none.getMessage());
    Path latest = Files.createDirectories(dir.resolve("checkpoints").resolve("latest"));
    var one = refused(settings, "killed");
    assertEquals("run directory " + dir + " already holds a run; give another --run-id, --resume " + latest
        + " to continue it, or --overwrite to replace it", one.getMessage());
  }

  /**
   * A run resumed in its own run directory, which this user cannot write: the error named {@code --out}, which was
   * never given; now it names the --resume path and the run directory.
   */
  @Test
  void aReadOnlyRunDirectoryOfAResumeNamesTheResumeNotOut() throws Exception {
    Path latest = checkpointOfRun("out", "ro1");
    Path dir = tmp.resolve("out").resolve("ro1");
    Config resumed = RunDirectory.resumedInPlace(TrainCommand.load(Map.of("splinewatch.run.resume",
        latest.toString()), null)).config();
    var settings = org.splinewatch.trainer.RunSettings.fromConfig(resumed);
    try (var readOnly = TestTools.ReadOnly.of(dir)) {
      org.junit.jupiter.api.Assumptions.assumeTrue(readOnly.held(), "root writes a read-only directory (no chattr)");
      assertEquals("--resume " + latest + ": cannot write in its run directory " + dir + " (read-only or not this"
          + " user's), where the run continues; expected a directory this user can write, or --out DIR for a new run"
          + " directory", refused(settings, "ro1").getMessage());
    }
  }

  /**
   * A run directory this user can write whose checkpoints/, planes/ or embeddings/ (or a directory in them, such as the
   * checkpoint a resume replaces) it cannot: refused at start, naming that directory; the run failed only at its first
   * write there, a checkpoint or a picture hundreds of steps in.
   */
  @Test
  void aReadOnlyDirectoryTheRunWritesInIsRefusedAtStart() throws Exception {
    Path latest = checkpointOfRun("out", "rosub");
    Path dir = tmp.resolve("out").resolve("rosub");
    var resumed = resumedFrom(latest);
    Files.createDirectories(dir.resolve("planes"));
    Files.createDirectories(dir.resolve("embeddings"));
    for (String sub : List.of("checkpoints", "planes", "embeddings", "checkpoints/latest")) {
      Path p = dir.resolve(sub);
      try (var readOnly = TestTools.ReadOnly.of(p)) {
        org.junit.jupiter.api.Assumptions.assumeTrue(readOnly.held(), "root writes a read-only directory (no chattr)");
        assertEquals("run directory " + dir + ": cannot write in " + p + " (read-only or not this user's), where this"
            + " run writes its " + sub.replaceAll("/.*", "") + "; expected a directory this user can write, or another"
            + " --run-id or --out for a new run directory", refused(resumed, "rosub").getMessage(), sub);
      }
    }
    assertEquals(dir, RunDirectory.check(resumed, "rosub", false));
    // a prepared directory holding no run yet, e.g. a mount point's planes/
    Path prepared = Files.createDirectories(tmp.resolve("out").resolve("prepared").resolve("planes"));
    try (var readOnly = TestTools.ReadOnly.of(prepared)) {
      assertEquals("run directory " + prepared.getParent() + ": cannot write in " + prepared + " (read-only or not this"
          + " user's), where this run writes its planes; expected a directory this user can write, or another --run-id"
          + " or --out for a new run directory", refused(outUnderTmp(), "prepared").getMessage());
    }
  }

  /**
   * A run directory whose metrics.jsonl, events.jsonl, config.json, report.html, ... (the files a resumed run appends
   * to or replaces) this user cannot write: refused at start, naming the file; the run failed with exit 1 after it had
   * rewritten config.json, or at its end (report.html). A directory where such a file goes is refused alike.
   */
  @Test
  void aReadOnlyFileTheRunWritesIsRefusedAtStart() throws Exception {
    Path latest = checkpointOfRun("out", "rofile");
    Path dir = tmp.resolve("out").resolve("rofile");
    var resumed = resumedFrom(latest);
    Map<String, String> roles = new java.util.LinkedHashMap<>();
    roles.put("config.json", "the run's record, which this run replaces");
    roles.put("metrics.jsonl", "which this run appends its metrics to");
    roles.put("events.jsonl", "which this run appends its events to");
    roles.put("report.html", "which this run replaces at its end");
    roles.put("control-token", "which this run replaces with its control token");
    roles.put(".run-lock", "the run's lock, which this run opens to write");
    roles.put("metrics-00001.jsonl.gz", "a rotated metrics segment, which this run's retention may delete");
    for (var e : roles.entrySet()) {
      Path p = dir.resolve(e.getKey());
      if (!Files.exists(p)) {
        Files.writeString(p, "{}\n");
      }
    }
    for (var e : roles.entrySet()) {
      Path p = dir.resolve(e.getKey());
      try (var readOnly = TestTools.ReadOnly.of(p)) {
        org.junit.jupiter.api.Assumptions.assumeTrue(readOnly.held(), "root writes a read-only file (no chattr)");
        assertEquals("run directory " + dir + ": cannot write " + p + " (read-only or not this user's), " + e.getValue()
            + "; expected a file this user can write, or another --run-id or --out for a new run directory",
            refused(resumed, "rofile").getMessage(), e.getKey());
      }
    }
    assertEquals(dir, RunDirectory.check(resumed, "rofile", false));
    try (var readOnly = TestTools.ReadOnly.of(dir.resolve("metrics.jsonl"))) {
      var overwrite = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> RunDirectory.check(outUnderTmp(), "rofile", true));
      assertEquals("run directory " + dir + ": cannot write " + dir.resolve("metrics.jsonl") + " (read-only or not"
          + " this user's), which --overwrite deletes; expected a file this user can write, or another --run-id or"
          + " --out for a new run directory", overwrite.getMessage());
    }
    Files.delete(dir.resolve("events.jsonl"));
    Files.createDirectory(dir.resolve("events.jsonl"));
    assertEquals(dir.resolve("events.jsonl") + " is a directory; expected the run's file events.jsonl there, or"
        + " nothing (move the directory away)", refused(resumed, "rofile").getMessage());
  }

  /** The run settings of {@code --resume latest}, continuing in its run directory. */
  private static org.splinewatch.trainer.RunSettings resumedFrom(Path latest) {
    return org.splinewatch.trainer.RunSettings.fromConfig(RunDirectory.resumedInPlace(TrainCommand.load(
        Map.of("splinewatch.run.resume", latest.toString()), null)).config());
  }

  /** The run settings of a run whose --out is tmp/out. */
  private org.splinewatch.trainer.RunSettings outUnderTmp() {
    return org.splinewatch.trainer.RunSettings.fromConfig(TrainCommand.load(Map.of("splinewatch.run.out",
        tmp.resolve("out").toString()), null));
  }

  /** What RunDirectory.check refuses run {@code runId} with. */
  private static IllegalArgumentException refused(org.splinewatch.trainer.RunSettings settings, String runId) {
    return org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> RunDirectory.check(settings, runId, false));
  }
}
