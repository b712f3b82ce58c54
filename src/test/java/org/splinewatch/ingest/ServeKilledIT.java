package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * {@code ./monitor serve} killed with SIGKILL while a run streams to it over HTTP, then started again on the same
 * {@code --out} and port, as a user would: the new monitor marks the run it finds without an end as interrupted (and
 * no other run), a snapshot to it is answered 404 with how to resume, and the run's client, registering it again with
 * its resume key, goes on in the same directory: its files appended to, never rewritten, its steps after the last
 * one recorded. The restarted monitor keeps the control token the killed one wrote, so a client given it by value
 * follows, writes the marked run's report and records how many of its snapshots were analysed.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServeKilledIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TORN = "{\"name\":\"splinewatch_training_st";

  @TempDir
  Path tmp;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
  }

  private Process serve(Path out, int port, Path log) throws Exception {
    Path config = tmp.resolve("serve.conf");
    // embedding only, at normal priority: SCHED_IDLE analysis may wait for minutes on a busy machine
    Files.writeString(config, "splinewatch.analysis.enabled = [embedding]\n"
        + "splinewatch-analysis-dispatcher.executor = thread-pool-executor\n");
    Process p = new ProcessBuilder(TestTools.mainCommand("-Xmx512m", "monitor", "serve", "--port", "0",
        "--metrics-port", String.valueOf(port), "--out", out.toString(), "--config", config.toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(p);
    for (int i = 0; i < 1200 && !Files.readString(log).contains("trainers join with"); i++) {
      assertTrue(p.isAlive(), "the monitor exited early: " + Files.readString(log));
      Thread.sleep(100);
    }
    assertTrue(Files.readString(log).contains("trainers join with"), Files.readString(log));
    return p;
  }

  private static HttpResponse<String> post(int port, String path, byte[] body, Path out) throws Exception {
    String token = Files.readString(out.resolve("control-token")).strip();
    return ServedMonitor.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private static byte[] snapshot(long step) {
    return TestNpz.snapshot(TestNpz.cnn(step + 1, 8, 4), step, 2.0 - step / 100.0, -1).bytes();
  }

  private static List<JsonNode> lifecycle(Path dir) throws Exception {
    List<JsonNode> events = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("events.jsonl"))) {
      JsonNode e = JSON.readTree(line);
      if (List.of("run_finished", "run_resumed").contains(e.path("type").asText())) {
        events.add(e);
      }
    }
    return events;
  }

  private static List<Long> trainingSteps(Path metrics) throws Exception {
    List<Long> steps = new ArrayList<>();
    for (String line : Files.readAllLines(metrics)) {
      if (line.equals(TORN)) {
        continue;
      }
      JsonNode s = JSON.readTree(line); // every other line parses: the torn one was ended, not joined to the next
      if (s.get("name").asText().equals("splinewatch_training_step")) {
        steps.add(s.get("step").asLong());
      }
    }
    return steps;
  }

  @Test
  void aKilledMonitorsRunIsMarkedInterruptedAndItsClientResumesItInTheSameDirectory() throws Exception {
    Path out = tmp.resolve("runs");
    int port = TestTools.freePort();
    Process first = serve(out, port, tmp.resolve("serve1.log"));
    // a run that finished before the kill, and one streaming when it comes
    assertEquals(201, post(port, "/api/v1/runs", TestNpz.run("done1", 20, 8, 4, ""), out).statusCode());
    assertEquals(202, post(port, "/api/v1/runs/done1/snapshots", snapshot(0), out).statusCode());
    assertEquals(202, post(port, "/api/v1/runs/done1/finish", new byte[0], out).statusCode());
    HttpResponse<String> reg = post(port, "/api/v1/runs", TestNpz.run("k1", 20, 8, 4, ""), out);
    assertEquals(201, reg.statusCode(), reg.body());
    String key = JSON.readTree(reg.body()).get("resume_key").asText();
    for (long step : new long[] {0, 10, 20}) {
      assertEquals(202, post(port, "/api/v1/runs/k1/snapshots", snapshot(step), out).statusCode());
    }
    Path dir = out.resolve("k1");
    IngestHttpTest.waitFor(() -> String.valueOf(trainingSteps(dir.resolve("metrics.jsonl"))), "[0, 10, 20]"::equals);
    IngestHttpTest.waitFor(() -> String.valueOf(lifecycle(out.resolve("done1")).size()), "1"::equals);
    String oldToken = Files.readString(out.resolve("control-token")).strip();
    first.destroyForcibly(); // SIGKILL: no shutdown hook, no run_finished
    assertTrue(first.waitFor(30, TimeUnit.SECONDS));
    assertEquals(List.of(), lifecycle(dir), "the gap: a killed monitor leaves its runs without an end");
    // the analyses written before the kill: the third snapshot's may not be
    long analysed = Files.readAllLines(dir.resolve("metrics.jsonl")).stream()
        .filter(l -> l.contains("\"splinewatch_analysis_seconds\"")).count();
    // the monitor was killed in the middle of a line
    Files.writeString(dir.resolve("metrics.jsonl"), TORN, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    String metrics = Files.readString(dir.resolve("metrics.jsonl"));
    JsonNode config = JSON.readTree(dir.resolve("config.json").toFile());
    // a directory of ./trainer --monitor left without an end: not the HTTP ingestion's to mark
    Path trainer = Files.createDirectories(out.resolve("trainer1"));
    Files.writeString(trainer.resolve("config.json"), "{\"run_id\": \"trainer1\"}");

    Path log = tmp.resolve("serve2.log");
    Process second = serve(out, port, log);
    assertTrue(Files.readString(log).contains("marked 1 HTTP run(s) that an earlier monitor on " + out + " left"
        + " without an end as interrupted (run_finished in events.jsonl, report.html): k1; a client still sending"
        + " resumes its run"),
        Files.readString(log));
    List<JsonNode> marked = lifecycle(dir);
    assertEquals(1, marked.size(), marked.toString());
    assertEquals("interrupted", marked.get(0).get("status").asText());
    assertEquals(130, marked.get(0).get("exit_code").asInt());
    assertEquals(20, marked.get(0).get("steps").asLong());
    assertEquals(LeftRuns.REASON, marked.get(0).get("reason").asText());
    assertEquals(1, lifecycle(out.resolve("done1")).size(), "a finished run is not marked");
    assertFalse(Files.exists(trainer.resolve("events.jsonl")), "a trainer's run is not marked");
    assertEquals(metrics + "\n", Files.readString(dir.resolve("metrics.jsonl")), "the torn line was ended, kept");
    // of its 3 snapshots, those analysed (embedding) before the kill: the marking records them, and names a loss
    assertEquals("{\"embedding\":{\"analysed\":" + analysed + ",\"offered\":3}}", marked.get(0)
        .get("analysed_snapshots").toString());
    assertEquals(analysed < 3, Files.readString(log).contains("warning: run k1: 3 snapshot(s) recorded since its"
        + " start (or last resume), analysed: embedding " + analysed + "/3;"), Files.readString(log));
    // its report is written, as for a run that ended on the monitor; its status names the marking's reason, and a
    // note the line the kill tore: a known crash loss, which does not make the run incomplete
    IngestHttpTest.waitFor(() -> String.valueOf(Files.isRegularFile(dir.resolve("report.html"))), "true"::equals);
    String report = Files.readString(dir.resolve("report.html"));
    int status = Math.max(0, report.indexOf("class=\"status"));
    assertTrue(report.contains("k1: interrupted at step 20: " + LeftRuns.REASON)
        && report.contains("k1: note: metrics.jsonl line ") && report.contains(" was cut off when the process writing"
        + " it was killed; the run was then marked interrupted: one sample lost, its step cut off"),
        report.substring(status, Math.min(report.length(), status + 600)));

    // the client's next snapshot, with the token it was given: the restarted monitor kept it, and finds the run
    // unknown here
    assertEquals(oldToken, Files.readString(out.resolve("control-token")).strip(), "a new token was written");
    HttpResponse<String> unknown = ServedMonitor.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/api/v1/runs/k1/snapshots")).header("Authorization", "Bearer " + oldToken)
        .POST(HttpRequest.BodyPublishers.ofByteArray(snapshot(30))));
    assertEquals(404, unknown.statusCode(), unknown.body());
    assertTrue(unknown.body().contains("this monitor started after an earlier one on its --out stopped without"
        + " ending the run, and marked it interrupted; register it again with its resume_key"), unknown.body());
    assertEquals(409, post(port, "/api/v1/runs", TestNpz.run("k1", 20, 8, 4, ""), out).statusCode());
    HttpResponse<String> resumed = post(port, "/api/v1/runs", TestNpz.run("k1", 20, 8, 4, ", \"resume_key\": \""
        + key + "\""), out);
    assertEquals(201, resumed.statusCode(), resumed.body());
    assertEquals(20, JSON.readTree(resumed.body()).get("last_step").asLong(), resumed.body());
    for (long step : new long[] {30, 40}) {
      HttpResponse<String> r = post(port, "/api/v1/runs/k1/snapshots", snapshot(step), out);
      assertEquals(202, r.statusCode(), r.body());
    }
    assertEquals(202, post(port, "/api/v1/runs/k1/finish", new byte[0], out).statusCode());
    IngestHttpTest.waitFor(() -> Files.isRegularFile(dir.resolve("report.html")) ? String.valueOf(lifecycle(dir)
        .size()) : "", "3"::equals);

    assertTrue(Files.readString(dir.resolve("metrics.jsonl")).startsWith(metrics + "\n"), "appended, not rewritten");
    assertEquals(List.of(0L, 10L, 20L, 30L, 40L), trainingSteps(dir.resolve("metrics.jsonl")));
    List<JsonNode> ends = lifecycle(dir);
    assertEquals("run_resumed", ends.get(1).get("type").asText());
    assertEquals(20, ends.get(1).get("step").asLong());
    assertEquals("done", ends.get(2).get("status").asText());
    assertEquals(40, ends.get(2).get("steps").asLong());
    assertEquals(config.get("started"), JSON.readTree(dir.resolve("config.json").toFile()).get("started"));
    second.destroy();
    assertTrue(second.waitFor(60, TimeUnit.SECONDS), Files.readString(log));
  }
}
