package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * The live page's answers of only what was written since an earlier answer ({@code /api/runs/<id>?after=<cursor>}):
 * the samples appended since, in the charts they belong to, including an analysis' sample of an earlier step; nothing
 * when nothing was appended; everything again where the run was read afresh since (a resume drops samples already
 * sent); a cursor that is not one is a 400 naming what was expected.
 */
class LivePageDeltaTest {
  /** The title of a simclr run's loss chart (one per method: ReportWriter.lossTitle). */
  private static final String LOSS = "Training loss, simclr: NT-Xent (InfoNCE)";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path out;
  private ActorSystem<Void> system;
  private MetricsHttpServer http;
  private RunLog log;

  @BeforeEach
  void start() {
    system = ActorSystem.create(Behaviors.empty(), "live-page-delta");
    http = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "127.0.0.1", 0,
        LivePage.route(out, "r"), MetricsHttpServer.AllowedHosts.loopbackAnd(List.of()));
    RunLog.writeConfig(out.resolve("r"), Map.of("run_id", "r", "method", "simclr", "dataset", "mnist"));
    log = new RunLog(out.resolve("r"));
  }

  @AfterEach
  void stop() {
    log.close();
    http.stop();
    system.terminate();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode answer(String path) throws Exception {
    HttpResponse<String> r = get(path);
    assertEquals(200, r.statusCode(), r.body());
    return JSON.readTree(r.body());
  }

  private void append(Sample... samples) {
    log.append(List.of(samples), Map.of("run", "r"));
    log.sync();
  }

  /** Chart title to {steps, values of its one series}. */
  private static Map<String, List<String>> charts(JsonNode answer) {
    Map<String, List<String>> charts = new java.util.TreeMap<>();
    for (JsonNode c : answer.get("charts")) {
      List<String> points = new ArrayList<>();
      for (int i = 0; i < c.get("x").size(); i++) {
        points.add(c.get("x").get(i).asLong() + "=" + c.get("series").get(0).get("values").get(i).asDouble());
      }
      charts.put(c.get("title").asText(), points);
    }
    return charts;
  }

  /** The layer's view steps of {@code /api/runs/r/embeddings}. */
  private List<Long> viewSteps() throws Exception {
    List<Long> steps = new ArrayList<>();
    answer("/api/runs/r/embeddings").get(0).get("steps").forEach(x -> steps.add(x.asLong()));
    return steps;
  }

  private void view(long step) throws Exception {
    Files.writeString(Files.createDirectories(out.resolve("r/embeddings")).resolve(String.format(
        "repr-step-%08d.json", step)), "{\"step\":" + step + ",\"layer\":\"repr\",\"labels\":[1],\"xy\":[[0,0]]}");
  }

  @Test
  void theEmbeddingViewsOfAResumedRunAreThoseOfItsTrajectory() throws Exception {
    for (long step : new long[] {0, 100, 200}) {
      append(Sample.of(MetricFamily.TRAINING_LOSS, 2.0, step), Sample.of(MetricFamily.EMBEDDING_RANKME, 5.0, step,
          "layer", "repr"));
      view(step);
    }
    assertEquals(List.of(0L, 100L, 200L), viewSteps());
    assertEquals(404, get("/api/runs/nosuch/embeddings").statusCode());
    // resumed from the checkpoint of step 0 (best): the resumed segment has drawn step 100 again, not yet 200
    Thread.sleep(5);
    RunLog.appendEvent(out.resolve("r"), Map.of("type", "run_resumed", "step", 0, "time", System.currentTimeMillis()));
    Thread.sleep(5);
    append(Sample.of(MetricFamily.TRAINING_LOSS, 1.9, 100), Sample.of(MetricFamily.EMBEDDING_RANKME, 4.0, 100,
        "layer", "repr"));
    view(100);
    assertEquals(List.of(0L, 100L), viewSteps(), "step 200's view is the left trajectory's");
  }

  /**
   * The embedding views of a resumed run are decided from the run's cached reader while the page's polls refresh that
   * reader from other threads: every answer is whole (no 500 from a reader changed under it).
   */
  @Test
  void aResumedRunsEmbeddingViewsAnswerWhileThePageRefreshesTheRun() throws Exception {
    List<Sample> many = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      many.add(Sample.of(MetricFamily.EMBEDDING_RANKME, 5.0, 0, "layer", "l" + i));
    }
    append(many.toArray(Sample[]::new));
    view(0);
    RunLog.appendEvent(out.resolve("r"), Map.of("type", "run_resumed", "step", 0, "time", System.currentTimeMillis()));
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    Thread views = new Thread(() -> {
      try {
        while (!done.get()) {
          HttpResponse<String> r = get("/api/runs/r/embeddings");
          if (r.statusCode() != 200) {
            failures.add(r.statusCode() + " " + r.body());
          }
        }
      } catch (Exception e) {
        failures.add(e.toString());
      }
    });
    views.start();
    try {
      // the page's polls, each after a new series was written (a reader's new series)
      for (int i = 0; i < 400 && failures.isEmpty(); i++) {
        append(Sample.of(MetricFamily.EMBEDDING_RANKME, 5.0, 0, "layer", "n" + i));
        assertEquals(200, get("/api/runs/r").statusCode());
      }
    } finally {
      done.set(true);
      views.join();
    }
    assertEquals(List.of(), failures);
  }

  @Test
  void anAnswerAfterACursorHoldsOnlyWhatWasWrittenSince() throws Exception {
    append(Sample.of(MetricFamily.TRAINING_LOSS, 2.0, 10), Sample.of(MetricFamily.TRAINING_LOSS, 1.5, 20));
    JsonNode first = answer("/api/runs/r");
    assertFalse(first.get("delta").asBoolean());
    assertEquals(Map.of(LOSS, List.of("10=2.0", "20=1.5")), charts(first));

    // training moves on to step 30, then the analysis of the snapshot of step 10 finishes: a sample of an earlier step
    append(Sample.of(MetricFamily.TRAINING_LOSS, 1.2, 30));
    append(Sample.of(MetricFamily.KNN_ACCURACY_RATIO, 0.7, 10, "layer", "repr"));
    JsonNode second = answer("/api/runs/r?after=" + first.get("cursor").asText());
    assertTrue(second.get("delta").asBoolean());
    assertEquals(Map.of(LOSS, List.of("30=1.2"), "kNN (probe) accuracy", List.of("10=0.7")),
        charts(second));
    assertEquals(30, second.get("lastStep").asLong(), "the run's last step, not the delta's");

    JsonNode third = answer("/api/runs/r?after=" + second.get("cursor").asText());
    assertTrue(third.get("delta").asBoolean());
    assertEquals(0, third.get("charts").size(), "nothing was written since");
    assertEquals(second.get("cursor").asText(), third.get("cursor").asText());

    // a resume from the checkpoint of step 20 drops step 30 of the abandoned trajectory: all of the run again
    // (the samples' clock tells the trajectories apart: the abandoned one's step 30 before the resume, the new one's
    // after it, as seconds apart in a real resume)
    Thread.sleep(5);
    RunLog.appendEvent(out.resolve("r"), Map.of("type", "run_resumed", "step", 20, "time", System.currentTimeMillis()));
    Thread.sleep(5);
    append(Sample.of(MetricFamily.TRAINING_LOSS, 1.3, 30));
    JsonNode resumed = answer("/api/runs/r?after=" + third.get("cursor").asText());
    assertFalse(resumed.get("delta").asBoolean());
    assertEquals(List.of("10=2.0", "20=1.5", "30=1.3"), charts(resumed).get(LOSS));

    // a cursor of more samples than the run has is of another reading of the run (a directory written again)
    JsonNode later = answer("/api/runs/r?after=1.1.999999");
    assertFalse(later.get("delta").asBoolean());
  }

  @Test
  void aFinishedRunsAnswerHasTheReportsStatusAndItsNotes() throws Exception {
    append(Sample.of(MetricFamily.TRAINING_LOSS, 2.0, 10));
    assertEquals("", answer("/api/runs/r").get("status").asText(), "a running run: no status yet");
    // a run a killed monitor left: its last line torn, then ended and marked interrupted by the next monitor
    Path m = out.resolve("m");
    try (RunLog left = new RunLog(m)) {
      RunLog.writeConfig(m, Map.of("run_id", "m", "method", "simclr", "dataset", "mnist"));
      left.append(List.of(new Sample("splinewatch_training_loss", Map.of(), 1.0, 9, 1000)), Map.of("run", "m"));
    }
    Files.writeString(m.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":10,",
        java.nio.file.StandardOpenOption.APPEND);
    RunLog.endTornLines(m);
    RunLog.appendEvent(m, Map.of("type", "run_finished", "status", "interrupted", "steps", 9, "reason",
        "the monitor stopped without ending this run", "time", 2000));
    JsonNode a = answer("/api/runs/m");
    assertEquals("interrupted at step 9: the monitor stopped without ending this run; not"
        + " checked for metrics cut short: run_finished records no analysed snapshots and no last training step (a run"
        + " without analyzers that ./trainer did not end done itself: a --monitor or HTTP run, one stopped early or"
        + " failed, or one of an earlier release)", a.get("status").asText());
    assertEquals("metrics.jsonl line 2 was cut off when the process writing it was killed; the run was then marked"
        + " interrupted: one sample of step 10 lost", a.get("notes").get(0).asText());
    String page = get("/").body();
    assertTrue(page.contains("<p id=\"status\"></p>") && page.contains("data.status"), "the page shows them");
  }

  @Test
  void aCursorThatIsNotOneIsABadRequest() throws Exception {
    append(Sample.of(MetricFamily.TRAINING_LOSS, 2.0, 10));
    for (String bad : List.of("abc", "1.0", "-1.0.3", "1.0.3x", "")) {
      HttpResponse<String> r = get("/api/runs/r?after=" + bad);
      assertEquals(400, r.statusCode(), bad);
      assertEquals(1, r.body().strip().lines().count(), r.body());
      assertTrue(r.body().startsWith("after: '" + bad + "' is not a cursor; expected the cursor field of an earlier"
          + " answer"), r.body());
    }
  }

  /** A run {@code id} of {@code steps} loss samples. */
  private Path run(String id, int steps) {
    RunLog.writeConfig(out.resolve(id), Map.of("run_id", id, "method", "simclr", "dataset", "mnist"));
    RunLog l = new RunLog(out.resolve(id));
    List<Sample> samples = new ArrayList<>();
    for (int step = 1; step <= steps; step++) {
      samples.add(Sample.of(MetricFamily.TRAINING_LOSS, 1.0 / step, step));
    }
    l.append(samples, Map.of("run", id));
    l.close();
    return out.resolve(id);
  }

  @Test
  void theCachedReadersHoldAtMostTheirBudgetBesidesTheRunJustRead() throws Exception {
    // 1,000 samples a run: 32 kB of arrays (1,021 points with the growth's headroom)
    Path a = run("a", 1000);
    Path b = run("b", 1000);
    Path c = run("c", 1000);
    LivePage.Cache small = new LivePage.Cache(50_000);
    Object whole = JSON.valueToTree(small.data(a, Optional.empty())).get("charts");
    small.data(b, Optional.empty());
    assertEquals(Set.of(b), small.held(), "a and b together are over the budget");
    small.data(c, Optional.empty());
    assertEquals(Set.of(c), small.held());
    // a was dropped: read afresh, it answers as before
    assertEquals(whole, JSON.valueToTree(small.data(a, Optional.empty())).get("charts"));
    assertEquals(Set.of(a), small.held());

    LivePage.Cache tiny = new LivePage.Cache(1_000);
    tiny.data(a, Optional.empty());
    assertEquals(Set.of(a), tiny.held(), "the run just read stays, even over the budget on its own");

    // least recently read, not least recently added: a, read again, outlives b
    LivePage.Cache large = new LivePage.Cache(1L << 30);
    List<Path> runs = new ArrayList<>(List.of(a, b, c, a));
    for (int i = 0; i < 6; i++) {
      runs.add(run("s" + i, 3));
    }
    for (Path dir : runs) {
      large.data(dir, Optional.empty());
    }
    assertEquals(8, large.held().size(), "at most eight runs");
    assertTrue(large.held().contains(a), "a was read after b and c");
    assertFalse(large.held().contains(b), "the least recently read went first");
  }

  @Test
  void theRunListReadsARunAgainOnlyWhenItsFilesChanged() throws Exception {
    run("a", 10);
    run("b", 20);
    LivePage.Summaries summaries = new LivePage.Summaries();
    List<Map<String, Object>> first = LivePage.runs(out, id -> false, summaries);
    long read = summaries.reads(); // a, b and the setup's run r
    assertEquals(3, read);
    assertEquals(first, LivePage.runs(out, id -> false, summaries));
    assertEquals(read, summaries.reads(), "nothing changed: nothing read");

    RunLog more = new RunLog(out.resolve("b"));
    more.append(List.of(Sample.of(MetricFamily.TRAINING_LOSS, 0.5, 25)), Map.of("run", "b"));
    more.close();
    List<Map<String, Object>> after = LivePage.runs(out, id -> false, summaries);
    assertEquals(read + 1, summaries.reads(), "only b was read again");
    assertEquals(25L, ((Number) after.stream().filter(m -> m.get("id").equals("b")).findFirst().orElseThrow()
        .get("step")).longValue());
  }

  /**
   * The run list says how each finished run ended (its last run_finished's status and step), so that the page can
   * tell a run interrupted at step 27 from one that reached its last step: both were listed "finished".
   */
  @Test
  void theRunListSaysHowEachFinishedRunEnded() throws Exception {
    run("done", 10);
    RunLog.appendEvent(out.resolve("done"), Map.of("type", "run_finished", "status", "done", "steps", 10));
    run("cut", 30);
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "run_finished", "status", "interrupted", "steps", 27,
        "reason", "interrupted by SIGTERM"));
    run("running", 5);
    Map<String, Map<String, Object>> byId = new java.util.HashMap<>();
    LivePage.runs(out, id -> id.equals("running"), new LivePage.Summaries())
        .forEach(m -> byId.put((String) m.get("id"), m));
    assertEquals("done", byId.get("done").get("ending"));
    assertEquals(10L, ((Number) byId.get("done").get("endStep")).longValue());
    assertEquals(List.of(true, "interrupted", 27L), List.of(byId.get("cut").get("finished"),
        byId.get("cut").get("ending"), ((Number) byId.get("cut").get("endStep")).longValue()));
    assertEquals("", byId.get("running").get("ending"), "not finished: no ending yet");
  }

  /** A run whose trainer logs every 10 steps, to step {@code last}. */
  private Path loggedTo(String id, int last) {
    RunLog.writeConfig(out.resolve(id), Map.of("run_id", id, "method", "supervised", "dataset", "mnist"));
    RunLog l = new RunLog(out.resolve(id));
    for (int step = 10; step <= last; step += 10) {
      l.append(List.of(Sample.of(MetricFamily.TRAINING_LOSS, 1.0 / step, step),
          Sample.of(MetricFamily.TRAINING_STEP, step, step)), Map.of("run", id));
    }
    l.close();
    return out.resolve(id);
  }

  private static long step(List<Map<String, Object>> runs, String id) {
    return ((Number) runs.stream().filter(m -> m.get("id").equals(id)).findFirst().orElseThrow().get("step"))
        .longValue();
  }

  /**
   * The run list's step is the step the run is at, not its last logged one: a run interrupted at step 27 between the
   * trainer's logged steps 20 and 30 was listed at step 20 beside "interrupted at step 27"; one resumed from step 27
   * is at 27 before it logs again; one resumed from the checkpoint of an earlier step (best) is on its new trajectory,
   * not at the last step of the one it left. The run's own answer has the same step for the page's heading.
   */
  @Test
  void theRunListShowsTheStepTheRunIsAt() throws Exception {
    Path cut = loggedTo("cut", 20);
    RunLog.appendEvent(cut, Map.of("type", "run_finished", "status", "interrupted", "steps", 27,
        "reason", "interrupted by SIGINT"));
    Path resumed = loggedTo("resumed", 20);
    RunLog.appendEvent(resumed, Map.of("type", "run_finished", "status", "interrupted", "steps", 27));
    Thread.sleep(5);
    RunLog.appendEvent(resumed, Map.of("type", "run_resumed", "step", 27, "time", System.currentTimeMillis()));
    Path best = loggedTo("best", 50);
    Thread.sleep(5);
    RunLog.appendEvent(best, Map.of("type", "run_resumed", "step", 20, "time", System.currentTimeMillis()));
    Thread.sleep(5);
    RunLog again = new RunLog(best);
    again.append(List.of(Sample.of(MetricFamily.TRAINING_LOSS, 0.1, 30), Sample.of(MetricFamily.TRAINING_STEP, 30,
        30)), Map.of("run", "best"));
    again.close();
    loggedTo("running", 40);

    List<Map<String, Object>> runs = LivePage.runs(out, id -> false, new LivePage.Summaries());
    assertEquals(List.of(27L, 27L, 30L, 40L), List.of(step(runs, "cut"), step(runs, "resumed"), step(runs, "best"),
        step(runs, "running")));
    assertEquals(27, answer("/api/runs/cut").get("step").asLong());
    assertEquals(20, answer("/api/runs/cut").get("lastStep").asLong(), "the charts' last step stays their own");
    assertEquals(27, answer("/api/runs/resumed").get("step").asLong());
    assertEquals(30, answer("/api/runs/best").get("step").asLong());
  }

  /**
   * A run_finished that records no step (a monitor marked a --monitor run failed when its trainer was killed; it
   * recorded none until this release) is listed, and worded, at the step the run's samples reached: it was "failed
   * at step 0".
   */
  @Test
  void anEndWithoutAStepIsAtTheRunsLastSample() throws Exception {
    Path gone = loggedTo("gone", 300);
    RunLog.appendEvent(gone, Map.of("type", "run_finished", "status", "failed", "exit_code", 1,
        "error", "the trainer's node left the cluster before the run finished here"));
    Map<String, Object> listed = LivePage.runs(out, id -> false, new LivePage.Summaries()).stream()
        .filter(m -> m.get("id").equals("gone")).findFirst().orElseThrow();
    assertEquals(List.of("failed", 300L, 300L), List.of(listed.get("ending"), ((Number) listed.get("endStep"))
        .longValue(), ((Number) listed.get("step")).longValue()));
    String status = answer("/api/runs/gone").get("status").asText();
    assertTrue(status.startsWith("failed at step 300: the trainer's node left"), status);
  }

  /**
   * An active run whose training ended (its client's finish, its trainer's end) while the monitor drains its analyses
   * is listed with how its training ended: for up to the drain timeout it read "active" after its client had finished.
   */
  @Test
  void theRunListSaysWhenAnActiveRunsTrainingEnded() throws Exception {
    loggedTo("draining", 30);
    loggedTo("training", 20);
    List<Map<String, Object>> runs = LivePage.runs(out, id -> !id.equals("r"), id -> id.equals("draining")
        ? "finished training at step 30" : null, new LivePage.Summaries());
    Map<String, Object> byId = new java.util.HashMap<>();
    runs.forEach(m -> byId.put((String) m.get("id"), m.get("trainingEnded")));
    assertEquals(Map.of("draining", "finished training at step 30", "training", "", "r", ""), byId);
  }

  private static Map<String, Object> states(List<Map<String, Object>> runs) {
    Map<String, Object> byId = new java.util.TreeMap<>();
    runs.forEach(m -> byId.put((String) m.get("id"), m.get("state")));
    return byId;
  }

  /**
   * The run list carries each run's state in the words the page shows (ReportWriter's, not worded again in report.js):
   * how a finished run ended, as its status line says without the reason, and an active run's state.
   */
  @Test
  void theRunListWordsEachRunsStateForThePage() throws Exception {
    loggedTo("done", 10);
    RunLog.appendEvent(out.resolve("done"), Map.of("type", "run_finished", "status", "done", "steps", 10));
    loggedTo("cut", 30);
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "run_finished", "status", "interrupted", "steps", 27,
        "reason", "interrupted by SIGTERM"));
    loggedTo("early", 130);
    RunLog.appendEvent(out.resolve("early"), Map.of("type", "run_finished", "status", "stopped", "steps", 121,
        "reason", "collapse alert batch_collapse"));
    loggedTo("broke", 10);
    RunLog.appendEvent(out.resolve("broke"), Map.of("type", "run_finished", "status", "failed", "steps", 7,
        "error", "out of memory"));
    loggedTo("draining", 30);
    assertEquals(Map.of("done", "finished", "cut", "interrupted at step 27", "early", "stopped early at step 121",
        "broke", "failed at step 7", "draining", "analysing its last snapshots (finished training at step 30)", "r",
        "active"), states(LivePage.runs(out, id -> id.equals("r") || id.equals("draining"),
            id -> id.equals("draining") ? "finished training at step 30" : null, new LivePage.Summaries())));
  }

  /**
   * A run that is not this monitor's and has not finished is told apart by its run directory's lock: a plain
   * ./trainer writing into the monitor's --out holds it ("running"); a killed one left its lock file that nobody
   * holds ("not finished (crashed or killed)"); a run without a lock file cannot be told ("incomplete"). Both were
   * "incomplete". Each run's lock is probed at most every 2 s.
   */
  @Test
  void anUnfinishedRunIsRunningWhileAProcessHoldsItsDirectory() throws Exception {
    loggedTo("live", 20);
    loggedTo("killed", 20);
    Files.writeString(out.resolve("killed").resolve(RunLock.FILE), ""); // its process ended without closing it
    loggedTo("old", 20);
    LivePage.Summaries summaries = new LivePage.Summaries();
    try (RunLock held = RunLock.acquire(out.resolve("live"))) {
      assertEquals(Map.of("live", "running", "killed", "not finished (crashed or killed)", "old", "incomplete", "r",
          "active"), states(LivePage.runs(out, "r"::equals, summaries)));
      long probes = summaries.probes();
      assertEquals(3, probes, "the unfinished runs that are not active");
      LivePage.runs(out, "r"::equals, summaries);
      assertEquals(probes, summaries.probes(), "probed again only after 2 s");
    }
  }
}
