package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which runs a rerun of {@code ./monitor experiment} takes for finished: one it takes for unfinished is trained again
 * (its directory moved aside).
 */
class ExperimentFinishedTest {
  @TempDir
  Path tmp;

  private Path run(String name, String events) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    Files.writeString(dir.resolve("events.jsonl"), events);
    return dir;
  }

  private static String finished(String status, long step) {
    return "{\"type\":\"run_finished\",\"status\":\"" + status + "\",\"step\":" + step + "}\n";
  }

  @Test
  void theLastRunFinishedEventDecides() throws Exception {
    String start = "{\"type\":\"run_started\",\"step\":0}\n";
    // interrupted, then resumed by hand to the end: finished
    assertTrue(ExperimentCommand.finished(run("resumed", start + finished("interrupted", 52) + start
        + finished("done", 300))));
    assertTrue(ExperimentCommand.finished(run("stopped", start + finished("stopped", 120))));
    assertFalse(ExperimentCommand.finished(run("interrupted", start + finished("interrupted", 52))));
    assertFalse(ExperimentCommand.finished(run("failed", start + finished("done", 100) + start
        + finished("failed", 150))));
    assertFalse(ExperimentCommand.finished(run("running", start)));
    assertFalse(ExperimentCommand.finished(Files.createDirectories(tmp.resolve("empty"))));
  }

  /** A run that did not finish whole is worded alike where experiment trains it again and detection skips it. */
  @Test
  void experimentAndDetectionWordAnUnfinishedRunAlike() throws Exception {
    String[][] cases = {
        {"{\"type\":\"run_finished\",\"status\":\"interrupted\",\"steps\":52}\n", "interrupted at step 52"},
        {"{\"type\":\"run_finished\",\"status\":\"failed\",\"steps\":7,\"error\":\"out of memory\\nat x\"}\n",
            "failed at step 7 (out of memory)"},
        {"{\"type\":\"run_finished\",\"steps\":3}\n", "ended without a status at step 3"},
        // a monitor's marking of a run it found left without an end: its reason, as the report's status says
        {"{\"type\":\"run_finished\",\"status\":\"interrupted\",\"steps\":9,\"reason\":\"the monitor stopped\\nx\"}\n",
            "interrupted at step 9 (the monitor stopped)"},
    };
    for (String[] c : cases) {
      Path dir = run("u" + c[1].length(), c[0]);
      Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"u\",\"method\":\"simclr\"}");
      Files.writeString(dir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{},"
          + "\"step\":1,\"value\":1.0}\n");
      assertFalse(ExperimentCommand.finished(dir));
      assertEquals(c[1], ExperimentCommand.unfinished(dir));
      org.splinewatch.report.Detection.Loaded loaded = org.splinewatch.report.Detection.load(dir);
      assertEquals(c[1], loaded.skipped() == null ? "counted" : loaded.skipped().reason());
    }
  }

  @Test
  void aMalformedLineDoesNotMakeAFinishedRunLookUnfinished() throws Exception {
    String start = "{\"type\":\"run_started\",\"step\":0}\n";
    assertTrue(ExperimentCommand.finished(run("torn", start + finished("done", 300)
        + "{\"type\":\"run_finished\",\"sta\n")));
    Path stray = run("stray-byte", start + finished("done", 300));
    Files.write(stray.resolve("events.jsonl"), new byte[] {'{', (byte) 0xC3, '}', '\n'},
        java.nio.file.StandardOpenOption.APPEND);
    assertTrue(ExperimentCommand.finished(stray));
  }
}
