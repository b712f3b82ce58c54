package org.splinewatch.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads a run's embedding views ({@code embeddings/<layer>-step-<step>.json}, written by the embedding analyzer) for
 * the report and the live page: per layer, at most {@link ReportWriter#MAX_PICTURES} steps spread over the run (first
 * and last kept). A file that does not parse (half-written by a crash) is skipped.
 */
public final class EmbeddingViewData {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern FILE = Pattern.compile("([a-z]+)-step-(\\d+)\\.json");

  private EmbeddingViewData() {
  }

  /** {@code [{run, layer, steps: [...], views: [{labels, xy}...]}]} for one run. */
  public static List<Map<String, Object>> read(Path runDir, String runId) {
    return read(runDir, runId, ReportWriter.MAX_PICTURES);
  }

  /** As above with at most {@code max} steps per layer. */
  public static List<Map<String, Object>> read(Path runDir, String runId, int max) {
    return read(runDir, runId, max, (layer, step) -> true);
  }

  /**
   * As above, of the views {@code current} keeps ({@link RunData#currentViews}: those of the trajectory a resumed
   * run is on).
   */
  public static List<Map<String, Object>> read(Path runDir, String runId, int max,
      java.util.function.BiPredicate<String, Long> current) {
    Path dir = runDir.resolve("embeddings");
    Map<String, TreeMap<Long, Path>> byLayer = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Matcher m = FILE.matcher(f.getFileName().toString());
        if (m.matches() && current.test(m.group(1), Long.parseLong(m.group(2)))) {
          byLayer.computeIfAbsent(m.group(1), k -> new TreeMap<>()).put(Long.parseLong(m.group(2)), f);
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (var layer : byLayer.entrySet()) {
      List<Long> steps = spread(new ArrayList<>(layer.getValue().keySet()), max);
      List<Long> kept = new ArrayList<>();
      List<JsonNode> views = new ArrayList<>();
      for (long step : steps) {
        try {
          JsonNode v = JSON.readTree(layer.getValue().get(step).toFile());
          if (v.path("xy").isArray() && v.path("labels").isArray()) {
            kept.add(step);
            views.add(v);
          }
        } catch (IOException e) {
          // half-written or removed: left out
        }
      }
      if (!kept.isEmpty()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", runId);
        m.put("layer", layer.getKey());
        m.put("steps", kept);
        m.put("views", views);
        out.add(m);
      }
    }
    return out;
  }

  /** The layers with views in {@code runDir/embeddings}, in order; none when there is no such directory. */
  public static List<String> layers(Path runDir) {
    Path dir = runDir.resolve("embeddings");
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> FILE.matcher(f.getFileName().toString())).filter(Matcher::matches).map(m -> m.group(1))
          .distinct().sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** At most {@code max} of {@code steps}, evenly spread, first and last included. */
  static List<Long> spread(List<Long> steps, int max) {
    if (steps.size() <= max) {
      return steps;
    }
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < max; i++) {
      long s = steps.get((int) Math.round(i * (steps.size() - 1) / (double) (max - 1)));
      if (out.isEmpty() || out.get(out.size() - 1) != s) {
        out.add(s);
      }
    }
    return out;
  }
}
