package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.analysis.EmbeddingViews;

/**
 * A report of several long runs shares one budget of pictures and embedding views: five long runs at 60 pictures per
 * plane each (about 27 MB of inlined pictures a run) did not fit the report's 640 MiB heap.
 */
class PictureBudgetTest {
  @TempDir
  Path tmp;

  /** A run with 100 pictures of each of two planes and 100 views of each of two layers. */
  private Path run(String id) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(id));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"" + id + "\"}");
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":1,"
        + "\"value\":1}\n");
    Path planes = Files.createDirectories(dir.resolve("planes"));
    Path views = Files.createDirectories(dir.resolve(EmbeddingViews.DIR));
    for (int k = 0; k < 100; k++) {
      for (int plane = 0; plane < 2; plane++) {
        Files.writeString(planes.resolve(String.format("plane-%d-step-%08d.svg", plane, k * 10)), "<svg/>");
      }
      for (String layer : List.of("repr", "proj")) {
        Files.writeString(views.resolve(EmbeddingViews.fileName(layer, k * 10)), "{\"xy\":[0,0],\"labels\":[0]}");
      }
    }
    return dir;
  }

  @SuppressWarnings("unchecked")
  private static List<List<Long>> steps(Map<String, Object> data, String key) {
    List<List<Long>> out = new ArrayList<>();
    for (Map<String, Object> t : (List<Map<String, Object>>) data.get(key)) {
      out.add((List<Long>) t.get("steps"));
    }
    return out;
  }

  @Test
  void severalRunsShareOneBudgetOfPicturesAndViews() throws Exception {
    List<RunData> five = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      five.add(RunData.read(run("r" + i)));
    }
    // one run: 60 of each plane and layer, as before
    Map<String, Object> one = ReportWriter.data(five.subList(0, 1), true);
    for (String key : List.of("timelines", "embeddings")) {
      for (List<Long> s : steps(one, key)) {
        assertEquals(ReportWriter.MAX_PICTURES, s.size(), key);
      }
    }
    // five runs: 120 shared by ten planes (layers), 12 each, first and last kept
    Map<String, Object> all = ReportWriter.data(five, true);
    for (String key : List.of("timelines", "embeddings")) {
      List<List<Long>> s = steps(all, key);
      assertEquals(10, s.size(), key);
      for (List<Long> t : s) {
        assertEquals(12, t.size(), key + " " + t);
        assertTrue(t.get(0) == 0L && t.get(t.size() - 1) == 990L, t.toString());
      }
      assertEquals(ReportWriter.PICTURE_BUDGET, s.stream().mapToInt(List::size).sum(), key);
    }
    // many runs: the first and last of each, never fewer
    assertEquals(2, ReportWriter.perTimeline(200));
    assertEquals(ReportWriter.MAX_PICTURES, ReportWriter.perTimeline(1));
  }
}
