package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.serve.DiscoverySettings;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * Every PromQL expression of every dashboard panel, variable and annotation runs against a real Prometheus (Debian
 * package, installed by .ci/run; skipped where missing) that discovered a real tiny run through the file-based
 * service discovery and scraped it: each returns data whenever the run produces the metrics it reads. The run has
 * every analyzer and an injected collapse, so alert panels have data too. Queries run while the run is live.
 */
class DashboardQueriesIT {
  /** The process families the health dashboard reads (Micrometer's JVM and process binders). */
  private static final Pattern PROCESS_FAMILY = Pattern.compile("\\b(jvm|process|system)_[a-z_]+");
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.*),\\s*(\\w+)\\)");
  @TempDir
  Path tmp;
  private Process prometheus;
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stop() {
    if (prometheus != null) {
      prometheus.destroyForcibly();
    }
  }

  static void mustRun(List<String> cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), String.join(" ", cmd) + ":\n" + out);
  }

  private String get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  static String substitute(String expr, String run) {
    return expr.replace("$run", run).replace("$plane", ".*").replace("$layer", ".+").replace("$method", ".+")
        .replace("$dataset", ".+").replace("$__range", "1h");
  }

  /** Runs one dashboard query; true when it returned data. */
  private boolean returnsData(String base, String expr) throws Exception {
    return labels(base, expr) != null;
  }

  /**
   * Runs one dashboard query: null when it returned no data, else the labels its series carry (any of them; none for a
   * variable's label_values).
   */
  private java.util.Set<String> labels(String base, String expr) throws Exception {
    Matcher lv = LABEL_VALUES.matcher(expr);
    String body;
    if (lv.matches()) {
      body = get(base + "/api/v1/label/" + lv.group(2) + "/values?match[]="
          + URLEncoder.encode(lv.group(1), StandardCharsets.UTF_8));
      assertTrue(body.contains("\"status\":\"success\""), expr + ": " + body);
      return body.contains("\"data\":[]") ? null : java.util.Set.of();
    }
    body = get(base + "/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
    assertTrue(body.contains("\"status\":\"success\""), expr + ": " + body);
    java.util.Set<String> out = new java.util.TreeSet<>();
    com.fasterxml.jackson.databind.JsonNode result = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body)
        .path("data").path("result");
    result.forEach(r -> r.path("metric").fieldNames().forEachRemaining(out::add));
    return result.isEmpty() ? null : out;
  }

  /**
   * The labels a query's legend (or an annotation's title and text) names that none of its series carries: Grafana
   * shows them as empty text, so every series of such a panel reads alike.
   */
  static List<String> missingLegendLabels(String legend, java.util.Set<String> labels) {
    return Dashboards.legendLabels(legend).stream().filter(l -> !labels.contains(l)).toList();
  }

  @Test
  void everyDashboardQueryReturnsDataForALiveRun() throws Exception {
    assumeTrue(TestTools.installed("prometheus"), "prometheus not installed (.ci/run installs it)");
    int metricsPort = TestTools.freePort();
    int promPort = TestTools.freePort();
    Path sd = tmp.resolve("sd");
    prometheus = TestTools.startPrometheus(tmp, promPort, """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        rule_files:
          - %s
        scrape_configs:
          - job_name: splinewatch
            file_sd_configs:
              - files: ['%s/*.json']
                refresh_interval: 1s
        """.formatted(Path.of("dashboards/prometheus/splinewatch-rules.yml").toAbsolutePath(), sd));
    String base = "http://127.0.0.1:" + promPort;

    var o = SyntheticData.tinyRun(tmp, "dash", 1_000_000);
    o.put("splinewatch.run.hidden", List.of(16, 16));
    o.put("splinewatch.run.probe-size", 60);
    o.put("splinewatch.metrics.port", metricsPort);
    o.put("splinewatch.metrics.sd-dir", sd.toString());
    o.put("splinewatch-analysis-dispatcher.fixed-pool-size", 2);
    var config = TrainCommand.load(o, null);
    RunSettings settings = RunSettings.fromConfig(config);
    // in a shared sd-dir the file's name carries the --out: <run-id>.<out>-<hex>.json
    java.util.function.Supplier<Path> sdFile = () -> sd.resolve(DiscoverySettings.fromConfig(config)
        .fileName(settings.out(), "dash", settings.metricsHost()) + ".json");
    List<AnalyzerSpec> analyzers = new ArrayList<>(EmbeddedRun.defaultAnalyzers(config));
    analyzers.add(new AnalyzerSpec("injector", (run, metrics, dir) ->
        AnalyzerActor.create("injector", metrics, () -> s -> List.of(Sample.of("splinewatch_embedding_std_normalized",
            s.step() < 100 ? 0.9 : 0.01, s.step(), "layer", "proj")))));
    List<String> missing = new ArrayList<>();
    List<String> badLegends = java.util.Collections.synchronizedList(new ArrayList<>());
    java.util.concurrent.atomic.AtomicInteger checkedQueries = new java.util.concurrent.atomic.AtomicInteger();
    CompletableFuture<Void> checked = new CompletableFuture<>();
    EmbeddedRun.Result result = EmbeddedRun.run(settings, config, Map.of(),
        new PrintStream(java.io.OutputStream.nullOutputStream()), analyzers, new EmbeddedRun.Listener() {
          @Override
          public void started(Path runDir, int port, ActorRef<TrainerActor.Command> trainer) {
            Thread t = new Thread(() -> {
              try {
                assertTrue(Files.exists(sdFile.get()), "the run registered itself for discovery");
                // the run shares this JVM: one collection makes the GC pause timer (created at the first GC) exist
                // before Prometheus scrapes, so the health dashboard's GC panel has data
                System.gc();
                // wait until every analyzer and the alert rules have produced data; a run that never gets there
                // fails here, rather than checking only the queries of the families that did arrive
                List<String> firstData = new ArrayList<>(List.of(
                    "ALERTS{run=\"dash\",alertstate=\"firing\"}", "splinewatch_intrinsic_dimension{run=\"dash\"}",
                    "splinewatch_boundary_flip_ratio{run=\"dash\"}", "splinewatch_regions{run=\"dash\"}",
                    "rate(splinewatch_analysis_seconds_count{run=\"dash\"}[1m])"));
                long firstDeadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(180);
                while (true) {
                  for (var it = firstData.iterator(); it.hasNext(); ) {
                    if (returnsData(base, it.next())) {
                      it.remove();
                    }
                  }
                  if (firstData.isEmpty() || System.nanoTime() > firstDeadline) {
                    break;
                  }
                  Thread.sleep(500);
                }
                assertTrue(firstData.isEmpty(), "no data within 180 s for " + firstData);
                // the samples the run exports, less MetricsActor's placeholder analyzer="none" series, which the
                // dashboards leave out: a query on a family that has only the placeholder (nothing dropped or failed)
                // is not expected to have data
                String produced = get("http://127.0.0.1:" + port + "/metrics").lines()
                    .filter(l -> !l.startsWith("#") && !l.contains("analyzer=\"none\""))
                    .collect(java.util.stream.Collectors.joining("\n"));
                // the live dashboard's picture panel: the newest partition picture of a plane, 404 for no plane
                HttpResponse<String> svg = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/planes/0/latest.svg")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, svg.statusCode());
                assertTrue(svg.body().startsWith("<svg") && svg.headers().firstValue("Content-Type").orElse("")
                    .startsWith("image/svg+xml"), svg.headers().toString());
                assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/planes/7/latest.svg")).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
                // ... and per run, as the picture panel asks for it following $run (also what ./monitor serve serves)
                HttpResponse<String> perRun = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/runs/dash/planes/0/latest.svg")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, perRun.statusCode());
                assertTrue(perRun.body().startsWith("<svg"));
                for (String bad : List.of("/runs/nosuchrun/planes/0/latest.svg", "/runs/..%2F/planes/0/latest.svg")) {
                  assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + bad))
                      .build(), HttpResponse.BodyHandlers.ofString()).statusCode(), bad);
                }
                Map<String, String> pending = new java.util.LinkedHashMap<>(); // where -> query
                Map<String, String> legends = new java.util.HashMap<>(); // where -> legend
                for (Path f : Dashboards.files()) {
                  for (Dashboards.Query q : Dashboards.queries(f)) {
                    String expr = substitute(q.expr(), "dash");
                    boolean expected = Dashboards.metrics(expr).stream().allMatch(produced::contains)
                        && PROCESS_FAMILY.matcher(expr).results().allMatch(m -> produced.contains(m.group()));
                    if (expected) {
                      checkedQueries.incrementAndGet();
                      pending.put(q.dashboard() + " " + q.where() + ": " + expr, expr);
                      legends.put(q.dashboard() + " " + q.where() + ": " + expr, q.legend());
                    }
                  }
                }
                // a family the run began to export just before it was read above may not have been scraped yet
                // (every second; later on a loaded machine), and a rate over it needs two scrapes: a query without
                // data is asked again until a deadline, not once
                long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
                while (true) {
                  for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
                    var q = it.next();
                    java.util.Set<String> labels = labels(base, q.getValue());
                    if (labels != null) {
                      List<String> unknown = missingLegendLabels(legends.get(q.getKey()), labels);
                      if (!unknown.isEmpty()) {
                        badLegends.add(q.getKey() + ": legend '" + legends.get(q.getKey()) + "' names " + unknown
                            + ", which its series " + labels + " lack");
                      }
                      it.remove();
                    }
                  }
                  if (pending.isEmpty() || System.nanoTime() > deadline) {
                    break;
                  }
                  Thread.sleep(1000);
                }
                missing.addAll(pending.keySet());
                checked.complete(null);
              } catch (Throwable e) {
                checked.completeExceptionally(e);
              } finally {
                trainer.tell(new TrainerActor.Stop("dashboard queries checked"));
              }
            });
            t.setDaemon(true);
            t.start();
          }
        });
    checked.join();
    assertEquals(3, result.exitCode(), "stopped by the test after the checks");
    assertTrue(missing.isEmpty(), "queries without data:\n" + String.join("\n", missing));
    assertTrue(badLegends.isEmpty(), "legends naming labels the series lack:\n" + String.join("\n", badLegends));
    // all but the SSL-only ones (layer proj from the SimCLR projector is injected here) are expected to have data
    assertTrue(checkedQueries.get() >= 70, "queries checked: " + checkedQueries.get());
    assertTrue(!Files.exists(sdFile.get()), "the run removed its discovery file");
  }
}
