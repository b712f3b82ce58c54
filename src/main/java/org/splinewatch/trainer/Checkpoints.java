package org.splinewatch.trainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;

/**
 * {@code runs/<run-id>/checkpoints/latest} (at every epoch end and when the run ends or is stopped) and
 * {@code best} (lowest epoch-end training loss), each with the trainer's files and {@code meta.json} (step, epoch,
 * loss, method), plus their predecessors {@code latest.prev} and {@code best.prev}. A checkpoint is written into a
 * temporary directory and forced to disk; then the current one is renamed to {@code .prev} and the new one into its
 * place, and the directory is forced. A crash at any moment leaves a complete {@code latest} or, between the two
 * renames, a complete {@code latest.prev}, which {@link #resolve} (and so {@code --resume}) falls back to. The run's
 * {@code metrics.jsonl} and {@code events.jsonl} (flushed at every snapshot) are forced to disk with each checkpoint.
 */
public final class Checkpoints {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The predecessor of checkpoint {@code name}: {@code name + PREVIOUS}. */
  public static final String PREVIOUS = ".prev";

  /** What {@code meta.json} says. */
  public record Meta(long step, int epoch, double loss, String method) {
  }

  private Checkpoints() {
  }

  public static void write(Trainer trainer, Path checkpoints, String name, Meta meta) {
    Path tmp = null;
    try {
      Files.createDirectories(checkpoints);
      removeStaleTemporaries(checkpoints, name);
      tmp = Files.createTempDirectory(checkpoints, "." + name + "-");
      trainer.saveCheckpoint(tmp);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("step", meta.step());
      m.put("epoch", meta.epoch());
      m.put("loss", Double.isFinite(meta.loss()) ? meta.loss() : String.valueOf(meta.loss()));
      m.put("method", meta.method());
      m.put("time", System.currentTimeMillis());
      // meta.json last: a directory with it is complete
      JSON.writeValue(tmp.resolve("meta.json").toFile(), m);
      DurableFiles.syncTree(tmp);
      Path target = checkpoints.resolve(name);
      Path prev = checkpoints.resolve(name + PREVIOUS);
      if (problem(target).isEmpty()) {
        delete(prev);
        Files.move(target, prev, StandardCopyOption.ATOMIC_MOVE);
      } else {
        delete(target); // an incomplete or damaged leftover; latest.prev (if any) stays the fallback
      }
      // no `latest` from here to the next rename: a crash now leaves `latest.prev`, which resolve() falls back to
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      tmp = null;
      // one directory fsync for both renames: a journaling file system commits them in order
      DurableFiles.syncDirectory(checkpoints);
      Path runDir = checkpoints.toAbsolutePath().getParent();
      if (runDir != null) {
        DurableFiles.sync(runDir.resolve("metrics.jsonl"));
        DurableFiles.sync(runDir.resolve("events.jsonl"));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint " + checkpoints.resolve(name) + ": " + IoErrors.reason(e), e);
    } finally {
      // a write that failed (a full disk) gives its space back at once, so the run's end (run_finished, the
      // report) can still be written; the next checkpoint would only remove it after the run had ended
      deleteQuietly(tmp);
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try {
      delete(dir);
    } catch (IOException | UncheckedIOException e) {
      // what is left is removed by the next checkpoint of this name (removeStaleTemporaries)
    }
  }

  /** Temporary directories of writes that a crash interrupted. */
  private static void removeStaleTemporaries(Path checkpoints, String name) throws IOException {
    try (Stream<Path> s = Files.list(checkpoints)) {
      for (Path p : s.filter(p -> p.getFileName().toString().startsWith("." + name + "-")).toList()) {
        delete(p);
      }
    }
  }

  /**
   * The checkpoint to load for {@code dir}: {@code dir} itself when it is usable ({@link #problem}), else its
   * predecessor {@code dir.prev} when that is (a crash between the two renames of {@link #write}, or a damaged
   * checkpoint); else {@code dir}, which {@link #read} then names what is wrong with.
   */
  public static Path resolve(Path dir) {
    try {
      return open(dir).path();
    } catch (IllegalArgumentException e) { // neither is usable
      return dir;
    }
  }

  /**
   * The checkpoint {@link #open} chose for {@code --resume}, read once: where it is, why the one asked for was
   * skipped for its predecessor (empty when it is the one asked for), its {@code meta.json} and the widths of its
   * arrays ({@link CheckpointFiles}).
   */
  public record Resolved(Path path, Optional<String> skipped, Meta meta, CheckpointFiles.Network network) {
  }

  /** One candidate's files read once: its meta and arrays, or what is wrong with it (null when it is usable). */
  private record Candidate(Meta meta, CheckpointFiles.Network network, String problem) {
    boolean usable() {
      return problem == null;
    }
  }

  private static Candidate examine(Path dir) {
    try {
      Meta meta = readExactly(dir);
      return new Candidate(meta, CheckpointFiles.read(dir), null);
    } catch (IllegalArgumentException e) {
      return new Candidate(null, null, e.getMessage());
    } catch (IOException | UncheckedIOException e) {
      return new Candidate(null, null, e instanceof IOException io ? IoErrors.reason(io) : e.getMessage());
    }
  }

  /**
   * Why {@code dir} is no usable checkpoint, in one line: no readable {@code meta.json}, or an array file that is
   * missing, damaged or not what a checkpoint writes ({@link CheckpointFiles}); empty when it is one.
   */
  public static Optional<String> problem(Path dir) {
    return Optional.ofNullable(examine(dir).problem());
  }

  /** {@code dir.prev}, or null for a predecessor itself. */
  private static Path predecessor(Path dir) {
    return dir.getFileName().toString().endsWith(PREVIOUS) ? null
        : dir.resolveSibling(dir.getFileName() + PREVIOUS);
  }

  /**
   * Reads {@code meta.json} of the checkpoint {@link #resolve} picks for {@code dir}, with a one-line error when
   * neither it nor its predecessor is a usable checkpoint.
   */
  public static Meta read(Path dir) {
    return open(dir).meta();
  }

  /**
   * The checkpoint {@link #resolve} picks for {@code dir}, each candidate's files read once ({@code dir}, then its
   * predecessor only when {@code dir} is unusable), with a one-line error when neither is a usable checkpoint.
   */
  public static Resolved open(Path dir) {
    Candidate c = examine(dir);
    if (c.usable()) {
      return new Resolved(dir, Optional.empty(), c.meta(), c.network());
    }
    Path prev = predecessor(dir);
    if (prev != null) {
      Candidate p = examine(prev);
      if (p.usable()) {
        return new Resolved(prev, Optional.of(c.problem()), p.meta(), p.network());
      }
    }
    throw new IllegalArgumentException(c.problem() + (prev == null || !Files.exists(prev) ? ""
        : " (its predecessor " + prev.getFileName() + " is no usable checkpoint either)"));
  }

  /**
   * The loss recorded in {@code checkpoints/best} when that checkpoint lies on the trajectory of a run resumed at
   * {@code step} (its step is not after it), so that the resumed run replaces {@code best} only with a lower loss;
   * +infinity when there is no readable {@code best} or it is of steps the resumed run left (then its next epoch end
   * replaces it). Reads {@code meta.json} only.
   */
  public static double bestLossUpTo(Path checkpoints, long step) {
    try {
      Meta best = readExactly(checkpoints.resolve("best"));
      return best.step() <= step && Double.isFinite(best.loss()) ? best.loss() : Double.POSITIVE_INFINITY;
    } catch (IllegalArgumentException e) {
      return Double.POSITIVE_INFINITY;
    }
  }

  private static Meta readExactly(Path dir) {
    Path meta = dir.resolve("meta.json");
    if (!Files.isRegularFile(meta)) {
      String expected = "; expected runs/<run-id>/checkpoints/latest or best";
      if (!Files.exists(dir)) {
        throw new IllegalArgumentException(dir + " does not exist" + expected);
      }
      // the run directory or its checkpoints/ given for the checkpoint in it: name the one meant
      Path inRun = dir.resolve("checkpoints").resolve("latest");
      Path inCheckpoints = dir.resolve("latest");
      if (Files.isRegularFile(inRun.resolve("meta.json"))) {
        throw new IllegalArgumentException(dir + " is a run directory, not a checkpoint" + expected + ", here "
            + inRun);
      }
      if (Files.isRegularFile(inCheckpoints.resolve("meta.json"))) {
        throw new IllegalArgumentException(dir + " is a run's checkpoints directory, not a checkpoint" + expected
            + ", here " + inCheckpoints);
      }
      throw new IllegalArgumentException(dir + " is not a checkpoint (no meta.json)" + expected);
    }
    try {
      JsonNode j = JSON.readTree(meta.toFile());
      if (j == null || !j.has("step") || !j.has("method")) {
        throw new IllegalArgumentException(meta + " is incomplete (no step or method); expected the meta.json of a "
            + "checkpoint");
      }
      return new Meta(j.path("step").asLong(), j.path("epoch").asInt(), j.path("loss").asDouble(Double.NaN),
          j.path("method").asText());
    } catch (IOException e) {
      throw new IllegalArgumentException(meta + " is unreadable: " + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  private static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
