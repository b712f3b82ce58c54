package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.serve.MonitorServer;

/**
 * A streamed run whose directory fills up on {@code monitor serve}: the client hears it in its next snapshot answer
 * ({@code stop: true} with the writer's one-line error), the run can still finish, and the monitor goes on taking
 * other runs. Needs {@code mount -t tmpfs} (root, as {@code .ci/run} runs); skipped where mounting is not allowed.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IngestDiskFullIT {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir
  Path tmp;

  private static HttpResponse<String> post(String url, byte[] body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + TOKEN)
        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aFullRunDirectoryStopsTheStreamWithTheWritersError() throws Exception {
    Path full = tmp.resolve("full");
    assumeTrue(TestTools.mountTmpfs(full, "24k"), "mount -t tmpfs is not allowed here");
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(new ByteArrayOutputStream()))) {
      String base = "http://127.0.0.1:" + server.metricsPort();
      assertEquals(201, post(base + "/api/v1/runs", TestNpz.run("full", 40, 8, 4, "")).statusCode());
      JsonNode stop = null;
      long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
      for (int step = 0; stop == null && System.nanoTime() < deadline; step += 10) {
        HttpResponse<String> r = post(base + "/api/v1/runs/full/snapshots",
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
      assertEquals(202, post(base + "/api/v1/runs/full/finish", "{\"status\": \"stopped\"}".getBytes()).statusCode());
      // the node goes on: the run ends there, and another run streams
      IngestHttpTest.waitFor(() -> String.valueOf(post(base + "/api/v1/runs/full/snapshots", new byte[10])
          .statusCode()), s -> !s.equals("202") && !s.equals("400"));
      assertEquals(201, post(base + "/api/v1/runs", TestNpz.run("fine", 40, 8, 4, "")).statusCode());
      assertEquals(202, post(base + "/api/v1/runs/fine/snapshots",
          TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 2.0, -1).bytes()).statusCode());
    } finally {
      TestTools.unmount(full);
    }
  }
}
