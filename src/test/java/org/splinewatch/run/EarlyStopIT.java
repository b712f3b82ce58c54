package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.TestTools;
import org.splinewatch.trainer.TrainerActor;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.RunSettings;

/**
 * Alert-driven early stopping through the real run wiring: an analyzer injects a collapsing embedding spread
 * (metrics.md §7, synthetic injection); with {@code early-stop = stop} the std_collapse rule fires after three
 * snapshots, the trainer stops, the run exits with code 3 and events.jsonl says why. With {@code warn} the run
 * completes and only the alert is recorded.
 */
class EarlyStopIT {
  @TempDir
  Path tmp;

  private EmbeddedRun.Result run(String mode, String runId, ByteArrayOutputStream console) throws Exception {
    return run(mode, runId, console, 0, new EmbeddedRun.Listener() { });
  }

  private EmbeddedRun.Result run(String mode, String runId, ByteArrayOutputStream console, int port,
      EmbeddedRun.Listener listener) throws Exception {
    var o = SyntheticData.tinyRun(tmp, runId, 400);
    o.put("splinewatch.run.snapshot-every", 10);
    o.put("splinewatch.alerts.early-stop", mode);
    o.put("splinewatch.metrics.port", port);
    var config = TrainCommand.load(o, null);
    var injector = new AnalyzerSpec("injector", (run, metrics, dir) ->
        AnalyzerActor.create("injector", metrics, () -> s -> List.of(Sample.of("splinewatch_embedding_std_normalized",
            s.step() < 30 ? 0.9 : 0.01, s.step(), "layer", "proj"))));
    return EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
        new PrintStream(console, true, StandardCharsets.UTF_8), List.of(injector), listener);
  }

  /** GET /metrics on {@code port}: the body, or null when nothing answers. */
  private static String scrape(int port) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * A run stopped by an alert ends seconds after it, before Prometheus's next scrape: scraped during the run, it keeps
   * /metrics up for one more scrape, which shows splinewatch_run_stopped_early{rule}. Here one scrape during the run
   * (no interval known: the wait is stopped-scrape-wait, 60 s), and the next one 3 s after the run's work is over.
   */
  @Test
  void aStoppedRunThatWasScrapedWaitsForOneMoreScrapeShowingTheStop() throws Exception {
    int port = TestTools.freePort();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    AtomicReference<String> during = new AtomicReference<>();
    AtomicReference<String> after = new AtomicReference<>();
    CountDownLatch ended = new CountDownLatch(1);
    Thread prometheus = new Thread(() -> {
      try {
        ended.await();
        Thread.sleep(3_000); // later than the end of the run's files without the wait
        after.set(scrape(port));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    prometheus.start();
    EmbeddedRun.Result r = run("stop", "stopped-scraped", console, port, new EmbeddedRun.Listener() {
      @Override
      public void started(Path runDir, int metricsPort, ActorRef<TrainerActor.Command> trainer) {
        during.set(scrape(metricsPort));
      }

      @Override
      public void ended() {
        ended.countDown();
      }
    });
    prometheus.join(30_000);
    String out = console.toString(StandardCharsets.UTF_8);
    assertEquals(3, r.exitCode(), out);
    assertTrue(during.get() != null && !during.get().contains("splinewatch_run_stopped_early{"), during.get());
    assertTrue(out.contains("waiting up to 60.0 s for one more scrape of /metrics (scraped once during the run)"),
        out);
    assertTrue(after.get() != null, "the scrape after the stop found no endpoint: " + out);
    assertTrue(after.get().lines().anyMatch(l -> l.startsWith("splinewatch_run_stopped_early{")
        && l.contains("rule=\"std_collapse\"") && l.contains("run=\"stopped-scraped\"") && l.endsWith(" 1.0")),
        after.get());
    assertTrue(after.get().contains("splinewatch_run_active{"), after.get());
  }

  /** Nobody scraped the run: it does not wait, and says nothing of a scrape. */
  @Test
  void aStoppedRunNobodyScrapedDoesNotWait() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    long[] endedAt = {0};
    EmbeddedRun.Result r = run("stop", "stopped-unscraped", console, TestTools.freePort(), new EmbeddedRun.Listener() {
      @Override
      public void ended() {
        endedAt[0] = System.nanoTime();
      }
    });
    String out = console.toString(StandardCharsets.UTF_8);
    assertEquals(3, r.exitCode(), out);
    assertTrue(!out.contains("waiting up to"), out);
    assertTrue(System.nanoTime() - endedAt[0] < 30_000_000_000L, out);
  }

  @Test
  void aCriticalCollapseAlertStopsTheRunWithExitCode3() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result r = run("stop", "collapsing", console);
    assertEquals(3, r.exitCode(), console.toString(StandardCharsets.UTF_8));
    assertTrue(r.finished().stopped());
    assertTrue(r.finished().steps() < 400, "stopped early at step " + r.finished().steps());
    assertTrue(r.finished().reason().contains("std_collapse"), r.finished().reason());
    String events = Files.readString(r.runDir().resolve("events.jsonl"));
    assertTrue(events.contains("\"type\":\"alert_firing\"") && events.contains("\"rule\":\"std_collapse\""), events);
    assertTrue(events.contains("\"exit_code\":3"), events);
    String out = console.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("ALERT [critical] embedding spread collapsed on layer proj"), out);
    assertTrue(out.contains("stopped early at step"), out);
    // the stopped run saved a checkpoint of the step it finished
    String meta = Files.readString(r.runDir().resolve("checkpoints/latest/meta.json"));
    assertTrue(meta.contains("\"step\":" + r.finished().steps()), meta);
  }

  @Test
  void warnModeOnlyRecordsTheAlert() throws Exception {
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    EmbeddedRun.Result r = run("warn", "warned", console);
    assertEquals(0, r.exitCode(), console.toString(StandardCharsets.UTF_8));
    assertEquals(400, r.finished().steps());
    assertTrue(Files.readString(r.runDir().resolve("events.jsonl")).contains("\"rule\":\"std_collapse\""));
    String metrics = Files.readString(r.runDir().resolve("metrics.jsonl"));
    assertTrue(metrics.contains("\"splinewatch_embedding_std_normalized\""));
  }
}
