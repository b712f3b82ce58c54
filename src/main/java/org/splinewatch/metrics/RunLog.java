package org.splinewatch.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The run directory {@code runs/<run-id>/}: {@code config.json} (provenance), {@code metrics.jsonl} (every sample:
 * name, labels, step, value, time) and {@code events.jsonl}. Lines are flushed after each batch so a crash loses at
 * most the batch being written.
 */
public final class RunLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path dir;
  private final BufferedWriter metrics;
  private final BufferedWriter events;

  public RunLog(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      metrics = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      events = Files.newBufferedWriter(dir.resolve("events.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the run directory " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  public static void writeConfig(Path dir, Map<String, Object> config) {
    try {
      Files.createDirectories(dir);
      JSON.writer(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("config.json").toFile(), config);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + dir.resolve("config.json") + ": " + e.getMessage(), e);
    }
  }

  /** Appends samples with the run labels merged in, then flushes. */
  public void append(Iterable<Sample> samples, Map<String, String> runLabels) {
    try {
      for (Sample s : samples) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("name", s.name());
        Map<String, String> labels = new java.util.TreeMap<>(runLabels);
        labels.putAll(s.labels());
        line.put("labels", labels);
        line.put("step", s.step());
        line.put("value", Double.isFinite(s.value()) ? (Object) s.value() : String.valueOf(s.value()));
        line.put("time", s.timeMillis());
        metrics.write(JSON.writeValueAsString(line));
        metrics.newLine();
      }
      metrics.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + dir.resolve("metrics.jsonl"), e);
    }
  }

  public void event(Map<String, Object> event) {
    try {
      events.write(JSON.writeValueAsString(event));
      events.newLine();
      events.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + dir.resolve("events.jsonl"), e);
    }
  }

  /** Appends one event to {@code dir/events.jsonl} after the run's log has been closed (the run-end record). */
  public static void appendEvent(Path dir, Map<String, Object> event) {
    try {
      Files.writeString(dir.resolve("events.jsonl"), JSON.writeValueAsString(event) + System.lineSeparator(),
          StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + dir.resolve("events.jsonl"), e);
    }
  }

  @Override
  public void close() {
    try {
      metrics.close();
      events.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
