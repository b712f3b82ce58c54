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
 * The live page of {@code monitor serve} for runs streamed over HTTP: a run is {@code active} while it streams and
 * not once it has finished, and the partition pictures the page shows for an active run are served at the path it
 * asks for ({@code /runs/<id>/planes/<k>/latest.svg}).
 */
class ServedLivePageTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir
  Path tmp;

  private static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return HTTP.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String url, byte[] body) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private static JsonNode listed(String base, String id) throws Exception {
    for (JsonNode r : JSON.readTree(send(HttpRequest.newBuilder(URI.create(base + "/api/runs"))).body())) {
      if (r.get("id").asText().equals(id)) {
        return r;
      }
    }
    return null;
  }

  @Test
  void aStreamingRunIsActiveWithItsPicturesUntilItFinishes() throws Exception {
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", List.of("regions"));
    o.put("splinewatch.regions.max-regions", 5000);
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(new ByteArrayOutputStream()))) {
      String base = "http://127.0.0.1:" + server.metricsPort();
      assertEquals(201, post(base + "/api/v1/runs", TestNpz.run("live1", 40, 8, 4, "")).statusCode());
      assertEquals(202, post(base + "/api/v1/runs/live1/snapshots",
          TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 2.0, -1).bytes()).statusCode());
      IngestHttpTest.waitFor(() -> String.valueOf(listed(base, "live1")), s -> s.contains("\"active\":true"));
      String picture = IngestHttpTest.waitFor(() -> {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(base + "/runs/live1/planes/0/latest.svg")));
        return r.statusCode() == 200 ? r.body() : "";
      }, s -> s.startsWith("<svg"));
      assertTrue(picture.contains("live1"), "the picture of the streamed run");
      String page = send(HttpRequest.newBuilder(URI.create(base + "/"))).body();
      assertTrue(page.contains("\"/runs/\" + encodeURIComponent(run) + \"/planes/\""),
          "the page asks for the pictures where this monitor serves them");

      assertEquals(202, post(base + "/api/v1/runs/live1/finish", "{\"status\": \"done\"}".getBytes()).statusCode());
      // run_finished is written just before the run leaves the node's live runs
      IngestHttpTest.waitFor(() -> String.valueOf(listed(base, "live1")),
          s -> s.contains("\"finished\":true") && s.contains("\"active\":false"));
    }
  }
}
