package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's side of a resume key: kept beside the checkpoints, readable by its owner only, read back on resume. */
class ResumeKeyTest {
  @Test
  void aSavedKeyIsFoundFromAnyCheckpointBesideIt(@TempDir Path run) throws Exception {
    Path checkpoints = run.resolve("checkpoints");
    String key = ResumeKey.newKey();
    assertTrue(key.matches("[0-9a-f]{32}"), key);
    ResumeKey.save(checkpoints, key);
    assertEquals(Optional.of(key), ResumeKey.saved(checkpoints.resolve("latest")));
    assertEquals(Optional.of(key), ResumeKey.saved(checkpoints.resolve("best.prev")));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        checkpoints.resolve(ResumeKey.TRAINER_FILE))));
    assertEquals(Optional.empty(), ResumeKey.saved(run.resolve("elsewhere").resolve("latest")),
        "a checkpoint of a run that never streamed to a monitor has no key");
    // a new segment's key replaces the file whole (written beside it and renamed over it), leaving nothing else
    String next = ResumeKey.newKey();
    ResumeKey.save(checkpoints, next);
    assertEquals(Optional.of(next), ResumeKey.saved(checkpoints.resolve("latest")));
    try (var files = Files.list(checkpoints)) {
      assertEquals(java.util.List.of(ResumeKey.TRAINER_FILE), files.map(f -> f.getFileName().toString()).toList());
    }
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        checkpoints.resolve(ResumeKey.TRAINER_FILE))));
  }

  @Test
  void aFileThatHoldsNoKeyIsAOneLineError(@TempDir Path checkpoints) throws Exception {
    Files.writeString(checkpoints.resolve(ResumeKey.TRAINER_FILE), "not a key\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ResumeKey.saved(checkpoints.resolve("latest")));
    assertEquals(checkpoints.resolve(ResumeKey.TRAINER_FILE) + " does not hold a resume key; expected the 32 hex"
        + " digits the run's first segment wrote there", e.getMessage());
  }

  @Test
  void theMonitorKeepsTheKeysSha256() {
    // SHA-256 of the ASCII string "abc" (FIPS 180-2, appendix B.1)
    assertEquals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ResumeKey.sha256("abc"));
  }
}
