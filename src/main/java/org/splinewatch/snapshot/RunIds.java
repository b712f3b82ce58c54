package org.splinewatch.snapshot;

import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one rule for run ids, shared by the CLI, the cluster's {@code RegisterRun} and HTTP ingestion: a run id names
 * a directory under {@code --out}, a Prometheus label value and a URL segment, so it must be a single safe path
 * segment. Allowed: 1 to 128 of letters, digits, '.', '_' and '-', not starting with '.' or '-' (so {@code .},
 * {@code ..} and hidden directories are impossible).
 */
public final class RunIds {
  public static final int MAX_LENGTH = 128;
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0," + (MAX_LENGTH - 1) + "}");

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
}
