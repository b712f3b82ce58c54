package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a run directory holds, read tolerantly: a malformed or half-written line is skipped and named in
 * {@link #problems()}, so a report of a run that crashed or is still running is marked incomplete instead of failing.
 *
 * @param series   every metric series: key {@code name{label=value,...}} (run labels removed) to (step, value) points
 * @param alerts   alert events that started firing: step and rule
 * @param pictures partition pictures per plane, in step order
 */
public record RunData(Path dir, String runId, Map<String, Object> config, Map<String, Series> series,
    List<Alert> alerts, Map<Integer, List<Picture>> pictures, boolean finished, List<String> problems) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern PICTURE = Pattern.compile("plane-(\\d+)-step-(\\d+)\\.svg");

  /** A run directory that cannot be reported at all. */
  public static final class ReportException extends RuntimeException {
    public ReportException(String message) {
      super(message);
    }
  }

  /** One metric series. */
  public record Series(String name, Map<String, String> labels, List<double[]> points) {
  }

  /** An alert that started firing ({@code severity} empty where the event has none). */
  public record Alert(long step, String rule, String severity, String message) {
  }

  /** One partition picture. */
  public record Picture(int plane, long step, Path file) {
  }

  public boolean complete() {
    return finished && problems.isEmpty();
  }

  /** The command-line warning for a run that is not {@link #complete()}: its id and problems on one line. */
  public String incompleteWarning() {
    return "warning: " + runId + " is incomplete: " + String.join("; ", problems);
  }

  /** Reads a run directory; throws {@link ReportException} when it is not one. */
  public static RunData read(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new ReportException(dir + ": no such run directory; expected runs/<run-id> with metrics.jsonl");
    }
    Path metrics = dir.resolve("metrics.jsonl");
    if (!Files.isRegularFile(metrics)) {
      throw new ReportException(dir + ": not a run directory (no metrics.jsonl); expected the output of ./trainer");
    }
    List<String> problems = new ArrayList<>();
    Map<String, Object> config = readConfig(dir, problems);
    String runId = String.valueOf(config.getOrDefault("run_id", dir.getFileName().toString()));
    Map<String, Series> series = new TreeMap<>();
    int lineNo = 0;
    for (String line : lines(metrics, problems)) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      try {
        JsonNode j = JSON.readTree(line);
        String name = j.get("name").asText();
        Map<String, String> labels = new TreeMap<>();
        j.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
        labels.remove("run");
        labels.remove("method");
        labels.remove("dataset");
        long step = j.get("step").asLong();
        JsonNode v = j.get("value");
        double value = v.isNumber() ? v.asDouble() : Double.NaN;
        if (step < 0) {
          continue; // counters logged without a step
        }
        String key = name + labels;
        series.computeIfAbsent(key, k -> new Series(name, labels, new ArrayList<>())).points()
            .add(new double[] {step, value});
      } catch (Exception e) {
        problems.add("metrics.jsonl line " + lineNo + " is malformed or half-written");
      }
    }
    List<Alert> alerts = new ArrayList<>();
    boolean finished = readEvents(dir, alerts, problems);
    if (!finished) {
      problems.add("the run has not finished (no run_finished event): still running, or it crashed");
    }
    Map<Integer, List<Picture>> pictures = new TreeMap<>();
    Path planes = dir.resolve("planes");
    if (Files.isDirectory(planes)) {
      try (Stream<Path> files = Files.list(planes)) {
        files.sorted().forEach(f -> {
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
    return new RunData(dir, runId, config, series, alerts, pictures, finished, problems);
  }

  /** What the run list needs, without reading every sample: the last step comes from the end of metrics.jsonl. */
  public record Summary(String id, boolean finished, long lastStep, Map<String, Object> config) {
  }

  /** A cheap {@link Summary} of a run directory (the live page lists runs with it every few seconds). */
  public static Summary summarize(Path dir) {
    List<String> ignored = new ArrayList<>();
    Map<String, Object> config = readConfig(dir, ignored);
    boolean finished = readEvents(dir, new ArrayList<>(), ignored);
    long last = 0;
    Path metrics = dir.resolve("metrics.jsonl");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(metrics.toFile(), "r")) {
      long from = Math.max(0, f.length() - TAIL_BYTES);
      byte[] tail = new byte[(int) (f.length() - from)];
      f.seek(from);
      f.readFully(tail);
      Matcher m = STEP.matcher(new String(tail, StandardCharsets.UTF_8));
      while (m.find()) {
        last = Math.max(last, Long.parseLong(m.group(1)));
      }
    } catch (IOException e) {
      // an unreadable file lists as step 0
    }
    return new Summary(dir.getFileName().toString(), finished, last, config);
  }

  private static final int TAIL_BYTES = 64 * 1024;
  private static final Pattern STEP = Pattern.compile("\"step\":(\\d+)");

  /** {@code config.json} as flat strings (nested values as JSON text); a missing or bad file is a problem. */
  private static Map<String, Object> readConfig(Path dir, List<String> problems) {
    Map<String, Object> config = new LinkedHashMap<>();
    try {
      if (Files.isRegularFile(dir.resolve("config.json"))) {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          config.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
        }
      } else {
        problems.add("config.json is missing");
      }
    } catch (IOException e) {
      problems.add("config.json is unreadable (" + e.getMessage() + ")");
    }
    return config;
  }

  /** Adds the firing alerts of {@code events.jsonl} to {@code alerts}; returns whether the run finished. */
  private static boolean readEvents(Path dir, List<Alert> alerts, List<String> problems) {
    boolean finished = false;
    Path events = dir.resolve("events.jsonl");
    if (!Files.isRegularFile(events)) {
      return false;
    }
    int n = 0;
    for (String line : lines(events, problems)) {
      n++;
      if (line.isBlank()) {
        continue;
      }
      try {
        JsonNode j = JSON.readTree(line);
        String type = j.path("type").asText();
        if (type.equals("alert_firing")) {
          alerts.add(new Alert(j.path("step").asLong(), j.path("rule").asText(), j.path("severity").asText(),
              j.path("message").asText()));
        } else if (type.equals("run_finished")) {
          finished = true;
        }
      } catch (Exception e) {
        problems.add("events.jsonl line " + n + " is malformed or half-written");
      }
    }
    return finished;
  }

  private static List<String> lines(Path file, List<String> problems) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      problems.add(file.getFileName() + " is unreadable (" + e.getMessage() + ")");
      return List.of();
    }
  }

  /** The last step any series reached. */
  public long lastStep() {
    long s = 0;
    for (Series x : series.values()) {
      for (double[] p : x.points()) {
        s = Math.max(s, (long) p[0]);
      }
    }
    return s;
  }
}
