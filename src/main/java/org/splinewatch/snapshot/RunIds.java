package org.splinewatch.snapshot;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one rule for run ids, shared by the CLI, the cluster's {@code RegisterRun} and HTTP ingestion: a run id names
 * a directory under {@code --out}, a Prometheus label value and a URL segment, so it must be a single safe path
 * segment. Allowed: 1 to 128 of letters, digits, '.', '_' and '-', not starting with '.' or '-' (so {@code .},
 * {@code ..} and hidden directories are impossible), and none of {@link #RESERVED}, the monitor's own entries in
 * {@code --out}.
 */
public final class RunIds {
  public static final int MAX_LENGTH = 128;
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0," + (MAX_LENGTH - 1) + "}");
  /** {@code <out>/prometheus-sd}: the Prometheus file-discovery directory when {@code metrics.sd-dir} is empty. */
  public static final String DISCOVERY_DIR = "prometheus-sd";
  /** {@code <out>/control-token}: the token file {@code ./monitor serve} writes. */
  public static final String CONTROL_TOKEN_FILE = "control-token";
  /** Names in {@code --out} that are the monitor's own files, not run directories. */
  public static final List<String> RESERVED = List.of(DISCOVERY_DIR, CONTROL_TOKEN_FILE);
  /** The files whose presence means a run directory holds a run: its config and logs. */
  public static final List<String> RUN_FILES = List.of("config.json", "metrics.jsonl", "events.jsonl");

  private RunIds() {
  }

  /** Why {@code id} is not a valid run id (one line, naming what is expected), or empty when it is valid. */
  public static Optional<String> problem(String id) {
    if (id == null || id.isEmpty()) {
      return Optional.of("run id is empty; expected 1 to " + MAX_LENGTH + " letters, digits, '.', '_' or '-'");
    }
    if (!VALID.matcher(id).matches()) {
      String shown = id.length() > 40 ? id.substring(0, 40) + "…" : id;
      return Optional.of("run id '" + shown + "' is not valid; expected 1 to " + MAX_LENGTH
          + " letters, digits, '.', '_' or '-', not starting with '.' or '-'");
    }
    // case-insensitively: on a case-insensitive file system Control-Token is the token file too
    if (RESERVED.contains(id.toLowerCase(Locale.ROOT))) {
      return Optional.of("run id '" + id + "' is reserved (the monitor's own files in the output directory: "
          + String.join(", ", RESERVED) + "); expected another run id");
    }
    return Optional.empty();
  }

  public static boolean isValid(String id) {
    return problem(id).isEmpty();
  }

  /** {@code id}, or an {@link IllegalArgumentException} with the one-line problem. */
  public static String require(String id) {
    problem(id).ifPresent(p -> {
      throw new IllegalArgumentException(p);
    });
    return id;
  }

  /**
   * The run directory {@code out/id}, checked to lie directly under {@code out} (after normalisation), so no id can
   * escape the output directory.
   */
  public static Path runDirectory(Path out, String id) {
    require(id);
    Path base = out.toAbsolutePath().normalize();
    Path dir = base.resolve(id).normalize();
    if (!base.equals(dir.getParent())) {
      throw new IllegalArgumentException("run id '" + id + "' does not name a directory directly under " + out);
    }
    return dir;
  }

  /** Whether {@code dir} holds a run, i.e. one of {@link #RUN_FILES} (a link counts, unfollowed). */
  public static boolean holdsRun(Path dir) {
    return RUN_FILES.stream().anyMatch(f -> Files.exists(dir.resolve(f), LinkOption.NOFOLLOW_LINKS));
  }
}
