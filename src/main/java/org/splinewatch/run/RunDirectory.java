package org.splinewatch.run;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.trainer.RunSettings;

/** A run's id and its directory under {@code --out}: named, checked before anything is written, replaced on demand. */
public final class RunDirectory {
  private RunDirectory() {
  }

  /**
   * The run id: {@code --run-id} (checked by {@link RunIds}), or {@code <method>-<dataset>-<yyyyMMdd-HHmmss>} with
   * {@code -2}, {@code -3}, … appended while a directory of that name exists under {@code --out}.
   */
  public static String runId(RunSettings s) {
    if (!s.runId().isEmpty()) {
      return RunIds.require(s.runId());
    }
    String base = s.method() + "-" + s.dataset() + "-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
    String id = base;
    for (int k = 2; Files.exists(s.out().resolve(id)); k++) {
      id = base + "-" + k;
    }
    return id;
  }

  /** The directories a run writes inside its run directory. */
  private static final List<String> RUN_SUBDIRECTORIES = List.of("checkpoints", "planes", "embeddings");

  /**
   * The files a run appends to, replaces or opens for writing directly in its run directory, each with what the run
   * does to it; {@link org.splinewatch.metrics.RunLog#SEGMENT rotated metrics segments} are old ones its retention
   * may delete.
   */
  private static final Map<String, String> RUN_FILES = orderedMap("config.json", "the run's record, which this run"
      + " replaces", "metrics.jsonl", "which this run appends its metrics to", "events.jsonl", "which this run"
      + " appends its events to", "report.html", "which this run replaces at its end", RunIds.CONTROL_TOKEN_FILE,
      "which this run replaces with its control token", RunLock.FILE, "the run's lock, which this run opens to write");

