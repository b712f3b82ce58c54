package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.control.AlertRelay;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * The shipped alerting path with real servers on loopback (Debian packages prometheus and prometheus-alertmanager,
 * installed by .ci/run; skipped where they are missing): Prometheus discovers the runs through the discovery
 * directory and evaluates the shipped rules every second; Alertmanager, with the shipped configuration, sends
 * critical alerts to the one receiver {@code ./monitor relay} ({@link AlertRelay}), with one deployment token from a
 * file. Three runs train at once on their own ports: a real collapse (tiny VICReg whose variance term is removed from
 * step 100 by {@code --ablate-from}, {@code --early-stop alertmanager}) is stopped through Alertmanager with exit code
 * 3; a healthy run keeps training meanwhile; the same collapse in a run with {@code --early-stop warn} raises its
 * alert but is not stopped. The test then ends the two others itself; their alerts resolve. Last, a trainer process
 * killed with SIGKILL (its discovery file left behind) raises {@code SplinewatchTrainerDown}.
 */
class AlertingEndToEndIT {
  private static final String TOKEN = "e2e-token-0123456789abcdef";
  @TempDir
  Path tmp;
  private final List<Process> servers = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stopServers() {
    servers.forEach(Process::destroyForcibly);
  }

  private Process start(String name, List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile())
        .start();
    servers.add(p);
    return p;
  }

  private String get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private void awaitReady(String url, Process p, String name) throws Exception {
    for (int i = 0; i < 150; i++) {
      try {
        if (http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode() == 200) {
          return;
        }
      } catch (Exception e) {
        // not up yet
      }
      assertTrue(p.isAlive(), name + " exited: " + Files.readString(tmp.resolve(name + ".log")));
      Thread.sleep(200);
    }
    throw new AssertionError(name + " did not become ready: " + Files.readString(tmp.resolve(name + ".log")));
  }

  /** Queries Prometheus every half second until the answer satisfies {@code done} or {@code tries} run out. */
  private String await(String prom, String query, java.util.function.Predicate<String> done, int tries)
      throws Exception {
    String answer = "";
    for (int i = 0; i < tries; i++) {
      answer = get(prom + URLEncoder.encode(query, StandardCharsets.UTF_8));
      if (done.test(answer)) {
        break;
      }
      Thread.sleep(500);
    }
    return answer;
  }

  /** A run on its own port in its own thread; {@code trainer} completes once it trains. */
  private record Running(CompletableFuture<EmbeddedRun.Result> result,
      CompletableFuture<ActorRef<TrainerActor.Command>> trainer, ByteArrayOutputStream console) {
  }

  private Running start(String runId, String earlyStop, boolean collapse, Path tokenFile) throws Exception {
    var o = SyntheticData.tinyRun(tmp, runId, 1_000_000);
    o.put("splinewatch.run.method", "vicreg");
    o.put("splinewatch.run.projection-dim", 16);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    if (collapse) {
      o.put("splinewatch.ssl.vicreg-std-coeff", 0);
      o.put("splinewatch.ablation.from-step", 100);
    }
    o.put("splinewatch.metrics.port", TestTools.freePort());
    o.put("splinewatch.control.token-file", tokenFile.toString());
    o.put("splinewatch.alerts.early-stop", earlyStop);
    var config = TrainCommand.load(o, null);
    Running r = new Running(new CompletableFuture<>(), new CompletableFuture<>(), new ByteArrayOutputStream());
    ScheduledExecutorService fallback = Executors.newSingleThreadScheduledExecutor();
    Thread t = new Thread(() -> {
      try {
        r.result().complete(EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
            new PrintStream(r.console(), true, StandardCharsets.UTF_8), EmbeddedRun.defaultAnalyzers(config),
            new EmbeddedRun.Listener() {
              @Override
              public void started(Path runDir, int port, ActorRef<TrainerActor.Command> trainer) {
                r.trainer().complete(trainer);
                fallback.schedule(() -> trainer.tell(new TrainerActor.Stop("test timeout")), 240, TimeUnit.SECONDS);
              }
            }));
      } catch (RuntimeException e) {
        r.result().completeExceptionally(e);
      } finally {
        fallback.shutdownNow();
      }
    }, "run-" + runId);
    t.start();
    return r;
  }

  @Test
  void alertmanagerStopsARealCollapseAmongConcurrentRunsAndOnlyIt() throws Exception {
    assumeTrue(TestTools.installed("prometheus") && TestTools.installed("prometheus-alertmanager"),
        "prometheus and prometheus-alertmanager not installed (.ci/run installs them)");
    Path tokenFile = tmp.resolve("deployment-token");
    TestTools.ownerOnlyFile(tokenFile, TOKEN + "\n");
    Path sd = tmp.resolve("runs").resolve("prometheus-sd");
    Files.createDirectories(sd);
    ByteArrayOutputStream relayLog = new ByteArrayOutputStream();
    try (AlertRelay relay = new AlertRelay(TOKEN, sd, new PrintStream(relayLog, true, StandardCharsets.UTF_8))
        .start("127.0.0.1", 0)) {
      int promPort = TestTools.freePort();
      int amPort = TestTools.freePort();
      // the shipped configuration; only the relay's address, the token file and the waits differ
      String am = Files.readString(Path.of("dashboards/alertmanager/alertmanager.yml"))
          .replace("http://127.0.0.1:9095/api/v1/alerts", "http://127.0.0.1:" + relay.port() + "/api/v1/alerts")
          .replace("/etc/splinewatch/control-token", tokenFile.toString())
          .replace("group_wait: 5s", "group_wait: 1s").replace("group_wait: 10s", "group_wait: 1s");
      Files.writeString(tmp.resolve("alertmanager.yml"), am);
      Process amProc = start("alertmanager", List.of("prometheus-alertmanager",
          "--config.file=" + tmp.resolve("alertmanager.yml"), "--storage.path=" + tmp.resolve("am-data"),
          "--web.listen-address=127.0.0.1:" + amPort, "--cluster.listen-address="));
      Files.writeString(tmp.resolve("prometheus.yml"), """
          global:
            scrape_interval: 1s
            evaluation_interval: 1s
          rule_files:
            - %s
          alerting:
            alertmanagers:
              - static_configs:
                  - targets: ['127.0.0.1:%d']
          scrape_configs:
            - job_name: splinewatch
              file_sd_configs:
                - files: ['%s/*.json']
                  refresh_interval: 1s
          """.formatted(Path.of("dashboards/prometheus/splinewatch-rules.yml").toAbsolutePath(), amPort, sd));
      Process promProc = start("prometheus", List.of("prometheus", "--config.file=" + tmp.resolve("prometheus.yml"),
          "--storage.tsdb.path=" + tmp.resolve("prom-data"), "--web.listen-address=127.0.0.1:" + promPort));
      awaitReady("http://127.0.0.1:" + amPort + "/-/ready", amProc, "alertmanager");
      awaitReady("http://127.0.0.1:" + promPort + "/-/ready", promProc, "prometheus");
      String prom = "http://127.0.0.1:" + promPort + "/api/v1/query?query=";

      Running collapsing = start("collapsing", "alertmanager", true, tokenFile);
      Running healthy = start("healthy", "alertmanager", false, tokenFile);
      Running warnOnly = start("warnonly", "warn", true, tokenFile);

      EmbeddedRun.Result stopped = collapsing.result().get(240, TimeUnit.SECONDS);
      String console = collapsing.console().toString(StandardCharsets.UTF_8);
      assertEquals(3, stopped.exitCode(), console + "\nrelay:\n" + relayLog);
      assertTrue(stopped.finished().reason().startsWith("Alertmanager alert Splinewatch"),
          stopped.finished().reason() + "\n" + console);
      assertTrue(stopped.finished().steps() > 100, "stopped after the onset at step 100: " + stopped.finished());
      String events = Files.readString(stopped.runDir().resolve("events.jsonl"));
      assertTrue(events.contains("\"type\":\"webhook_stop\"") || events.contains("Alertmanager alert"), events);
      assertTrue(relayLog.toString(StandardCharsets.UTF_8).contains(": 202 stopping collapsing"), relayLog.toString());
      // the stop is alerted after the run's end: its endpoint served one more scrape, within half Prometheus' scrape
      // timeout (1 s here, the interval; a slower scrape, which Prometheus drops, does not count), which showed
      // splinewatch_run_stopped_early; Prometheus fires SplinewatchRunStoppedEarly and Alertmanager has it
      assertTrue(console.contains("waiting up to") && console.contains("for one more scrape of /metrics"), console);
      String stoppedAlert = await(prom, "ALERTS{alertname=\"SplinewatchRunStoppedEarly\",run=\"collapsing\","
          + "alertstate=\"firing\"}", a -> a.contains("collapsing"), 60);
      assertTrue(stoppedAlert.contains("\"severity\":\"warning\"") && stoppedAlert.contains("\"rule\":\""),
          stoppedAlert + "\nPrometheus' scrapes of the stopped run (up, scrape_duration_seconds, stopped_early): "
          + get(prom + URLEncoder.encode("{instance=\"127.0.0.1:" + stopped.metricsPort() + "\",__name__=~\"up"
              + "|scrape_duration_seconds|splinewatch_run_stopped_early\"}[2m]", StandardCharsets.UTF_8)) + "\n"
          + console);
      String amAlerts = "";
      for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60); System.nanoTime() < until
          && !amAlerts.contains("SplinewatchRunStoppedEarly"); Thread.sleep(500)) {
        amAlerts = get("http://127.0.0.1:" + amPort + "/api/v2/alerts?filter=run%3D%22collapsing%22");
      }
      assertTrue(amAlerts.contains("SplinewatchRunStoppedEarly") && amAlerts.contains("\"state\":\"active\""),
          "Alertmanager has the stop, not inhibited: " + amAlerts);

      // meanwhile the healthy run kept training, and the warn-only run's collapse raised alerts but no stop
      assertFalse(healthy.result().isDone(), "the healthy run is still training");
      assertFalse(warnOnly.result().isDone(), "the warn-only run is not stopped");
      String fired = await(prom, "ALERTS{run=\"warnonly\",alertstate=\"firing\",severity=\"critical\"}",
          a -> a.contains("warnonly"), 60);
      assertTrue(fired.contains("warnonly"), "the warn-only run's collapse is alerted: " + fired);
      // Prometheus to Alertmanager (group_wait 1 s here) to the relay to the run's control endpoint: waited for
      // with a deadline, not a fixed 3 s, which that chain can take on a loaded machine
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!relayLog.toString(StandardCharsets.UTF_8).contains("early-stop is warn")
          && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      assertTrue(relayLog.toString(StandardCharsets.UTF_8).contains("early-stop is warn"), relayLog.toString());
      assertFalse(warnOnly.result().isDone(), "the warn-only run is still not stopped");
      String none = get(prom + URLEncoder.encode("ALERTS{run=\"healthy\",severity=\"critical\"}",
          StandardCharsets.UTF_8));
      assertTrue(none.contains("\"result\":[]"), "no critical alert for the healthy run: " + none);

      healthy.trainer().get(5, TimeUnit.SECONDS).tell(new TrainerActor.Stop("test: enough"));
      warnOnly.trainer().get(5, TimeUnit.SECONDS).tell(new TrainerActor.Stop("test: enough"));
      EmbeddedRun.Result h = healthy.result().get(120, TimeUnit.SECONDS);
      EmbeddedRun.Result w = warnOnly.result().get(120, TimeUnit.SECONDS);
      assertEquals("test: enough", h.finished().reason());
      assertEquals("test: enough", w.finished().reason());
      assertFalse(Files.readString(h.runDir().resolve("events.jsonl")).contains("alert_firing"));

      // lifecycle: the finished runs' alerts resolve (run_active 0, then their target and series are gone)
      // (but SplinewatchRunStoppedEarly, which lasts 5 minutes after the stop by design)
      String left = await(prom, "ALERTS{run=~\"collapsing|warnonly\",alertname!=\"SplinewatchRunStoppedEarly\"}",
          a -> a.contains("\"result\":[]"), 80);
      assertTrue(left.contains("\"result\":[]"), "a finished run raises nothing: " + left);

      // a trainer killed with SIGKILL leaves its discovery file: SplinewatchTrainerDown for its run
      int port = TestTools.freePort();
      Process killed = start("killed", List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx512m", "-cp", System.getProperty("java.class.path"), "org.splinewatch.cli.Main", "train",
          "--method", "simclr", "--data-dir", tmp.resolve("idx").toString(), "--hidden", "16", "--batch-size", "32",
          "--probe-size", "50", "--projection-dim", "16", "--analyzers", "embedding", "--max-steps", "1000000",
          "--metrics-port", String.valueOf(port), "--out", tmp.resolve("runs").toString(), "--run-id", "killed"));
      String up = await(prom, "splinewatch_run_active{run=\"killed\"}", a -> a.contains("\"1\"]"), 240);
      assertTrue(up.contains("\"1\"]"), "the killed run was scraped while active: " + up + "\n"
          + Files.readString(tmp.resolve("killed.log")));
      killed.destroyForcibly().waitFor();
      assertTrue(Files.exists(sd.resolve("killed.json")), "SIGKILL leaves the discovery file");
      String down = await(prom, "ALERTS{alertname=\"SplinewatchTrainerDown\",run=\"killed\"}",
          a -> a.contains("firing"), 120);
      assertTrue(down.contains("\"alertstate\":\"firing\""), "TrainerDown for the killed run: " + down);
    }
  }
}
