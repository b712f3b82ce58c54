package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.Main;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.trainer.Checkpoints;

/**
 * {@code kill -9} at random moments of a checkpoint swap, of a {@code config.json} write and of a training run: what is
 * left is always loadable ({@code latest}, or {@code latest.prev} between the swap's two renames), {@code --resume}
 * continues from it, and {@code report} and {@code detection} read the killed run.
 */
class CrashSafetyIT {
  @TempDir
  Path tmp;
  private final List<Process> processes = new ArrayList<>();
  private final Random random = new Random(21);

  @AfterEach
  void killLeftovers() {
    processes.forEach(Process::destroyForcibly);
  }

  private Process child(Class<?> main, String... args) throws IOException {
    return child(null, main, args);
  }

  /** A JVM running {@code main}; its output goes to {@code log} (or a pipe the test reads when null). */
  private Process child(Path log, Class<?> main, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx512m",
        "-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    if (log != null) {
      pb.redirectOutput(log.toFile());
    }
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  /** Waits for the child's "ready" line, then kills it with SIGKILL after {@code maxDelayMs} at most. */
  private void killAfterReady(Process p, int maxDelayMs) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    do {
      line = r.readLine();
      assertTrue(line != null, "the child ended before it was ready");
    } while (!line.startsWith("ready"));
    Thread.sleep(random.nextInt(maxDelayMs));
    p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no finally
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
  }

  @Test
  @Timeout(180)
  void aKilledCheckpointSwapLeavesACompleteLatestOrItsPredecessor() throws Exception {
    Path dir = tmp.resolve("ck");
    Path latest = dir.resolve("checkpoints").resolve("latest");
    long next = 1;
    int fallbacks = 0;
    for (int round = 0; round < 6; round++) {
      killAfterReady(child(CrashLoop.class, "checkpoint", dir.toString(), String.valueOf(next)), 400);
      Path chosen = Checkpoints.resolve(latest);
      Checkpoints.Meta meta = Checkpoints.read(latest);
      assertEquals(meta.step(), CrashLoop.stampOf(chosen), "meta.json and the files are from one checkpoint");
      assertTrue(meta.step() >= next, "at least the checkpoint the child reported");
      fallbacks += chosen.equals(latest) ? 0 : 1;
      next = meta.step() + 1000;
    }
    // the next writer removes what the killed ones left half-written
    killAfterReady(child(CrashLoop.class, "checkpoint", dir.toString(), String.valueOf(next)), 2);
    try (Stream<Path> s = Files.list(dir.resolve("checkpoints"))) {
      List<String> names = s.map(p -> p.getFileName().toString()).toList();
      assertTrue(names.stream().filter(n -> n.startsWith(".latest-")).count() <= 1, names.toString());
    }
    System.out.println("checkpoint kills that needed latest.prev: " + fallbacks + " of 6");
  }

  @Test
  @Timeout(180)
  void aKilledConfigWriteLeavesTheOldOrTheNewConfigWhole() throws Exception {
    Path dir = tmp.resolve("cfg");
    ObjectMapper json = new ObjectMapper();
    long next = 1;
    for (int round = 0; round < 6; round++) {
      killAfterReady(child(CrashLoop.class, "config", dir.toString(), String.valueOf(next)), 300);
      JsonNode c = json.readTree(dir.resolve("config.json").toFile()); // throws on a torn file
      assertEquals(200_000, c.path("padding").asText().length());
      assertTrue(c.path("step").asLong() >= next);
      next = c.path("step").asLong() + 1000;
    }
    // the next write removes the temporary files the killed writers left
    RunLog.writeConfig(dir, java.util.Map.of("run_id", "after"));
    try (Stream<Path> s = Files.list(dir)) {
      List<String> names = s.map(p -> p.getFileName().toString()).toList();
      assertEquals(List.of("config.json"), names);
    }
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static int main(StringBuilder out, String... args) {
    PrintStream o = System.out;
    PrintStream e = System.err;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
    System.setOut(capture);
    System.setErr(capture);
    try {
      return Main.execute(args);
    } finally {
      System.setOut(o);
      System.setErr(e);
      out.append(buf.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  @Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainingRunKilledMidWayIsResumedReportedAndDetected() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 200, 3);
    Path runs = tmp.resolve("runs");
    String[] common = {"--method", "supervised", "--data-dir", data.toString(), "--batch-size", "32", "--hidden", "16",
        "--snapshot-every", "10", "--probe-size", "50", "--out", runs.toString(), "--metrics-port", "0",
        "--analyzers", "embedding"};
    List<String> args = new ArrayList<>(List.of("train", "--run-id", "killed", "--max-steps", "100000"));
    args.addAll(List.of(common));
    Path log = tmp.resolve("killed.log");
    Process p = child(log, Main.class, args.toArray(String[]::new));
    Path killed = runs.resolve("killed");
    Path latest = killed.resolve("checkpoints").resolve("latest");
    // 640 images, batch 32: a checkpoint every 20 steps; kill after the second one, at a random moment
    for (int i = 0; i < 1200 && !(Files.isDirectory(latest) && Checkpoints.read(latest).step() >= 40); i++) {
      assertTrue(p.isAlive(), () -> "the run ended early: " + read(log));
      Thread.sleep(100);
    }
    Thread.sleep(random.nextInt(300));
    p.destroyForcibly();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));

    StringBuilder out = new StringBuilder();
    assertEquals(0, main(out, "monitor", "report", killed.toString()), out.toString());
    // killed: its .run-lock is left behind, held by no process
    assertTrue(out.toString().contains("warning: killed has not finished (no run_finished event): its process ended"
        + " without one, crashed or killed (its .run-lock is left behind, held by no process)"), out.toString());
    out.setLength(0);
    // the killed run alone leaves nothing to count: one line that says why, not a table of "0 of 0"
    assertEquals(1, main(out, "monitor", "detection", killed.toString()), out.toString());
    assertTrue(out.toString().contains("error: no run to count: 1 of 1 run directory skipped (" + killed + ": "),
        out.toString());

    // the moment between the swap's two renames: no latest, a complete latest.prev
    Path prev = latest.resolveSibling("latest" + Checkpoints.PREVIOUS);
    if (Files.isDirectory(latest)) {
      if (Files.isDirectory(prev)) {
        try (Stream<Path> s = Files.walk(prev)) {
          for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.delete(f);
          }
        }
      }
      Files.move(latest, prev);
    }
    long from = Checkpoints.read(latest).step();
    out.setLength(0);
    List<String> resume = new ArrayList<>(List.of("train", "--run-id", "resumed", "--resume", latest.toString(),
        "--max-steps", String.valueOf(from + 20)));
    resume.addAll(List.of(common));
    assertEquals(0, main(out, resume.toArray(String[]::new)), out.toString());
    assertTrue(out.toString().contains("resuming from its predecessor"), out.toString());
    assertTrue(out.toString().contains("at step " + from), out.toString());
    Path resumed = runs.resolve("resumed");
    assertTrue(Files.readString(resumed.resolve("events.jsonl")).contains("run_finished"));
    assertEquals(from + 20, Checkpoints.read(resumed.resolve("checkpoints").resolve("latest")).step());
    out.setLength(0);
    assertEquals(0, main(out, "monitor", "report", resumed.toString()), out.toString());
    assertFalse(out.toString().contains("incomplete"), out.toString());
    assertEquals(0, main(out, "monitor", "detection", killed.toString(), resumed.toString()), out.toString());
  }
}
