package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP runs an earlier monitor left without an end: which ones a starting monitor marks interrupted (not a
 * finished one, a ./trainer run, or one whose last resume ended), the last step it finds for them (across read
 * chunks, in rotated gzip segments), and a torn last line that is ended instead of spoiling the next one.
 */
class LeftRunsTest {
  @TempDir
  Path out;

  private Path run(String id, String source, String events) throws IOException {
    Path dir = Files.createDirectories(out.resolve(id));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\": \"" + id + "\"" + (source == null ? ""
        : ", \"source\": \"" + source + "\"") + "}");
    Files.writeString(dir.resolve("events.jsonl"), events);
    return dir;
  }

  private static String step(long step) {
    return "{\"name\":\"splinewatch_training_step\",\"labels\":{\"run\":\"x\"},\"step\":" + step + ",\"value\":"
        + step + ".0,\"time\":1}\n";
  }

  private static String analysis(long step) {
    return "{\"name\":\"splinewatch_regions\",\"labels\":{\"run\":\"x\",\"plane\":\"0\"},\"step\":" + step
        + ",\"value\":12.0,\"time\":2}\n";
  }

  @Test
  void onlyHttpRunsWithoutAnEndAfterTheirLastResumeAreMarked() throws IOException {
    Path left = run("left", "http", "");
    Files.writeString(left.resolve("metrics.jsonl"), step(0) + step(10) + analysis(10));
    String done = "{\"type\":\"run_finished\",\"status\":\"done\",\"time\":1}\n";
    run("done", "http", done);
    run("resumed", "http", "{\"type\":\"run_finished\",\"status\":\"interrupted\"}\n{\"type\":\"run_resumed\","
        + "\"step\":5,\"time\":2}\n{\"type\":\"alert_firing\",\"message\":\"not a run_finished\"}\n");
    run("trainer", null, "");
    Files.createDirectories(out.resolve("prometheus-sd"));
    LeftRuns.Marked marked = LeftRuns.mark(out);
    assertEquals(List.of("left", "resumed"), marked.runs());
    assertEquals(List.of(), marked.problems());
    JsonNode end = Json.mapper().readTree(Files.readAllLines(left.resolve("events.jsonl")).get(0));
    assertEquals("run_finished", end.get("type").asText());
    assertEquals("interrupted", end.get("status").asText());
    assertEquals(130, end.get("exit_code").asInt());
    assertEquals(10, end.get("steps").asLong());
    assertEquals(LeftRuns.REASON, end.get("reason").asText());
    assertEquals(done, Files.readString(out.resolve("done").resolve("events.jsonl")));
    assertEquals("", Files.readString(out.resolve("trainer").resolve("events.jsonl")));
    assertTrue(LeftRuns.ended(out.resolve("resumed")));
    // a second start marks nothing again
    assertEquals(List.of(), LeftRuns.mark(out).runs());
  }

  @Test
  void theLastStepIsFoundAcrossChunksAndInRotatedSegments() throws IOException {
    Path dir = run("steps", "http", "");
    StringBuilder m = new StringBuilder();
    for (int s = 0; s <= 3000; s++) {
      m.append(step(s));
    }
    for (int i = 0; i < 2000; i++) { // analyses written after the last snapshot: over 64 KiB back to its step
      m.append(analysis(3000));
    }
    Files.writeString(dir.resolve("metrics.jsonl"), m);
    assertTrue(Files.size(dir.resolve("metrics.jsonl")) > 3 * 65536);
    assertEquals(3000, LeftRuns.lastStep(dir));
    // just rotated: the current file holds no step yet, the newest segment does
    Files.writeString(dir.resolve("metrics.jsonl"), analysis(3000));
    try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(dir.resolve("metrics-00001.jsonl.gz")))) {
      gz.write((step(2990) + step(3000) + analysis(3000)).getBytes(StandardCharsets.UTF_8));
    }
    assertEquals(3000, LeftRuns.lastStep(dir));
    Files.delete(dir.resolve("metrics-00001.jsonl.gz"));
    assertEquals(-1, LeftRuns.lastStep(dir));
  }

  @Test
  void aTornLastLineIsEndedSoTheNextOneStandsAlone() throws IOException {
    Path dir = run("torn", "http", "{\"type\":\"alert_fir");
    String torn = step(0) + step(10) + "{\"name\":\"splinewatch_training_step\",\"labels\":{";
    Files.writeString(dir.resolve("metrics.jsonl"), torn);
    assertEquals(10, LeftRuns.lastStep(dir)); // the torn line is skipped
    assertFalse(LeftRuns.ended(dir));
    assertEquals(List.of("torn"), LeftRuns.mark(out).runs());
    assertEquals(torn + "\n", Files.readString(dir.resolve("metrics.jsonl")));
    List<String> events = Files.readAllLines(dir.resolve("events.jsonl"));
    assertEquals("{\"type\":\"alert_fir", events.get(0));
    assertEquals("run_finished", Json.mapper().readTree(events.get(1)).get("type").asText());
  }
}
