package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.MetricsSegments;
import org.splinewatch.snapshot.RegionFile;

/**
 * What a run directory holds, read tolerantly: a malformed or half-written line is skipped and named in
 * {@link #problems()}, so a report of a run that crashed or is still running is marked incomplete instead of failing.
 *
 * @param series   every metric series: key {@code name{label=value,...}} (run labels removed) to (step, value, time)
 *                 points; a run resumed from an earlier checkpoint keeps only its resumed steps after it
 * @param alerts   alert events that started firing: step and rule
 * @param pictures partition pictures per plane, in step order
 * @param runEnds  the {@code run_finished} events, in order: one per segment of a run interrupted and resumed, none
 *                 while it runs or after a crash
 * @param problems what makes the run incomplete, in a few words each
 * @param notes    what was lost in a known way that leaves the run complete: a metrics line a crash cut off before the
 *                 run was resumed or marked interrupted ({@link #crashLosses})
 * @param resumedAt the steps the run was resumed at ({@code run_resumed}), in order, on the trajectory it is on
 *                 ({@link #resumeSteps})
 *
 * <p>Over 300 lines because it reads every file of a run directory tolerantly and also holds the live page's
 * incremental reader, which shares the same line parser.
 */
public record RunData(Path dir, String runId, Map<String, Object> config, Map<String, Series> series,
    List<Alert> alerts, Map<Integer, List<Picture>> pictures, List<JsonNode> runEnds, List<String> problems,
    List<String> notes, List<Long> resumedAt) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CURSOR = Pattern.compile("(\\d{1,9})\\.(\\d{1,9})\\.(\\d{1,19})");
  private static final Pattern PICTURE = Pattern.compile("plane-(\\d+)-step-(\\d+)\\.svg");
  /** A problem naming one malformed line of a file (not JSON, or not UTF-8): the file's label, then the line number. */
  private static final Pattern MALFORMED_LINE = Pattern.compile("(.+) line (\\d+) is (?:malformed|not valid UTF-8)");
  /** Malformed lines named one by one per file; the rest are counted (a file of garbage must not make a 2 MB line). */
  static final int MALFORMED_NAMED = 3;

  public RunData {
    problems = summarised(problems);
    notes = List.copyOf(notes);
    resumedAt = List.copyOf(resumedAt);
  }

  /** A run never resumed. */
  public RunData(Path dir, String runId, Map<String, Object> config, Map<String, Series> series, List<Alert> alerts,
      Map<Integer, List<Picture>> pictures, List<JsonNode> runEnds, List<String> problems, List<String> notes) {
    this(dir, runId, config, series, alerts, pictures, runEnds, problems, notes, List.of());
  }

  /** A run never resumed, without {@link #notes}. */
  public RunData(Path dir, String runId, Map<String, Object> config, Map<String, Series> series, List<Alert> alerts,
      Map<Integer, List<Picture>> pictures, List<JsonNode> runEnds, List<String> problems) {
    this(dir, runId, config, series, alerts, pictures, runEnds, problems, List.of());
  }

  /**
   * The steps of {@code resumes} ({@code run_resumed} events, in write order) on the trajectory the run is on: a resume
   * that a later one went back before (resumed at 400, crashed, resumed from {@code best} at 200) happened on the
   * trajectory the run left and is left out; each step once.
   */
  static List<Long> resumeSteps(List<JsonNode> resumes) {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < resumes.size(); i++) {
      long step = resumes.get(i).path("step").asLong();
      boolean left = false;
      for (int j = i + 1; j < resumes.size() && !left; j++) {
        left = resumes.get(j).path("step").asLong() < step;
      }
      if (!left && !out.contains(step)) {
        out.add(step);
      }
    }
    return out;
  }

  /**
   * {@code problems} with at most {@link #MALFORMED_NAMED} malformed lines named per file, the others counted in one
   * entry after the file's last named one; every other problem unchanged and in order.
   */
  static List<String> summarised(List<String> problems) {
    Map<String, Integer> malformed = new java.util.LinkedHashMap<>();
    Map<String, Integer> lastLine = new java.util.HashMap<>();
    for (String p : problems) {
      Matcher m = MALFORMED_LINE.matcher(p);
      if (m.matches()) {
        malformed.merge(m.group(1), 1, Integer::sum);
        lastLine.put(m.group(1), Integer.parseInt(m.group(2)));
      }
    }
    if (malformed.values().stream().allMatch(c -> c <= MALFORMED_NAMED)) {
      return problems;
    }
    List<String> out = new ArrayList<>();
    Map<String, Integer> named = new java.util.HashMap<>();
    for (String p : problems) {
      Matcher m = MALFORMED_LINE.matcher(p);
      if (!m.matches()) {
        out.add(p);
        continue;
      }
      String file = m.group(1);
      int n = named.merge(file, 1, Integer::sum);
      int all = malformed.get(file);
      if (n <= MALFORMED_NAMED) {
        out.add(p);
      }
      if (n == MALFORMED_NAMED && all > MALFORMED_NAMED) {
        out.add(file + ": " + (all - MALFORMED_NAMED) + " more malformed lines, the last at line " + lastLine.get(file)
            + " (" + all + " in all)");
      }
    }
    return List.copyOf(out);
  }

  /** Whether the run finished: it has a {@code run_finished} event. */
  public boolean finished() {
    return !runEnds.isEmpty();
  }

  /** A run directory that cannot be reported at all. */
  public static final class ReportException extends RuntimeException {
    public ReportException(String message) {
      super(message);
    }
  }

  /**
   * One metric series; each point is {step, value, time (ms, the clock of the process that made the sample), order
   * (its place among all the run's samples as written, across segments)}.
   */
  public record Series(String name, Map<String, String> labels, List<double[]> points) {
  }

  /**
   * An alert that started firing ({@code severity} empty where the event has none), and the step its rule resolved
   * at ({@code alert_resolved}), -1 while it was still firing when the files were read or the run ended.
   */
  public record Alert(long step, String rule, String severity, String message, long resolvedStep) {
    /** An alert that has not resolved. */
    public Alert(long step, String rule, String severity, String message) {
      this(step, rule, severity, message, -1);
    }

    public boolean resolved() {
      return resolvedStep >= 0;
    }
  }

  /** One partition picture. */
  public record Picture(int plane, long step, Path file) {
  }

  public boolean complete() {
    return finished() && problems.isEmpty();
  }

  /**
   * The command-line warning for a run that is not {@link #complete()}, on one line: the run's state first where it
   * has not finished ({@code warning: x has not finished (no run_finished event): still running, or it crashed}),
   * then damage to its files where there is some ({@code x's files are incomplete: metrics.jsonl line 9 is
   * malformed}), as the report's status line words them.
   */
  public String incompleteWarning() {
    List<String> parts = new ArrayList<>();
    problems.stream().filter(RunData::notFinished)
        .forEach(p -> parts.add(runId + " " + p.substring("the run ".length())));
    List<String> damage = problems.stream().filter(p -> !notFinished(p)).toList();
    if (!damage.isEmpty()) {
      parts.add(runId + "'s files are incomplete: " + String.join("; ", damage));
    }
    return "warning: " + String.join("; ", parts);
  }

  /**
   * The run directories of a command line without repeats (the same directory named twice, e.g. by overlapping
   * globs, would be drawn or counted twice), in their first order; each repeat is named on {@code notes}. Paths are
   * compared as real paths where they exist, else as normalised absolute paths.
   */
  public static List<Path> distinct(List<Path> dirs, java.io.PrintStream notes) {
    java.util.Set<Path> seen = new java.util.HashSet<>();
    List<Path> out = new ArrayList<>();
    for (Path d : dirs) {
      Path key;
      try {
        key = d.toRealPath();
      } catch (java.io.IOException e) {
        key = d.toAbsolutePath().normalize();
      }
      if (seen.add(key)) {
        out.add(d);
      } else {
        notes.println("note: " + d + " is named more than once; read once");
      }
    }
    return out;
  }

  /** Why {@code path}, which is no directory, cannot be a run directory: missing, or a file (e.g. its metrics.jsonl). */
  public static String notADirectory(Path path) {
    return path + (Files.exists(path) ? ": is a file, not a run directory" : ": no such run directory")
        + "; expected runs/<run-id> with metrics.jsonl";
  }

  /**
   * Throws {@link ReportException} when {@code dir} is not a run directory (missing, or without {@code
   * metrics.jsonl}): what the commands check for every argument before they read any run.
   */
  public static void check(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new ReportException(notADirectory(dir));
    }
    if (!Files.isRegularFile(dir.resolve("metrics.jsonl"))) {
      List<Path> inside = runsIn(dir);
      if (!inside.isEmpty()) { // e.g. runs/: the user meant the runs in it
        throw new ReportException(dir + ": is a directory of " + inside.size() + (inside.size() == 1 ? " run" : " runs")
            + ", not a run directory; expected run directories such as " + inside.get(0) + " (" + dir.resolve("*")
            + " for all of them)");
      }
      Path below = runsBelow(dir);
      if (below != null) { // e.g. the project directory, which holds runs/: the user meant the runs in that
        List<Path> runs = runsIn(below);
        throw new ReportException(dir + ": not a run directory (no metrics.jsonl), but " + below + " in it is a"
            + " directory of " + runs.size() + (runs.size() == 1 ? " run" : " runs") + "; expected run directories such"
            + " as " + runs.get(0) + " (" + below.resolve("*") + " for all of them)");
      }
      throw new ReportException(dir + ": not a run directory (no metrics.jsonl); expected the output of ./trainer");
    }
  }

  /** The files of which any one marks a directory as a run's (the trainer writes config.json first). */
  private static final List<String> RUN_FILES = List.of("metrics.jsonl", "config.json", "events.jsonl");

  /**
   * The run directories directly in {@code dir} when it is a directory of runs ({@code runs/}) rather than a run: its
   * subdirectories that hold a run's metrics.jsonl, config.json or events.jsonl, by name. Empty when {@code dir}
   * holds one of those files itself (a run, perhaps a broken one), is no directory, or has no such subdirectory.
   */
  public static List<Path> runsIn(Path dir) {
    if (!Files.isDirectory(dir) || RUN_FILES.stream().anyMatch(f -> Files.exists(dir.resolve(f)))) {
      return List.of();
    }
    try (java.util.stream.Stream<Path> list = Files.list(dir)) {
      return list.filter(d -> Files.isDirectory(d)
          && RUN_FILES.stream().anyMatch(f -> Files.isRegularFile(d.resolve(f)))).sorted().toList();
    } catch (java.io.IOException e) {
      return List.of(); // unreadable: judged as a run directory, whose reading then says why
    }
  }

  /**
   * The first subdirectory of {@code dir} (by name) that is a directory of runs ({@link #runsIn}), or null: {@code .}
   * named where {@code ./runs} was meant.
   */
  public static Path runsBelow(Path dir) {
    try (java.util.stream.Stream<Path> list = Files.list(dir)) {
      return list.filter(Files::isDirectory).sorted().filter(d -> !runsIn(d).isEmpty()).findFirst().orElse(null);
    } catch (java.io.IOException | RuntimeException e) {
      return null; // unreadable: no hint
    }
  }

  /** A run directory {@code ./monitor experiment} moved aside to train its run again: {@code <run-id>.incomplete-N}. */
  private static final Pattern SET_ASIDE = Pattern.compile("(.+)\\.incomplete-(\\d{1,9})");

  /** The name {@code ./monitor experiment} gives the {@code n}-th directory of {@code runId} it moves aside. */
  public static String setAsideName(String runId, int n) {
    return runId + ".incomplete-" + n;
  }

  /**
   * Whether {@code dir} is a run directory {@code ./monitor experiment} moved aside ({@link #setAsideName}) beside the
   * run directory of the run it trained again in its place.
   */
  public static boolean setAside(Path dir) {
    Path name = dir.getFileName();
    Matcher m = name == null ? null : SET_ASIDE.matcher(name.toString());
    return m != null && m.matches() && Files.isDirectory(dir.resolveSibling(m.group(1)));
  }

  /** Reads a run directory; throws {@link ReportException} when it is not one ({@link #check}). */
  public static RunData read(Path dir) {
    check(dir);
    Path metrics = dir.resolve("metrics.jsonl");
    List<String> problems = new ArrayList<>();
    Map<String, Object> config = readConfig(dir, problems);
    String runId = String.valueOf(config.getOrDefault("run_id", dir.getFileName().toString()));
    Map<String, Series> series = new TreeMap<>();
    List<Path> files = new ArrayList<>(MetricsSegments.of(dir));
    boolean earliestDeleted = earliestDeleted(files);
    if (earliestDeleted) {
      problems.add("the earliest metrics segments (before " + files.get(0).getFileName() + ") were deleted by "
          + "splinewatch.retention.metrics-max-segments; the rest were not checked for metrics cut short");
    }
    files.add(metrics);
    SampleLines samples = new SampleLines(series, new long[] {0});
    for (Path file : files) {
      String label = file.getFileName().toString();
      JsonLines.read(file, label, samples.reader(label, 0, problems), problems);
    }
    Events events = Events.read(dir, series, samples, earliestDeleted, problems);
    series.values().forEach(s -> ((Points) s.points()).trimToSize()); // read whole: no headroom kept
    if (events.runEnds().isEmpty() && !events.open()) {
      problems.add(NOT_FINISHED);
    }
    Map<Integer, List<Picture>> pictures = current(readPictures(dir, problems), series, events.resumes());
    return new RunData(dir, runId, config, series, events.alerts(), pictures, events.runEnds(), problems,
        events.notes(), resumeSteps(events.resumes()));
  }

  /**
   * A run's events as {@link #read} and {@link Incremental#refresh} take them, with what they say of its samples: the
   * alerts, the {@code run_finished} events (none where the run was resumed and has not ended since, {@code open}),
   * the resumes, and the notes of lines a known crash or an unfinished flush explains. Adds to {@code problems} what
   * no event explains, and drops the samples a resume superseded from {@code series}.
   */
  private record Events(List<Alert> alerts, List<JsonNode> runEnds, List<JsonNode> resumes, List<String> notes,
      boolean open) {
    static Events read(Path dir, Map<String, Series> series, SampleLines samples, boolean earliestDeleted,
        List<String> problems) {
      List<Alert> alerts = new ArrayList<>();
      List<JsonNode> runEnds = new ArrayList<>();
      List<JsonNode> resumes = new ArrayList<>();
      boolean open = readEvents(dir, alerts, runEnds, resumes, problems);
      List<String> notes = crashLosses(samples.torn(), resumes, runEnds, problems);
      if (open) { // the ends before its last resume: of segments it went on from, not of the run
        problems.add(notEndedSinceResume(resumes));
        runEnds = new ArrayList<>();
      }
      notes.addAll(stillBeingWritten(runEnds, problems)); // none in an incremental reading: it waits for a newline
      endsEarly(series, runEnds, resumes, earliestDeleted).ifPresent(problems::add);
      supersede(series, resumes);
      return new Events(alerts, runEnds, resumes, notes, open);
    }
  }

  /**
   * The metrics lines a known crash cut off, each as a note naming the line and the step lost, taken out of {@code
   * problems} (where they are named as malformed, or as not valid UTF-8 where the cut came inside a multi-byte
   * character); a cut-off line of no known crash stays a problem. A writer killed
   * while it wrote a line leaves that line's start; the resume that follows ({@code RunLog.endTornLines}) or a
   * monitor marking the run interrupted at its next start ends it with a newline. Such a line is a known crash loss
   * when it is the last line of a process's writing: the last line of all, with an interrupted {@code run_finished}
   * written after the sample before it, or a line followed by a resumed segment: a {@code run_resumed} stamped no
   * earlier than the sample before the line and no later than the sample after it (each resume explains one line). A
   * malformed line anywhere else, or one not cut off (garbage, or not UTF-8 before its end), stays an error: no crash
   * explains it.
   */
  static List<String> crashLosses(List<SampleLines.Torn> torn, List<JsonNode> resumes, List<JsonNode> runEnds,
      List<String> problems) {
    List<String> notes = new ArrayList<>();
    Set<JsonNode> used = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    for (SampleLines.Torn t : torn) {
      String problem = t.problem(); // malformed, or not valid UTF-8 where cut inside a character
      if (!problems.contains(problem)) {
        continue; // half-written (no newline yet): still being written, or a crash nothing followed
      }
      String why = null;
      long resumedAt = -1;
      if (t.last()) {
        JsonNode end = runEnds.isEmpty() ? null : runEnds.get(runEnds.size() - 1);
        if (end != null && end.path("status").asText("").equals("interrupted") && after(end, t.timeBefore(), t)) {
          why = "cut off when the process writing it was killed; the run was then marked interrupted";
        }
      } else if (!Double.isNaN(t.timeAfter())) {
        for (JsonNode r : resumes) {
          if (!used.contains(r) && after(r, t.timeBefore(), t) && r.path("time").asDouble() <= t.timeAfter()) {
            used.add(r);
            resumedAt = r.path("step").asLong();
            why = "cut off by a crash; the run was resumed from step " + resumedAt + " after it";
            break;
          }
        }
      }
      if (why == null) {
        continue;
      }
      problems.remove(problem);
      String lost;
      if (t.step() >= 0 && resumedAt >= 0 && t.step() > resumedAt) {
        lost = "its sample, of step " + t.step() + ", is after the resume's step: the resumed run's replace it";
      } else if (t.step() >= 0) {
        lost = "one sample of step " + t.step() + " lost";
      } else {
        lost = "one sample lost, its step cut off" + (t.stepBefore() >= 0 ? " (the sample before it is of step "
            + t.stepBefore() + ")" : "");
      }
      notes.add(t.label() + " line " + t.line() + " was " + why + ": " + lost);
    }
    return notes;
  }

  /** A half-written last line of {@code metrics.jsonl}, as {@link JsonLines} and {@link SampleLines} name it. */
  private static final Pattern HALF_WRITTEN = Pattern.compile("metrics\\.jsonl line (\\d+) is half-written.*");

  /**
   * The half-written last line of {@code metrics.jsonl} where the last {@code run_finished} records that the flush at
   * the run's end timed out ({@link #METRICS_FLUSHED}), as a note taken out of {@code problems}: the writer still had
   * samples to write when the event and the end-of-run report were written, so the line was being written (and may
   * be whole by the next reading, or never be), not damaged. Such a run's metrics are not checked ({@link #UNFLUSHED});
   * the end-of-run report called it incomplete, a later report complete.
   */
  static List<String> stillBeingWritten(List<JsonNode> runEnds, List<String> problems) {
    if (runEnds.isEmpty() || !unflushed(List.of(runEnds.get(runEnds.size() - 1)))) {
      return List.of();
    }
    List<String> notes = new ArrayList<>();
    problems.removeIf(p -> {
      Matcher m = HALF_WRITTEN.matcher(p);
      if (m.matches()) {
        notes.add("metrics.jsonl line " + m.group(1) + " was still being written when read: the flush at the run's"
            + " end timed out, and its sample was not read");
      }
      return m.matches();
    });
    return notes;
  }

  /** Whether {@code event} is stamped no earlier than {@code time}, the sample before {@code t} (any, where none). */
  private static boolean after(JsonNode event, double time, SampleLines.Torn t) {
    if (t.stepBefore() < 0 && Double.isNaN(time)) {
      return true; // the line is its file's first sample
    }
    return event.path("time").isNumber() && event.path("time").asDouble() >= time;
  }

  /** Whether retention deleted the earliest of these metrics segments (the first left is not number 1). */
  private static boolean earliestDeleted(List<Path> segments) {
    if (segments.isEmpty()) {
      return false;
    }
    Matcher first = MetricsSegments.SEGMENT.matcher(segments.get(0).getFileName().toString());
    return first.matches() && Long.parseLong(first.group(1)) > 1;
  }

  /**
   * Why the samples read fall short of what the run recorded at its end, or null: per analyzer, fewer analysis-time
   * samples ({@code splinewatch_analysis_seconds}, one written with each analysis it counts) than the analysed
   * snapshots its {@code run_finished} events record (summed: one event per segment of a resumed run; a segment that
   * crashed has none and only adds samples). Metrics cut at a line boundary (an interrupted copy, a file truncated)
   * have no half-written line to give them away; this count does. Samples are counted as read, before
   * {@link #supersede} drops any.
   */
  static String cutShort(Map<String, Series> series, List<JsonNode> runEnds) {
    Map<String, Long> recorded = new TreeMap<>();
    for (JsonNode e : runEnds) {
      e.path("analysed_snapshots").fields().forEachRemaining(a -> {
        if (a.getValue().path("analysed").canConvertToLong()) {
          recorded.merge(a.getKey(), a.getValue().path("analysed").asLong(), Long::sum);
        }
      });
    }
    if (recorded.isEmpty()) {
      return null;
    }
    Map<String, Long> held = new java.util.HashMap<>();
    for (Series x : series.values()) {
      if (x.name().equals(MetricFamily.ANALYSIS_SECONDS.id()) && x.labels().get("analyzer") != null
          && x.points() instanceof Points p) {
        held.merge(x.labels().get("analyzer"), p.added(), Long::sum);
      }
    }
    List<String> behind = new ArrayList<>();
    recorded.forEach((analyzer, n) -> {
      long h = held.getOrDefault(analyzer, 0L);
      if (h < n) {
        behind.add(analyzer + " " + h + " of " + n);
      }
    });
    return behind.isEmpty() ? null : "the metrics end early: they hold fewer analyses than run_finished records ("
        + String.join(", ", behind) + "), as if cut short (an interrupted copy or write)";
  }

  /**
   * The {@code run_finished} field in which {@code ./trainer} records, for a run that ended {@code done} in the process
   * that wrote its metrics, the step of the last {@code splinewatch_training_step} sample written before the event.
   */
  public static final String TRAINING_STEP_LOGGED = "training_step_logged";

  /**
   * The {@code run_finished} field, {@code false}, with which {@code ./trainer} records that the flush at the run's
   * end timed out: the metrics actor had not written every sample it was sent when the event and the end-of-run report
   * were written. Such a run's metrics are not checked for an early end ({@link #cutShort}): samples may come after the
   * event, or never (the process exited first), and neither is an interrupted copy; {@link #notChecked} says so.
   */
  public static final String METRICS_FLUSHED = "metrics_flushed";

  /**
   * The {@code run_finished} field in which an HTTP run records how many snapshots it received in its segment
   * ({@code monitor serve}'s IngestedRun); {@link #receivedNoSnapshot}.
   */
  public static final String SNAPSHOTS_RECEIVED = "snapshots_received";

  /**
   * Whether this is a finished HTTP run ({@code "source": "http"} in config.json) that received no snapshot: its
   * metrics hold no sample (every accepted snapshot writes its step's) and its last {@code run_finished} records none
   * received ({@link #SNAPSHOTS_RECEIVED} 0). A run_finished of a release before that field (or a monitor's marking of
   * a run it left) records only its step: 0, the step of a run without a snapshot, is taken for none.
   */
  public boolean receivedNoSnapshot() {
    if (!"http".equals(config.get("source")) || !series.isEmpty() || runEnds.isEmpty()) {
      return false;
    }
    JsonNode end = runEnds.get(runEnds.size() - 1);
    return end.path(SNAPSHOTS_RECEIVED).canConvertToLong() ? end.path(SNAPSHOTS_RECEIVED).asLong() == 0
        : end.path("steps").asLong(-1) == 0;
  }

  /**
   * Why the metrics end before the run did, as if cut short: by the analysed snapshots run_finished records
   * ({@link #cutShort}; not where retention deleted the earliest segments, which the samples are short by, or a flush
   * timed out, after which samples may follow), else by the last training step it records ({@link
   * #endsBeforeLoggedStep}).
   */
  static java.util.Optional<String> endsEarly(Map<String, Series> series, List<JsonNode> runEnds,
      List<JsonNode> resumes, boolean earliestDeleted) {
    String cut = earliestDeleted || unflushed(runEnds) ? null : cutShort(series, runEnds);
    return java.util.Optional.ofNullable(cut != null ? cut
        : endsBeforeLoggedStep(series, runEnds, resumes, earliestDeleted));
  }

  /** Whether a {@code run_finished} of {@code runEnds} records that the metrics were not all written before it. */
  static boolean unflushed(List<JsonNode> runEnds) {
    return runEnds.stream().anyMatch(e -> e.path(METRICS_FLUSHED).isBoolean() && !e.path(METRICS_FLUSHED).asBoolean());
  }

  /** Why the metrics were not checked where {@link #unflushed}. */
  static final String UNFLUSHED = "run_finished was written before the metrics were all written (the flush at the"
      + " run's end timed out): samples written after it are read, but any that were lost are not told";

  /**
   * Why the samples end before the last training step a {@code run_finished} records as written ({@link
   * #TRAINING_STEP_LOGGED}), or null: no {@code splinewatch_training_step} sample of that step or later was read among
   * those its own segment wrote. Only the trainer's own {@code done} ends record it: it publishes that sample at its
   * last step and flushes its metrics before the event, so a run cut at a line boundary is told even without analyzers
   * ({@code --no-monitoring}) or with its earliest segments deleted. A {@code --monitor} run's or an HTTP run's end,
   * written by the monitor while samples may still be on their way, records none and is not checked this way.
   * A segment's samples are those its trainer stamped after its {@code run_resumed} (none: from the start) and before
   * its {@code run_finished}: a run resumed from {@code best} to fewer steps is checked by its own last step, not by
   * the later steps of the trajectory it left. An end a later resume went back before ({@link #superseded}) is not
   * checked, nor, where retention deleted the earliest segments ({@code lastOnly}), any end but the last.
   */
  static String endsBeforeLoggedStep(Map<String, Series> series, List<JsonNode> runEnds, List<JsonNode> resumes,
      boolean lastOnly) {
    for (int i = lastOnly ? runEnds.size() - 1 : 0; i >= 0 && i < runEnds.size(); i++) {
      JsonNode e = runEnds.get(i);
      if (!e.path(TRAINING_STEP_LOGGED).canConvertToLong() || superseded(e, resumes)) {
        continue;
      }
      long logged = e.path(TRAINING_STEP_LOGGED).asLong();
      double end = e.path("time").isNumber() ? e.path("time").asDouble() : Double.POSITIVE_INFINITY;
      double start = Double.NEGATIVE_INFINITY; // the segment's start: its run_resumed, stamped by the same trainer
      String since = "";
      for (JsonNode r : resumes) {
        double t = r.path("time").asDouble();
        if (t <= end && t >= start) {
          start = t;
          since = " since the resume from step " + r.path("step").asLong();
        }
      }
      long last = -1;
      for (Series x : series.values()) {
        if (x.name().equals(MetricFamily.TRAINING_STEP.id())) {
          for (double[] p : x.points()) {
            if (Double.isNaN(p[2]) || p[2] >= start && p[2] <= end) { // a sample without a time: any segment's
              last = Math.max(last, (long) p[0]);
            }
          }
        }
      }
      if (last < logged) {
        return "the metrics end early: their last " + MetricFamily.TRAINING_STEP.id() + " sample" + since + " is "
            + (last < 0 ? "missing" : "of step " + last) + ", run_finished records step " + logged + " written, as if"
            + " cut short (an interrupted copy or write)";
      }
    }
    return null;
  }

  /**
   * Whether a resume written after {@code end} (a {@code run_finished}; any resume where it has no time) went back to
   * a step before the one it records logged: the samples of its later steps belong to a trajectory the run left.
   */
  static boolean superseded(JsonNode end, List<JsonNode> resumes) {
    return leftBy(end, resumes).isPresent();
  }

  /** The first resume that makes {@code end} {@link #superseded}, or empty. */
  private static java.util.Optional<JsonNode> leftBy(JsonNode end, List<JsonNode> resumes) {
    double time = end.path("time").isNumber() ? end.path("time").asDouble() : Double.NEGATIVE_INFINITY;
    long logged = end.path(TRAINING_STEP_LOGGED).asLong();
    return resumes.stream().filter(r -> r.path("time").asDouble() > time && r.path("step").asLong() < logged)
        .findFirst();
  }

  /** Which runs record neither count, in {@link #NOTHING_RECORDED} and {@link #onlyLeftTrajectory}. */
  private static final String NONE_RECORDED_BY = "(a run without analyzers that ./trainer did not end done itself: a"
      + " --monitor or HTTP run, one stopped early or failed, or one of an earlier release)";

  /**
   * Why a finished run's metrics were not checked ({@link #notChecked}) when its {@code run_finished} events record
   * neither: no analyzers ran, and no end was a {@code done} that {@code ./trainer} wrote itself.
   */
  static final String NOTHING_RECORDED = "run_finished records no analysed snapshots and no last training step "
      + NONE_RECORDED_BY;

  /**
   * Why a finished run's metrics were not checked where the only last training step its {@code run_finished} events
   * record is that of a trajectory a later resume went back before ({@link #superseded}: resumed from {@code best}),
   * whose later samples the resumed run's replace; {@link #NOTHING_RECORDED} said that none was recorded.
   */
  static String onlyLeftTrajectory(long logged, long resumedFrom) {
    return "run_finished records no analysed snapshots, and the last training step written (step " + logged + ") only"
        + " for the trajectory that the resume from step " + resumedFrom + " left; none for the run as resumed "
        + NONE_RECORDED_BY;
  }

  /**
   * Why this finished run's metrics could not be checked for an early end ({@link #cutShort}), in a few words, or
   * empty: none of its {@code run_finished} events records analysed snapshots or the last training step written
   * ({@link #NOTHING_RECORDED}; {@link #onlyLeftTrajectory} where the only last step recorded is of a trajectory a
   * later resume left), or one was written before the metrics were all written ({@link #UNFLUSHED}).
   * Metrics cut at a line boundary then read as whole: the report and detection say so rather than calling the run
   * complete without a word. (Where retention deleted the earliest segments, one of the {@link #problems} says so.)
   */
  public java.util.Optional<String> notChecked() {
    if (runEnds.isEmpty()) {
      return java.util.Optional.empty(); // not finished: incomplete already
    }
    if (receivedNoSnapshot()) {
      return java.util.Optional.empty(); // nothing was written that could be cut short
    }
    if (unflushed(runEnds)) {
      return java.util.Optional.of(UNFLUSHED);
    }
    List<JsonNode> resumes = resumes(dir);
    boolean recorded = runEnds.stream().anyMatch(e -> {
      if (e.path(TRAINING_STEP_LOGGED).canConvertToLong() && !superseded(e, resumes)) {
        return true; // checked by its last training step (endsBeforeLoggedStep)
      }
      for (JsonNode a : e.path("analysed_snapshots")) {
        if (a.path("analysed").canConvertToLong()) {
          return true;
        }
      }
      return false;
    });
    if (recorded) {
      return java.util.Optional.empty();
    }
    for (JsonNode e : runEnds) {
      if (e.path(TRAINING_STEP_LOGGED).canConvertToLong()) {
        java.util.Optional<JsonNode> left = leftBy(e, resumes);
        if (left.isPresent()) {
          return java.util.Optional.of(onlyLeftTrajectory(e.path(TRAINING_STEP_LOGGED).asLong(),
              left.get().path("step").asLong()));
        }
      }
    }
    return java.util.Optional.of(NOTHING_RECORDED);
  }

  /**
   * The planes whose live partition overflowed its cap: those with a region file {@code planes/plane-<k>-overflow.npz}
   * (written by the region analyzer for an exact count offline), in order; empty when none or unreadable.
   */
  public List<Integer> overflowedPlanes() {
    Path planes = dir.resolve("planes");
    if (!Files.isDirectory(planes)) {
      return List.of();
    }
    try (Stream<Path> listed = Files.list(planes)) {
      return listed.map(f -> RegionFile.OVERFLOW_FILE.matcher(f.getFileName().toString())).filter(Matcher::matches)
          .map(m -> Integer.parseInt(m.group(1))).sorted().toList();
    } catch (IOException e) {
      return List.of(); // the pictures' reading names an unreadable planes/ as a problem
    }
  }

  /**
   * The pictures of the trajectory the run is on: a run resumed from a checkpoint at step {@code S} leaves the
   * pictures of the steps after {@code S} that the trajectory it left drew and it has not drawn again (e.g. resumed
   * from {@code best} and ended before the old last step). A picture of a step after the earliest resume stays when
   * its plane has a region count at that step after {@link #supersede}: one the resumed segment wrote.
   */
  static Map<Integer, List<Picture>> current(Map<Integer, List<Picture>> pictures, Map<String, Series> series,
      List<JsonNode> resumes) {
    if (resumes.isEmpty()) {
      return pictures;
    }
    BiPredicate<String, Long> kept = onTrajectory(resumes.stream().mapToLong(r -> r.path("step").asLong()).min(),
        series, Set.of(MetricFamily.REGIONS.id()), "plane");
    Map<Integer, List<Picture>> out = new TreeMap<>();
    pictures.forEach((plane, list) -> {
      List<Picture> on = list.stream().filter(p -> kept.test(Integer.toString(plane), p.step())).toList();
      if (!on.isEmpty()) {
        out.put(plane, new ArrayList<>(on));
      }
    });
    return out;
  }

  /**
   * What a resumed run draws belongs to the trajectory it is on when its step is not after the earliest resume, or
   * when one of {@code families} has a sample at that step with that value of {@code label} after {@link #supersede}
   * (one the resumed segment wrote): by label value and step. Everything, for a run never resumed.
   */
  private static BiPredicate<String, Long> onTrajectory(OptionalLong earliest, Map<String, Series> series,
      Set<String> families, String label) {
    if (earliest.isEmpty()) {
      return (value, step) -> true;
    }
    Map<String, Set<Long>> written = new java.util.HashMap<>(); // label value -> steps with a sample
    for (Series x : series.values()) {
      if (families.contains(x.name()) && x.labels().get(label) != null) {
        Set<Long> steps = written.computeIfAbsent(x.labels().get(label), k -> new java.util.HashSet<>());
        x.points().forEach(p -> steps.add((long) p[0]));
      }
    }
    long resumed = earliest.getAsLong();
    return (value, step) -> step <= resumed || written.getOrDefault(value, Set.of()).contains(step);
  }


  /** The partition pictures under {@code planes/}, per plane in step order. */
  private static Map<Integer, List<Picture>> readPictures(Path dir, List<String> problems) {
    Map<Integer, List<Picture>> pictures = new TreeMap<>();
    Path planes = dir.resolve("planes");
    if (Files.isDirectory(planes)) {
      try (Stream<Path> listed = Files.list(planes)) {
        listed.sorted().forEach(f -> {
          Matcher m = PICTURE.matcher(f.getFileName().toString());
          if (m.matches()) {
            int plane = Integer.parseInt(m.group(1));
            pictures.computeIfAbsent(plane, k -> new ArrayList<>())
                .add(new Picture(plane, Long.parseLong(m.group(2)), f));
          }
        });
      } catch (IOException e) {
        problems.add("planes/ is unreadable (" + e.getMessage() + ")");
      }
    }
    return pictures;
  }

  /**
   * Reads a run directory again and again (the live page, every 2 s) parsing only the {@code metrics.jsonl} lines
   * appended since the previous {@link #refresh()}; a partial last line waits for its newline. A rotation (a new
   * segment) or a shorter file starts over. Not thread-safe: callers lock it.
   */
  public static final class Incremental {
    private final Path dir;
    private List<Path> segments = List.of();
    private Map<String, Series> series = new TreeMap<>();
    private List<String> metricsProblems = new ArrayList<>();
    private long offset;
    private int lines;
    /** The next sample's place in write order ({@link Series}). */
    private final long[] order = {0};
    private SampleLines samples = new SampleLines(series, order);
    /** The {@code run_resumed} events at the last refresh: each one drops samples already read. */
    private int resumes;

    public Incremental(Path dir) {
      this.dir = dir;
    }

    /** The run as it is now; its series are shared with the next refresh, so use it before calling again. */
    public RunData refresh() {
      Path metrics = dir.resolve("metrics.jsonl");
      if (!Files.isRegularFile(metrics)) {
        throw new ReportException(dir + ": not a run directory (no metrics.jsonl); expected the output of ./trainer");
      }
      List<Path> segs = MetricsSegments.of(dir);
      long size;
      try {
        size = Files.size(metrics);
      } catch (IOException e) {
        size = 0;
      }
      if (!segs.equals(segments) || size < offset) {
        segments = segs;
        series = new TreeMap<>();
        metricsProblems = new ArrayList<>();
        offset = 0;
        lines = 0;
        order[0] = 0;
        samples = new SampleLines(series, order);
        for (Path f : segs) {
          String label = f.getFileName().toString();
          JsonLines.read(f, label, samples.reader(label, 0, metricsProblems), metricsProblems);
        }
      }
      readAppended(metrics, size);
      List<String> problems = new ArrayList<>();
      Map<String, Object> config = readConfig(dir, problems);
      problems.addAll(metricsProblems);
      Events events = Events.read(dir, series, samples, earliestDeleted(segments), problems);
      this.resumes = events.resumes().size();
      String runId = String.valueOf(config.getOrDefault("run_id", dir.getFileName().toString()));
      return new RunData(dir, runId, config, series, events.alerts(), current(readPictures(dir, problems), series,
          events.resumes()), events.runEnds(), problems, events.notes(), resumeSteps(events.resumes()));
    }

    /**
     * Where the last {@link #refresh()} stopped reading: the number of segments, of resumes and of samples, as
     * {@code "segments.resumes.samples"}. A reader that was given it can ask for what was written after it
     * ({@link #writtenAfter}).
     */
    public String cursor() {
      return segments.size() + "." + resumes + "." + order[0];
    }

    /** Bytes the samples read so far take in memory (the series' arrays). */
    public long heldBytes() {
      long bytes = 0;
      for (Series x : series.values()) {
        bytes += ((Points) x.points()).heldBytes();
      }
      return bytes;
    }

    /** Whether {@code s} has the form {@link #cursor()} gives. */
    public static boolean isCursor(String s) {
      return CURSOR.matcher(s).matches();
    }

    /**
     * The first sample's place ({@link RunData#writtenFrom}) after {@code cursor}, or -1 where it is of another reading
     * of the run (a rotation or a resume since, which renumber or drop samples already read, or a run directory
     * written again) or not a cursor at all. Call after {@link #refresh()}.
     */
    public long writtenAfter(String cursor) {
      Matcher m = CURSOR.matcher(cursor);
      if (!m.matches()) {
        return -1;
      }
      try {
        long samples = Long.parseLong(m.group(3));
        boolean same = Integer.parseInt(m.group(1)) == segments.size() && Integer.parseInt(m.group(2)) == resumes;
        return same && samples <= order[0] ? samples : -1;
      } catch (NumberFormatException e) { // digits beyond a long: of no reading of this run
        return -1;
      }
    }

    /** Parses the complete lines between {@link #offset} and {@code size}. */
    private void readAppended(Path metrics, long size) {
      if (size <= offset) {
        return;
      }
      try (FileChannel ch = FileChannel.open(metrics)) {
        // the last newline before size: the lines after it are still being written
        long end = size;
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        long nl = -1;
        while (nl < 0 && end > offset) {
          long from = Math.max(offset, end - b.capacity());
          b.clear().limit((int) (end - from));
          ch.read(b, from);
          for (int i = b.position() - 1; i >= 0; i--) {
            if (b.get(i) == '\n') {
              nl = from + i;
              break;
            }
          }
          end = from;
        }
        if (nl < 0) {
          return;
        }
        long stop = nl + 1;
        int base = lines;
        InputStream in = new BufferedInputStream(Channels.newInputStream(
            ch.position(offset)), 64 * 1024);
        in = new BoundedInputStream(in, stop - offset);
        lines += JsonLines.read(in, "metrics.jsonl", samples.reader("metrics.jsonl", base, metricsProblems),
            metricsProblems);
        offset = stop;
      } catch (IOException e) {
        // read again from the same offset next time
      }
    }
  }

  /** At most {@code limit} bytes of {@code in}. */
  private static final class BoundedInputStream extends FilterInputStream {
    private long left;

    BoundedInputStream(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = super.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(buf, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }

  /**
   * What the run list needs, without reading every sample: the last step comes from the end of metrics.jsonl.
   *
   * @param lastStep the step the run is at: where its last {@code run_finished} ended it (a run interrupted or stopped
   *                 between the trainer's logged steps ends after its last sample), else the latest step known: its
   *                 samples' last, or the step it resumed from before it logged again
   * @param ending   the status of the last {@code run_finished} of a finished run ({@code done}, {@code interrupted},
   *                 {@code stopped}, {@code failed}), empty while it is not finished
   * @param endStep  the step that {@code run_finished} records (where it records none, the samples' last), 0 while it
   *                 is not finished
   */
  public record Summary(String id, boolean finished, long lastStep, Map<String, Object> config, String ending,
      long endStep) {
  }

  /** A cheap {@link Summary} of a run directory (the live page lists runs with it every few seconds). */
  public static Summary summarize(Path dir) {
    List<String> ignored = new ArrayList<>();
    Map<String, Object> config = readConfig(dir, ignored);
    List<JsonNode> runEnds = new ArrayList<>();
    List<JsonNode> resumes = new ArrayList<>();
    boolean finished = !readEvents(dir, new ArrayList<>(), runEnds, resumes, ignored) && !runEnds.isEmpty();
    JsonNode end = finished ? runEnds.get(runEnds.size() - 1) : null;
    long last;
    if (end != null && end.path("steps").canConvertToLong()) {
      last = end.path("steps").asLong();
    } else {
      // running, or an end that records no step (a --monitor run whose trainer was killed, before this release)
      JsonNode resume = finished || resumes.isEmpty() ? null : resumes.get(resumes.size() - 1);
      last = tailStep(dir.resolve("metrics.jsonl"), resume);
      if (resume != null) {
        last = Math.max(last, resume.path("step").asLong());
      }
    }
    return new Summary(dir.getFileName().toString(), finished, last, config,
        end == null ? "" : end.path("status").asText(""), end == null ? 0 : last);
  }

  /**
   * The last step of the samples at the end of {@code metrics} (0 for none). After {@code resume} (a run going on
   * from a checkpoint, null for none) the steps after its step written before its segment's first training sample
   * are the trajectory it left, as {@link #supersede} drops them: a run resumed from {@code best} is not at the step
   * it had reached before.
   */
  private static long tailStep(Path metrics, JsonNode resume) {
    long resumedAt = resume == null ? Long.MAX_VALUE : resume.path("step").asLong();
    double resumedTime = resume == null ? 0 : resume.path("time").asDouble();
    boolean onNewTrajectory = resume == null;
    long last = 0;
    try (RandomAccessFile f = new RandomAccessFile(metrics.toFile(), "r")) {
      long from = Math.max(0, f.length() - TAIL_BYTES);
      byte[] tail = new byte[(int) (f.length() - from)];
      f.seek(from);
      f.readFully(tail);
      for (String line : new String(tail, StandardCharsets.UTF_8).split("\n")) {
        Matcher m = STEP.matcher(line);
        if (!m.find()) {
          continue; // the first line cut by the tail, or a half-written one
        }
        long step;
        try {
          step = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
          continue; // beyond a long: not a step any writer here produces
        }
        if (!onNewTrajectory && TRAINER_STAMPED.stream().anyMatch(n -> line.contains("\"name\":\"" + n + "\""))) {
          Matcher t = TIME.matcher(line);
          onNewTrajectory = t.find() && Double.parseDouble(t.group(1)) >= resumedTime;
        }
        if (onNewTrajectory || step <= resumedAt) {
          last = Math.max(last, step);
        }
      }
    } catch (IOException e) {
      // an unreadable file lists as step 0
    }
    return last;
  }

  private static final int TAIL_BYTES = 64 * 1024;
  private static final Pattern STEP = Pattern.compile("\"step\":(\\d{1,19})\\b");
  private static final Pattern TIME = Pattern.compile("\"time\":(\\d{1,19}(?:\\.\\d+)?)\\b");

  /** {@code config.json} as flat strings (nested values as JSON text); a missing or bad file is a problem. */
  private static Map<String, Object> readConfig(Path dir, List<String> problems) {
    Map<String, Object> config = new LinkedHashMap<>();
    try {
      if (Files.isRegularFile(dir.resolve("config.json"))) {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        if (c == null || !c.isObject()) {
          problems.add("config.json is not a JSON object");
          return config;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          config.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
        }
      } else {
        problems.add("config.json is missing");
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) { // Jackson's message spans lines
      var at = e.getLocation();
      problems.add("config.json is not valid JSON" + (at == null ? ""
          : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
    } catch (IOException e) {
      problems.add("config.json is unreadable (" + e.getMessage() + ")");
    }
    return config;
  }

  /**
   * A run resumed from a checkpoint at step {@code S} (a {@code run_resumed} event its trainer stamped with time
   * {@code T}) trains steps after {@code S} again: the samples of those steps written before the resumed segment's
   * first training sample belong to the trajectory it left (e.g. resumed from {@code best}, behind the last step) and
   * are dropped, so that a curve is not drawn twice. The segment's first training sample is the first written with a
   * time of at least {@code T}: the trainer stamped both, so only its clock is compared with itself; analyses (stamped
   * by an analyzer node, whose clock may differ on a cluster) are placed by write order alone.
   */
  static void supersede(Map<String, Series> series, List<JsonNode> resumes) {
    for (JsonNode r : resumes) {
      long step = r.path("step").asLong();
      double time = r.path("time").asDouble();
      double firstResumed = Double.POSITIVE_INFINITY; // none yet: everything after S is the abandoned trajectory's
      for (Series x : series.values()) {
        if (TRAINER_STAMPED.contains(x.name())) {
          for (double[] p : x.points()) {
            if (p[2] >= time) {
              firstResumed = Math.min(firstResumed, p[3]);
              break; // a series' points are in write order
            }
          }
        }
      }
      double boundary = firstResumed;
      series.values().forEach(x -> x.points().removeIf(p -> p[0] > step && p[3] < boundary));
    }
  }

  /** Families the trainer publishes with every step it logs, stamped by its clock. */
  private static final Set<String> TRAINER_STAMPED = Set.of(MetricFamily.TRAINING_LOSS.id(),
      MetricFamily.TRAINING_STEP.id());

  /**
   * Adds the firing alerts of {@code events.jsonl} to {@code alerts} (with the step each resolved at), its
   * {@code run_finished} events to
   * {@code runEnds} and its {@code run_resumed} events to {@code resumes}; returns whether a {@code run_resumed} comes
   * after the last {@code run_finished}: a run resumed after it had ended (interrupted, say) that has not ended again,
   * still running or crashed, which its earlier segment's end must not make look finished.
   */
  private static boolean readEvents(Path dir, List<Alert> alerts, List<JsonNode> runEnds, List<JsonNode> resumes,
      List<String> problems) {
    Path events = dir.resolve("events.jsonl");
    if (!Files.isRegularFile(events)) {
      return false;
    }
    boolean[] resumedSinceEnd = {false};
    JsonLines.read(events, "events.jsonl", (n, line, last) -> {
      if (line.isBlank()) {
        return;
      }
      try {
        JsonNode j = JSON.readTree(line);
        String type = j.path("type").asText();
        if (type.equals("alert_firing")) {
          // without its step an alert would count as raised at step 0, the earliest possible lead time
          if (!j.path("step").isIntegralNumber() || !j.path("rule").isTextual()) {
            problems.add("events.jsonl line " + n + " is an alert without an integer step and a rule; skipped");
            return;
          }
          alerts.add(new Alert(j.path("step").asLong(), j.path("rule").asText(), j.path("severity").asText(),
              j.path("message").asText()));
        } else if (type.equals("alert_resolved") && j.path("step").isIntegralNumber() && j.path("rule").isTextual()) {
          // the rule's latest alert still firing; the live page and the report said only that it had fired
          long step = j.path("step").asLong();
          for (int i = alerts.size() - 1; i >= 0; i--) {
            Alert a = alerts.get(i);
            if (a.rule().equals(j.path("rule").asText()) && !a.resolved() && a.step() <= step) {
              alerts.set(i, new Alert(a.step(), a.rule(), a.severity(), a.message(), step));
              break;
            }
          }
        } else if (type.equals("run_finished")) {
          runEnds.add(j);
          resumedSinceEnd[0] = false;
        } else if (type.equals("run_resumed") && j.path("step").isIntegralNumber() && j.path("time").isNumber()) {
          resumedSinceEnd[0] = !runEnds.isEmpty();
          // the alerts written before it at later steps were raised on the trajectory the run left
          long step = j.path("step").asLong();
          alerts.removeIf(a -> a.step() > step);
          alerts.replaceAll(a -> a.resolvedStep() > step ? new Alert(a.step(), a.rule(), a.severity(), a.message())
              : a);
          resumes.add(j);
        }
      } catch (Exception e) {
        problems.add("events.jsonl line " + n + (last ? " is half-written" : " is malformed"));
      }
    }, problems);
    return resumedSinceEnd[0];
  }

  /** The problem of a run without a {@code run_finished} event. */
  static final String NOT_FINISHED = "the run has not finished (no run_finished event): still running, or it crashed";

  /**
   * Whether {@code problem} is one of {@link #problems} that says the run has not finished ({@link #NOT_FINISHED},
   * {@link #notEndedSinceResume}): the run's state, not damage to its files.
   */
  public static boolean notFinished(String problem) {
    return problem.equals(NOT_FINISHED) || problem.startsWith(NOT_ENDED_SINCE_RESUME);
  }

  private static final String NOT_ENDED_SINCE_RESUME = "the run has not finished since it was resumed at step ";

  /** The problem of a run resumed after its last {@code run_finished} that has none since ({@link #readEvents}). */
  static String notEndedSinceResume(List<JsonNode> resumes) {
    return NOT_ENDED_SINCE_RESUME + resumes.get(resumes.size() - 1).path("step")
        .asLong() + " (no run_finished after its run_resumed): still running, or it crashed";
  }

  /**
   * The key of a series in {@link #series()}: its name and labels, the run's own labels ({@code run}, {@code method},
   * {@code dataset}) left out.
   */
  public static String seriesKey(String name, Map<String, String> labels) {
    return name + ownLabels(labels);
  }

  /** A sample's labels but the run's own, in key order: the labels of its {@link Series}. */
  static Map<String, String> ownLabels(Map<String, String> labels) {
    Map<String, String> own = new TreeMap<>(labels);
    own.keySet().removeAll(RUN_LABELS);
    return own;
  }

  private static final List<String> RUN_LABELS = List.of("run", "method", "dataset");

  /** The step of the run's earliest resume ({@code run_resumed} in events.jsonl), empty for a run never resumed. */
  public static OptionalLong earliestResume(Path dir) {
    List<JsonNode> resumes = new ArrayList<>();
    readEvents(dir, new ArrayList<>(), new ArrayList<>(), resumes, new ArrayList<>());
    return resumes.stream().mapToLong(r -> r.path("step").asLong()).min();
  }

  /** The run's {@code run_resumed} events with an integer step and a time, in the order they were written. */
  public static List<JsonNode> resumes(Path dir) {
    List<JsonNode> resumes = new ArrayList<>();
    readEvents(dir, new ArrayList<>(), new ArrayList<>(), resumes, new ArrayList<>());
    return resumes;
  }

  /**
   * Which embedding views ({@code embeddings/<layer>-step-<step>.json}, by layer and step) belong to the trajectory the
   * run is on, as {@link #current} decides for pictures: after the earliest resume, a view whose layer has no
   * embedding sample at its step after {@link #supersede} was drawn by the trajectory the run left (resumed from
   * {@code best}, say) and is not shown. Every view of a run never resumed is.
   */
  public BiPredicate<String, Long> currentViews() {
    return onTrajectory(earliestResume(dir), series, EMBEDDING_FAMILIES, "layer");
  }


  /** The embedding analyzer's families (EMBEDDING_*), written with each view it draws. */
  private static final Set<String> EMBEDDING_FAMILIES = java.util.Arrays.stream(MetricFamily.values())
      .filter(f -> f.name().startsWith("EMBEDDING_")).map(MetricFamily::id)
      .collect(java.util.stream.Collectors.toSet());

  /**
   * The last {@code run_finished} event of a run directory's events.jsonl (a run resumed after an interruption has
   * more than one); empty when there is none, no such file, or a {@code run_resumed} after it (the run went on and has
   * not ended since: still running, or it crashed). Malformed, half-written or non-UTF-8 lines are skipped
   * ({@link #read} names them as problems), so that one bad line does not hide how the run ended.
   */
  public static java.util.Optional<JsonNode> lastRunFinished(Path dir) {
    List<JsonNode> all = new ArrayList<>();
    boolean open = readEvents(dir, new ArrayList<>(), all, new ArrayList<>(), new ArrayList<>());
    return all.isEmpty() || open ? java.util.Optional.empty() : java.util.Optional.of(all.get(all.size() - 1));
  }

  /**
   * Why a run whose last {@code run_finished} is {@code end} did not finish whole, in a few words: {@code interrupted
   * at step 40} (then its reason's first line in brackets, where it records one), {@code failed at step 12 (its error's
   * first line)}, {@code ended without a status at step 3}; empty
   * for a run that ended {@code done} or {@code stopped} (early, by an alert). The one wording of {@code ./monitor
   * detection}'s skipped runs and {@code ./monitor experiment}'s reruns.
   */
  public static java.util.Optional<String> unfinishedEnd(JsonNode end) {
    String status = end.path("status").asText("");
    if (status.equals("done") || status.equals("stopped")) {
      return java.util.Optional.empty();
    }
    String step = end.path("steps").canConvertToLong() ? " at step " + end.path("steps").asLong() : "";
    return java.util.Optional.of(switch (status) {
      // a monitor's marking of a run it found left without an end says so in its reason
      case "interrupted" -> "interrupted" + step + (end.path("reason").isTextual() ? " (" + firstLine(end.path("reason")
          .asText()) + ")" : "");
      case "failed" -> "failed" + step + (end.path("error").isTextual() ? " (" + firstLine(end.path("error").asText())
          + ")" : "");
      default -> "ended " + (status.isEmpty() ? "without a status" : status) + step;
    });
  }

  private static String firstLine(String s) {
    String line = s.lines().findFirst().orElse("");
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }

  /**
   * How much of the run was analysed, from {@code run_finished}'s {@code analysed_snapshots}, in the words of the
   * run's end line ({@code analysed snapshots: embedding 7/7, geometry 1/7 (14 %: 2 dropped); left unanalysed when the
   * run ended: geometry 4}); empty when every analyzer analysed every snapshot offered to it, or nothing is recorded.
   */
  public String coverage() {
    // a resumed run has one run_finished per segment, each counting the snapshots of its segment: summed, they are
    // the whole run's; what was left unanalysed is the last segment's
    List<JsonNode> segments = new ArrayList<>();
    for (JsonNode e : runEnds) {
      if (e.path("analysed_snapshots").isObject()) {
        segments.add(e);
      }
    }
    if (segments.isEmpty()) {
      return "";
    }
    Map<String, long[]> byAnalyzer = new TreeMap<>(); // analysed, offered, dropped, failed, unanalysed
    for (int i = 0; i < segments.size(); i++) {
      boolean lastSegment = i == segments.size() - 1;
      segments.get(i).path("analysed_snapshots").fields().forEachRemaining(e -> {
        long[] c = byAnalyzer.computeIfAbsent(e.getKey(), k -> new long[5]);
        c[0] += e.getValue().path("analysed").asLong();
        c[1] += e.getValue().path("offered").asLong();
        c[2] += e.getValue().path("dropped").asLong();
        c[3] += e.getValue().path("failed").asLong();
        if (lastSegment) {
          c[4] = e.getValue().path("unanalysed").asLong();
        }
      });
    }
    List<String> parts = new ArrayList<>();
    List<String> left = new ArrayList<>();
    boolean shortOfSome = false;
    for (Map.Entry<String, long[]> e : byAnalyzer.entrySet()) {
      long[] c = e.getValue();
      String part = e.getKey() + " " + c[0] + "/" + c[1];
      if (c[0] < c[1]) {
        shortOfSome = true;
        List<String> why = new ArrayList<>();
        if (c[2] > 0) {
          why.add(c[2] + " dropped");
        }
        if (c[3] > 0) {
          why.add(c[3] + " failed");
        }
        part += String.format(java.util.Locale.ROOT, " (%.0f %%%s)", 100.0 * c[0] / c[1],
            why.isEmpty() ? "" : ": " + String.join(", ", why));
      }
      parts.add(part);
      if (c[4] > 0) {
        left.add(e.getKey() + " " + c[4]);
      }
    }
    return !shortOfSome ? "" : "analysed snapshots" + (segments.size() > 1 ? " (" + segments.size()
        + " segments of a resumed run)" : "") + ": " + String.join(", ", parts)
        + (left.isEmpty() ? "" : "; left unanalysed when the run ended: " + String.join(", ", left));
  }

  /**
   * This run with only the samples written from place {@code order} on (a {@link Series} point's fourth value), and
   * only the series that have such samples: what the live page has not read yet.
   */
  public RunData writtenFrom(long order) {
    Map<String, Series> newer = new TreeMap<>();
    series.forEach((key, s) -> {
      List<double[]> points = s.points();
      int first = points.size();
      while (first > 0 && points.get(first - 1)[3] >= order) { // a series' points are in write order
        first--;
      }
      if (first < points.size()) {
        newer.put(key, new Series(s.name(), s.labels(), List.copyOf(points.subList(first, points.size()))));
      }
    });
    return new RunData(dir, runId, config, newer, alerts, pictures, runEnds, problems, notes, resumedAt);
  }

  /** The last step any series reached. */
  public long lastStep() {
    long s = 0;
    for (Series x : series.values()) {
      if (x.points() instanceof Points p) { // without an array a point (the live page asks every 2 s)
        for (int i = 0; i < p.size(); i++) {
          s = Math.max(s, p.step(i));
        }
      } else {
        for (double[] p : x.points()) {
          s = Math.max(s, (long) p[0]);
        }
      }
    }
    return s;
  }
}
