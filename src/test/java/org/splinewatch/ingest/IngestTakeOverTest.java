package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.SnapshotFormat;

/**
 * Takeovers the HTTP test cannot time: a registration with the run's resume key that arrives while the metrics node
 * still registers the run (a client's resume sent again after its timeout); and a monitor that begins to stop then.
 * The metrics node's registrations are held back by a gate until the test lets them through.
 */
@ExtendWith(TestKitJUnit5Extension.class)
class IngestTakeOverTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "00112233445566778899aabbccddeeff";

  /**
   * A metrics node's actor system (cluster provider, cluster port 0, not joined), as {@code monitor serve} runs the
   * ingestion in: each run's snapshot publisher needs the cluster extension.
   */
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().withName("IngestTakeOverTest")
      .withCustomConfig(metricsNodeConfig()).build();

  private static Config metricsNodeConfig() {
    Config c = TrainCommand.load(Map.of("splinewatch.cluster.host", "127.0.0.1", "splinewatch.cluster.port", 0),
        null);
    return ClusterSettings.fromConfig(c).nodeConfig(c, List.of("metrics"));
  }

  @TempDir
  Path out;

  /** The ERROR lines logged meanwhile: none but those a test expects ({@link #expectedErrors}). */
  private final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
      new ch.qos.logback.core.read.ListAppender<>();
  private final List<String> expectedErrors = new ArrayList<>();

  @BeforeEach
  void watchTheLog() {
    log.start();
    rootLogger().addAppender(log);
  }

  /**
   * No ERROR but those the test expects: each run's snapshot publisher failed to start ("needs to have
   * 'pekko.actor.provider' set to 'cluster'", with its stack trace) in a local actor system, which a monitor never
   * runs them in.
   */
  @AfterEach
  void noUnexpectedErrors() {
    rootLogger().detachAppender(log);
    List<String> errors = log.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR)
        .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
        .filter(m -> expectedErrors.stream().noneMatch(m::startsWith)).toList();
    assertEquals(List.of(), errors, "ERROR lines the test does not expect");
  }

  /** The ERROR lines logged so far, one a line. */
  private String loggedErrors() {
    synchronized (log) { // the appender appends under its own lock
      return log.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.ERROR)
          .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).collect(Collectors.joining("\n"));
    }
  }

  private static ch.qos.logback.classic.Logger rootLogger() {
    return (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  /** Lets the held registrations (and run ends) through to the metrics node, or answers them with {@code error}. */
  private record Release(String error) {
  }

  /** From now on the gate holds each run's end ({@link MetricsNode.RunFinished}) too, until {@link Release}. */
  private record HoldEnds() {
  }

  /**
   * From now on the gate passes each run's end on but drops the metrics node's answer to it, as when the node's report
   * comes after the run's finish-timeout (its run_finished is written at once, the answer once the report is).
   */
  private record DropEndAnswers() {
  }

  /**
   * Forwards to {@code node}, holding each {@link MetricsNode.RegisterRun} (reported to {@code held}), and after
   * {@link HoldEnds} each {@link MetricsNode.RunFinished} (reported as "end RUN").
   */
  private static Behavior<Object> gate(ActorRef<MetricsNode.Command> node, ActorRef<String> held) {
    List<MetricsNode.RegisterRun> waiting = new ArrayList<>();
    List<MetricsNode.RunFinished> ends = new ArrayList<>();
    boolean[] holdEnds = {false};
    boolean[] dropEndAnswers = {false};
    return Behaviors.receive((ctx, m) -> {
      if (m instanceof HoldEnds) {
        holdEnds[0] = true;
        dropEndAnswers[0] = false;
      } else if (m instanceof DropEndAnswers) {
        dropEndAnswers[0] = true;
      } else if (dropEndAnswers[0] && m instanceof MetricsNode.RunFinished f) {
        node.tell(new MetricsNode.RunFinished(f.runId(), f.event(), ctx.getSystem().ignoreRef(), f.token()));
      } else if (holdEnds[0] && m instanceof MetricsNode.RunFinished f) {
        ends.add(f);
        held.tell("end " + f.runId());
      } else if (m instanceof MetricsNode.RegisterRun r) {
        waiting.add(r);
        held.tell(r.runId());
      } else if (m instanceof Release release) {
        ends.forEach(node::tell);
        ends.clear();
        for (MetricsNode.RegisterRun r : waiting) {
          if (release.error() == null) {
            node.tell(r);
          } else {
            r.replyTo().tell(new MetricsNode.Registered(r.runId(), null, "", release.error(), null, true));
          }
        }
        waiting.clear();
      } else {
        node.tell((MetricsNode.Command) m);
      }
      return Behaviors.same();
    });
  }

  private record Monitor(ActorRef<IngestActor.Command> ingest, ActorRef<Object> gate, TestProbe<String> held,
      RunControl control, IngestActor.Context context) {
  }

  private Monitor monitor() {
    return monitor(Map.of());
  }

  /** A monitor with {@code settings} besides the embedding analyzer. */
  private Monitor monitor(Map<String, Object> settings) {
    return monitor(settings, new ConcurrentHashMap<>());
  }

  /** A monitor with {@code settings} besides the embedding analyzer, whose live runs are kept in {@code active}. */
  private Monitor monitor(Map<String, Object> settings, Map<String, IngestActor.Shape> active) {
    Map<String, Object> all = new java.util.HashMap<>(settings);
    all.put("splinewatch.analysis.enabled", List.of("embedding"));
    Config config = TrainCommand.load(all, null);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RunControl control = new RunControl();
    ActorRef<MetricsNode.Command> node = testKit.spawn(MetricsNode.create(registry, out, control, "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL));
    TestProbe<String> held = testKit.createTestProbe();
    ActorRef<Object> gate = testKit.spawn(gate(node, held.ref()));
    IngestActor.Context c = new IngestActor.Context(IngestActor.Context.alertsByMode(config), List.of("embedding"),
        IngestSettings.fromConfig(config), ClusterSettings.fromConfig(config), gate.narrow(), out, "http://monitor",
        active, new FinishedRuns(), registry);
    return new Monitor(testKit.spawn(IngestActor.create(c)), gate, held, control, c);
  }

  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /** The monitor's HTTP ingestion routes, bound to a free port: their base URL. */
  private String serve(Monitor m) throws Exception {
    return serve(m, m::ingest, IngestRoutes.registrationWait(m.context().cluster().answerTimeout())) + "/";
  }

  /**
   * The monitor's HTTP ingestion routes in front of {@code ingest}, their registration waiting {@code
   * registrationWait}, bound to a free port: the registration URL (.../api/v1/runs).
   */
  private String serve(Monitor m, java.util.function.Supplier<ActorRef<IngestActor.Command>> ingest,
      Duration registrationWait) throws Exception {
    IngestActor.Context c = m.context();
    IngestRoutes routes = new IngestRoutes(testKit.system(), TOKEN, ingest, c.ingest(), c.active(), c.finished(),
        c.registry(), registrationWait);
    int port = Http.get(testKit.system()).newServerAt("127.0.0.1", 0).bind(routes.route()).toCompletableFuture()
        .get().localAddress().getPort();
    return "http://127.0.0.1:" + port + "/api/v1/runs";
  }

  private static HttpResponse<String> post(String url, byte[] body) throws Exception {
    return HTTP.send(postRequest(url, body), HttpResponse.BodyHandlers.ofString());
  }

  /** {@link #post} without waiting for the answer. */
  private static java.util.concurrent.CompletableFuture<HttpResponse<String>> postAsync(String url, byte[] body) {
    return HTTP.sendAsync(postRequest(url, body), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest postRequest(String url, byte[] body) {
    return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
  }

  private static HttpResponse<String> finish(String base, String id) throws Exception {
    return post(base + id + "/finish", "{\"status\": \"done\"}".getBytes(StandardCharsets.UTF_8));
  }

  /** The snapshot of step {@code step} of a run of {@link #spec}, as its client sends it. */
  private static byte[] snapshotBody(long step) {
    return TestNpz.snapshot(TestNpz.cnn(1, 8, 4), step, 2.0, -1).bytes();
  }

  /** The one-line 503 with Retry-After: 1 of a request that reaches run {@code id} while it still registers. */
  private static void assertStillRegistering(HttpResponse<String> r, String id, String what) {
    assertEquals(503, r.statusCode(), r.body());
    assertEquals("1", r.headers().firstValue("Retry-After").orElse(null), r.body());
    assertEquals("run '" + id + "' is still registering on this monitor (its registration, or its resume, is being"
        + " recorded); send " + what + " again in a moment", r.body().strip());
  }

  /** Waits until every run has ended here (its end recorded, its report written), before its directory goes. */
  private void awaitEnded(Monitor m) {
    TestProbe<org.apache.pekko.Done> ended = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.AwaitEnded(ended.ref()));
    ended.receiveMessage(Duration.ofSeconds(120)); // several reports, one at a time, on a busy machine
  }

  private JsonNode runFinished(String id) throws Exception {
    Path events = out.resolve(id).resolve("events.jsonl");
    return JSON.readTree(waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        "run_finished").lines().filter(l -> l.contains("\"run_finished\"")).findFirst().orElseThrow());
  }

  private static SnapshotFormat.RunSpec spec(String id, String extraJson) {
    IngestSettings limits = IngestSettings.fromConfig(TrainCommand.load(Map.of(), null));
    return SnapshotFormat.parseRun(TestNpz.run(id, 20, 8, 4, extraJson), limits.runLimits(), limits.maxProbes());
  }

  /** A run of {@code n} probes of {@code side} x {@code side}, whose probe pairs the monitor draws. */
  private static JsonNode answer(TestProbe<IngestedRun.Reply> probe, int status) throws Exception {
    IngestedRun.Reply r = probe.receiveMessage(Duration.ofSeconds(30));
    assertEquals(status, r.status(), r.body());
    return r.json() ? JSON.readTree(r.body()) : null;
  }

  /**
   * The takeover waits for the run's registration and is then answered as a resume, after it: the same run, one
   * registration, one end; its early-stop mode is the run's from then on (config.json and the control endpoint).
   */
  @Test
  void aTakeOverWhileTheRunStillRegistersIsAnsweredOnceItIsRegistered() throws Exception {
    Monitor m = monitor();
    TestProbe<IngestedRun.Reply> first = testKit.createTestProbe();
    TestProbe<IngestedRun.Reply> second = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("tw", ", \"early_stop\": \"stop\", \"resume_key\": \"" + KEY
        + "\""), first.ref()));
    assertEquals("tw", m.held().receiveMessage(Duration.ofSeconds(30)));
    m.ingest().tell(new IngestActor.Register(spec("tw", ", \"early_stop\": \"warn\", \"resume_key\": \"" + KEY
        + "\""), second.ref()));
    second.expectNoMessage(Duration.ofMillis(300)); // still registering: not answered yet
    m.gate().tell(new Release(null));
    JsonNode registered = answer(first, 201);
    assertFalse(registered.get("resumed").asBoolean(), registered.toString());
    assertEquals(KEY, registered.get("resume_key").asText());
    JsonNode takenOver = answer(second, 201);
    assertTrue(takenOver.get("resumed").asBoolean(), takenOver.toString());
    assertTrue(takenOver.get("last_step").isNull(), takenOver.toString());
    assertEquals("warn", takenOver.get("early_stop").asText(), takenOver.toString());
    m.held().expectNoMessage(Duration.ofMillis(200)); // the takeover registered nothing
    Path config = out.resolve("tw").resolve("config.json");
    waitFor(() -> JSON.readTree(config.toFile()).path("settings").path("early_stop").asText(), "warn");
    assertEquals("run 'tw' does not stop on alerts (early-stop is warn)", m.control().refusal("tw", "std_collapse"));
    TestProbe<IngestedRun.Reply> end = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Finish("tw", "done", null, -1, end.ref()));
    answer(end, 202);
    Path events = out.resolve("tw").resolve("events.jsonl");
    String ended = waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "", "run_finished");
    assertEquals(1, ended.lines().filter(l -> l.contains("\"run_finished\"")).count(), ended);
    assertFalse(ended.contains("run_resumed"), ended);
    waitFor(() -> String.valueOf(Files.isRegularFile(out.resolve("tw").resolve("report.html"))), "true");
  }

  /**
   * A registration the metrics node refuses refuses the takeover that waited for it with the same line; the run id
   * is free again afterwards.
   */
  @Test
  void aTakeOverOfARegistrationTheMetricsNodeRefusesIsRefusedAlike() throws Exception {
    Monitor m = monitor();
    TestProbe<IngestedRun.Reply> first = testKit.createTestProbe();
    TestProbe<IngestedRun.Reply> second = testKit.createTestProbe();
    String resume = ", \"resume_key\": \"" + KEY + "\"";
    m.ingest().tell(new IngestActor.Register(spec("tr", resume), first.ref()));
    m.held().receiveMessage(Duration.ofSeconds(30));
    m.ingest().tell(new IngestActor.Register(spec("tr", resume), second.ref()));
    second.expectNoMessage(Duration.ofMillis(300));
    m.gate().tell(new Release("run directory tr is in use by a run that is running now"));
    IngestedRun.Reply refused = first.receiveMessage(Duration.ofSeconds(30));
    assertEquals(409, refused.status(), refused.body());
    assertEquals(refused, second.receiveMessage(Duration.ofSeconds(30)));
    // the refused run is gone once the ingestion actor heard that it ended (it forgets its live run): a registration
    // of its id is then a new one. Until then a registration reaches the refused run and gets its refusal; the test
    // retried while it was answered within a fixed 300 ms, and took that refusal, sent when the run's end had not yet
    // reached the ingestion actor, for a wrong answer
    waitFor(() -> String.valueOf(m.context().active().containsKey("tr")), "false");
    TestProbe<IngestedRun.Reply> again = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("tr", resume), again.ref()));
    assertEquals("tr", m.held().receiveMessage(Duration.ofSeconds(30)));
    m.gate().tell(new Release(null));
    answer(again, 201);
  }

  /**
   * A registration of a run id this monitor answers 410 (ended by it), 409 (finished) or 404 naming the earlier
   * monitor that left it, which the metrics node then refuses, leaves that answer as it was: the registration cleared
   * it before the node's answer, and a later snapshot of the id was answered 404 "unknown run" (register it first).
   */
  @Test
  void aRegistrationTheMetricsNodeRefusesLeavesTheRunIdAnsweredAsBefore() throws Exception {
    Monitor m = monitor();
    FinishedRuns finished = m.context().finished();
    finished.endedByMonitor("ended", "no snapshot or finish request for 60 s (splinewatch.ingest.idle-timeout)");
    finished.add("done");
    finished.left(List.of("left"));
    finished.reported("left");
    String resume = ", \"resume_key\": \"" + KEY + "\"";
    for (String id : List.of("ended", "done", "left")) {
      FinishedRuns.Answer before = finished.answer(id);
      TestProbe<IngestedRun.Reply> reply = testKit.createTestProbe();
      m.ingest().tell(new IngestActor.Register(spec(id, resume), reply.ref()));
      assertEquals(id, m.held().receiveMessage(Duration.ofSeconds(30)));
      m.gate().tell(new Release("run directory " + id + " is in use by a run that is running now"));
      assertEquals(409, reply.receiveMessage(Duration.ofSeconds(30)).status());
      // once the ingestion actor heard of the refusal (until then the refused run answers with it), a snapshot of the
      // id is answered as before the registration
      TestProbe<IngestedRun.Reply> snapshot = testKit.createTestProbe();
      IngestedRun.Reply now = null;
      for (int i = 0; i < 100 && (now == null || now.body().contains("in use")); i++) {
        m.ingest().tell(new IngestActor.Snapshot(id, null, snapshot.ref()));
        now = snapshot.receiveMessage(Duration.ofSeconds(10));
      }
      assertEquals(before.status() + " " + before.message(), now.status() + " " + now.body(), id);
      assertEquals(before, finished.answer(id), id);
    }
  }

  /**
   * A takeover that reaches the run after its registration was refused, before the ingestion actor heard that it
   * ended, is answered (it went to dead letters: its client waited for the route's 40 s timeout). The ingestion
   * actor is held in another run's registration (its live-run map blocks) with the takeover behind it until the
   * refused run has answered its registration, and with it told the ingestion actor that it is over.
   */
  @Test
  void aTakeOverThatReachesARefusedRunIsAnswered() throws Exception {
    BlockingRuns active = new BlockingRuns("blocker");
    Monitor m = monitor(Map.of(), active);
    String resume = ", \"resume_key\": \"" + KEY + "\"";
    TestProbe<IngestedRun.Reply> first = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("tl", resume), first.ref()));
    assertEquals("tl", m.held().receiveMessage(Duration.ofSeconds(30)));
    m.ingest().tell(new IngestActor.Register(spec("blocker", ""), testKit.<IngestedRun.Reply>createTestProbe().ref()));
    assertTrue(active.entered.await(30, java.util.concurrent.TimeUnit.SECONDS), "the ingestion actor held");
    TestProbe<IngestedRun.Reply> late = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("tl", resume), late.ref()));
    String inUse = "run directory tl is in use by a run that is running now";
    m.gate().tell(new Release(inUse));
    assertEquals(409, first.receiveMessage(Duration.ofSeconds(30)).status());
    late.expectNoMessage(Duration.ofMillis(200)); // the takeover waits behind the held registration
    active.release.countDown();
    IngestedRun.Reply answer = late.receiveMessage(Duration.ofSeconds(30));
    assertEquals(409, answer.status(), answer.body());
    assertEquals(inUse, answer.body());
  }

  /**
   * A snapshot, and a finish, that reach a run while the metrics node still registers it (a resume whose answer its
   * client did not wait for, then the client's next snapshot) were answered 409 "still registering", which the
   * Python client counts as a lost snapshot (a 409 is a refusal); the run takes them a moment later, so they are
   * answered 503 with Retry-After, which the client sends again, and taken once the run is registered.
   */
  @Test
  void aSnapshotOrFinishWhileTheRunStillRegistersIsAnsweredToBeSentAgain() throws Exception {
    Monitor m = monitor();
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    SnapshotFormat.RunSpec spec = spec("reg", ", \"resume_key\": \"" + KEY + "\"");
    m.ingest().tell(new IngestActor.Register(spec, client.ref()));
    assertEquals("reg", m.held().receiveMessage(Duration.ofSeconds(30)));
    IngestSettings limits = IngestSettings.fromConfig(TrainCommand.load(Map.of(), null));
    SnapshotFormat.Snapshot snapshot = SnapshotFormat.parseSnapshot(TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 10, 2.0,
        -1).bytes(), limits.snapshotLimits(), spec.inputShape(), spec.classes(), spec.classifier(), 128, 65536);
    TestProbe<IngestedRun.Reply> early = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Snapshot("reg", snapshot, early.ref()));
    IngestedRun.Reply r = early.receiveMessage(Duration.ofSeconds(30));
    assertEquals(503, r.status(), r.body());
    assertEquals(1, r.retryAfterSeconds(), r.body());
    assertEquals("run 'reg' is still registering on this monitor (its registration, or its resume, is being"
        + " recorded); send the snapshot again in a moment", r.body());
    m.gate().tell(new Release(null));
    answer(client, 201);
    m.ingest().tell(new IngestActor.Snapshot("reg", snapshot, early.ref())); // sent again: taken
    assertEquals(10, answer(early, 202).get("step").asInt());
    // a finish (the client's close) that reaches another run still registering: sent again, it ends the run
    TestProbe<IngestedRun.Reply> other = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("regf", ""), other.ref()));
    assertEquals("regf", m.held().receiveMessage(Duration.ofSeconds(30)));
    m.ingest().tell(new IngestActor.Finish("regf", "done", null, -1, early.ref()));
    r = early.receiveMessage(Duration.ofSeconds(30));
    assertEquals(503, r.status(), r.body());
    assertEquals(1, r.retryAfterSeconds(), r.body());
    assertEquals("run 'regf' is still registering on this monitor (its registration, or its resume, is being"
        + " recorded); send the finish request again in a moment", r.body());
    m.gate().tell(new Release(null));
    answer(other, 201);
    m.ingest().tell(new IngestActor.Finish("regf", "done", null, -1, early.ref()));
    JsonNode finishing = answer(early, 202);
    assertEquals("done", finishing.get("status").asText(), finishing.toString());
    assertTrue(finishing.get("finishing").asBoolean(), finishing.toString());
  }

  /**
   * A finish that reaches a run still registering (its client's resume timed out, and the finish came next) is
   * answered 503 with Retry-After and leaves the run as it was. The ingestion actor marked the run finished before
   * passing the finish on: its snapshots and the finish sent again were refused 409 "has finished (or is
   * finishing)", which the Python client takes for an earlier try's success, and the run, which nothing ended,
   * streamed on until its idle timeout ended it as failed. Now the snapshot waits as well, and the retried finish
   * ends the run as its client said.
   */
  @Test
  void aFinishAnswered503WhileTheRunRegistersLeavesItStreamingAndItsRetryEndsIt() throws Exception {
    Monitor m = monitor();
    String base = serve(m);
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("rf", ", \"resume_key\": \"" + KEY + "\""), client.ref()));
    assertEquals("rf", m.held().receiveMessage(Duration.ofSeconds(30)));
    assertStillRegistering(finish(base, "rf"), "rf", "the finish request");
    assertStillRegistering(post(base + "rf/snapshots", snapshotBody(10)), "rf", "the snapshot");
    assertStillRegistering(finish(base, "rf"), "rf", "the finish request");
    m.gate().tell(new Release(null));
    answer(client, 201);
    HttpResponse<String> taken = post(base + "rf/snapshots", snapshotBody(10));
    assertEquals(202, taken.statusCode(), taken.body());
    HttpResponse<String> ended = finish(base, "rf");
    assertEquals(202, ended.statusCode(), ended.body());
    JsonNode finishing = JSON.readTree(ended.body());
    assertEquals("done", finishing.get("status").asText(), finishing.toString());
    assertEquals(10, finishing.get("step").asInt(), finishing.toString());
    // a finish after it is a finished run's (409), as before
    HttpResponse<String> repeated = finish(base, "rf");
    assertEquals(409, repeated.statusCode(), repeated.body());
    assertTrue(repeated.body().startsWith("run 'rf' has finished (or is finishing) on this monitor"), repeated.body());
    JsonNode end = runFinished("rf");
    assertEquals("done", end.get("status").asText(), end.toString());
    assertEquals(10, end.get("steps").asInt(), end.toString());
    assertEquals(1, end.get("snapshots_received").asInt(), end.toString());
    awaitEnded(m);
  }

  /**
   * The client resumes its run (its resume key) after its finish was answered 503 while the run registered: the
   * resume was answered 503 "still ending" over and over, for a run that nothing was ending. Now it waits for the
   * registration, as a takeover does, and is answered as a resume; the finish then ends the run.
   */
  @Test
  void aResumeAfterAFinishAnswered503IsAnsweredAsAResume() throws Exception {
    Monitor m = monitor();
    String base = serve(m);
    TestProbe<IngestedRun.Reply> first = testKit.createTestProbe();
    TestProbe<IngestedRun.Reply> resume = testKit.createTestProbe();
    String key = ", \"resume_key\": \"" + KEY + "\"";
    m.ingest().tell(new IngestActor.Register(spec("rr", key), first.ref()));
    assertEquals("rr", m.held().receiveMessage(Duration.ofSeconds(30)));
    assertStillRegistering(finish(base, "rr"), "rr", "the finish request");
    m.ingest().tell(new IngestActor.Register(spec("rr", key), resume.ref()));
    resume.expectNoMessage(Duration.ofMillis(300)); // waits for the registration, as a takeover
    m.gate().tell(new Release(null));
    answer(first, 201);
    assertTrue(answer(resume, 201).get("resumed").asBoolean());
    m.held().expectNoMessage(Duration.ofMillis(200)); // the resume registered nothing
    HttpResponse<String> ended = finish(base, "rr");
    assertEquals(202, ended.statusCode(), ended.body());
    assertEquals("done", runFinished("rr").get("status").asText());
    awaitEnded(m);
  }

  /**
   * The monitor begins to stop after a run's finish was answered 503 (still registering): the run was counted as
   * "already ending before the stop (finished by their clients)" and its client's retry answered 409 as a finished
   * run's, while it ended as interrupted. Now the stop interrupts it, and the retry is told so (410).
   */
  @Test
  void aStopAfterAFinishAnswered503InterruptsTheRun() throws Exception {
    Monitor m = monitor();
    String base = serve(m);
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("rs", ", \"resume_key\": \"" + KEY + "\""), client.ref()));
    assertEquals("rs", m.held().receiveMessage(Duration.ofSeconds(30)));
    assertStillRegistering(finish(base, "rs"), "rs", "the finish request");
    TestProbe<IngestActor.Stopping> cut = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.FinishAll("the monitor was stopped (test)", cut.ref()));
    assertEquals(new IngestActor.Stopping(List.of("rs"), List.of()), cut.receiveMessage(Duration.ofSeconds(30)));
    HttpResponse<String> retried = finish(base, "rs");
    assertEquals(410, retried.statusCode(), retried.body());
    assertTrue(retried.body().startsWith("run 'rs' was ended by this monitor (the monitor was stopped (test))"),
        retried.body());
    m.gate().tell(new Release(null));
    assertEquals(503, client.receiveMessage(Duration.ofSeconds(30)).status());
    assertEquals("interrupted", runFinished("rs").get("status").asText());
    awaitEnded(m);
  }

  /**
   * Clients finish their runs as the monitor begins to stop: each finish reaches its run before the stop or after
   * it. Whichever it is, the stop, the finish's answer and the run's end say the same: ending before the stop,
   * answered 202 and ended as its client said; or interrupted by the stop, answered 410 and ended as interrupted.
   */
  @Test
  void aFinishAsTheMonitorStopsEndsTheRunOneWayOnly() throws Exception {
    Monitor m = monitor();
    List<String> ids = new ArrayList<>();
    List<TestProbe<IngestedRun.Reply>> clients = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String id = "race" + i;
      ids.add(id);
      clients.add(testKit.createTestProbe());
      m.ingest().tell(new IngestActor.Register(spec(id, ""), clients.get(i).ref()));
      assertEquals(id, m.held().receiveMessage(Duration.ofSeconds(30)));
    }
    m.gate().tell(new Release(null));
    for (TestProbe<IngestedRun.Reply> c : clients) {
      answer(c, 201);
    }
    for (int i = 0; i < ids.size(); i++) {
      m.ingest().tell(new IngestActor.Finish(ids.get(i), "done", null, -1, clients.get(i).ref()));
    }
    TestProbe<IngestActor.Stopping> cut = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.FinishAll("the monitor was stopped (test)", cut.ref()));
    IngestActor.Stopping stopping = cut.receiveMessage(Duration.ofSeconds(30));
    assertEquals(ids.size(), stopping.interrupted().size() + stopping.ending().size(), stopping.toString());
    awaitEnded(m); // all their ends recorded: their reports are written one at a time
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      IngestedRun.Reply told = clients.get(i).receiveMessage(Duration.ofSeconds(30));
      String status = runFinished(id).get("status").asText();
      if (stopping.ending().contains(id)) {
        assertEquals(202, told.status(), id + ": " + stopping + ": " + told.body());
        assertEquals("done", status, id + ": " + stopping);
      } else {
        assertTrue(stopping.interrupted().contains(id), stopping.toString());
        assertEquals(410, told.status(), id + ": " + stopping + ": " + told.body());
        assertEquals("interrupted", status, id + ": " + stopping);
      }
    }
  }

  private interface Read {
    String get() throws Exception;
  }

  /**
   * The monitor begins to stop (a signal: {@link IngestActor.FinishAll}) while the metrics node registers a run. The
   * run's interruption came while it registered and was answered 409 "still registering" (to no one): once
   * registered, the run was answered 201 and lived on until its idle timeout, the stopping monitor waited its 30 s
   * for it, and its directory was left without an end. Now its client is told at once that the monitor is stopping,
   * what is kept and how to go on, and the run ends as interrupted with its report, so the stop waits for nothing.
   */
  @Test
  void aRunStillRegisteringWhenTheMonitorStopsIsToldSoAndEndsAtOnce() throws Exception {
    Monitor m = monitor();
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.Register(spec("late", ", \"resume_key\": \"" + KEY + "\""), client.ref()));
    assertEquals("late", m.held().receiveMessage(Duration.ofSeconds(30)));
    TestProbe<IngestActor.Stopping> cut = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.FinishAll("the monitor was stopped (test)", cut.ref()));
    assertEquals(new IngestActor.Stopping(List.of("late"), List.of()), cut.receiveMessage(Duration.ofSeconds(30)));
    TestProbe<org.apache.pekko.Done> ended = testKit.createTestProbe();
    m.ingest().tell(new IngestActor.AwaitEnded(ended.ref()));
    m.gate().tell(new Release(null));
    IngestedRun.Reply told = client.receiveMessage(Duration.ofSeconds(30));
    assertEquals(503, told.status(), told.body());
    assertEquals("this monitor is stopping (the monitor was stopped (test)): it registered run 'late' as it began to"
        + " stop and ended it as interrupted before any snapshot; its run directory " + out.resolve("late") + " keeps"
        + " the registration and that end; register the run with a monitor that runs, with \"resume_key\": \"" + KEY
        + "\" in its run.json to go on in that directory, or under another run id", told.body());
    ended.receiveMessage(Duration.ofSeconds(30)); // the stopping monitor waits no longer than the run's end takes
    Path events = out.resolve("late").resolve("events.jsonl");
    JsonNode end = JSON.readTree(waitFor(() -> Files.isRegularFile(events) ? Files.readString(events) : "",
        "run_finished").lines().filter(l -> l.contains("\"run_finished\"")).findFirst().orElseThrow());
    assertEquals("interrupted", end.get("status").asText(), end.toString());
    assertEquals("the monitor was stopped (test)", end.get("reason").asText(), end.toString());
    assertEquals(0, end.get("snapshots_received").asInt(), end.toString());
    assertTrue(Files.isRegularFile(out.resolve("late").resolve("report.html")), "report written before the end");
  }

  /**
   * A snapshot the ingestion actor forwards to a run whose end was recorded a moment before, before it heard that the
   * run stopped, went to dead letters: no answer, so the route answered 500 after its 10 s, and the Python client
   * counted that snapshot neither recorded nor missed (a 409 or 410 it understands). The ingestion actor is held in
   * another run's registration (its live-run map blocks) with the snapshot behind it until the run's end is recorded
   * (here not confirmed within finish-timeout, which the run logs as it records it): the run has told the ingestion
   * actor it is over, but that message waits behind the snapshot.
   */
  @Test
  void aSnapshotForwardedAsTheRunEndsIsAnswered() throws Exception {
    BlockingRuns active = new BlockingRuns("blocker");
    Monitor m = monitor(Map.of("splinewatch.cluster.finish-timeout", "2s"), active);
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    SnapshotFormat.RunSpec spec = spec("ends", "");
    m.ingest().tell(new IngestActor.Register(spec, client.ref()));
    assertEquals("ends", m.held().receiveMessage(Duration.ofSeconds(30)));
    m.gate().tell(new Release(null));
    answer(client, 201);
    IngestSettings limits = IngestSettings.fromConfig(TrainCommand.load(Map.of(), null));
    SnapshotFormat.Snapshot snapshot = SnapshotFormat.parseSnapshot(TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 10, 2.0,
        -1).bytes(), limits.snapshotLimits(), spec.inputShape(), spec.classes(), spec.classifier(), 128, 65536);
    m.gate().tell(new HoldEnds());
    TestProbe<IngestedRun.Reply> late = testKit.createTestProbe();
    // in this order, within far less than the finish-timeout after which the run records its end
    m.ingest().tell(new IngestActor.Finish("ends", "failed", "test", -1, client.ref()));
    m.ingest().tell(new IngestActor.Register(spec("blocker", ""), testKit.<IngestedRun.Reply>createTestProbe().ref()));
    m.ingest().tell(new IngestActor.Snapshot("ends", snapshot, late.ref()));
    expectedErrors.add("the end of run ends was not recorded within 2 s");
    waitFor(this::loggedErrors, "the end of run ends was not recorded within 2 s");
    assertTrue(active.entered.await(30, java.util.concurrent.TimeUnit.SECONDS), "the ingestion actor held");
    late.expectNoMessage(Duration.ofMillis(200)); // the snapshot waits behind the held registration
    active.release.countDown();
    answer(client, 202);
    IngestedRun.Reply r = late.receiveMessage(Duration.ofSeconds(30));
    assertEquals(409, r.status(), r.body());
    assertEquals("run 'ends' has finished", r.body().substring(0, "run 'ends' has finished".length()), r.body());
  }

  /** The live runs' map, whose {@code put} of run {@code held} holds the ingestion actor until {@link #release}. */
  private static final class BlockingRuns extends ConcurrentHashMap<String, IngestActor.Shape> {
    private final String held;
    final java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
    final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

    BlockingRuns(String held) {
      this.held = held;
    }

    @Override
    public IngestActor.Shape put(String runId, IngestActor.Shape shape) {
      if (runId.equals(held)) {
        entered.countDown();
        try {
          release.await(60, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return super.put(runId, shape);
    }
  }

  /**
   * A snapshot or finish of a run whose registration is parsed and on its way to the ingestion actor (a resume after
   * a restart, the actor busy with other registrations) is answered 503 "still registering" with Retry-After, as once
   * the actor took it: it was answered 404, on which the Python client sent another resume, probes and all. Once
   * the registration is answered (here refused), the run is unknown again.
   */
  @Test
  void aSnapshotWhileTheRegistrationIsOnItsWayToTheIngestionActorIsAnsweredToBeSentAgain() throws Exception {
    Monitor m = monitor();
    TestProbe<IngestActor.Command> busy = testKit.createTestProbe(); // an ingestion actor that has not got to it
    String runs = serve(m, busy::ref, IngestRoutes.registrationWait(m.context().cluster().answerTimeout()));
    String base = runs + "/";
    var registration = postAsync(runs, TestNpz.run("rw", 20, 8, 4, ", \"resume_key\": \"" + KEY + "\""));
    IngestActor.Register held = busy.expectMessageClass(IngestActor.Register.class, Duration.ofSeconds(30));
    assertStillRegistering(post(base + "rw/snapshots", snapshotBody(1)), "rw", "the snapshot");
    assertStillRegistering(finish(base, "rw"), "rw", "the finish request");
    held.replyTo().tell(IngestedRun.Reply.error(409, "run directory rw is in use by a run that is running now"));
    assertEquals(409, registration.get().statusCode());
    HttpResponse<String> after = post(base + "rw/snapshots", snapshotBody(1));
    assertEquals(404, after.statusCode(), after.body());
  }

  /**
   * The registration route waits as long as the run waits for its metrics node (answer-timeout) and a margin for the
   * ingestion actor: it waited a fixed 40 s, and with an answer-timeout over that answered 500 "the monitor could not
   * handle the request" while the node still registered the run (the client then resumed a run being registered).
   * Here in seconds, not tens of seconds: answer-timeout 4 s, margin 1 s. A registration the node answers 1.5 s after
   * the gate got it (more than the margin alone after the route began to wait, which was before) is answered 201; one
   * it never answers gets the run's own line naming the answer-timeout, not the route's timeout. (The node answered
   * after 2.5 s, which left the answer 1.5 s before the run's answer-timeout on a loaded machine.)
   */
  @Test
  void theRegistrationRouteWaitsAsLongAsTheRunWaitsForItsMetricsNode() throws Exception {
    Monitor m = monitor(Map.of("splinewatch.cluster.answer-timeout", "4s"));
    String runs = serve(m, m::ingest, IngestRoutes.registrationWait(m.context().cluster().answerTimeout(),
        Duration.ofSeconds(1)));
    var slow = postAsync(runs, TestNpz.run("slow", 20, 8, 4, ""));
    assertEquals("slow", m.held().receiveMessage(Duration.ofSeconds(30)));
    Thread.sleep(1500);
    m.gate().tell(new Release(null));
    HttpResponse<String> answered = slow.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(201, answered.statusCode(), answered.body());
    var unanswered = postAsync(runs, TestNpz.run("lost", 20, 8, 4, ""));
    assertEquals("lost", m.held().receiveMessage(Duration.ofSeconds(30)));
    HttpResponse<String> lost = unanswered.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(500, lost.statusCode(), lost.body());
    assertEquals("the metrics node did not answer the registration of run 'lost' within 4 s"
        + " (splinewatch.cluster.answer-timeout raises it, which a busy monitor may need)", lost.body().strip());
    HttpResponse<String> finished = finish(runs + "/", "slow"); // the registered run goes on
    assertEquals(202, finished.statusCode(), finished.body());
    awaitEnded(m);
  }

  /**
   * A run whose end the metrics node does not confirm within finish-timeout says whether its run_finished was written:
   * the node answers once the report is written, one report after another, and under load the monitor logged "the
   * end of run X could not be recorded: the metrics node did not answer within 60 s" while run_finished was in the
   * run's events.jsonl. One whose end the node has not taken yet says that, and that it may still be recorded.
   */
  @Test
  void anEndNotConfirmedInTimeSaysWhetherItsRunFinishedIsWritten() throws Exception {
    Monitor m = monitor(Map.of("splinewatch.cluster.finish-timeout", "1s"));
    TestProbe<IngestedRun.Reply> client = testKit.createTestProbe();
    for (String id : List.of("written", "held")) {
      m.ingest().tell(new IngestActor.Register(spec(id, ""), client.ref()));
      assertEquals(id, m.held().receiveMessage(Duration.ofSeconds(30)));
      m.gate().tell(new Release(null));
      answer(client, 201);
    }
    Path events = out.resolve("written").resolve("events.jsonl");
    m.gate().tell(new DropEndAnswers());
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.warn("run written: its end is recorded (run_finished"
        + " in " + events + "), but the metrics node did not say within 1 s that its report was written")
        .expect(testKit.system(), () -> {
          m.ingest().tell(new IngestActor.Finish("written", "done", null, -1, client.ref()));
          return client.receiveMessage(Duration.ofSeconds(30));
        });
    assertTrue(Files.readString(events).contains("\"run_finished\""));
    m.gate().tell(new HoldEnds());
    expectedErrors.add("the end of run held was not recorded within 1 s");
    org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.error("the end of run held was not recorded within"
        + " 1 s: the metrics node did not answer and " + out.resolve("held").resolve("events.jsonl") + " holds no"
        + " run_finished of it yet").expect(testKit.system(), () -> {
          m.ingest().tell(new IngestActor.Finish("held", "done", null, -1, client.ref()));
          return client.receiveMessage(Duration.ofSeconds(30));
        });
    m.gate().tell(new Release(null));
    runFinished("held");
  }

  private static String waitFor(Read read, String part) throws Exception {
    String last = "";
    for (int i = 0; i < 300; i++) {
      last = read.get();
      if (last.contains(part)) {
        return last;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("never said '" + part + "': " + last);
  }
}
