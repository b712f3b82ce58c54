package org.splinewatch.snapshot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The rotated segments of a run directory's {@code metrics.jsonl}: their names, and the order readers take them in.
 * The run log writes them, the report reads them; neither needs the other.
 */
public final class MetricsSegments {
  /** A rotated metrics segment: {@code metrics-00001.jsonl.gz} (or, for a moment while it is compressed, without .gz). */
  public static final Pattern SEGMENT = Pattern.compile("metrics-(\\d{5,})\\.jsonl(\\.gz)?");

  private MetricsSegments() {
  }

  /** The rotated metrics segments of a run directory in order (oldest first). */
  public static List<Path> of(Path dir) {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    Map<Long, Path> byNumber = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(f -> {
        Matcher m = SEGMENT.matcher(f.getFileName().toString());
        if (m.matches()) {
          // while a segment is being compressed both forms exist; the plain one is complete until it is deleted
          byNumber.merge(Long.parseLong(m.group(1)), f, (a, b) -> a.toString().endsWith(".gz") ? b : a);
        }
      });
    } catch (IOException e) {
      return out;
    }
    out.addAll(byNumber.values());
    return out;
  }
}
