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
import org.splinewatch.report.RunData;

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

  private static String analysis(String analyzer, long step) {
    return "{\"name\":\"splinewatch_analysis_seconds\",\"labels\":{\"run\":\"x\",\"analyzer\":\"" + analyzer
        + "\"},\"step\":" + step + ",\"value\":0.5,\"time\":3}\n";
  }

  @Test
  void aMarkedRunRecordsHowManyOfItsLastSegmentsSnapshotsItsFilesShowAnalysed() throws IOException {
    // a run resumed at step 10 (its first segment ended, all analysed), then 3 snapshots the killed monitor took:
    // embedding analysed all three, regions only the first, probe none
    Path dir = run("cov", "http", "{\"type\":\"run_finished\",\"status\":\"interrupted\",\"analysed_snapshots\":"
        + "{\"embedding\":{\"analysed\":2,\"offered\":2},\"regions\":{\"analysed\":2,\"offered\":2}}}\n"
        + "{\"type\":\"run_resumed\",\"step\":10,\"time\":2}\n");
    Files.writeString(dir.resolve("config.json"), "{\"run_id\": \"cov\", \"source\": \"http\", \"settings\":"
        + " {\"analyzers\": [\"embedding\", \"regions\", \"probe\"]}}");
    Files.writeString(dir.resolve("metrics.jsonl"), step(0) + analysis("embedding", 0) + analysis("regions", 0)
        + step(10) + analysis("embedding", 10) + analysis("regions", 10)
        + step(20) + analysis("embedding", 20) + analysis("regions", 20) + step(30) + analysis("embedding", 30)
        + step(40) + analysis("embedding", 40) + "{\"name\":\"splinewatch_analysis_seconds\",\"labels\":{\"ana");
    LeftRuns.Marked marked = LeftRuns.mark(out);
    assertEquals(List.of("cov"), marked.runs());
    List<String> events = Files.readAllLines(dir.resolve("events.jsonl"));
    JsonNode end = Json.mapper().readTree(events.get(events.size() - 1));
    assertEquals(40, end.get("steps").asLong());
    assertEquals("{\"embedding\":{\"analysed\":3,\"offered\":3},\"probe\":{\"analysed\":0,\"offered\":3},"
        + "\"regions\":{\"analysed\":1,\"offered\":3}}", end.get("analysed_snapshots").toString());
    assertEquals(List.of("run cov: 3 snapshot(s) recorded since its start (or last resume), analysed: probe 0/3,"
        + " regions 1/3; the others were accepted but not yet analysed when the earlier monitor stopped (or dropped,"
        + " or failed): those analyses are lost (analysed_snapshots in its run_finished)"), marked.unanalysed());
    // the report sums the segments (5 snapshots in all) and does not take the marked run for a cut-short one
    RunData data = RunData.read(dir);
    assertEquals("analysed snapshots (2 segments of a resumed run): embedding 5/5, probe 0/3 (0 %), regions 3/5"
        + " (60 %)", data.coverage());
    assertTrue(data.problems().stream().noneMatch(p -> p.contains("end early")), data.problems().toString());
  }

  @Test
  void aMarkedRunWhoseSnapshotsWereAllAnalysedNamesNoLoss() throws IOException {
    Path dir = run("all", "http", "");
    Files.writeString(dir.resolve("metrics.jsonl"), step(0) + analysis("embedding", 0));
    LeftRuns.Marked marked = LeftRuns.mark(out);
    assertEquals(List.of(), marked.unanalysed());
    JsonNode end = Json.mapper().readTree(Files.readAllLines(dir.resolve("events.jsonl")).get(0));
    assertEquals("{\"embedding\":{\"analysed\":1,\"offered\":1}}", end.get("analysed_snapshots").toString());
    // a run that recorded nothing has no coverage to record
    Path empty = run("empty", "http", "");
    LeftRuns.mark(out);
    assertFalse(Json.mapper().readTree(Files.readAllLines(empty.resolve("events.jsonl")).get(0))
        .has("analysed_snapshots"));
  }
}
