package org.splinewatch.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.MetricsSegments;
import org.splinewatch.snapshot.Sample;

/**
 * The run directory {@code runs/<run-id>/}: {@code config.json} (provenance, replaced atomically),
 * {@code metrics.jsonl} (every sample: name, labels, step, value, time) and {@code events.jsonl}. Lines are flushed
 * after each batch (every snapshot), so a crash loses at most the batch being written, and forced to disk by
 * {@link #sync()} (at checkpoints) and {@link #close()} (run end). With {@link RetentionSettings#metricsSegmentBytes()}
 * the metrics file is rotated into gzip segments {@code metrics-<n>.jsonl.gz} that readers take in order.
 */
public final class RunLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A rotated metrics segment: {@code metrics-00001.jsonl.gz} (or, for a moment while it is compressed, without .gz). */
  public static final Pattern SEGMENT = MetricsSegments.SEGMENT;

  private final Path dir;
  private final RetentionSettings retention;
  private FileChannel metricsChannel;
  private BufferedWriter metrics;
  private final FileChannel eventsChannel;
  private final BufferedWriter events;

  public RunLog(Path dir) {
    this(dir, RetentionSettings.KEEP_ALL);
  }

  public RunLog(Path dir, RetentionSettings retention) {
    this.dir = dir;
    this.retention = retention;
    try {
      Files.createDirectories(dir);
      finishInterruptedRotation();
      endTornLines(dir); // a resumed run appends after a crash's torn line: on a line of its own
      metricsChannel = append(dir.resolve("metrics.jsonl"));
      metrics = writer(metricsChannel);
      eventsChannel = append(dir.resolve("events.jsonl"));
      events = writer(eventsChannel);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the run directory " + dir + ": " + IoErrors.reason(e), e);
    }
  }

  private static FileChannel append(Path file) throws IOException {
    return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  private static BufferedWriter writer(FileChannel ch) {
    return new BufferedWriter(Channels.newWriter(ch, StandardCharsets.UTF_8), 64 * 1024);
  }

  public Path dir() {
    return dir;
  }

  /** Writes {@code config.json} atomically (temporary file, fsync, rename, directory fsync). */
  public static void writeConfig(Path dir, Map<String, Object> config) {
    Path file = dir.resolve("config.json");
    try {
      DurableFiles.writeAtomically(file, JSON.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(config));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + IoErrors.reason(e), e);
    }
  }

  /** Appends samples with the run labels merged in, then flushes (and rotates the file when it is large). */
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
        metrics.write('\n');
      }
      metrics.flush();
      if (retention.metricsSegmentBytes() > 0 && metricsChannel.size() >= retention.metricsSegmentBytes()) {
        rotate();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + dir.resolve("metrics.jsonl") + ": " + IoErrors.reason(e),
          e);
    }
  }

  public void event(Map<String, Object> event) {
    try {
      events.write(JSON.writeValueAsString(event));
      events.write('\n');
      events.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + dir.resolve("events.jsonl") + ": " + IoErrors.reason(e),
          e);
    }
  }

  /** Flushes both files and forces them to disk (at checkpoints). */
  public void sync() {
    try {
      metrics.flush();
      events.flush();
      metricsChannel.force(false);
      eventsChannel.force(false);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot sync " + dir + ": " + IoErrors.reason(e), e);
    }
  }

  /**
   * Appends one event to {@code dir/events.jsonl} after the run's log has been closed (the run-end record) and
   * forces it to disk.
   */
  public static void appendEvent(Path dir, Map<String, Object> event) {
    Path file = dir.resolve("events.jsonl");
    try (FileChannel ch = append(file)) {
      var buf = java.nio.ByteBuffer.wrap((JSON.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8));
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(false);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file + ": " + IoErrors.reason(e), e);
    }
  }

  /**
   * The snapshot interval {@code dir}'s config.json records ({@code settings.snapshot_every}): that of the run's last
   * segment; empty when there is none or it cannot be read.
   */
  public static OptionalLong recordedSnapshotEvery(Path dir) {
    try {
      JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
      JsonNode every = config == null ? null : config.path("settings").path("snapshot_every");
      if (every == null) {
        return OptionalLong.empty();
      }
      return every.isIntegralNumber() && every.asLong() > 0 ? OptionalLong.of(every.asLong())
          : OptionalLong.empty();
    } catch (IOException e) {
      return OptionalLong.empty(); // none, or unreadable
    }
  }

  /**
   * Ends a torn last line of {@code dir}'s metrics.jsonl and events.jsonl (the process that wrote it was killed while
   * it wrote one) with a newline, so that what is appended next (a resumed run's {@code run_resumed}, its first
   * samples) starts a line of its own instead of joining and spoiling it: the torn line stays, named as malformed.
   */
  public static void endTornLines(Path dir) {
    for (String name : List.of("metrics.jsonl", "events.jsonl")) {
      Path file = dir.resolve(name);
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        long size = ch.size();
        if (size == 0) {
          continue;
        }
        ByteBuffer last = ByteBuffer.allocate(1);
        ch.position(size - 1);
        ch.read(last);
        if (last.get(0) != '\n') {
          ch.position(size);
          ch.write(ByteBuffer.wrap(new byte[] {'\n'}));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot append to " + file + ": " + IoErrors.reason(e), e);
      }
    }
  }

  /** The rotated metrics segments of a run directory in order (oldest first). */
  public static List<Path> segments(Path dir) {
    return MetricsSegments.of(dir);
  }

  /**
   * {@code metrics.jsonl} → {@code metrics-<n>.jsonl} (one rename: no sample is ever in two files or none), then
   * compressed to {@code metrics-<n>.jsonl.gz} through a temporary file; the oldest segments beyond
   * {@link RetentionSettings#metricsMaxSegments()} are deleted.
   */
  private void rotate() throws IOException {
    metrics.close();
    List<Path> existing = segments(dir);
    long next = 1;
    if (!existing.isEmpty()) {
      Matcher m = SEGMENT.matcher(existing.get(existing.size() - 1).getFileName().toString());
      next = m.matches() ? Long.parseLong(m.group(1)) + 1 : existing.size() + 1;
    }
    Path plain = dir.resolve(String.format(java.util.Locale.ROOT, "metrics-%05d.jsonl", next));
    Files.move(dir.resolve("metrics.jsonl"), plain, StandardCopyOption.ATOMIC_MOVE);
    DurableFiles.syncDirectory(dir);
    metricsChannel = append(dir.resolve("metrics.jsonl"));
    metrics = writer(metricsChannel);
    compress(plain);
    List<Path> all = segments(dir);
    for (int i = 0; retention.metricsMaxSegments() > 0 && i < all.size() - retention.metricsMaxSegments(); i++) {
      Files.deleteIfExists(all.get(i));
      event(Map.of("type", "metrics_segment_deleted", "segment", all.get(i).getFileName().toString(), "time",
          System.currentTimeMillis()));
    }
  }

  /** A crash between the rename and the end of the compression leaves a plain segment: compress it now. */
  private void finishInterruptedRotation() throws IOException {
    for (Path p : segments(dir)) {
      if (!p.toString().endsWith(".gz")) {
        compress(p);
      }
    }
  }

  private static void compress(Path plain) throws IOException {
    Path gz = plain.resolveSibling(plain.getFileName() + ".gz");
    Path tmp = plain.resolveSibling("." + plain.getFileName() + ".gz.tmp");
    try (InputStream in = Files.newInputStream(plain);
        OutputStream out = new GZIPOutputStream(Files.newOutputStream(tmp), 64 * 1024)) {
      in.transferTo(out);
    }
    DurableFiles.sync(tmp);
    Files.move(tmp, gz, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    DurableFiles.syncDirectory(plain.getParent());
    Files.delete(plain);
  }

  /** Flushes, forces to disk and closes both files (run end). */
  @Override
  public void close() {
    try {
      try {
        sync();
      } finally {
        metrics.close();
        events.close();
      }
    } catch (IOException | UncheckedIOException e) {
      IOException io = e instanceof IOException i ? i : ((UncheckedIOException) e).getCause();
      throw new UncheckedIOException("cannot close the run log in " + dir + ": " + IoErrors.reason(io), io);
    }
  }
}
