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
 * is removed and the process exits with 143 within 30 s; the checkpoint resumes. SIGHUP the same, with 129.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SignalIT {
  @TempDir
  Path tmp;

  @Test
  void sigtermMidRunLeavesAResumableCheckpointAndAFinishedLog() throws Exception {
    Path out = tmp.resolve("runs");
    String[] common = common(out, "sig");
    Path log = tmp.resolve("trainer.log");
    Path dir = out.resolve("sig");
    Process p = startPastStep40(common, dir, log);
    try {
      long t0 = System.nanoTime();
      p.destroy(); // SIGTERM
      long step = assertInterrupted(p, log, dir, out.resolve("prometheus-sd").resolve("sig.json"), 143, "SIGTERM");
      double seconds = (System.nanoTime() - t0) / 1e9;
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

  /** A closed terminal or dropped ssh session (SIGHUP) ends the run as SIGTERM does, with exit code 129. */
  @Test
  void sighupMidRunEndsLikeSigterm() throws Exception {
    // under nohup SIGHUP is ignored here, and so in the trainer this test starts: it keeps training, as documented
    sun.misc.Signal hup = new sun.misc.Signal("HUP");
    sun.misc.SignalHandler original = sun.misc.Signal.handle(hup, signal -> { });
    sun.misc.Signal.handle(hup, original);
    org.junit.jupiter.api.Assumptions.assumeFalse(original == sun.misc.SignalHandler.SIG_IGN,
        "SIGHUP is ignored in this JVM (nohup), so in the trainer it starts");
    Path out = tmp.resolve("runs");
    Path log = tmp.resolve("trainer.log");
    Process p = startPastStep40(common(out, "hup"), out.resolve("hup"), log);
    try {
      Process kill = new ProcessBuilder("kill", "-HUP", String.valueOf(p.pid())).inheritIO().start();
      assertEquals(0, kill.waitFor());
      assertInterrupted(p, log, out.resolve("hup"), out.resolve("prometheus-sd").resolve("hup.json"), 129, "SIGHUP");
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * {@code ./monitor serve} interrupted while it starts (here: while it waits to join a seed that accepts connections
   * and never answers) ends with one line and 128 + the signal, where it used to exit silently.
   */
  @Test
  void aSignalWhileTheMonitorStartsIsOneLine() throws Exception {
    try (java.net.ServerSocket silentSeed = new java.net.ServerSocket(0, 50,
        java.net.InetAddress.getLoopbackAddress())) {
      Path log = tmp.resolve("serve.log");
      List<String> cmd = TestTools.mainCommand("-Xmx512m", "monitor", "serve", "--port", "0", "--metrics-port", "0",
          "--seed", "127.0.0.1:" + silentSeed.getLocalPort(), "--out", tmp.resolve("served").toString());
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      try {
        for (int i = 0; i < 600 && !Files.readString(log).contains("waiting up to"); i++) {
          assertTrue(p.isAlive(), "the monitor exited early: " + Files.readString(log));
          Thread.sleep(100);
        }
        assertTrue(Files.readString(log).contains("waiting up to"), Files.readString(log));
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), Files.readString(log));
        assertEquals(143, p.exitValue(), Files.readString(log));
        assertTrue(Files.readString(log).contains("interrupted by SIGTERM while the monitor was starting; no run was "
            + "served"), Files.readString(log));
      } finally {
        p.destroyForcibly();
      }
    }
  }

  /** Starts {@code common} in a trainer JVM and waits until its run directory {@code dir} is past step 40. */
  private Process startPastStep40(String[] common, Path dir, Path log) throws Exception {
    List<String> cmd = TestTools.mainCommand("-Xmx768m", common);
    cmd.addAll(List.of("--max-steps", "10000000", "--metrics-port", String.valueOf(TestTools.freePort())));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    // wait until it trains (past the first epoch's checkpoint at step 20) and is discoverable
    for (int i = 0; i < 1200 && !trainedPast(dir, 40); i++) {
      assertTrue(p.isAlive(), "the trainer exited early: " + Files.readString(log));
      Thread.sleep(100);
    }
    assertTrue(trainedPast(dir, 40), Files.readString(log));
    assertTrue(Files.exists(dir.getParent().resolve("prometheus-sd").resolve(dir.getFileName() + ".json")),
        "no discovery file while running");
    return p;
  }

  private String[] common(Path out, String runId) throws Exception {
    Path data = tmp.resolve("idx");
    if (!Files.exists(data)) {
      SyntheticData.writeDir(data, 640, 200, 3);
    }
    return new String[] {"train", "--method", "supervised", "--data-dir", data.toString(), "--batch-size", "32",
        "--hidden", "16", "--probe-size", "50", "--snapshot-every", "20", "--no-monitoring", "--out",
        out.toString(), "--run-id", runId};
  }

  /**
   * The signalled trainer exits with {@code code} within 30 s, says so, ends its log with an interrupted
   * {@code run_finished}, removes its discovery file and leaves {@code latest} at its last step, which it returns.
   */
  private static long assertInterrupted(Process p, Path log, Path dir, Path discovery, int code, String signal)
      throws Exception {
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still running 30 s after " + signal + ": " + Files.readString(log));
    String text = Files.readString(log);
    assertEquals(code, p.exitValue(), text);
    assertTrue(text.contains("interrupted at step ") && text.contains("(" + signal + ")"), text);
    JsonNode end = FaultInjectionIT.runFinished(dir);
    assertEquals("interrupted", end.get("status").asText(), end.toString());
    assertEquals(code, end.get("exit_code").asInt());
    assertFalse(Files.exists(discovery), "the discovery file was left behind");
    JsonNode meta = FaultInjectionIT.JSON.readTree(dir.resolve("checkpoints/latest/meta.json").toFile());
    long step = meta.get("step").asLong();
    assertEquals(end.get("steps").asLong(), step, "latest is not the last step");
    return step;
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
