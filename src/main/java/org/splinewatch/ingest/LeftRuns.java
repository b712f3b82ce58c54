package org.splinewatch.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.splinewatch.metrics.AnalysisCoverage;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.MetricsSegments;
import org.splinewatch.snapshot.RunIds;

/**
 * The HTTP runs of a {@code --out} that an earlier monitor left without an end: it was killed (SIGKILL, out of memory)
 * or its machine went down while they streamed, so no {@code run_finished} follows their start or last resume in
 * {@code events.jsonl}. A monitor starting on that {@code --out} marks each one {@code interrupted} ({@link #REASON}),
 * so that its report, {@code ./monitor detection} and a reader of the directory see an ended run; a client still
 * sending resumes it with its resume key. Also what a resume needs of a run directory: its last step.
 */
final class LeftRuns {
  static final String REASON = "the monitor stopped without ending this run (it was killed, or its machine went"
      + " down); marked when a monitor started again on its --out";
  private static final String STEP = MetricFamily.TRAINING_STEP.id();
  private static final String STEP_NAME = "\"" + STEP + "\"";
  private static final String ANALYSIS_NAME = "\"" + MetricFamily.ANALYSIS_SECONDS.id() + "\"";
  private static final int CHUNK = 65536;
  /** A metrics line longer than this is not a training step's: the backward scan drops it. */
  private static final int MAX_LINE = 1 << 20;

  private LeftRuns() {
  }

  /**
   * What {@link #mark} did: the runs marked, one line for each left run it could not mark, and one for each marked
   * run whose recorded snapshots (since its start or last resume) are not all analysed on disk.
   */
  record Marked(List<String> runs, List<String> problems, List<String> unanalysed) {
  }

