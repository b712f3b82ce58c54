package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.serve.MonitorServer;

/**
 * The ingestion endpoints of {@code monitor serve} over real HTTP on loopback: register, snapshots, finish, every
 * 4xx answer, the size limit (declared and streamed), a stop through the control endpoint reflected in the
 * snapshot answers, and several runs at once.
 */
class IngestHttpTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir
  Path tmp;
  private MonitorServer server;
  private String base;

  @BeforeEach
  void start() {
    start(Map.of());
  }

  private void start(Map<String, Object> extra) {
    if (server != null) {
      server.close();
    }
    Map<String, Object> o = new HashMap<>(extra);
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", List.of("embedding", "regions"));
    o.put("splinewatch.ingest.max-snapshot-bytes", 200_000);
    o.put("splinewatch.regions.max-regions", 5000);
    // normal priority: SCHED_IDLE analysis may wait for minutes on a machine busy with other work
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(new ByteArrayOutputStream()));
    base = "http://127.0.0.1:" + server.metricsPort();
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> post(String path, byte[] body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String metrics() throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static void assertLine(HttpResponse<String> r, int status, String part) {
    assertEquals(status, r.statusCode(), r.body());
    assertTrue(r.body().contains(part), r.body());
    assertEquals(1, r.body().strip().lines().count(), "one line: " + r.body());
  }

  @Test
  void registerStreamFinishAndEveryError() throws Exception {
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("h1", 40, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    JsonNode urls = JSON.readTree(reg.body());
    assertEquals(base + "/api/v1/runs/h1/snapshots", urls.get("snapshots").asText());
    assertLine(post("/api/v1/runs", TestNpz.run("h1", 40, 8, 4, ""), TOKEN), 409, "already streaming");

    for (int step = 0; step <= 100; step += 100) {
      HttpResponse<String> r = post("/api/v1/runs/h1/snapshots",
          TestNpz.snapshot(TestNpz.cnn(step + 1, 8, 4), step, 2.0 - step / 100.0, -1).bytes(), TOKEN);
      assertEquals(202, r.statusCode(), r.body());
      assertEquals(false, JSON.readTree(r.body()).get("stop").asBoolean());
    }
    // the errors, each one line saying what was expected
    assertLine(post("/api/v1/runs/h1/snapshots", new byte[10], "wrong-token-wrong-token"), 401, "bearer token");
    assertLine(post("/api/v1/runs/h1/snapshots", new byte[10], null), 401, "bearer token");
    assertLine(post("/api/v1/runs/nope/snapshots", new byte[10], TOKEN), 404, "unknown run 'nope'");
    assertLine(post("/api/v1/runs/h1/snapshots", "not a zip".getBytes(), TOKEN), 400, "not a .npz");
    float[] nan = new float[64 * 4];
    nan[3] = Float.NaN;
    String flat = "{\"step\": 1, \"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", \"weight\": \"w\","
        + " \"bias\": \"b\"}]}";
    assertLine(post("/api/v1/runs/h1/snapshots", new TestNpz().json("snapshot", flat).array("w", nan, 64, 4)
        .array("b", new float[4], 4).bytes(), TOKEN), 400, "NaN at flat index 3");
    assertLine(post("/api/v1/runs/h1/snapshots", new TestNpz().json("snapshot", flat)
        .array("w", new float[60 * 4], 60, 4).array("b", new float[4], 4).bytes(), TOKEN), 400, "expected (64, out)");
    assertLine(post("/api/v1/runs/h1/snapshots", new TestNpz().json("snapshot",
        "{\"step\": 1, \"layers\": [{\"type\": \"maxpool2d\"}]}").bytes(), TOKEN), 400, "type 'maxpool2d'");
    // over the size limit: a declared length is refused unread, a streamed body is cut off
    byte[] big = new TestNpz().json("snapshot", flat).array("w", TestNpz.randn(new java.util.Random(1), 64 * 1000, 1),
        64, 1000).array("b", new float[1000], 1000).bytes();
    assertTrue(big.length > 200_000);
    assertLine(post("/api/v1/runs/h1/snapshots", big, TOKEN), 413, "over the limit of 200000 bytes");
    // a small body that inflates past the limit (zeros compress well)
    byte[] bomb = new TestNpz().json("snapshot", flat).array("w", new float[64 * 1000], 64, 1000)
        .array("b", new float[1000], 1000).bytes();
    assertTrue(bomb.length < 200_000);
    assertLine(post("/api/v1/runs/h1/snapshots", bomb, TOKEN), 413, "unpacks to more than 200000 bytes");
    HttpResponse<String> streamed = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs/h1/snapshots"))
        .header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertLine(streamed, 413, "over the limit of 200000 bytes");
    assertLine(post("/api/v1/runs/h1/finish", "{\"status\": \"maybe\"}".getBytes(), TOKEN), 400, "expected done,"
        + " stopped or failed");

    // the metrics arrive under the usual names with the run's labels
    String m = waitFor(() -> metrics(), s -> s.contains("splinewatch_regions{") && s.contains("run=\"h1\"")
        && s.contains("splinewatch_embedding_uniformity{"));
    assertTrue(m.contains("splinewatch_training_loss{dataset=\"toy\",method=\"supervised\",run=\"h1\"}"), m);

    HttpResponse<String> fin = post("/api/v1/runs/h1/finish", "{\"status\": \"done\"}".getBytes(), TOKEN);
    assertEquals(202, fin.statusCode(), fin.body());
    Path dir = tmp.resolve("h1");
    waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? "yes" : "", "yes"::equals);
    for (String f : List.of("config.json", "metrics.jsonl", "events.jsonl", "report.html")) {
      assertTrue(Files.isRegularFile(dir.resolve(f)), f);
    }
    JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
    assertEquals("http", config.get("source").asText());
    assertEquals("test", config.get("tags").get("framework").asText());
    assertTrue(Files.readString(dir.resolve("events.jsonl")).contains("\"status\":\"done\""));
    assertTrue(Files.readString(dir.resolve("metrics.jsonl")).contains("splinewatch_regions"));
    assertLine(post("/api/v1/runs/h1/snapshots", new byte[10], TOKEN), 404, "unknown run 'h1'");
  }

  @Test
  void severalRunsAtOnceAndAStopRequestReachesTheRightOne() throws Exception {
    List<String> ids = List.of("c1", "c2", "c3");
    for (String id : ids) {
      assertEquals(201, post("/api/v1/runs", TestNpz.run(id, 30, 8, 4, ""), TOKEN).statusCode());
    }
    List<CompletableFuture<Integer>> sends = new ArrayList<>();
    for (String id : ids) {
      sends.add(CompletableFuture.supplyAsync(() -> {
        int accepted = 0;
        for (int step = 0; step < 5; step++) {
          try {
            accepted += post("/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(step, 8, 4), step * 10L,
                1.0, -1).bytes(), TOKEN).statusCode() == 202 ? 1 : 0;
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
        return accepted;
      }));
    }
    for (CompletableFuture<Integer> f : sends) {
      assertEquals(5, f.join());
    }
    // a critical alert through the control endpoint stops c2 only; the next answers say so
    String alert = "{\"version\": \"4\", \"alerts\": [{\"status\": \"firing\", \"labels\": {\"alertname\": \"X\","
        + " \"severity\": \"critical\", \"rule\": \"std_collapse\", \"run\": \"c2\"},"
        + " \"annotations\": {\"summary\": \"test stop\"}}]}";
    assertEquals(202, post("/api/v1/alerts", alert.getBytes(), TOKEN).statusCode());
    JsonNode c2 = JSON.readTree(post("/api/v1/runs/c2/snapshots", TestNpz.snapshot(TestNpz.cnn(9, 8, 4), 60, 1.0, -1)
        .bytes(), TOKEN).body());
    assertTrue(c2.get("stop").asBoolean(), c2.toString());
    assertTrue(c2.get("reason").asText().contains("test stop"), c2.toString());
    JsonNode c1 = JSON.readTree(post("/api/v1/runs/c1/snapshots", TestNpz.snapshot(TestNpz.cnn(9, 8, 4), 60, 1.0, -1)
        .bytes(), TOKEN).body());
    assertEquals(false, c1.get("stop").asBoolean());
    String m = waitFor(() -> metrics(), s -> ids.stream().allMatch(id -> s.contains("splinewatch_training_step{"
        + "dataset=\"toy\",method=\"supervised\",run=\"" + id + "\"}")));
    assertTrue(m.contains("run=\"c3\""));
    for (String id : ids) {
      String status = id.equals("c2") ? "stopped" : "done";
      HttpResponse<String> f = post("/api/v1/runs/" + id + "/finish", ("{\"status\": \"" + status + "\"}").getBytes(),
          TOKEN);
      assertEquals(202, f.statusCode(), f.body());
    }
    Path events = tmp.resolve("c2").resolve("events.jsonl");
    waitFor(() -> Files.readString(events), e -> e.contains("\"exit_code\":3"));
  }

  @Test
  void aClientThatGoesAwayHasItsRunFinishedAsFailed() throws Exception {
    start(Map.of("splinewatch.ingest.idle-timeout", "1s"));
    assertEquals(201, post("/api/v1/runs", TestNpz.run("gone", 20, 8, 4, ""), TOKEN).statusCode());
    Path events = tmp.resolve("gone").resolve("events.jsonl");
    waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "", e -> e.contains("run_finished"));
    String e = Files.readString(events);
    assertTrue(e.contains("\"status\":\"failed\"") && e.contains("idle-timeout"), e);
    waitFor(() -> String.valueOf(post("/api/v1/runs/gone/snapshots", new byte[10], TOKEN).statusCode()),
        "404"::equals);
  }

  interface Check<T> {
    T get() throws Exception;
  }

  static String waitFor(Check<String> s, java.util.function.Predicate<String> ok) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    String last = "";
    while (System.nanoTime() < deadline) {
      last = s.get();
      if (ok.test(last)) {
        return last;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("condition not met within 60 s; last: "
        + last.lines().filter(l -> l.contains("run=")).limit(30).toList());
  }
}
