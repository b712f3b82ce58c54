package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.serve.MonitorServer;

/**
 * How runs streamed over HTTP end when their client says "interrupted" and when the monitor itself is stopped (a
 * signal): either way {@code run_finished} says {@code interrupted} (exit code 130, as {@code ./trainer}'s Ctrl-C),
 * the report is written, and a stopping monitor names the runs it cut.
 */
class ServeStopTest {
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

  private MonitorServer start() {
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    return MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(new ByteArrayOutputStream()));
  }

  private static void stream(String base, String id) throws Exception {
    assertEquals(201, post(base + "/api/v1/runs", TestNpz.run(id, 40, 8, 4, "")).statusCode());
    for (int step = 0; step <= 20; step += 10) {
      assertEquals(202, post(base + "/api/v1/runs/" + id + "/snapshots",
          TestNpz.snapshot(TestNpz.cnn(step + 1, 8, 4), step, 2.0, -1).bytes()).statusCode());
    }
  }

  private JsonNode finished(String id) throws Exception {
    for (String line : Files.readAllLines(tmp.resolve(id).resolve("events.jsonl"))) {
      JsonNode e = JSON.readTree(line);
      if (e.path("type").asText().equals("run_finished")) {
        return e;
      }
    }
    return null;
  }

  @Test
  void aClientMayFinishItsRunAsInterrupted() throws Exception {
    try (MonitorServer server = start()) {
      String base = "http://127.0.0.1:" + server.metricsPort();
      stream(base, "ctrlc");
      HttpResponse<String> r = post(base + "/api/v1/runs/ctrlc/finish",
          "{\"status\": \"interrupted\", \"reason\": \"Ctrl-C at step 20\"}".getBytes(StandardCharsets.UTF_8));
      assertEquals(202, r.statusCode(), r.body());
      IngestHttpTest.waitFor(() -> Files.isRegularFile(tmp.resolve("ctrlc/report.html")) ? "yes" : "", "yes"::equals);
      JsonNode e = finished("ctrlc");
      assertEquals("interrupted", e.get("status").asText());
      assertEquals(130, e.get("exit_code").asInt());
      assertEquals("Ctrl-C at step 20", e.get("reason").asText());
      assertTrue(e.get("error").isNull(), e.toString());
    }
  }

  @Test
  void aStoppedMonitorFinishesItsStreamedRunsAsInterruptedAndNamesThem() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    MonitorServer server = start();
    String base = "http://127.0.0.1:" + server.metricsPort();
    stream(base, "cut1");
    stream(base, "cut2");
    server.close("the monitor was stopped (test)", new PrintStream(console, true, StandardCharsets.UTF_8));
    String said = console.toString(StandardCharsets.UTF_8);
    assertTrue(said.contains("finished 2 run(s) streamed over HTTP as interrupted: cut1, cut2")
        && !said.contains("not all"), said);
    for (String id : List.of("cut1", "cut2")) {
      JsonNode e = finished(id);
      assertTrue(e != null, id + " has its run_finished");
      assertEquals("interrupted", e.get("status").asText());
      assertEquals("the monitor was stopped (test)", e.get("reason").asText());
      assertTrue(Files.isRegularFile(tmp.resolve(id).resolve("report.html")), id + " has its report");
    }
  }
}
