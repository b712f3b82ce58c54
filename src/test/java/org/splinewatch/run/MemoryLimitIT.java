package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.trainer.RunSettings;

/**
 * Peak memory in run_finished and on the console; a run over its resident limit ends as failed (exit code 1) with
 * a one-line reason, its checkpoint and its run_finished event instead of being killed.
 */
class MemoryLimitIT {
  @TempDir
  Path tmp;

  private static final ObjectMapper JSON = new ObjectMapper();

  private EmbeddedRun.Result run(String runId, long steps, String maxResident, ByteArrayOutputStream console)
      throws Exception {
    var o = SyntheticData.tinyRun(tmp, runId, steps);
    o.put("splinewatch.memory.max-resident", maxResident);
    o.put("splinewatch.memory.sample-interval", "50ms");
    var config = TrainCommand.load(o, null);
    return EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
        new PrintStream(console, true, StandardCharsets.UTF_8), List.of(), new EmbeddedRun.Listener() { });
  }

  private static JsonNode runFinished(Path runDir) throws Exception {
    List<String> lines = Files.readAllLines(runDir.resolve("events.jsonl"));
    JsonNode last = JSON.readTree(lines.get(lines.size() - 1));
    assertEquals("run_finished", last.path("type").asText(), lines.toString());
    return last;
  }

  @Test
  void aFinishedRunRecordsAndPrintsItsPeakMemory() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result r = run("fits", 40, "0", console);
    assertEquals(0, r.exitCode(), console.toString(StandardCharsets.UTF_8));
    JsonNode memory = runFinished(r.runDir());
    assertTrue(memory.path("heap_peak_bytes").asLong() > 0, memory.toString());
    assertEquals(Runtime.getRuntime().maxMemory(), memory.path("heap_max_bytes").asLong());
    assertTrue(memory.path("resident_peak_bytes").asLong() > memory.path("heap_peak_bytes").asLong() / 4,
        memory.toString());
    assertTrue(memory.has("off_heap_peak_bytes") && memory.has("resident_limit_bytes"), memory.toString());
    String out = console.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("  peak memory: heap ") && out.contains(", resident "), out);
  }

  @Test
  void aRunOverItsResidentLimitFailsWithItsFilesWritten() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    // a test JVM with ND4J loaded holds more than 256 MiB: the limit is exceeded at once and stays exceeded after the
    // GC; the network check lets it start (it counts about 200 MiB for a tiny network; 1 MiB is refused up front)
    EmbeddedRun.Result r = run("over", 1_000_000, "256m", console);
    String out = console.toString(StandardCharsets.UTF_8);
    assertEquals(1, r.exitCode(), out);
    assertTrue(r.finished().steps() < 1_000_000);
    String error = r.finished().error();
    assertTrue(error.startsWith("resident memory ") && error.contains("exceeds the limit of 256 MiB after a GC")
        && error.contains("SPLINEWATCH_OFF_HEAP"), error);
    assertTrue(out.contains("error: resident memory "), out);
    JsonNode finished = runFinished(r.runDir());
    assertEquals(1, finished.path("exit_code").asInt());
    assertEquals(256L << 20, finished.path("resident_limit_bytes").asLong());
    if (r.finished().steps() > 0) {
      String meta = Files.readString(r.runDir().resolve("checkpoints/latest/meta.json"));
      assertTrue(meta.contains("\"step\":" + r.finished().steps()), meta);
    }
  }
}
