package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * SIGTERM in the middle of a run of {@code ./trainer}'s JVM (issue 21, item 3): the step finishes,
 * {@code checkpoints/latest} is written, {@code run_finished} says {@code interrupted}, the Prometheus discovery file
 * is removed and the process exits with 143 within 30 s; the checkpoint resumes.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SignalIT {
  @TempDir
  Path tmp;

  @Test
  void sigtermMidRunLeavesAResumableCheckpointAndAFinishedLog() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 200, 3);
    Path out = tmp.resolve("runs");
    String[] common = {"train", "--method", "supervised", "--data-dir", data.toString(), "--batch-size", "32",
        "--hidden", "16", "--probe-size", "50", "--snapshot-every", "20", "--no-monitoring", "--out",
        out.toString(), "--run-id", "sig"};
    List<String> cmd = TestTools.mainCommand("-Xmx768m", common);
    cmd.addAll(List.of("--max-steps", "10000000", "--metrics-port", String.valueOf(TestTools.freePort())));
    Path log = tmp.resolve("trainer.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    Path dir = out.resolve("sig");
    Path discovery = out.resolve("prometheus-sd").resolve("sig.json");
    try {
      // wait until it trains (past the first epoch's checkpoint at step 20) and is discoverable
      for (int i = 0; i < 1200 && !trainedPast(dir, 40); i++) {
        assertTrue(p.isAlive(), "the trainer exited early: " + Files.readString(log));
        Thread.sleep(100);
      }
      assertTrue(trainedPast(dir, 40), Files.readString(log));
      assertTrue(Files.exists(discovery), "no discovery file while running");
      long t0 = System.nanoTime();
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still running 30 s after SIGTERM: " + Files.readString(log));
      double seconds = (System.nanoTime() - t0) / 1e9;
      String text = Files.readString(log);
      assertEquals(143, p.exitValue(), text);
      assertTrue(text.contains("interrupted at step "), text);
      JsonNode end = FaultInjectionIT.runFinished(dir);
      assertEquals("interrupted", end.get("status").asText(), end.toString());
      assertEquals(143, end.get("exit_code").asInt());
      assertFalse(Files.exists(discovery), "the discovery file was left behind");
      JsonNode meta = FaultInjectionIT.JSON.readTree(dir.resolve("checkpoints/latest/meta.json").toFile());
      long step = meta.get("step").asLong();
      assertEquals(end.get("steps").asLong(), step, "latest is not the last step");
      System.out.println("SIGTERM at step " + step + ": exit 143 after " + String.format("%.1f", seconds) + " s");
      // the checkpoint resumes into the same run directory
      List<String> resume = new ArrayList<>(List.of(common));
      resume.addAll(List.of("--max-steps", String.valueOf(step + 20), "--metrics-port", "0", "--resume",
          dir.resolve("checkpoints/latest").toString()));
      String again = TestTools.cli(0, resume.toArray(String[]::new));
      assertTrue(again.contains("resuming from ") && again.contains("at step " + step), again);
      assertEquals("done", FaultInjectionIT.runFinished(dir).get("status").asText());
    } finally {
      p.destroyForcibly();
    }
  }

  private static boolean trainedPast(Path dir, long step) throws Exception {
    Path m = dir.resolve("metrics.jsonl");
    if (!Files.exists(m)) {
      return false;
    }
    for (String line : Files.readAllLines(m)) {
      if (line.startsWith("{\"name\":\"splinewatch_training_step\"") && line.contains("\"step\":" + step + ",")) {
        return true;
      }
    }
    return false;
  }
}
