package org.splinewatch.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.splinewatch.control.ControlToken;
import org.splinewatch.snapshot.IoErrors;

/**
 * Who may resume a run on a monitor. A trainer that registers a run with {@code --monitor} sends a resume key (32 hex
 * digits, chosen by the trainer) and keeps it beside its checkpoints ({@value #TRAINER_FILE}); the metrics node keeps
 * only its SHA-256 in the run's directory ({@value #MONITOR_FILE}). A later registration of the same run as resumed
 * ({@code --resume}) must send the same key, so another cluster member cannot append to a run, or rewrite its
 * configuration, by claiming to resume it. A run directory from before resume keys (no {@value #MONITOR_FILE}) takes
 * the first resumed registration's key.
 */
public final class ResumeKey {
  /** In the trainer's checkpoints directory (readable by its owner only). */
  public static final String TRAINER_FILE = "monitor-resume-key";
  /** In the run's directory on the monitor: the key's SHA-256, hex. */
  public static final String MONITOR_FILE = "resume-key.sha256";

  private ResumeKey() {
  }

  /** A new key: 32 hex digits. */
  public static String newKey() {
    return TrainerDoor.secret();
  }

  /**
   * The key a run being resumed from {@code checkpoint} (a checkpoint directory such as {@code checkpoints/latest})
   * saved beside it, if any (a checkpoint of a run that never streamed to a monitor, or from before resume keys, has
   * none).
   */
  public static Optional<String> saved(Path checkpoint) {
    Path parent = checkpoint.toAbsolutePath().getParent();
    Path file = parent == null ? null : parent.resolve(TRAINER_FILE);
    if (file == null || !Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      String key = Files.readString(file).strip();
      if (!key.matches("[0-9a-f]{32}")) {
        throw new IllegalArgumentException(file + " does not hold a resume key; expected the 32 hex digits the run's"
            + " first segment wrote there");
      }
      return Optional.of(key);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the resume key " + file + ": " + IoErrors.reason(e), e);
    }
  }

  /** Keeps {@code key} in {@code checkpoints} (created if missing, by the durable write), owner-only. */
  public static void save(Path checkpoints, String key) {
    ControlToken.writeSecret(checkpoints.resolve(TRAINER_FILE), key, "the run's resume key");
  }

  /**
   * Why a registration of the run in {@code dir} (which already holds a run) as resumed with {@code key} is refused,
   * or empty when the key is the run's (or the directory has no key yet).
   */
  static Optional<String> refusal(Path dir, String runId, String key) {
    Path file = dir.resolve(MONITOR_FILE);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    String stored;
    try {
      stored = Files.readString(file).strip();
    } catch (IOException e) {
      return Optional.of("the monitor cannot read " + file + ": " + IoErrors.reason(e));
    }
    if (key == null || !MessageDigest.isEqual(stored.getBytes(StandardCharsets.US_ASCII),
        sha256(key).getBytes(StandardCharsets.US_ASCII))) {
      return Optional.of("run '" + runId + "' on this monitor was started by another trainer: resuming it needs the"
          + " resume key its first segment saved in checkpoints/" + TRAINER_FILE + " (copy the run's checkpoints"
          + " directory with the checkpoint), or choose another --run-id");
    }
    return Optional.empty();
  }

  /**
   * Whether {@code dir} keeps the SHA-256 of {@code key} (constant-time comparison): false when it keeps none, another
   * one, or cannot be read. An HTTP run resumes only then: its key lived only in the client that registered it.
   */
  public static boolean holds(Path dir, String key) {
    Path file = dir.resolve(MONITOR_FILE);
    try {
      return key != null && Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) && MessageDigest.isEqual(
          Files.readString(file).strip().getBytes(StandardCharsets.US_ASCII),
          sha256(key).getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Keeps the SHA-256 of {@code key} in {@code dir}: for a new run ({@code replace}: a leftover of an earlier run in
   * the same directory is replaced), or for a resumed one whose directory has none yet.
   */
  static void store(Path dir, String key, boolean replace) {
    Path file = dir.resolve(MONITOR_FILE);
    if (key == null || !replace && Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    ControlToken.writeSecret(file, sha256(key), "the run's resume key hash");
  }

  static String sha256(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(
          StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every Java runtime has SHA-256
    }
  }
}
