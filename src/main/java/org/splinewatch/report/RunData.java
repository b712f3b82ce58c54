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

  /** An alert that started firing. */
  public record Alert(long step, String rule, String message) {
  }

  /** One partition picture. */
  public record Picture(int plane, long step, Path file) {
  }

  public boolean complete() {
    return finished && problems.isEmpty();
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
    Map<String, Object> config = new LinkedHashMap<>();
    String runId = dir.getFileName().toString();
    try {
      if (Files.isRegularFile(dir.resolve("config.json"))) {
        JsonNode c = JSON.readTree(dir.resolve("config.json").toFile());
        for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          config.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
        }
        runId = c.path("run_id").asText(runId);
      } else {
        problems.add("config.json is missing");
      }
    } catch (IOException e) {
      problems.add("config.json is unreadable (" + e.getMessage() + ")");
    }
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
    boolean finished = false;
    Path events = dir.resolve("events.jsonl");
    if (Files.isRegularFile(events)) {
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
            alerts.add(new Alert(j.path("step").asLong(), j.path("rule").asText(), j.path("message").asText()));
          } else if (type.equals("run_finished")) {
            finished = true;
          }
        } catch (Exception e) {
          problems.add("events.jsonl line " + n + " is malformed or half-written");
        }
      }
    }
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
