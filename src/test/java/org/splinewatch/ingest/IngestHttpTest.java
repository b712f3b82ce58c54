package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.regions.Layer;
import org.splinewatch.serve.MonitorServer;

/**
 * The ingestion endpoints of {@code monitor serve} over real HTTP on loopback: register, snapshots, finish, every
 * 4xx answer, the size limit (declared and streamed), a stop through the control endpoint reflected in the
 * snapshot answers, several runs at once, run ids that are taken or reserved, a run whose network changes, a
 * truncated body, a body with a Content-Encoding and the bound on body bytes in flight.
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

  /**
   * A run registered and finished without a snapshot: the monitor writes its report.html at its end, saying that no
   * snapshot was received, and ./monitor report of its directory writes the same report with exit 0; it said "no
   * usable sample in its metrics" with exit 1.
   */
  @Test
  void aRunFinishedWithoutASnapshotIsReportedByTheMonitorAndByMonitorReportAlike() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("h0", 40, 8, 4, ""), TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/h0/finish", "{\"status\": \"done\"}".getBytes(), TOKEN).statusCode());
    Path dir = tmp.resolve("h0");
    waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? "yes" : "", "yes"::equals);
    String said = "h0: no snapshot received: the run was registered and ended without one, so it has no samples and"
        + " no curves";
    assertTrue(Files.readString(dir.resolve("report.html")).contains(said), "the monitor's report");
    // its run_finished records that it received none: its status says so, with no step and no metrics check
    assertTrue(Files.readString(dir.resolve("events.jsonl")).contains("\"snapshots_received\":0"));
    assertTrue(Files.readString(dir.resolve("report.html")).contains("id=\"status-h0\">h0: finished with no snapshot"
        + " received</div>"), "the monitor's report's status");
    Path out = tmp.resolve("again.html");
    String m = org.splinewatch.TestTools.cli(0, "monitor", "report", dir.toString(), "--out", out.toString());
    assertTrue(m.contains("note: " + said + "\n") && m.strip().endsWith("report: " + out), m);
    assertTrue(Files.readString(out).contains(said), "./monitor report's");
  }

  /**
   * The registration's answer tells the client how long a registration may take here, from the monitor's own
   * answer-timeout: the Python client assumed 60 s whatever the monitor's settings. The route waits the
   * answer-timeout and 10 s, and a run taken just before that waits the answer-timeout for its metrics node.
   */
  @Test
  void theRegistrationAnswerTellsHowLongARegistrationMayTakeFromTheAnswerTimeout() throws Exception {
    start(Map.of("splinewatch.cluster.answer-timeout", "5s"));
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("h9", 40, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    assertEquals(20.0, JSON.readTree(reg.body()).path("max_registration_seconds").asDouble(), reg.body());
    start(Map.of("splinewatch.cluster.answer-timeout", "2500ms"));
    reg = post("/api/v1/runs", TestNpz.run("h10", 40, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    assertEquals(15.0, JSON.readTree(reg.body()).path("max_registration_seconds").asDouble(), reg.body());
  }

  @Test
  void registerStreamFinishAndEveryError() throws Exception {
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("h1", 40, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    JsonNode urls = JSON.readTree(reg.body());
    assertEquals(base + "/api/v1/runs/h1/snapshots", urls.get("snapshots").asText());
    // the client can tell a snapshot over the limit before sending it
    assertEquals(200_000, urls.get("max_snapshot_bytes").asLong());
    // and how long a resume it got no clear answer to may still be registering (the route's answer-timeout + 10 s, and
    // the answer-timeout of a run taken just before that)
    assertEquals(70.0, urls.path("max_registration_seconds").asDouble(), urls.toString());
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
        .array("w", new float[60 * 4], 60, 4).array("b", new float[4], 4).bytes(), TOKEN), 400,
        "w has shape [60, 4], a layer of 60 inputs and 4 outputs (PyTorch: nn.Linear(in_features=60, out_features=4),"
        + " weight of shape (4, 60)), but receives 64 values; expected shape [64, 4]");
    assertLine(post("/api/v1/runs/h1/snapshots", new TestNpz().json("snapshot",
        "{\"step\": 1, \"layers\": [{\"type\": \"maxpool2d\"}]}").bytes(), TOKEN), 400, "type 'maxpool2d'");
    // over the size limit: a declared length is refused unread, a streamed body is cut off
    byte[] big = new TestNpz().json("snapshot", flat).array("w", TestNpz.randn(new java.util.Random(1), 64 * 1000, 1),
        64, 1000).array("b", new float[1000], 1000).bytes();
    assertTrue(big.length > 200_000);
    String over = " bytes is over the limit of 200000 bytes (splinewatch.ingest.max-snapshot-bytes); expected at"
        + " most 200000 bytes: a smaller network, or raise splinewatch.ingest.max-snapshot-bytes in a --config file of"
        + " ./monitor serve";
    assertLine(post("/api/v1/runs/h1/snapshots", big, TOKEN), 413, "snapshot body of " + big.length + over);
    // a small body that inflates past the limit (zeros compress well)
    byte[] bomb = new TestNpz().json("snapshot", flat).array("w", new float[64 * 1000], 64, 1000)
        .array("b", new float[1000], 1000).bytes();
    assertTrue(bomb.length < 200_000);
    assertLine(post("/api/v1/runs/h1/snapshots", bomb, TOKEN), 413, "unpacks to more than 200000 bytes");
    HttpResponse<String> streamed = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs/h1/snapshots"))
        .header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertLine(streamed, 413, "snapshot body of " + big.length + over);
    assertLine(post("/api/v1/runs/h1/finish", "{\"status\": \"maybe\"}".getBytes(), TOKEN), 400, "expected done,"
        + " stopped, failed or interrupted");

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
    assertLine(post("/api/v1/runs/h1/snapshots", new byte[10], TOKEN), 409, "run 'h1' has finished");
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
    // the stop through the control endpoint marks c2, and c2 only, as stopped early by the alert's rule
    assertTrue(m.contains("splinewatch_run_stopped_early{dataset=\"toy\",method=\"supervised\",rule=\"std_collapse\","
        + "run=\"c2\"} 1.0"), m);
    assertEquals(1, m.lines().filter(l -> l.startsWith("splinewatch_run_stopped_early{")).count(), m);
    for (String id : ids) {
      String status = id.equals("c2") ? "stopped" : "done";
      HttpResponse<String> f = post("/api/v1/runs/" + id + "/finish", ("{\"status\": \"" + status + "\"}").getBytes(),
          TOKEN);
      assertEquals(202, f.statusCode(), f.body());
    }
    // once its client said finish, a run is not stopped (nor a webhook_stop recorded) while its analyses drain. The
    // finish answer may come before the monitor has marked the run: wait with an alert of a rule c1 does not stop on
    // (refused for that reason while c1 trains, for its end once marked, 404 once its analyses have drained), as
    // long as the metrics node takes to mark it (up to 60 s, as waitFor: it was 5 s, and a node busy for longer
    // left c1 training, so that the stop-on alert below stopped it)
    String harmless = alert.replace("\"run\": \"c2\"", "\"run\": \"c1\"").replace("std_collapse", "knn_chance");
    HttpResponse<String> probe = post("/api/v1/alerts", harmless.getBytes(), TOKEN);
    long marked = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < marked && probe.statusCode() == 200
        && probe.body().contains("not in the stop-on rules")) {
      Thread.sleep(25);
      probe = post("/api/v1/alerts", harmless.getBytes(), TOKEN);
    }
    HttpResponse<String> late = post("/api/v1/alerts", alert.replace("\"run\": \"c2\"", "\"run\": \"c1\"")
        .getBytes(), TOKEN);
    assertTrue(late.statusCode() == 200 && late.body().contains("run 'c1' finished training at step 60; nothing to"
        + " stop") || late.statusCode() == 404 && late.body().contains("unknown run 'c1'"), late.statusCode() + " "
        + late.body());
    Path events = tmp.resolve("c2").resolve("events.jsonl");
    waitFor(() -> Files.readString(events), e -> e.contains("\"exit_code\":3"));
  }

  @Test
  void aClientThatGoesAwayHasItsRunFinishedAsFailed() throws Exception {
    start(Map.of("splinewatch.ingest.idle-timeout", "1s"));
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("gone", 20, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    Path events = tmp.resolve("gone").resolve("events.jsonl");
    waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "", e -> e.contains("run_finished"));
    String e = Files.readString(events);
    assertTrue(e.contains("\"status\":\"failed\"") && e.contains("idle-timeout"), e);
    // its client, back too late, is told the monitor ended the run (410), for snapshots and for its finish
    waitFor(() -> String.valueOf(post("/api/v1/runs/gone/snapshots", new byte[10], TOKEN).statusCode()),
        "410"::equals);
    HttpResponse<String> late = post("/api/v1/runs/gone/snapshots", new byte[10], TOKEN);
    assertTrue(late.body().startsWith("run 'gone' was ended by this monitor (no snapshot or finish request for ")
        && late.body().contains(" s (splinewatch.ingest.idle-timeout)); it takes no more snapshots until it is"
        + " registered again with its resume_key (the Python client does so), or register a new run with another run"
        + " id to send more"), late.body());
    HttpResponse<String> finish = post("/api/v1/runs/gone/finish", new byte[0], TOKEN);
    assertEquals(410, finish.statusCode(), finish.body());
    // with its resume key the client takes the run back (503 while its end is still being recorded)
    byte[] again = TestNpz.run("gone", 20, 8, 4, ", \"resume_key\": \"" + JSON.readTree(reg.body())
        .get("resume_key").asText() + "\"");
    waitFor(() -> {
      HttpResponse<String> r = post("/api/v1/runs", again, TOKEN);
      assertTrue(r.statusCode() == 201 || r.statusCode() == 503 && r.body().contains("run 'gone' is still ending on"
          + " this monitor"), r.body());
      return String.valueOf(r.statusCode());
    }, "201"::equals);
    assertEquals(202, snapshot("gone", 0).statusCode());
    List<String> lines = Files.readAllLines(events);
    assertTrue(lines.get(0).contains("\"status\":\"failed\"") && lines.get(1).contains("\"run_resumed\""),
        lines.toString());
  }

  @Test
  void aFinishedRunIsAnswered409AndItsIdAndDirectoryAreNotReused() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, ""), TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/f1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
        TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/f1/finish", new byte[0], TOKEN).statusCode());
    // after finish began: 409, not "unknown run ... register it first"
    assertLine(post("/api/v1/runs/f1/finish", new byte[0], TOKEN), 409, "run 'f1' has finished (or is finishing)");
    assertLine(post("/api/v1/runs/f1/snapshots", TestNpz.snapshot(TestNpz.cnn(2, 8, 4), 10, 1.0, -1).bytes(), TOKEN),
        409, "run 'f1' has finished (or is finishing)");
    Path dir = tmp.resolve("f1");
    // a new run of its id with a key of its own (as the Python client registers every run), while the run ends or
    // after: the id is taken, said as such (it was a 503 "register it again in a few seconds to resume it", then a
    // 409 "was registered with another resume_key")
    String otherKey = ", \"resume_key\": \"" + "0".repeat(32) + "\"";
    HttpResponse<String> ending = post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, otherKey), TOKEN);
    assertEquals(409, ending.statusCode(), ending.body());
    assertTrue(ending.body().contains("its run directory " + dir + " holds it: choose another run id")
        || ending.body().contains("already holds run 'f1'"), ending.body());
    waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? Files.readString(dir.resolve("events.jsonl")) : "",
        e -> e.contains("run_finished"));
    Map<String, String> before = new HashMap<>();
    for (String f : List.of("config.json", "metrics.jsonl", "events.jsonl")) {
      before.put(f, Files.readString(dir.resolve(f)));
    }
    // registering the finished run's id again would overwrite its config and append to its logs: refused
    assertLine(post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, ""), TOKEN), 409,
        "already holds run 'f1' (finished at 20");
    HttpResponse<String> again = post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, ""), TOKEN);
    assertTrue(again.body().contains("choose another run id"), again.body());
    assertLine(post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, otherKey), TOKEN), 409, "run directory " + dir
        + " already holds run 'f1' (finished at 20");
    assertTrue(post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, otherKey), TOKEN).body().contains("registered with"
        + " another resume_key than this registration's; choose another run id for a new run"));
    // a run directory left from before this monitor started (no run_finished): refused as well
    Path old = Files.createDirectories(tmp.resolve("old1"));
    Files.writeString(old.resolve("metrics.jsonl"), "{}\n");
    assertLine(post("/api/v1/runs", TestNpz.run("old1", 20, 8, 4, ""), TOKEN), 409,
        "already holds run 'old1' (no run_finished in its events.jsonl)");
    assertEquals("{}\n", Files.readString(old.resolve("metrics.jsonl")));
    assertTrue(!Files.exists(old.resolve("config.json")));
    Thread.sleep(500); // anything a refused registration wrote would be there by now
    for (String f : before.keySet()) {
      assertEquals(before.get(f), Files.readString(dir.resolve(f)), f);
    }
    // an empty directory (e.g. a prepared mount point) holds no run and is taken
    Files.createDirectories(tmp.resolve("fresh"));
    assertEquals(201, post("/api/v1/runs", TestNpz.run("fresh", 20, 8, 4, ""), TOKEN).statusCode());
  }

  private HttpResponse<String> snapshot(String id, long step) throws Exception {
    return post("/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(step + 1, 8, 4), step, 1.0, -1)
        .bytes(), TOKEN);
  }

  private static List<Long> trainingSteps(Path metrics) throws IOException {
    List<Long> steps = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      JsonNode s = JSON.readTree(line);
      if (s.get("name").asText().equals("splinewatch_training_step")) {
        steps.add(s.get("step").asLong());
      }
    }
    return steps;
  }

  @Test
  void aRunIsResumedOnlyWithItsResumeKeyAndItsStepsGoOnInItsDirectory() throws Exception {
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    String key = JSON.readTree(reg.body()).get("resume_key").asText();
    assertTrue(key.matches("[0-9a-f]{32}") && !JSON.readTree(reg.body()).get("resumed").asBoolean(), reg.body());
    for (long step : new long[] {0, 10}) {
      assertEquals(202, snapshot("rs", step).statusCode());
    }
    Path dir = tmp.resolve("rs");
    waitFor(() -> String.valueOf(trainingSteps(dir.resolve("metrics.jsonl"))), "[0, 10]"::equals);
    JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
    start(Map.of()); // stopped (the run is ended as interrupted) and started again on the same run directories
    assertTrue(Files.readString(dir.resolve("events.jsonl")).contains("\"status\":\"interrupted\""));
    assertLine(snapshot("rs", 20), 404, "unknown run 'rs'");
    String metrics = Files.readString(dir.resolve("metrics.jsonl"));
    String events = Files.readString(dir.resolve("events.jsonl"));
    // without its key, with another key, with another description or a malformed key: refused, nothing written
    assertLine(post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ""), TOKEN), 409, "an HTTP run is resumed only with"
        + " the resume_key its first registration was answered");
    // another key is not this run's client: refused at once, also while the restarted monitor writes the report of
    // the run it marked (it was answered 503 "register it again in a few seconds to resume it" meanwhile)
    assertLine(post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ", \"resume_key\": \"" + "0".repeat(32) + "\""),
        TOKEN), 409, "run directory " + dir + " already holds run 'rs' (");
    // the restarted monitor marked the run and writes its report first: a resume is answered 503 until it is written
    HttpResponse<String> otherSeed = null;
    for (int i = 0; i < 600 && (otherSeed == null || otherSeed.statusCode() == 503); i++) {
      Thread.sleep(otherSeed == null ? 0 : 100);
      otherSeed = post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ", \"seed\": 7, \"resume_key\": \"" + key
          + "\""), TOKEN);
    }
    assertLine(otherSeed, 409, "was registered with seed 42, this registration has 7; expected the run's own"
        + " registration");
    HttpResponse<String> wrongKey = post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ", \"resume_key\": \""
        + "0".repeat(32) + "\""), TOKEN);
    assertLine(wrongKey, 409, "run directory " + dir + " already holds run 'rs' (finished at 20");
    assertTrue(wrongKey.body().contains("registered with another resume_key"), wrongKey.body());
    assertLine(post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ", \"resume_key\": \"xyz\""), TOKEN), 400,
        "resume_key is \"xyz\"; expected the 32 hex digits");
    assertEquals(metrics, Files.readString(dir.resolve("metrics.jsonl")));
    assertEquals(events, Files.readString(dir.resolve("events.jsonl")));
    assertEquals(config, JSON.readTree(dir.resolve("config.json").toFile()));
    HttpResponse<String> again = post("/api/v1/runs", TestNpz.run("rs", 20, 8, 4, ", \"resume_key\": \"" + key
        + "\""), TOKEN);
    assertEquals(201, again.statusCode(), again.body());
    JsonNode answer = JSON.readTree(again.body());
    assertTrue(answer.get("resumed").asBoolean() && answer.get("last_step").asLong() == 10, again.body());
    assertEquals(key, answer.get("resume_key").asText());
    // its steps go on after the last one recorded
    assertLine(snapshot("rs", 10), 409, "has already received step 10");
    assertEquals(202, snapshot("rs", 20).statusCode());
    assertEquals(202, post("/api/v1/runs/rs/finish", new byte[0], TOKEN).statusCode());
    waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? Files.readString(dir.resolve("events.jsonl"))
        : "", e -> e.contains("\"status\":\"done\""));
    String after = Files.readString(dir.resolve("metrics.jsonl"));
    assertTrue(after.startsWith(metrics), "appended, not rewritten");
    assertEquals(List.of(0L, 10L, 20L), trainingSteps(dir.resolve("metrics.jsonl")));
    List<JsonNode> lifecycle = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("events.jsonl"))) {
      JsonNode e = JSON.readTree(line);
      if (List.of("run_finished", "run_resumed").contains(e.get("type").asText())) {
        lifecycle.add(e);
      }
    }
    assertEquals(3, lifecycle.size(), lifecycle.toString());
    assertEquals("interrupted", lifecycle.get(0).get("status").asText());
    assertEquals("run_resumed", lifecycle.get(1).get("type").asText());
    assertEquals(10, lifecycle.get(1).get("step").asLong());
    assertEquals("done", lifecycle.get(2).get("status").asText());
    assertEquals(20, lifecycle.get(2).get("steps").asLong());
    JsonNode resumed = JSON.readTree(dir.resolve("config.json").toFile());
    assertEquals(config.get("started"), resumed.get("started"));
    assertTrue(resumed.get("settings").get("resumed").asBoolean(), resumed.toString());
  }

  /**
   * A resume with the run's own key while the monitor still holds the run as streaming (an earlier resume registered
   * after its client's timeout, a client back after a network glitch) takes the run over: answered as a resume, the
   * same run goes on (one registration, one run_finished, no step twice); another key or none is still 409.
   */
  @Test
  void aResumeWithTheRunsKeyTakesOverTheRunStillStreaming() throws Exception {
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("tk", 20, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    String key = JSON.readTree(reg.body()).get("resume_key").asText();
    for (long step : new long[] {0, 10}) {
      assertEquals(202, snapshot("tk", step).statusCode());
    }
    Path dir = tmp.resolve("tk");
    JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
    assertLine(post("/api/v1/runs", TestNpz.run("tk", 20, 8, 4, ""), TOKEN), 409, "already streaming");
    assertLine(post("/api/v1/runs", TestNpz.run("tk", 20, 8, 4, ", \"resume_key\": \"" + "0".repeat(32) + "\""),
        TOKEN), 409, "run 'tk' is already streaming to this monitor and this registration's resume_key is not the"
        + " run's");
    assertLine(post("/api/v1/runs", TestNpz.run("tk", 20, 8, 4, ", \"seed\": 7, \"resume_key\": \"" + key + "\""),
        TOKEN), 409, "was registered with seed 42, this registration has 7; expected the run's own registration");
    HttpResponse<String> again = post("/api/v1/runs", TestNpz.run("tk", 20, 8, 4, ", \"resume_key\": \"" + key
        + "\""), TOKEN);
    assertEquals(201, again.statusCode(), again.body());
    JsonNode answer = JSON.readTree(again.body());
    assertTrue(answer.get("resumed").asBoolean() && answer.get("last_step").asLong() == 10, again.body());
    assertEquals(key, answer.get("resume_key").asText());
    assertEquals(base + "/api/v1/runs/tk/snapshots", answer.get("snapshots").asText());
    // a snapshot of the old stream that lands after the takeover is kept (steps forward); a repeated step is not
    assertEquals(202, snapshot("tk", 15).statusCode());
    assertLine(snapshot("tk", 15), 409, "has already received step 15");
    assertEquals(202, snapshot("tk", 20).statusCode());
    assertEquals(202, post("/api/v1/runs/tk/finish", new byte[0], TOKEN).statusCode());
    String events = waitFor(() -> Files.isRegularFile(dir.resolve("report.html"))
        ? Files.readString(dir.resolve("events.jsonl")) : "", e -> e.contains("\"status\":\"done\""));
    assertEquals(List.of(0L, 10L, 15L, 20L), trainingSteps(dir.resolve("metrics.jsonl")));
    assertEquals(1, events.lines().filter(l -> l.contains("\"run_finished\"")).count(), events);
    assertEquals(config.get("started"), JSON.readTree(dir.resolve("config.json").toFile()).get("started"));
  }

  /**
   * A takeover's registration sets the run's early-stop mode, as a resume from its directory does: a client
   * restarted with early_stop "warn" trains on through a collapse that stopped it, and one back with "stop" is
   * stopped at once by the stop-on rule still firing. The run kept its first registration's mode: "warn" was
   * answered "early_stop": "stop" and every snapshot "stop": true.
   */
  @Test
  void aTakeOverSetsTheRunsEarlyStopMode() throws Exception {
    String key = JSON.readTree(post("/api/v1/runs", TestNpz.run("es", 20, 8, 4, ", \"early_stop\": \"stop\""),
        TOKEN).body()).get("resume_key").asText();
    assertEquals(202, post("/api/v1/runs/es/snapshots", mlp(0, "1.5", false), TOKEN).statusCode());
    HttpResponse<String> diverged = post("/api/v1/runs/es/snapshots", mlp(10, "\"NaN\"", true), TOKEN);
    assertTrue(JSON.readTree(diverged.body()).get("stop").asBoolean(), diverged.body());
    HttpResponse<String> warn = post("/api/v1/runs", TestNpz.run("es", 20, 8, 4, ", \"early_stop\": \"warn\","
        + " \"resume_key\": \"" + key + "\""), TOKEN);
    assertEquals(201, warn.statusCode(), warn.body());
    assertEquals("warn", JSON.readTree(warn.body()).get("early_stop").asText(), warn.body());
    JsonNode onThrough = JSON.readTree(post("/api/v1/runs/es/snapshots", mlp(20, "1.0", false), TOKEN).body());
    assertEquals(false, onThrough.get("stop").asBoolean(), onThrough.toString());
    assertTrue(onThrough.get("alerts").toString().contains("divergence"), onThrough.toString());
    // the control endpoint and config.json follow
    String alert = "{\"version\": \"4\", \"alerts\": [{\"status\": \"firing\", \"labels\": {\"alertname\":"
        + " \"X\", \"severity\": \"critical\", \"rule\": \"std_collapse\", \"run\": \"es\"}}]}";
    waitFor(() -> {
      HttpResponse<String> r = post("/api/v1/alerts", alert.getBytes(), TOKEN);
      return r.statusCode() + " " + r.body();
    }, r -> r.startsWith("200 ") && r.contains("run 'es' does not stop on alerts (early-stop is warn)"));
    Path config = tmp.resolve("es").resolve("config.json");
    waitFor(() -> JSON.readTree(config.toFile()).get("settings").get("early_stop").asText(), "warn"::equals);
    HttpResponse<String> stop = post("/api/v1/runs", TestNpz.run("es", 20, 8, 4, ", \"resume_key\": \"" + key
        + "\""), TOKEN); // without early_stop: the monitor's splinewatch.ingest.early-stop, stop
    assertEquals("stop", JSON.readTree(stop.body()).get("early_stop").asText(), stop.body());
    JsonNode stopped = JSON.readTree(post("/api/v1/runs/es/snapshots", mlp(30, "1.0", false), TOKEN).body());
    assertTrue(stopped.get("stop").asBoolean() && stopped.get("reason").asText().startsWith("collapse alert"
        + " divergence: "), stopped.toString());
    assertEquals(202, post("/api/v1/runs/es/finish", new byte[0], TOKEN).statusCode());
    Path events = tmp.resolve("es").resolve("events.jsonl");
    waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "", e -> e.contains("run_finished"));
    assertEquals("stop", JSON.readTree(config.toFile()).get("settings").get("early_stop").asText());
    assertEquals(1, Files.readString(events).lines().filter(l -> l.contains("\"run_finished\"")).count());
  }

  @Test
  void reservedRunIdsAreRefused() throws Exception {
    for (String id : List.of("prometheus-sd", "control-token")) {
      assertLine(post("/api/v1/runs", TestNpz.run(id, 20, 8, 4, ""), TOKEN), 400, "run id '" + id + "' is reserved"
          + " (the monitor's own files in the output directory: prometheus-sd, control-token)");
    }
    // no run's config.json among the Prometheus discovery files (file_sd reads every *.json there)
    assertTrue(!Files.exists(tmp.resolve("prometheus-sd").resolve("config.json")));
  }

  @Test
  void aSnapshotOfAnotherNetworkIsRefused() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("a1", 20, 8, 4, ""), TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/a1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
        TOKEN).statusCode());
    // another kind of network
    Random r = new Random(4);
    List<Layer> mlp = List.of(new Layer.Flatten(64), new Layer.Dense(64, 10, TestNpz.randn(r, 640, 0.2),
        new float[10]), Layer.Activation.relu(), new Layer.Dense(10, 4, TestNpz.randn(r, 40, 0.3), new float[4]));
    assertLine(post("/api/v1/runs/a1/snapshots", TestNpz.snapshot(mlp, 10, 1.0, -1).bytes(), TOKEN), 400,
        "layer 0 is flatten (64); expected conv2d (1x8x8 -> 3x8x8, kernel 3x3, stride 1, padding 1) as in the run's"
        + " first snapshot (step 0)");
    // the same kinds with another width
    List<Layer> wide = new ArrayList<>(TestNpz.cnn(3, 8, 4));
    wide.set(5, new Layer.Dense(48, 16, TestNpz.randn(r, 48 * 16, 0.2), new float[16]));
    wide.set(7, new Layer.Dense(16, 4, TestNpz.randn(r, 64, 0.2), new float[4]));
    assertLine(post("/api/v1/runs/a1/snapshots", TestNpz.snapshot(wide, 20, 1.0, -1).bytes(), TOKEN), 400,
        "layer 5 is dense (48 -> 16); expected dense (48 -> 12)");
    // the run goes on with its own network
    HttpResponse<String> ok = post("/api/v1/runs/a1/snapshots", TestNpz.snapshot(TestNpz.cnn(4, 8, 4), 30, 1.0, -1)
        .bytes(), TOKEN);
    assertEquals(202, ok.statusCode(), ok.body());
    assertEquals(30, JSON.readTree(ok.body()).get("step").asLong());
  }

  @Test
  void aStepThatDoesNotFollowTheLastOneIsRefusedAndTheRunKeepsItsSteps() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("s1", 20, 8, 4, ""), TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/s1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
        TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/s1/snapshots", TestNpz.snapshot(TestNpz.cnn(2, 8, 4), 10, 1.0, -1).bytes(),
        TOKEN).statusCode());
    // the same step again, and one before it: refused, naming the step the run has reached
    assertLine(post("/api/v1/runs/s1/snapshots", TestNpz.snapshot(TestNpz.cnn(3, 8, 4), 10, 1.0, -1).bytes(), TOKEN),
        409, "snapshot of step 10: run 's1' has already received step 10; expected a step after 10");
    assertLine(post("/api/v1/runs/s1/snapshots", TestNpz.snapshot(TestNpz.cnn(3, 8, 4), 5, 1.0, -1).bytes(), TOKEN),
        409, "snapshot of step 5: run 's1' has already received step 10; expected a step after 10");
    HttpResponse<String> ok = post("/api/v1/runs/s1/snapshots", TestNpz.snapshot(TestNpz.cnn(4, 8, 4), 20, 1.0, -1)
        .bytes(), TOKEN);
    assertEquals(202, ok.statusCode(), ok.body());
    assertEquals(20, JSON.readTree(ok.body()).get("step").asLong());
    HttpResponse<String> fin = post("/api/v1/runs/s1/finish", "{\"status\": \"done\"}".getBytes(), TOKEN);
    assertEquals(20, JSON.readTree(fin.body()).get("step").asLong(), fin.body());
    Path events = tmp.resolve("s1").resolve("events.jsonl");
    String end = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        s -> s.contains("run_finished"));
    assertTrue(end.contains("\"steps\":20"), end);
  }

  /**
   * A loop interrupted between snapshots says the step it reached: the run's steps (run_finished, the finish answer)
   * and its last training-step sample are that step, so that a resume goes on after it. One that is not a whole number
   * is refused and the run can still finish; one before the run's last snapshot is not taken, and the answer says so.
   */
  @Test
  void aFinishStepAfterTheLastSnapshotIsTheRunsLastStep() throws Exception {
    HttpResponse<String> reg = post("/api/v1/runs", TestNpz.run("i1", 20, 8, 4, ""), TOKEN);
    assertEquals(201, reg.statusCode(), reg.body());
    assertEquals(202, post("/api/v1/runs/i1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
        TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/i1/snapshots", TestNpz.snapshot(TestNpz.cnn(2, 8, 4), 50, 1.0, -1).bytes(),
        TOKEN).statusCode());
    for (String bad : List.of("-1", "5.5", "\"59\"", "true")) {
      assertLine(post("/api/v1/runs/i1/finish", ("{\"status\": \"interrupted\", \"step\": " + bad + "}").getBytes(),
          TOKEN), 400, "finish step is " + bad + "; expected a JSON integer at or after the run's last snapshot's step");
    }
    HttpResponse<String> fin = post("/api/v1/runs/i1/finish", ("{\"status\": \"interrupted\", \"reason\": \"Ctrl-C"
        + " at step 59\", \"step\": 59}").getBytes(), TOKEN);
    assertEquals(202, fin.statusCode(), fin.body());
    assertEquals(59, JSON.readTree(fin.body()).get("step").asLong(), fin.body());
    Path dir = tmp.resolve("i1");
    String end = waitFor(() -> Files.isRegularFile(dir.resolve("report.html"))
        ? Files.readString(dir.resolve("events.jsonl")) : "", s -> s.contains("run_finished"));
    assertTrue(end.contains("\"steps\":59") && end.contains("\"status\":\"interrupted\""), end);
    assertEquals(List.of(0L, 50L, 59L), trainingSteps(dir.resolve("metrics.jsonl")));
    assertEquals(59, LeftRuns.lastStep(dir), "a resume goes on after the step the loop reached");
    // a step before the last snapshot's: the run ends at the last snapshot's step, and the answer says so
    assertEquals(201, post("/api/v1/runs", TestNpz.run("i2", 20, 8, 4, ""), TOKEN).statusCode());
    assertEquals(202, post("/api/v1/runs/i2/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 50, 1.0, -1).bytes(),
        TOKEN).statusCode());
    HttpResponse<String> early = post("/api/v1/runs/i2/finish", "{\"step\": 49}".getBytes(), TOKEN);
    assertEquals(202, early.statusCode(), early.body());
    JsonNode answer = JSON.readTree(early.body());
    assertEquals(50, answer.get("step").asLong(), early.body());
    assertEquals("finish step 49 is before step 50 that run 'i2' already received; the run ends at step 50",
        answer.get("warnings").get(0).asText());
    Path dir2 = tmp.resolve("i2");
    String end2 = waitFor(() -> Files.isRegularFile(dir2.resolve("report.html"))
        ? Files.readString(dir2.resolve("events.jsonl")) : "", s -> s.contains("run_finished"));
    assertTrue(end2.contains("\"steps\":50"), end2);
  }

  /** A two-layer MLP snapshot in the benchmark format (W0, b0, W1, b1); every W0 entry NaN when {@code nan}. */
  private static byte[] mlp(long step, String loss, boolean nan) {
    Random r = new Random(step);
    float[] w0 = TestNpz.randn(r, 64 * 12, 0.2);
    if (nan) {
      java.util.Arrays.fill(w0, Float.NaN);
    }
    return new TestNpz().json("snapshot", "{\"step\": " + step + ", \"loss\": " + loss
        + ", \"learning_rate\": 0.05}").array("W0", w0, 64, 12).array("b0", TestNpz.randn(r, 12, 0.1), 12)
        .array("W1", TestNpz.randn(r, 12 * 4, 0.3), 12, 4).array("b1", new float[4], 4).bytes();
  }

  /**
   * float64 weights that float32 rounds to 0 (they vanished without a word): the snapshot is accepted and its answer
   * names each such array once per run, with the count and the first value; later snapshots do not repeat it.
   */
  @Test
  void float64WeightsThatFloat32RoundsToZeroAreNamedOncePerArray() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("f64", 20, 8, 4, ""), TOKEN).statusCode());
    List<String> answers = new ArrayList<>();
    for (long step = 0; step <= 20; step += 10) {
      Random r = new Random(step);
      double[] w0 = new double[64 * 12];
      for (int i = 0; i < w0.length; i++) {
        w0[i] = r.nextGaussian() * 0.2;
      }
      w0[5] = 1e-50;
      w0[7] = -1e-320;
      HttpResponse<String> a = post("/api/v1/runs/f64/snapshots", new TestNpz().json("snapshot", "{\"step\": " + step
          + ", \"loss\": 1.0}").array64("W0", w0, 64, 12).array("b0", TestNpz.randn(r, 12, 0.1), 12)
          .array("W1", TestNpz.randn(r, 12 * 4, 0.3), 12, 4).array64("b1", new double[] {0, 1e-46, 0, 0}, 4).bytes(),
          TOKEN);
      assertEquals(202, a.statusCode(), a.body());
      answers.add(a.body());
    }
    JsonNode first = JSON.readTree(answers.get(0));
    String least = "; float32's least is " + Float.MIN_VALUE + "): arrays are read as float32";
    assertEquals(List.of("snapshot: array W0: 2 nonzero values below float32's range read as 0 (the first 1.0E-50 at"
        + " flat index 5" + least, "snapshot: array b1: 1 nonzero value below float32's range read as 0 (the first"
        + " 1.0E-46 at flat index 1" + least), JSON.convertValue(first.get("warnings"), List.class), answers.get(0));
    assertEquals(false, first.get("stop").asBoolean());
    for (String later : answers.subList(1, answers.size())) {
      assertTrue(!JSON.readTree(later).has("warnings"), later);
    }
  }

  /**
   * float64 probes and fit inputs that float32 rounds to 0 (a client other than the Python one, which sends float32
   * and names them itself): the registration's 201 names each such array, as a snapshot's 202 does; they were read
   * as 0 without a word.
   */
  @Test
  void float64ProbesThatFloat32RoundsToZeroAreNamedInTheRegistrationAnswer() throws Exception {
    Random r = new Random(3);
    double[] probes = new double[20 * 64];
    for (int i = 0; i < probes.length; i++) {
      probes[i] = r.nextDouble();
    }
    probes[70] = 2e-50;
    double[] fit = java.util.Arrays.copyOf(probes, 4 * 64);
    float[] labels = new float[20];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % 4;
    }
    HttpResponse<String> a = post("/api/v1/runs", new TestNpz().json("run", "{\"run_id\": \"f64p\", \"method\":"
        + " \"supervised\", \"dataset\": \"toy\", \"classes\": 4}").array64("probes", probes, 20, 1, 8, 8)
        .array("probe_labels", labels, 20).array64("fit_inputs", fit, 4, 1, 8, 8)
        .array("fit_labels", new float[] {0, 1, 2, 3}, 4).bytes(), TOKEN);
    assertEquals(201, a.statusCode(), a.body());
    String line = " 1 nonzero value below float32's range read as 0 (the first 2.0E-50 at flat index 70; float32's"
        + " least is " + Float.MIN_VALUE + "): arrays are read as float32";
    assertEquals(List.of("run registration: array probes:" + line, "run registration: array fit_inputs:" + line),
        JSON.convertValue(JSON.readTree(a.body()).get("warnings"), List.class), a.body());
    HttpResponse<String> plain = post("/api/v1/runs", TestNpz.run("f32p", 20, 8, 4, ""), TOKEN);
    assertEquals(201, plain.statusCode(), plain.body());
    assertTrue(!JSON.readTree(plain.body()).has("warnings"), plain.body());
  }

  @Test
  void nanWeightsAreRefusedButTheirStepAndLossCountAndTheRunDiverges() throws Exception {
    // a PyTorch loop after a NaN loss: optimizer.step() has made the weights NaN too
    assertEquals(201, post("/api/v1/runs", TestNpz.run("nan1", 20, 8, 4, ", \"early_stop\": \"stop\""), TOKEN)
        .statusCode());
    HttpResponse<String> first = post("/api/v1/runs/nan1/snapshots", mlp(0, "1.5", false), TOKEN);
    assertEquals(202, first.statusCode(), first.body());
    for (long step = 10; step <= 30; step += 10) {
      // the loss as a string, or bare as Python's json.dumps writes it (not strict JSON, but what clients send)
      HttpResponse<String> r = post("/api/v1/runs/nan1/snapshots", mlp(step, step == 20 ? "NaN" : "\"NaN\"", true),
          TOKEN);
      // the weights are still refused with the one line naming the array and index, and the answer says stop
      assertLine(r, 400, "snapshot: layer W0: array W0 holds NaN at flat index 0; expected finite numbers");
      JsonNode body = JSON.readTree(r.body());
      assertTrue(body.get("stop").asBoolean(), r.body());
      assertTrue(body.get("reason").asText().contains("divergence"), r.body());
      assertTrue(body.get("alerts").toString().contains("divergence"), r.body());
      assertEquals(step, body.get("step").asLong(), r.body());
    }
    // the refused step is the run's last: the step-order check sees it
    assertLine(post("/api/v1/runs/nan1/snapshots", mlp(30, "1.0", false), TOKEN), 409,
        "has already received step 30");
    Path events = tmp.resolve("nan1").resolve("events.jsonl");
    String alerts = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        s -> s.contains("\"rule\":\"divergence\""));
    String firing = alerts.lines().filter(l -> l.contains("\"rule\":\"divergence\"")).findFirst().orElseThrow();
    assertTrue(firing.contains("alert_firing") && firing.contains("\"severity\":\"critical\"")
        && firing.contains("step 10") && firing.contains("array W0 holds NaN at flat index 0"), firing);
    assertEquals(1, alerts.lines().filter(l -> l.contains("\"rule\":\"divergence\"")).count(), alerts);
    HttpResponse<String> fin = post("/api/v1/runs/nan1/finish", new byte[0], TOKEN);
    assertEquals(202, fin.statusCode(), fin.body());
    assertTrue(JSON.readTree(fin.body()).get("stop").asBoolean(), fin.body());
    String end = waitFor(() -> Files.readString(events), s -> s.contains("run_finished"));
    assertTrue(end.contains("\"steps\":30"), end);
    // the in-process divergence stop marks the run; its series linger on the monitor's /metrics after its end
    String stopped = "splinewatch_run_stopped_early{dataset=\"toy\",method=\"supervised\",rule=\"divergence\","
        + "run=\"nan1\"} 1.0";
    assertTrue(metrics().contains(stopped), metrics());
    // the losses were recorded as training samples, the NaN ones included
    String metrics = Files.readString(tmp.resolve("nan1").resolve("metrics.jsonl"));
    List<String> losses = metrics.lines().filter(l -> l.contains("training_loss\"")).toList();
    assertEquals(4, losses.size(), losses.toString());
    assertTrue(metrics.lines().anyMatch(l -> l.contains("training_learning_rate\"") && l.contains("\"step\":30")),
        metrics);
  }

  @Test
  void aFinishedRunRecordsPerAnalyzerCoverageOfItsOwnSnapshots() throws Exception {
    // runs on one monitor, ended each its way: each run_finished counts its own snapshots only
    Map<String, Integer> sent = Map.of("cov1", 3, "cov2", 2, "cov3", 4);
    Map<String, String> status = Map.of("cov1", "done", "cov2", "failed", "cov3", "interrupted");
    for (String id : sent.keySet()) {
      assertEquals(201, post("/api/v1/runs", TestNpz.run(id, 20, 8, 4, ""), TOKEN).statusCode());
    }
    for (String id : sent.keySet()) {
      for (int i = 0; i < sent.get(id); i++) {
        HttpResponse<String> r = post("/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(i + 1, 8, 4),
            i * 10L, 1.0, -1).bytes(), TOKEN);
        assertEquals(202, r.statusCode(), r.body());
      }
    }
    // a refused snapshot is not offered to the analyzers
    assertEquals(400, post("/api/v1/runs/cov1/snapshots", mlp(100, "\"NaN\"", true), TOKEN).statusCode());
    for (String id : sent.keySet()) {
      assertEquals(202, post("/api/v1/runs/" + id + "/finish", ("{\"status\": \"" + status.get(id) + "\"}")
          .getBytes(), TOKEN).statusCode());
    }
    for (String id : sent.keySet()) {
      Path dir = tmp.resolve(id);
      String events = waitFor(() -> Files.isRegularFile(dir.resolve("report.html"))
          ? Files.readString(dir.resolve("events.jsonl")) : "", e -> e.contains("run_finished"));
      JsonNode end = JSON.readTree(events.lines().filter(l -> l.contains("\"run_finished\"")).findFirst()
          .orElseThrow());
      assertEquals(status.get(id), end.get("status").asText(), end.toString());
      JsonNode coverage = end.get("analysed_snapshots");
      assertTrue(coverage != null && coverage.isObject(), end.toString());
      assertEquals(List.of("embedding", "regions"), iterable(coverage.fieldNames()), end.toString());
      String metrics = Files.readString(dir.resolve("metrics.jsonl"));
      for (String analyzer : List.of("embedding", "regions")) {
        JsonNode c = coverage.get(analyzer);
        long analysed = metrics.lines().filter(l -> l.contains("analysis_seconds\"")
            && l.contains("\"analyzer\":\"" + analyzer + "\"")).count();
        assertEquals(sent.get(id).longValue(), c.get("offered").asLong(), end.toString());
        assertEquals(analysed, c.get("analysed").asLong(), end.toString());
        assertTrue(analysed >= 1 || !status.get(id).equals("done"), end.toString());
        assertEquals(c.get("offered").asLong(), analysed + c.path("dropped").asLong() + c.path("failed").asLong()
            + c.path("unanalysed").asLong(), end.toString());
      }
    }
  }

  private static List<String> iterable(java.util.Iterator<String> names) {
    List<String> out = new ArrayList<>();
    names.forEachRemaining(out::add);
    return out;
  }

  @Test
  void aClassifierFlagThatIsNotABooleanIsRefused() throws Exception {
    for (String v : new String[] {"\"yes\"", "0"}) {
      assertLine(post("/api/v1/runs", TestNpz.run("c" + v.length(), 20, 8, 4, ", \"classifier\": " + v), TOKEN), 400,
          "run registration: classifier is " + v + "; expected true or false");
    }
    assertEquals(201, post("/api/v1/runs", TestNpz.run("c9", 20, 8, 4, ", \"classifier\": true"), TOKEN)
        .statusCode());
  }

  @Test
  void aFinishReasonThatIsNotAStringIsRefusedAndTheRunCanStillFinish() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("f1", 20, 8, 4, ""), TOKEN).statusCode());
    assertLine(post("/api/v1/runs/f1/finish", "{\"status\": \"failed\", \"reason\": {\"x\": 1}}".getBytes(),
        TOKEN), 400, "finish reason is an object; expected a string or null");
    assertLine(post("/api/v1/runs/f1/finish", "{\"status\": \"failed\", \"reason\": 3}".getBytes(), TOKEN), 400,
        "finish reason is a number; expected a string or null");
    assertLine(post("/api/v1/runs/f1/finish", "{\"statu\": \"failed\"}".getBytes(), TOKEN), 400,
        "finish request has the key 'statu'; expected only status, reason and step");
    // the refused request did not end the run: a proper one does, with its reason
    HttpResponse<String> fin = post("/api/v1/runs/f1/finish", "{\"status\": \"failed\", \"reason\": \"oom\"}"
        .getBytes(), TOKEN);
    assertEquals(202, fin.statusCode(), fin.body());
    Path events = tmp.resolve("f1").resolve("events.jsonl");
    String end = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        s -> s.contains("run_finished"));
    assertTrue(end.contains("\"reason\":\"oom\""), end);
  }

  /** A request with {@code declared} bytes of Content-Length of which only {@code sent} are sent, left open. */
  private Socket partialBody(String path, int declared, int sent) throws IOException {
    Socket s = new Socket("127.0.0.1", server.metricsPort());
    s.setSoTimeout(60_000);
    OutputStream o = s.getOutputStream();
    o.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + server.metricsPort() + "\r\nAuthorization: Bearer "
        + TOKEN + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + declared + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    o.write(new byte[sent]);
    o.flush();
    return s;
  }

  @Test
  void aTruncatedBodyIsABadRequestNotOneOverTheLimit() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("t1", 20, 8, 4, ""), TOKEN).statusCode());
    try (Socket s = partialBody("/api/v1/runs/t1/snapshots", 100_000, 1024)) {
      s.shutdownOutput(); // the client gives up half-way
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertTrue(answer.contains("the request body ended after 1024 of 100000 bytes"), answer);
    }
    assertEquals(202, post("/api/v1/runs/t1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
        TOKEN).statusCode());
  }

  @Test
  void aBodyWithAContentEncodingIsRefusedNamingIt() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("g1", 20, 8, 4, ""), TOKEN).statusCode());
    byte[] snapshot = TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes();
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(gz)) {
      z.write(snapshot);
    }
    // a gzipped .npz was read as it came: "snapshot is empty or not a .npz (zip) archive; expected numpy.savez output"
    HttpResponse<String> gzipped = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs/g1/snapshots"))
        .header("Authorization", "Bearer " + TOKEN).header("Content-Encoding", "gzip")
        .POST(HttpRequest.BodyPublishers.ofByteArray(gz.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
    assertLine(gzipped, 415, "snapshot body has Content-Encoding gzip, which the monitor does not decode; expected the"
        + " body as it is, without Content-Encoding (numpy.savez_compressed compresses the arrays inside the .npz)");
    HttpResponse<String> registration = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs"))
        .header("Authorization", "Bearer " + TOKEN).header("Content-Encoding", "br")
        .POST(HttpRequest.BodyPublishers.ofByteArray(TestNpz.run("g2", 20, 8, 4, ""))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertLine(registration, 415, "registration body has Content-Encoding br");
    // identity is no encoding; the run takes the snapshot as it is
    HttpResponse<String> plain = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs/g1/snapshots"))
        .header("Authorization", "Bearer " + TOKEN).header("Content-Encoding", "identity")
        .POST(HttpRequest.BodyPublishers.ofByteArray(snapshot)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(202, plain.statusCode(), plain.body());
  }

  @Test
  void bodiesBeyondTheBytesInFlightWaitWith503AndRetryAfter() throws Exception {
    // the held request stalls: it keeps its bytes for up to the stall timeout, longer than this test takes
    start(Map.of("splinewatch.ingest.max-bytes-in-flight", 300_000, "splinewatch.ingest.max-run-bytes", 200_000,
        "splinewatch.ingest.body-stall-timeout", "5m"));
    assertEquals(201, post("/api/v1/runs", TestNpz.run("b1", 20, 8, 4, ""), TOKEN).statusCode());
    byte[] other = new byte[160_000];
    try (Socket held = partialBody("/api/v1/runs/b1/snapshots", 150_000, 1000)) {
      // 150,000 declared bytes are held until that request ends: 160,000 more do not fit in 300,000. Wait until the
      // held request has reserved them: a body routed before it would take the room and leave it the one refused.
      waitFor(() -> metrics(), m -> m.contains("splinewatch_ingest_in_flight_bytes 150000.0"));
      String last;
      try {
        last = waitFor(() -> {
          HttpResponse<String> r = post("/api/v1/runs/b1/snapshots", other, TOKEN);
          return r.statusCode() + " " + r.headers().firstValue("Retry-After").orElse("-") + " " + r.body();
        }, b -> b.startsWith("503"));
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; the held request was answered: " + answerSoFar(held), e);
      }
      assertTrue(last.startsWith("503 1 ") && last.contains("splinewatch.ingest.max-bytes-in-flight")
          && last.strip().lines().count() == 1, last);
      // a chunked body (no Content-Length) counts as it arrives
      HttpResponse<String> chunked = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/runs/b1/snapshots"))
          .header("Authorization", "Bearer " + TOKEN)
          .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(other))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertLine(chunked, 503, "max-bytes-in-flight");
      assertTrue(metrics().contains("splinewatch_ingest_busy_total 2.0"), metrics());
      // a body that fits beside the held one is taken
      assertEquals(202, post("/api/v1/runs/b1/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1).bytes(),
          TOKEN).statusCode());
    }
    // the held bytes are released when its client goes away
    waitFor(() -> String.valueOf(post("/api/v1/runs/b1/snapshots", other, TOKEN).statusCode()), "400"::equals);
  }

  @Test
  void aRunIdWhoseDirectoryARunningTrainerHoldsIsTaken() throws Exception {
    // a ./trainer on the monitor's --out with this run id, still loading its data set: no files there yet
    try (org.splinewatch.metrics.RunLock trainer = org.splinewatch.metrics.RunLock.acquire(tmp.resolve("k1"))) {
      HttpResponse<String> r = post("/api/v1/runs", TestNpz.run("k1", 20, 8, 4, ""), TOKEN);
      assertLine(r, 409, "run directory " + tmp.resolve("k1") + " is in use by a run that is running now");
      try (var files = Files.list(tmp.resolve("k1"))) {
        assertEquals(List.of(org.splinewatch.metrics.RunLock.FILE), files.map(f -> f.getFileName().toString())
            .toList(), "the monitor wrote nothing there");
      }
    }
    // once that run has gone, the id is free (its directory, empty, went with it)
    assertEquals(201, post("/api/v1/runs", TestNpz.run("k1", 20, 8, 4, ""), TOKEN).statusCode());
  }

  @Test
  void aBodyThatStallsIsAnsweredAndLetsGoOfItsBytesInFlight() throws Exception {
    start(Map.of("splinewatch.ingest.max-bytes-in-flight", 300_000, "splinewatch.ingest.max-run-bytes", 200_000,
        "splinewatch.ingest.body-stall-timeout", "1s"));
    assertEquals(201, post("/api/v1/runs", TestNpz.run("s1", 20, 8, 4, ""), TOKEN).statusCode());
    // 150,000 declared, 1,000 sent, then nothing: the declared bytes were held until the connection's idle timeout
    try (Socket stalled = partialBody("/api/v1/runs/s1/snapshots", 150_000, 1000)) {
      String answer = waitFor(() -> answerSoFar(stalled), a -> a.startsWith("HTTP/1.1"));
      assertTrue(answer.startsWith("HTTP/1.1 408") && answer.contains("no byte of the request body arrived for 1 s"
          + " after 1000 of 150000 bytes; expected the whole body without such a pause"
          + " (splinewatch.ingest.body-stall-timeout)"), answer);
      String m = waitFor(() -> metrics(), x -> x.contains("splinewatch_ingest_in_flight_bytes 0.0"));
      assertTrue(m.contains("splinewatch_ingest_stalled_total 1.0"), m);
      // 160,000 more bytes did not fit beside its 150,000 (503); now they are read, and refused as no .npz (400)
      HttpResponse<String> other = post("/api/v1/runs/s1/snapshots", new byte[160_000], TOKEN);
      assertEquals(400, other.statusCode(), other.body());
    }
  }

  @Test
  void aFinishWithoutStatusAfterAStopIsRecordedAsStopped() throws Exception {
    for (String id : List.of("e1", "e2", "e3")) {
      assertEquals(201, post("/api/v1/runs", TestNpz.run(id, 20, 8, 4, ""), TOKEN).statusCode());
      assertEquals(202, post("/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 1.0, -1)
          .bytes(), TOKEN).statusCode());
    }
    // e1 and e3 are asked to stop (the control endpoint); e2 is not
    for (String id : List.of("e1", "e3")) {
      String alert = "{\"version\": \"4\", \"alerts\": [{\"status\": \"firing\", \"labels\": {\"alertname\": \"X\","
          + " \"severity\": \"critical\", \"rule\": \"std_collapse\", \"run\": \"" + id + "\"},"
          + " \"annotations\": {\"summary\": \"test stop\"}}]}";
      assertEquals(202, post("/api/v1/alerts", alert.getBytes(), TOKEN).statusCode());
      JsonNode a = JSON.readTree(post("/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(2, 8, 4), 10,
          1.0, -1).bytes(), TOKEN).body());
      assertTrue(a.get("stop").asBoolean(), a.toString());
    }
    // no status: an empty body (e1, e2) or a JSON object without one (e3)
    Map<String, byte[]> bodies = Map.of("e1", new byte[0], "e2", new byte[0], "e3", "{\"reason\": null}".getBytes());
    for (String id : List.of("e1", "e2", "e3")) {
      HttpResponse<String> fin = post("/api/v1/runs/" + id + "/finish", bodies.get(id), TOKEN);
      assertEquals(202, fin.statusCode(), fin.body());
      assertEquals(id.equals("e2") ? "done" : "stopped", JSON.readTree(fin.body()).get("status").asText(), fin.body());
    }
    for (String id : List.of("e1", "e2", "e3")) {
      Path events = tmp.resolve(id).resolve("events.jsonl");
      String all = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
          e -> e.contains("run_finished"));
      JsonNode end = JSON.readTree(all.lines().filter(l -> l.contains("\"run_finished\"")).findFirst().orElseThrow());
      if (id.equals("e2")) {
        assertEquals("done", end.get("status").asText(), end.toString());
        assertEquals(0, end.get("exit_code").asInt(), end.toString());
      } else {
        assertEquals("stopped", end.get("status").asText(), end.toString());
        assertEquals(3, end.get("exit_code").asInt(), end.toString());
        assertTrue(end.get("reason").asText().contains("test stop"), end.toString());
      }
    }
  }

  @Test
  void aRunWithoutSnapshotsSaysStepZeroInItsFinishAnswerAndItsRunFinished() throws Exception {
    assertEquals(201, post("/api/v1/runs", TestNpz.run("z1", 20, 8, 4, ""), TOKEN).statusCode());
    HttpResponse<String> fin = post("/api/v1/runs/z1/finish", "{\"status\": \"done\"}".getBytes(), TOKEN);
    assertEquals(202, fin.statusCode(), fin.body());
    assertEquals(0, JSON.readTree(fin.body()).get("step").asLong(-1), fin.body());
    assertTrue(JSON.readTree(fin.body()).get("step").isIntegralNumber(), fin.body());
    Path events = tmp.resolve("z1").resolve("events.jsonl");
    String all = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        e -> e.contains("run_finished"));
    JsonNode end = JSON.readTree(all.lines().filter(l -> l.contains("\"run_finished\"")).findFirst().orElseThrow());
    assertEquals(JSON.readTree(fin.body()).get("step"), end.get("steps"), fin.body() + " vs " + end);
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
    throw new AssertionError("condition not met within 60 s; last: " + shown(last));
  }

  /** A value for a failure message: the labelled lines of a metrics page, else its start. */
  private static String shown(String last) {
    List<String> labelled = last.lines().filter(l -> l.contains("run=")).limit(30).toList();
    return labelled.isEmpty() ? last.substring(0, Math.min(last.length(), 600)) : labelled.toString();
  }

  /** What the server has sent back on {@code s} so far, waiting at most a second; for failure messages. */
  private static String answerSoFar(Socket s) {
    try {
      s.setSoTimeout(1000);
      byte[] b = new byte[2000];
      int n = s.getInputStream().read(b);
      return n < 0 ? "(connection closed, nothing sent)" : new String(b, 0, n, StandardCharsets.UTF_8);
    } catch (java.net.SocketTimeoutException e) {
      return "(nothing yet)";
    } catch (IOException e) {
      return "(" + e + ")";
    }
  }
}
