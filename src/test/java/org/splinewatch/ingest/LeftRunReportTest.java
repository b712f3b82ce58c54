package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.cluster.ReportChain;
import org.splinewatch.cluster.ResumeKey;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * A run an earlier monitor left without an end gets its report when the next monitor marks it interrupted, as a run
 * that ends on the monitor does; its client may resume it only once that report is written (the report reads the
 * directory the resumed run appends to), and a monitor stopping meanwhile waits for it. Its report is written on the
 * node's one chain of reports, after or before those of runs ending there, never beside one.
 */
class LeftRunReportTest {
  private static final String TOKEN = ServedMonitor.TOKEN;
  /** The left run's client's resume key, and another client's. */
  private static final String KEY = "0123456789abcdef0123456789abcdef";
  private static final String OTHER_KEY = "fedcba9876543210fedcba9876543210";

  @TempDir
  Path out;
  private final ActorTestKit kit = ActorTestKit.create();
  private MetricsHttpServer http;

  @AfterEach
  void stop() {
    if (http != null) {
      http.stop();
    }
    kit.shutdownTestKit();
  }

  private HttpResponse<String> register(String extra) throws Exception {
    return ServedMonitor.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/api/v1/runs"))
        .header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofByteArray(TestNpz.run("k1", 20, 8, 4, extra))));
  }

  /** Run directory {@code k1}: an HTTP run an earlier monitor left after step 20, one of 3 snapshots analysed. */
  private Path leftRun() throws Exception {
    Path dir = Files.createDirectories(out.resolve("k1"));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\": \"k1\", \"method\": \"external\", \"dataset\":"
        + " \"external\", \"source\": \"http\", \"settings\": {\"analyzers\": [\"embedding\"]}}");
    Files.writeString(dir.resolve("events.jsonl"), "");
    // the SHA-256 of its client's resume key, as a monitor keeps it for an HTTP run
    Files.writeString(dir.resolve(ResumeKey.MONITOR_FILE), HexFormat.of().formatHex(MessageDigest.getInstance(
        "SHA-256").digest(KEY.getBytes(StandardCharsets.US_ASCII))));
    StringBuilder m = new StringBuilder();
    for (int step = 0; step <= 20; step += 10) {
      m.append("{\"name\":\"splinewatch_training_step\",\"labels\":{\"run\":\"k1\"},\"step\":").append(step)
          .append(",\"value\":").append(step).append(".0,\"time\":1}\n");
    }
    m.append("{\"name\":\"splinewatch_analysis_seconds\",\"labels\":{\"run\":\"k1\",\"analyzer\":\"embedding\"},"
        + "\"step\":0,\"value\":0.5,\"time\":2}\n");
    Files.writeString(dir.resolve("metrics.jsonl"), m);
    return dir;
  }

  @Test
  void aMarkedRunIsReportedAndResumedOnlyOnceItsReportIsWritten() throws Exception {
    Path dir = leftRun();
    Config c = TrainCommand.load(Map.of("splinewatch.control.token", TOKEN), null);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CountDownLatch release = new CountDownLatch(1);
    ReportChain reports = new ReportChain(d -> {
      try {
        assertTrue(release.await(60, TimeUnit.SECONDS));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      ReportChain.REPORT.accept(d);
    });
    HttpIngestion ingest = HttpIngestion.prepare(kit.system(), c, ClusterSettings.fromConfig(c), TOKEN, registry);
    http = MetricsHttpServer.start(kit.system(), registry, "127.0.0.1", 0, ingest.route());
    List<String> warnings = new CopyOnWriteArrayList<>();
    HttpIngestion.Left left = ingest.start(kit.<MetricsNode.Command>createTestProbe().ref(), out,
        "http://127.0.0.1:" + http.port(), reports, warnings::add);
    assertEquals(List.of("k1"), left.runs());
    assertEquals(1, left.unanalysed().size(), left.unanalysed().toString());
    assertTrue(left.unanalysed().get(0).startsWith("run k1: 3 snapshot(s) recorded since its start (or last resume),"
        + " analysed: embedding 1/3;"), left.unanalysed().get(0));

    // while the report is being written, the run's client is told to come back
    HttpResponse<String> early = register(", \"resume_key\": \"" + KEY + "\"");
    assertEquals(503, early.statusCode(), early.body());
    assertEquals("1", early.headers().firstValue("Retry-After").orElse(""), "a client would lose a snapshot");
    assertTrue(early.body().contains("run 'k1' is still being ended on this monitor (the report of the earlier"
        + " monitor's part of it is being written); register it again in a few seconds"), early.body());
    assertThrows(java.util.concurrent.TimeoutException.class, () -> reports.last().get(200, TimeUnit.MILLISECONDS),
        "a stopping monitor would wait for it");
    assertFalse(Files.exists(dir.resolve("report.html")));
    // another key is not told to wait for a run it cannot resume: the directory holds another run (session 55)
    HttpResponse<String> other = register(", \"resume_key\": \"" + OTHER_KEY + "\"");
    assertEquals(409, other.statusCode(), other.body());
    assertTrue(other.body().contains("already holds run 'k1'"), other.body());

    release.countDown();
    reports.last().get(60, TimeUnit.SECONDS); // written (a failure or a timeout throws)
    String report = Files.readString(dir.resolve("report.html"));
    assertTrue(report.contains("interrupted at step 20: "), "the report of the marked run");
    assertTrue(report.contains("embedding 1/3 (33 %)"), "its snapshots left unanalysed are named");
    assertEquals(List.of(), warnings);
    // now the registration gets as far as the resume key, which is not the run's
    HttpResponse<String> later = register(", \"resume_key\": \"" + OTHER_KEY + "\"");
    assertEquals(409, later.statusCode(), later.body());
  }

  @Test
  void aMarkedRunsReportAndTheReportOfARunEndingMeanwhileAreWrittenOneAtATime() throws Exception {
    // both read a whole run into the heap: on two chains a monitor starting beside a long left run held two at once
    leftRun();
    Config c = TrainCommand.load(Map.of("splinewatch.control.token", TOKEN), null);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger writing = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    List<String> written = new CopyOnWriteArrayList<>();
    ReportChain reports = new ReportChain(d -> {
      most.accumulateAndGet(writing.incrementAndGet(), Math::max);
      try {
        if (d.getFileName().toString().equals("k1")) {
          assertTrue(release.await(60, TimeUnit.SECONDS));
        }
        written.add(d.getFileName().toString());
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      } finally {
        writing.decrementAndGet();
      }
    });
    ActorRef<MetricsNode.Command> node = kit.spawn(MetricsNode.create(registry, out, new RunControl(), "",
        new Rejections(registry), 64, null, RetentionSettings.KEEP_ALL, reports));
    HttpIngestion ingest = HttpIngestion.prepare(kit.system(), c, ClusterSettings.fromConfig(c), TOKEN, registry);
    List<String> warnings = new CopyOnWriteArrayList<>();
    TestProbe<Done> ended = kit.createTestProbe();
    try {
      assertEquals(List.of("k1"), ingest.start(node, out, "http://127.0.0.1:1", reports, warnings::add).runs());
      // while the marked run's report is written, the node still takes a run and records its end at once
      TestProbe<MetricsNode.Registered> reply = kit.createTestProbe();
      node.tell(new MetricsNode.RegisterRun("r2", Map.of("run", "r2", "method", "simclr", "dataset", "mnist"),
          Map.of("run_id", "r2"), 10, null, kit.<TrainerActor.Command>createTestProbe().ref(),
          kit.<AlertRaised>createTestProbe().ref(), reply.ref()));
      MetricsNode.Registered r = reply.receiveMessage(Duration.ofSeconds(10));
      assertEquals(null, r.error());
      node.tell(new MetricsNode.RunFinished("r2", Map.of("type", "run_finished"), ended.ref(), r.token()));
      long deadline = System.nanoTime() + 20_000_000_000L;
      while (!Files.readString(out.resolve("r2").resolve("events.jsonl")).contains("run_finished")
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      ended.expectNoMessage(Duration.ofMillis(500)); // its report waits for the marked run's
      assertEquals(List.of(), written, "a second report was written while the first one was");
    } finally {
      release.countDown();
    }
    ended.receiveMessage(Duration.ofSeconds(20)); // answered once its report is written
    reports.last().get(30, TimeUnit.SECONDS); // written (a failure or a timeout throws)
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (written.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(List.of("k1", "r2"), written);
    assertEquals(1, most.get(), "reports written at once");
    assertEquals(List.of(), warnings);
  }
}