  private static Map<String, String> orderedMap(String... keysAndValues) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return Collections.unmodifiableMap(m);
  }

  /**
   * The run directory {@code --out/runId}, which must lie directly under {@code --out}. One that exists and is not
   * empty holds an earlier run: it is refused (a one-line {@link IllegalArgumentException}) unless the run resumes
   * ({@code --resume}, whose files it continues) or {@code overwrite} is set (its files are deleted before this run
   * writes any).
   */
  public static Path check(RunSettings s, String runId, boolean overwrite) {
    if (Files.exists(s.out()) && !Files.isDirectory(s.out())) { // found only when the first file is written
      throw new IllegalArgumentException("--out " + s.out() + " is a file; expected a directory, the parent of the"
          + " run directory (created when missing)");
    }
    Path dir = RunIds.runDirectory(s.out(), runId);
    checkWritable(s, dir);
    if (overwrite && s.resume() != null && s.resume().toAbsolutePath().normalize().startsWith(dir)) {
      throw new IllegalArgumentException("--overwrite would delete the checkpoint " + s.resume() + " this run resumes"
          + " from; give another --run-id or drop --overwrite");
    }
    if (Files.exists(dir)) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException("run directory " + dir + " exists and is not a directory");
      }
      // found otherwise only when the first checkpoint or picture is written, hundreds of steps in
      for (String sub : RUN_SUBDIRECTORIES) {
        Path p = dir.resolve(sub);
        if (Files.exists(p) && !Files.isDirectory(p)) {
          throw new IllegalArgumentException(p + " is a file; expected the run's " + sub + " directory there, or"
              + " nothing (move the file away)");
        }
      }
      for (String name : RUN_FILES.keySet()) {
        Path p = dir.resolve(name);
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          throw new IllegalArgumentException(p + " is a directory; expected the run's file " + name + " there, or"
              + " nothing (move the directory away)");
        }
      }
      // a run's record is its config and logs; a directory without them (e.g. prepared mount points) is free
      boolean holdsRun = RunIds.holdsRun(dir);
      if (holdsRun && s.resume() == null && !overwrite) {
        // a killed run's directory may hold no checkpoint yet: advising --resume then led to "is not a checkpoint"
        Path latest = dir.resolve("checkpoints").resolve("latest");
        boolean resumable = Files.isDirectory(latest)
            || Files.isDirectory(latest.resolveSibling("latest" + org.splinewatch.trainer.Checkpoints.PREVIOUS));
        throw new IllegalArgumentException("run directory " + dir + " already holds a run" + (resumable
            ? "; give another --run-id, --resume " + latest + " to continue it, or --overwrite to replace it"
            : " and no checkpoint to resume; give another --run-id, or --overwrite to replace it"));
      }
      // a writable run directory with a read-only checkpoints/ (or planes/, embeddings/, or a checkpoint in them that
      // a write replaces) trained to the first checkpoint or picture, then failed there
      for (String sub : RUN_SUBDIRECTORIES) {
        unwritableIn(dir.resolve(sub)).ifPresent(p -> {
          throw new IllegalArgumentException("run directory " + dir + ": cannot write in " + p + " (read-only or not"
              + " this user's), where this run writes its " + sub + "; expected a directory this user can write, or"
              + " another --run-id or --out for a new run directory");
        });
      }
      // an immutable or read-only metrics.jsonl, config.json, ... failed the start after config.json was rewritten
      // (exit 1, the record naming a resume that never ran), or the report at the end of the run
      unwritableFile(dir, overwrite).ifPresent(p -> {
        throw new IllegalArgumentException("run directory " + dir + ": cannot write " + p.getKey() + " (read-only or"
            + " not this user's), " + p.getValue() + "; expected a file this user can write, or another --run-id or"
            + " --out for a new run directory");
      });
    }
    return dir;
  }

  /**
   * The first of the run's files directly in {@code dir} ({@link #RUN_FILES}, rotated metrics segments) that this
   * process cannot write, with what the run does to it. A read-only file that the run replaces by a rename (which its
   * mode alone would allow) is refused too: it was made read-only to be kept. Links are judged by their targets.
   */
  private static Optional<Map.Entry<Path, String>> unwritableFile(Path dir, boolean overwrite) {
    List<Map.Entry<Path, String>> files = new ArrayList<>();
    RUN_FILES.forEach((name, role) -> files.add(Map.entry(dir.resolve(name), overwrite ? "which --overwrite deletes"
        : role)));
    try (var entries = Files.list(dir)) {
      entries.filter(p -> org.splinewatch.metrics.RunLog.SEGMENT.matcher(p.getFileName().toString()).matches())
          .sorted().forEach(p -> files.add(Map.entry(p, overwrite ? "which --overwrite deletes"
              : "a rotated metrics segment, which this run's retention may delete")));
    } catch (IOException e) {
      throw new IllegalArgumentException("run directory " + dir + ": cannot list it: " + IoErrors.reason(e)
          + "; expected a directory this user can read");
    }
    return files.stream().filter(f -> Files.isRegularFile(f.getKey()) && !Files.isWritable(f.getKey())).findFirst();
  }

  /**
   * The first directory in {@code tree} (itself included, links not followed) that this process cannot write, where
   * a run writes, replaces or deletes files; empty when there is none or {@code tree} is no directory. A directory
   * that cannot be listed counts as one it cannot write.
   */
  private static Optional<Path> unwritableIn(Path tree) {
    if (!Files.isDirectory(tree, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try (var paths = Files.walk(tree)) {
      return paths.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && !Files.isWritable(p))
          .findFirst();
    } catch (IOException e) {
      return Optional.of(tree);
    } catch (UncheckedIOException e) { // a directory in it that cannot be listed: that one
      return Optional.of(e.getCause() instanceof FileSystemException f && f.getFile() != null
          ? Path.of(f.getFile()) : tree);
    }
  }

  /**
   * The run directory, or the nearest directory above it that exists (where it will be created), must be one this
   * process can write: a read-only or foreign {@code --out} used to load the data set and then fail with exit code 1
   * and a misleading reason ({@code cannot write …/config.json: …/x: no such file or directory}).
   */
  private static void checkWritable(RunSettings s, Path dir) {
    Path out = s.out();
    Path p = dir.toAbsolutePath().normalize();
    while (p != null && !Files.exists(p)) {
      p = p.getParent();
    }
    if (p == null) {
      return;
    }
    if (!Files.isDirectory(p)) {
      throw new IllegalArgumentException("--out " + out + ": " + p + " is a file; expected a directory, the parent"
          + " of the run directory (created when missing)");
    }
    if (!Files.isWritable(p) && s.resume() != null
        && ofCheckpoint(s.resume()).equals(Optional.of(p))) {
      // resumed in its own run directory: --out may never have been given (resumedInPlace set it)
      throw new IllegalArgumentException("--resume " + s.resume() + ": cannot write in its run directory " + p
          + " (read-only or not this user's), where the run continues; expected a directory this user can write, or"
          + " --out DIR for a new run directory");
    }
    if (!Files.isWritable(p)) {
      throw new IllegalArgumentException("--out " + out + ": cannot write in " + p + " (read-only or not this user's)"
          + "; expected a directory this user can write, the parent of the run directory (created when missing)");
    }
  }

  /**
   * The run directory a checkpoint belongs to: {@code <out>/<run-id>} for a checkpoint {@code
   * <out>/<run-id>/checkpoints/<name>} whose run directory holds the run's {@code config.json} (or only
   * {@code checkpoints/}, as a {@code --monitor} run's does) and whose name is a valid run id; empty for a checkpoint
   * anywhere else (e.g. one copied out of its run).
   */
  public static Optional<Path> ofCheckpoint(Path checkpoint) {
    Path p = checkpoint.toAbsolutePath().normalize();
    Path checkpoints = p.getParent();
    if (checkpoints == null || checkpoints.getFileName() == null
        || !checkpoints.getFileName().toString().equals("checkpoints")) {
      return Optional.empty();
    }
    Path dir = checkpoints.getParent();
    if (dir == null || dir.getFileName() == null || dir.getParent() == null
        || !RunIds.isValid(dir.getFileName().toString())
        || !(Files.isRegularFile(dir.resolve("config.json")) || onlyCheckpoints(dir))) {
      return Optional.empty();
    }
    return Optional.of(dir);
  }

  /** A {@code ./trainer --monitor} run's own directory: its monitor keeps the run's files, the trainer checkpoints. */
  private static boolean onlyCheckpoints(Path dir) {
    try (var entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).allMatch("checkpoints"::equals);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * In a {@code ./trainer --monitor} run's {@code checkpoints/}: the options it was started with, as {@code
   * config.json} records them (the monitor keeps that file), so that {@code --resume} alone continues it there.
   */
  public static final String REMOTE_OPTIONS = "run-options.json";

  /** Keeps a {@code --monitor} run's {@code options} in {@code checkpoints} ({@value #REMOTE_OPTIONS}). */
  public static void saveRemoteOptions(Path checkpoints, Map<String, Object> options) {
    Path file = checkpoints.resolve(REMOTE_OPTIONS);
    try {
      org.splinewatch.snapshot.DurableFiles.writeAtomically(file, new ObjectMapper()
          .writerWithDefaultPrettyPrinter().writeValueAsBytes(Map.of("options", options)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + IoErrors.reason(e), e);
    }
  }

  /** {@link #resumedInPlace}'s configuration and the options it took from the run it continues (empty if none). */
  public record InPlace(Config config, Map<String, Object> kept) {
  }

  /**
   * Where a {@code --resume} continues when neither {@code --out} nor {@code --run-id} was given (on the command line
   * or in a configuration file), or those given name the checkpoint's own run directory: in that directory
   * ({@link #ofCheckpoint}), so {@code --resume <out>/<run-id>/checkpoints/latest} alone appends to that run.
   * {@code config} with {@code splinewatch.run.out} and {@code run-id} set to that directory, or {@code config} itself
   * (a fresh run, a checkpoint outside a run directory, an explicit {@code --out} or {@code --run-id} naming another
   * directory). In its own directory the run also keeps the options it was started with that this command leaves at
   * their defaults ({@link #keptOptions}), read once: they come back in {@link InPlace#kept}, for the line that names
   * them.
   */
  public static InPlace resumedInPlace(Config config) {
    return inPlace(config).map(dir -> {
      Map<String, Object> kept = keptOptions(config, dir);
      Config c = config
          .withValue("splinewatch.run.out", ConfigValueFactory.fromAnyRef(dir.getParent().toString()))
          .withValue("splinewatch.run.run-id", ConfigValueFactory.fromAnyRef(dir.getFileName().toString()));
      for (var e : kept.entrySet()) {
        c = c.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
      }
      return new InPlace(c, kept);
    }).orElse(new InPlace(config, Map.of()));
  }

  /**
   * The run directory a {@code --resume} continues in, if any: the checkpoint's own, when neither {@code --out} nor
   * {@code --run-id} was given or those given name that directory ({@code --out runs}, the default written out, started
   * a new run of the default length with a generated id).
   */
  private static Optional<Path> inPlace(Config config) {
    String resume = config.getString("splinewatch.run.resume");
    if (resume.isEmpty()) {
      return Optional.empty();
    }
    Optional<Path> own = ofCheckpoint(Path.of(resume));
    String runId = config.getString("splinewatch.run.run-id");
    boolean outGiven = !"reference.conf".equals(config.getValue("splinewatch.run.out").origin().resource());
    if (own.isEmpty() || (!runId.isEmpty() && !runId.equals(own.get().getFileName().toString()))
        || (outGiven && !sameDirectory(Path.of(config.getString("splinewatch.run.out")), own.get().getParent()))) {
      return Optional.empty();
    }
    return own;
  }

  /** Whether {@code a} and {@code b} are one directory (through links; as paths where either is missing). */
  private static boolean sameDirectory(Path a, Path b) {
    try {
      return Files.isSameFile(a, b);
    } catch (IOException e) {
      return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }
  }

  /** Options a resume never takes from the run it continues: where it is, and how this command was asked. */
  private static final Set<String> NOT_KEPT = Set.of("splinewatch.run.resume", "splinewatch.run.run-id",
      "splinewatch.run.out", "splinewatch.lifecycle.overwrite");
  /** The run's length: given as either, so a resume that names one takes neither from the run. */
  private static final Set<String> LENGTH = Set.of("splinewatch.run.epochs", "splinewatch.run.max-steps");

  /**
   * The options the run in {@code dir} was started with (its {@code config.json}'s {@code options}: the command line
   * as settings) that {@code config} leaves at their defaults: a resume with {@code --resume} alone, as the console
   * advises after an interrupt, continues the run as it was started (its method, length, snapshot interval, widths,
   * ...) instead of being refused for another method or trained to the default length. What this command sets, on
   * its command line or in a {@code --config} file, wins; the run's {@code --config} file is not recorded, so it is
   * given again. A {@code --monitor} run's directory here has no {@code config.json}: its options are read from
   * {@code checkpoints/}{@value #REMOTE_OPTIONS} (the monitor's address among them). Empty when neither is readable.
   */
  public static Map<String, Object> keptOptions(Config config, Path dir) {
    Map<String, Object> options;
    Path file = dir.resolve("config.json");
    if (!Files.isRegularFile(file)) {
      file = dir.resolve("checkpoints").resolve(REMOTE_OPTIONS);
    }
    try {
      JsonNode recorded = new ObjectMapper().readTree(file.toFile()).path("options");
      if (!recorded.isObject()) {
        return Map.of();
      }
      options = new ObjectMapper().convertValue(recorded, new TypeReference<LinkedHashMap<String, Object>>() { });
    } catch (IOException | IllegalArgumentException e) {
      return Map.of(); // none, or unreadable: the resume is checked against the run as before (ResumeCheck)
    }
    boolean lengthGiven = LENGTH.stream().anyMatch(k -> config.hasPath(k) && !fromReference(config, k));
    Map<String, Object> kept = new LinkedHashMap<>();
    for (var e : options.entrySet()) {
      String key = e.getKey();
      if (NOT_KEPT.contains(key) || e.getValue() == null || (lengthGiven && LENGTH.contains(key))) {
        continue;
      }
      if (!config.hasPath(key) || fromReference(config, key)) {
        kept.put(key, e.getValue());
      }
    }
    return kept;
  }

  private static boolean fromReference(Config config, String key) {
    return "reference.conf".equals(config.getValue(key).origin().resource());
  }

  /** Deletes what an earlier run wrote in {@code dir} ({@code --overwrite}), not the lock this run holds on it. */
  static void delete(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    Path lock = dir.resolve(RunLock.FILE); // this run's: it holds the directory while it replaces the files
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        if (!p.equals(dir) && !p.equals(lock)) {
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("--overwrite: cannot delete " + dir + ": " + IoErrors.reason(e), e);
    }
  }
}
