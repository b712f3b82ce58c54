package org.splinewatch.monitor;

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
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.metrics.Sample;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * The standard alerting path with real servers on loopback (Debian packages prometheus and prometheus-alertmanager,
 * installed by .ci/run; skipped where they are missing): Prometheus scrapes a tiny run and evaluates the shipped
 * rules, Alertmanager routes with the shipped configuration to the run's control endpoint. A healthy run raises no
 * alert; a run with an injected collapse (metrics.md §7) is stopped by Alertmanager's webhook with exit code 3, and
 * events.jsonl records why. The in-process early stop is off ({@code warn}), so only the webhook can stop it.
 */
class AlertingEndToEndTest {
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
    for (int i = 0; i < 100; i++) {
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

  private EmbeddedRun.Result run(String runId, int metricsPort, boolean collapse, long maxSteps) throws Exception {
    var o = SyntheticData.tinyRun(tmp, runId, maxSteps);
    o.put("splinewatch.metrics.port", metricsPort);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.alerts.early-stop", "warn");
    var config = TrainCommand.load(o, null);
    var injector = new RunGuardian.AnalyzerSpec("injector", (run, metrics, dir) ->
        AnalyzerActor.create("injector", metrics, () -> s -> {
          try {
            Thread.sleep(200); // pace the run so that Prometheus sees several snapshots
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return List.of(Sample.of("splinewatch_embedding_std_normalized", collapse && s.step() >= 60 ? 0.01 : 0.9,
              s.step(), "layer", "proj"));
        }));
    ScheduledExecutorService fallback = Executors.newSingleThreadScheduledExecutor();
    try {
      ByteArrayOutputStream console = new ByteArrayOutputStream();
      return EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
          new PrintStream(console, true, StandardCharsets.UTF_8), List.of(injector), new EmbeddedRun.Listener() {
            @Override
            public void started(Path runDir, int port, ActorRef<TrainerActor.Command> trainer) {
              fallback.schedule(() -> trainer.tell(new TrainerActor.Stop("test timeout: no webhook stop in 120 s")),
                  120, TimeUnit.SECONDS);
            }
          });
    } finally {
      fallback.shutdownNow();
    }
  }

  @Test
  void prometheusAndAlertmanagerStopACollapsingRunAndLeaveAHealthyOneAlone() throws Exception {
    assumeTrue(TestTools.installed("prometheus") && TestTools.installed("prometheus-alertmanager"),
        "prometheus and prometheus-alertmanager not installed (.ci/run installs them)");
    int metricsPort = TestTools.freePort();
    int promPort = TestTools.freePort();
    int amPort = TestTools.freePort();
    Path token = tmp.resolve("control-token");
    Files.writeString(token, TOKEN + "\n");
    String am = Files.readString(Path.of("dashboards/alertmanager/alertmanager.yml"))
        .replace("http://127.0.0.1:9464/api/v1/alerts", "http://127.0.0.1:" + metricsPort + "/api/v1/alerts")
        .replace("/etc/splinewatch/control-token", token.toString())
        .replace("group_wait: 5s", "group_wait: 1s");
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
            static_configs:
              - targets: ['127.0.0.1:%d']
        """.formatted(Path.of("dashboards/prometheus/splinewatch-rules.yml").toAbsolutePath(), amPort, metricsPort));
    Process promProc = start("prometheus", List.of("prometheus", "--config.file=" + tmp.resolve("prometheus.yml"),
        "--storage.tsdb.path=" + tmp.resolve("prom-data"), "--web.listen-address=127.0.0.1:" + promPort));
    awaitReady("http://127.0.0.1:" + amPort + "/-/ready", amProc, "alertmanager");
    awaitReady("http://127.0.0.1:" + promPort + "/-/ready", promProc, "prometheus");
    String prom = "http://127.0.0.1:" + promPort + "/api/v1/query?query=";

    // a healthy run: scraped, no alert
    EmbeddedRun.Result healthy = run("healthy", metricsPort, false, 8000); // several seconds: scraped a few times
    assertEquals(0, healthy.exitCode(), String.valueOf(healthy.finished()));
    String scraped = get(prom + URLEncoder.encode("count_over_time(splinewatch_training_step{run=\"healthy\"}[5m])",
        StandardCharsets.UTF_8));
    assertTrue(scraped.contains("\"result\":[{"), "Prometheus scraped the healthy run: " + scraped);
    String alerts = get(prom + URLEncoder.encode("ALERTS{run=\"healthy\",severity=\"critical\"}",
        StandardCharsets.UTF_8));
    assertTrue(alerts.contains("\"result\":[]"), "no critical alert for the healthy run: " + alerts);
    assertFalse(Files.readString(healthy.runDir().resolve("events.jsonl")).contains("alert_firing"));

    // an injected collapse: the in-process state is scraped, the rule fires, Alertmanager calls the webhook
    EmbeddedRun.Result collapsing = run("collapsing", metricsPort, true, 1_000_000);
    assertEquals(3, collapsing.exitCode(), String.valueOf(collapsing.finished()));
    assertTrue(collapsing.finished().reason().startsWith("Alertmanager alert Splinewatch"),
        collapsing.finished().reason());
    String events = Files.readString(collapsing.runDir().resolve("events.jsonl"));
    assertTrue(events.contains("\"rule\":\"std_collapse\""), events);
    assertTrue(events.contains("\"reason\":\"Alertmanager alert Splinewatch"), events);
    String fired = get(prom + URLEncoder.encode("ALERTS{run=\"collapsing\",alertstate=\"firing\"}",
        StandardCharsets.UTF_8));
    assertTrue(fired.contains("SplinewatchInProcessAlert") || fired.contains("SplinewatchCollapseConsecutive"), fired);
  }
}
