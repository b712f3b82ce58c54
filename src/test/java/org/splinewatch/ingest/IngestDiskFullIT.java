package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * A streamed run whose directory fills up on {@code monitor serve}: the client hears it in its next snapshot answer
 * ({@code stop: true} with the writer's one-line error), the run can still finish, and the monitor goes on taking
 * other runs. Needs {@code mount -t tmpfs} (root, as {@code .ci/run} runs); skipped where mounting is not allowed.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IngestDiskFullIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  @Test
  void aFullRunDirectoryStopsTheStreamWithTheWritersError() throws Exception {
    Path full = tmp.resolve("full");
    assumeTrue(TestTools.mountTmpfs(full, "24k"), "mount -t tmpfs is not allowed here");
    try (ServedMonitor m = new ServedMonitor(tmp, List.of("embedding"), Map.of())) {
      assertEquals(201, m.post("/api/v1/runs", TestNpz.run("full", 40, 8, 4, "")).statusCode());
      JsonNode stop = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      for (int step = 0; stop == null && System.nanoTime() < deadline; step += 10) {
        HttpResponse<String> r = m.post("/api/v1/runs/full/snapshots",
            TestNpz.snapshot(TestNpz.cnn(step + 1, 8, 4), step, 2.0, -1).bytes());
        assertEquals(202, r.statusCode(), r.body());
        JsonNode answer = JSON.readTree(r.body());
        if (answer.get("stop").asBoolean()) {
          stop = answer;
        }
        Thread.sleep(50);
      }
      assertNotNull(stop, "the client was told to stop once the run directory was full");
      String reason = stop.get("reason").asText();
      assertTrue(reason.startsWith("metrics writer failed: cannot append to " + full.resolve("")), reason);
      assertTrue(reason.contains("No space left on device") && reason.lines().count() == 1, reason);
      assertEquals(202, m.post("/api/v1/runs/full/finish", "{\"status\": \"stopped\"}".getBytes()).statusCode());
      // the node goes on: the run ends there, and another run streams
      IngestHttpTest.waitFor(() -> String.valueOf(m.post("/api/v1/runs/full/snapshots", new byte[10])
          .statusCode()), s -> !s.equals("202") && !s.equals("400"));
      assertEquals(201, m.post("/api/v1/runs", TestNpz.run("fine", 40, 8, 4, "")).statusCode());
      assertEquals(202, m.post("/api/v1/runs/fine/snapshots",
          TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 2.0, -1).bytes()).statusCode());
    } finally {
      TestTools.unmount(full);
    }
  }
}
