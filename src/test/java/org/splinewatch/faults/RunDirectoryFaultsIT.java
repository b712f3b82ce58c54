package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;

/**
 * A full run directory (issue 21): {@code metrics.jsonl}, {@code planes/} and {@code checkpoints/} on a small tmpfs
 * that fills up. Each is a clear one-line error and a failed run (exit 1) within seconds, not a silent stop. Needs
 * {@code mount -t tmpfs} (root, as {@code .ci/run} runs); skipped where mounting is not allowed.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RunDirectoryFaultsIT {
  @TempDir
  Path tmp;

  private final List<Path> mounts = new ArrayList<>();

  /** Mounts a tmpfs of {@code size} (e.g. "32k") at {@code dir}; false where this process may not mount. */
  private boolean tmpfs(Path dir, String size) throws Exception {
    if (!TestTools.mountTmpfs(dir, size)) {
      return false;
    }
    mounts.add(0, dir);
    return true;
  }

  @AfterEach
  void unmount() throws Exception {
    for (Path m : mounts) {
      TestTools.unmount(m);
    }
  }

  private Map<String, Object> endless(String runId) throws Exception {
    Map<String, Object> o = SyntheticData.tinyRun(tmp, runId, 1_000_000);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    return o;
  }

  @Test
  void fullDiskUnderMetricsFailsTheRun() throws Exception {
    Path dir = tmp.resolve("runs").resolve("full");
    assumeTrue(tmpfs(dir, "32k"), "mount -t tmpfs is not allowed here");
    // checkpoints and the embedding analyzer's views elsewhere: metrics.jsonl fills first
    assertTrue(tmpfs(dir.resolve("checkpoints"), "64m"));
    assertTrue(tmpfs(dir.resolve("embeddings"), "64m"));
    EmbeddedRun.Result r = FaultInjectionIT.run(endless("full"), List.of(), new EmbeddedRun.Listener() { },
        Duration.ofSeconds(90));
    assertEquals(1, r.exitCode());
    String error = r.finished().error();
    assertTrue(error.startsWith("metrics writer failed: cannot append to " + dir.resolve("")), error);
    assertTrue(error.endsWith("No space left on device"), error);
    assertEquals(1, error.lines().count());
    assertTrue(r.finished().steps() < 1_000_000);
    // the metrics written before the disk filled are there and parse line by line (the last one may be cut)
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertTrue(lines.size() > 10, "metrics.jsonl has " + lines.size() + " lines");
    for (String line : lines.subList(0, lines.size() - 1)) {
      FaultInjectionIT.JSON.readTree(line);
    }
  }

  @Test
  void fullCheckpointDirectoryFailsTheRun() throws Exception {
    Path dir = tmp.resolve("runs").resolve("ck");
    assumeTrue(tmpfs(dir.resolve("checkpoints"), "32k"), "mount -t tmpfs is not allowed here");
    EmbeddedRun.Result r = FaultInjectionIT.run(endless("ck"), List.of(), new EmbeddedRun.Listener() { },
        Duration.ofSeconds(90));
    assertEquals(1, r.exitCode());
    // 640 images in batches of 32: the first checkpoint is due at the end of epoch 1, step 20
    assertEquals(20, r.finished().steps());
    assertTrue(r.finished().error().startsWith("cannot write checkpoint " + dir.resolve("checkpoints")
        .resolve("latest")), r.finished().error());
    List<JsonNode> events = FaultInjectionIT.events(dir);
    assertTrue(events.stream().anyMatch(e -> e.get("type").asText().equals("checkpoint_failed")), events.toString());
    JsonNode end = FaultInjectionIT.runFinished(dir);
    assertEquals("failed", end.get("status").asText());
    assertTrue(end.get("error").asText().contains("No space left on device"), end.toString());
  }

  @Test
  void fullPlanesDirectoryFailsTheRun() throws Exception {
    Path dir = tmp.resolve("runs").resolve("pl");
    assumeTrue(tmpfs(dir.resolve("planes"), "64k"), "mount -t tmpfs is not allowed here");
    Map<String, Object> o = endless("pl");
    o.put("splinewatch.analysis.enabled", List.of("regions"));
    o.put("splinewatch.run.planes", 1);
    EmbeddedRun.Result r = FaultInjectionIT.run(o, List.of(), new EmbeddedRun.Listener() { },
        Duration.ofSeconds(90));
    assertEquals(1, r.exitCode());
    String error = r.finished().error();
    assertTrue(error.startsWith("analyzer regions cannot write run files: cannot write the partition picture to "
        + dir.resolve("planes")), error);
    assertTrue(error.contains("No space left on device"), error);
    assertEquals("failed", FaultInjectionIT.runFinished(dir).get("status").asText());
  }
}
