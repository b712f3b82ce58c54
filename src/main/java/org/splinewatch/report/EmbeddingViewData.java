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
 * and last kept). A file that does not parse is skipped, and named to whoever asks ({@code leftOut}).
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
    return read(runDir, runId, max, current, damaged -> { });
  }

  /**
   * As above, telling {@code leftOut} of each view it left out as damaged (a file that does not parse, or holds no
   * view), in one line naming the file, e.g. {@code embeddings/proj-step-00000300.json (100 bytes) is not a whole
   * embedding view (Unexpected end-of-input …)}.
   */
  public static List<Map<String, Object>> read(Path runDir, String runId, int max,
      java.util.function.BiPredicate<String, Long> current, java.util.function.Consumer<String> leftOut) {
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
        Path file = layer.getValue().get(step);
        String name = DIR_NAME + "/" + file.getFileName();
        try {
          JsonNode v = JSON.readTree(Files.readAllBytes(file));
          if (v != null && v.path("xy").isArray() && v.path("labels").isArray()) {
            kept.add(step);
            views.add(v);
          } else {
            leftOut.accept(name + " (" + Files.size(file) + " bytes) holds no embedding view (no labels and xy)");
          }
        } catch (java.nio.file.NoSuchFileException e) {
          // removed by retention since the listing: nothing was lost
        } catch (IOException e) {
          // views are written atomically: this one was damaged afterwards (a disk error, an interrupted copy)
          leftOut.accept(name + " (" + sizeOf(file) + ") is not a whole embedding view ("
              + firstLine(e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage()
                  : e.getMessage()) + ")");
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

  private static final String DIR_NAME = "embeddings";

  private static String sizeOf(Path file) {
    try {
      return Files.size(file) + " bytes";
    } catch (IOException e) {
      return "unreadable";
    }
  }

  private static String firstLine(String message) {
    String m = message == null ? "unreadable" : message.strip();
    int nl = m.indexOf('\n');
    m = nl < 0 ? m : m.substring(0, nl).strip();
    int location = m.indexOf(" (start marker at"); // Jackson's position in its own words: the file is named already
    return location < 0 ? m : m.substring(0, location);
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