  /** Marks the HTTP runs under {@code out} left without an end; their ids, sorted. */
  static Marked mark(Path out) {
    List<String> marked = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    List<String> unanalysed = new ArrayList<>();
    List<Path> dirs;
    try (Stream<Path> list = Files.list(out)) {
      dirs = list.filter(d -> Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)
          && RunIds.problem(d.getFileName().toString()).isEmpty()).sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      return new Marked(List.of(), List.of("cannot list " + out + " for runs an earlier monitor left: "
          + e.getMessage()), List.of());
    }
    for (Path dir : dirs) {
      if (!http(dir) || ended(dir)) {
        continue;
      }
      try {
        RunLog.endTornLines(dir);
        AnalysisCoverage coverage = segmentCoverage(dir);
        RunLog.appendEvent(dir, interrupted(lastStep(dir), coverage));
        marked.add(dir.getFileName().toString());
        unanalysedLine(dir.getFileName().toString(), coverage).ifPresent(unanalysed::add);
      } catch (UncheckedIOException e) {
        problems.add("run " + dir.getFileName() + " was left without an end and could not be marked interrupted: "
            + e.getMessage());
      }
    }
    return new Marked(List.copyOf(marked), List.copyOf(problems), List.copyOf(unanalysed));
  }

  /**
   * The {@code run_finished} of a left run, as {@link IngestedRun}'s for an interrupted one; {@code coverage} (from
   * {@link #segmentCoverage}) goes into {@code analysed_snapshots} unless it is empty.
   */
  static Map<String, Object> interrupted(long lastStep, AnalysisCoverage coverage) {
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("type", "run_finished");
    event.put("steps", Math.max(0, lastStep));
    event.put("exit_code", 130);
    event.put("stopped", false);
    event.put("status", "interrupted");
    event.put("reason", REASON);
    event.put("error", null);
    event.put("source", "http");
    event.put("time", System.currentTimeMillis());
    if (!coverage.byAnalyzer().isEmpty()) {
      event.put("analysed_snapshots", coverage.event());
    }
    return event;
  }

  /**
   * How much of the left run's last segment (since its start, or its last {@code run_resumed}) its files show
   * analysed: per analyzer the run asked for (config.json) or that recorded an analysis, its analyses
   * ({@code splinewatch_analysis_seconds} samples, one written with each) against the snapshots the run recorded
   * ({@code splinewatch_training_step} samples, one written with each snapshot the monitor took; steps only go
   * forward, so the segment's are those after the resume's step). The snapshots a killed monitor had accepted but
   * not analysed (waiting, in progress, or analysed but not yet written) are the difference; the files cannot tell
   * them from dropped or failed ones, so no reasons are given, as for a remote run's coverage. Empty when the segment
   * recorded no snapshot and no analysis.
   */
  static AnalysisCoverage segmentCoverage(Path dir) {
    long after = resumedAt(dir);
    Map<String, Long> analyses = new TreeMap<>();
    JsonNode asked = config(dir) == null ? null : config(dir).path("settings").path("analyzers");
    if (asked != null && asked.isArray()) {
      asked.forEach(a -> {
        if (a.isTextual() && !a.asText().isEmpty()) {
          analyses.put(a.asText(), 0L);
        }
      });
    }
    long snapshots = 0;
    List<Path> files = new ArrayList<>(MetricsSegments.of(dir));
    files.add(dir.resolve("metrics.jsonl"));
    for (Path file : files) {
      if (!Files.isRegularFile(file)) {
        continue;
      }
      try (InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(file))
          : Files.newInputStream(file);
          BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          boolean step = line.contains(STEP_NAME);
          if (!step && !line.contains(ANALYSIS_NAME)) {
            continue;
          }
          JsonNode s = sample(line);
          if (s == null || !s.path("step").isIntegralNumber() || s.get("step").asLong() <= after) {
            continue;
          }
          String name = s.path("name").asText();
          if (name.equals(STEP)) {
            snapshots++;
          } else if (name.equals(MetricFamily.ANALYSIS_SECONDS.id()) && s.path("labels").path("analyzer").isTextual()
              && !s.path("labels").path("analyzer").asText().isEmpty()) {
            analyses.merge(s.path("labels").path("analyzer").asText(), 1L, Long::sum);
          }
        }
      } catch (IOException | UncheckedIOException e) {
        // a cut segment: what was read of it counts
      }
    }
    if (snapshots == 0 && analyses.values().stream().allMatch(n -> n == 0)) {
      return new AnalysisCoverage(Map.of());
    }
    return AnalysisCoverage.fromAnalysisSteps(List.copyOf(analyses.entrySet()), snapshots);
  }

  /**
   * One line naming the analyses {@code coverage} lacks ({@code run k1: 5 snapshot(s) recorded since its start (or
   * last resume), analysed: regions 3/5, geometry 4/5; ...}), or empty when every recorded snapshot was analysed.
   */
  static java.util.Optional<String> unanalysedLine(String runId, AnalysisCoverage coverage) {
    List<String> missing = new ArrayList<>();
    long offered = 0;
    for (Map.Entry<String, long[]> e : coverage.byAnalyzer().entrySet()) {
      long[] v = e.getValue();
      offered = Math.max(offered, v[1]);
      if (v[0] < v[1]) {
        missing.add(e.getKey() + " " + v[0] + "/" + v[1]);
      }
    }
    if (missing.isEmpty()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of("run " + runId + ": " + offered + " snapshot(s) recorded since its start (or last"
        + " resume), analysed: " + String.join(", ", missing) + "; the others were accepted but not yet analysed"
        + " when the earlier monitor stopped (or dropped, or failed): those analyses are lost (analysed_snapshots in"
        + " its run_finished)");
  }

  /** The step of the run's last {@code run_resumed} in events.jsonl, or {@link Long#MIN_VALUE} when none. */
  static long resumedAt(Path dir) {
    long at = Long.MIN_VALUE;
    Path events = dir.resolve("events.jsonl");
    if (!Files.isRegularFile(events)) {
      return at;
    }
    try (BufferedReader r = Files.newBufferedReader(events, StandardCharsets.UTF_8)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.contains("\"run_resumed\"")) {
          JsonNode e = sample(line);
          if (e != null && "run_resumed".equals(e.path("type").asText())) {
            at = e.path("step").isIntegralNumber() ? e.get("step").asLong() : Long.MIN_VALUE;
          }
        }
      }
    } catch (IOException | UncheckedIOException e) {
      // what was read counts
    }
    return at;
  }

  /** A JSON object line, or null when it is torn or not an object. */
  private static JsonNode sample(String line) {
    try {
      JsonNode s = Json.mapper().readTree(line);
      return s != null && s.isObject() ? s : null;
    } catch (IOException torn) {
      return null;
    }
  }

  /** Whether {@code dir}'s config.json says an HTTP client streamed the run; false when it cannot be read. */
  static boolean http(Path dir) {
    JsonNode config = config(dir);
    return config != null && "http".equals(config.path("source").asText());
  }

  /** {@code dir}'s config.json, or null when it is missing or cannot be read. */
  static JsonNode config(Path dir) {
    Path file = dir.resolve("config.json");
    try {
      JsonNode c = Files.isRegularFile(file) ? Json.mapper().readTree(file.toFile()) : null;
      return c != null && c.isObject() ? c : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** Whether a {@code run_finished} follows the run's last {@code run_resumed} (or its start) in events.jsonl. */
  static boolean ended(Path dir) {
    Path events = dir.resolve("events.jsonl");
    if (!Files.isRegularFile(events)) {
      return false;
    }
    boolean ended = false;
    try (BufferedReader r = Files.newBufferedReader(events, StandardCharsets.UTF_8)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.contains("\"run_finished\"") || line.contains("\"run_resumed\"")) {
          String type = type(line);
          if (type != null) {
            ended = type.equals("run_finished") || !type.equals("run_resumed") && ended;
          }
        }
      }
    } catch (IOException | UncheckedIOException e) {
      return true; // not readable: not ours to mark
    }
    return ended;
  }

  private static String type(String line) {
    try {
      JsonNode e = Json.mapper().readTree(line);
      return e != null && e.isObject() ? e.path("type").asText() : null;
    } catch (IOException torn) {
      return null;
    }
  }

  /**
   * The last training step the run's files record ({@code splinewatch_training_step}, written with each snapshot the
   * monitor took; steps only go forward), or -1 when none: read backwards from the end of metrics.jsonl, then in the
   * rotated segments, newest first.
   */
  static long lastStep(Path dir) {
    long step = lastStepBackwards(dir.resolve("metrics.jsonl"));
    List<Path> segments = MetricsSegments.of(dir);
    for (int i = segments.size() - 1; step < 0 && i >= 0; i--) {
      step = lastStepForwards(segments.get(i));
    }
    return step;
  }

  private static long lastStepBackwards(Path file) {
    if (!Files.isRegularFile(file)) {
      return -1;
    }
    try (SeekableByteChannel ch = Files.newByteChannel(file)) {
      long end = ch.size();
      byte[] carry = new byte[0]; // the end of a line the last chunk cut: it continues this one
      while (end > 0) {
        int n = (int) Math.min(CHUNK, end);
        long from = end - n;
        ByteBuffer buf = ByteBuffer.allocate(n);
        ch.position(from);
        while (buf.hasRemaining() && ch.read(buf) > 0) {
          // read the chunk
        }
        byte[] b = Arrays.copyOf(buf.array(), n + carry.length);
        System.arraycopy(carry, 0, b, n, carry.length);
        int lineEnd = b.length;
        for (int i = b.length - 1; i >= 0; i--) {
          if (b[i] == '\n') {
            long s = step(b, i + 1, lineEnd);
            if (s >= 0) {
              return s;
            }
            lineEnd = i;
          }
        }
        if (from == 0) {
          return step(b, 0, lineEnd);
        }
        carry = lineEnd <= MAX_LINE ? Arrays.copyOf(b, lineEnd) : new byte[0];
        end = from;
      }
    } catch (IOException e) {
      return -1;
    }
    return -1;
  }

  private static long lastStepForwards(Path segment) {
    long step = -1;
    try (InputStream in = segment.toString().endsWith(".gz") ? new GZIPInputStream(Files.newInputStream(segment))
        : Files.newInputStream(segment);
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        byte[] b = line.getBytes(StandardCharsets.UTF_8);
        step = Math.max(step, step(b, 0, b.length));
      }
    } catch (IOException e) {
      // a cut segment: the steps read so far
    }
    return step;
  }

  /** The step of the metrics line {@code b[from, to)} if it is a training step's sample, else -1. */
  private static long step(byte[] b, int from, int to) {
    String line = new String(b, from, to - from, StandardCharsets.UTF_8);
    if (!line.contains("\"" + STEP + "\"")) {
      return -1;
    }
    try {
      JsonNode s = Json.mapper().readTree(line);
      return s != null && STEP.equals(s.path("name").asText()) && s.path("step").canConvertToLong()
          && s.path("step").isIntegralNumber() ? Math.max(-1, s.get("step").asLong()) : -1;
    } catch (IOException torn) {
      return -1;
    }
  }

}
