package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.trainer.ForwardingTrainer;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.Trainer;

/**
 * The dashboards checked with Grafana's own Apache-2.0 npm packages (Grafana itself is not installable here), each at
 * the oldest Grafana the dashboards declare ({@code __requires}: 10.4.0) and the one docker/ runs (11.1.0):
 *
 * <ul>
 *   <li>every dashboard type-checks against {@code @grafana/schema} with the TypeScript compiler (dashboard model,
 *       variables, links, rows, each panel's options and custom field config), and broken copies do not;</li>
 *   <li>the "compare runs by step" panels' transformations, run by {@code @grafana/data}'s own implementation on
 *       Prometheus range-query responses for two real runs started seconds apart (disjoint in wall-clock time),
 *       give the trend panel one frame whose x field is the training step, ascending, with one column per run, and
 *       the two runs (same seed, so the same curve) agree at every step both have.</li>
 * </ul>
 *
 * <p>{@code src/test/grafana/} pins the packages (package.json, package-lock.json) and holds the two Node scripts;
 * {@code npm ci} installs them into target/grafana-npm once per lock file. Skipped where node or npm is missing
 * (.ci/run installs npm); the comparison also needs prometheus (Debian package, installed by .ci/run).
 */
class GrafanaPackagesIT {
  private static final Path SOURCES = Path.of("src/test/grafana");
  private static final Path NPM_DIR = Path.of("target/grafana-npm");
  private static final ObjectMapper JSON = new ObjectMapper();
  /** npm names of the pinned schema and data packages: the docker/ Grafana's version, and the oldest declared. */
  private static final Map<String, String> SCHEMAS = Map.of("@grafana/schema", "11.1.0",
      "grafana-schema-10-4", "10.4.0");
  private static final List<String> DATA = List.of("@grafana/data", "grafana-data-10-4");
  private static final Path COMPARE = Path.of("dashboards/grafana/dashboards/splinewatch-compare-runs.json");
  /** The trainer pauses this long after every 20th step, so that Prometheus scrapes each run at those steps. */
  private static final long HOLD_MS = 2500;

  @TempDir
  Path tmp;
  private Process prometheus;

  @AfterEach
  void stop() {
    if (prometheus != null) {
      prometheus.destroyForcibly();
    }
  }

  /** Installs the pinned packages (npm ci) unless target/grafana-npm already has this lock file's. */
  @BeforeAll
  static void install() throws Exception {
    assumeTrue(TestTools.installed("node") && TestTools.installed("npm"),
        "node/npm not installed (.ci/run installs npm)");
    Files.createDirectories(NPM_DIR);
    for (String f : List.of("package.json", "package-lock.json", "check-dashboards.cjs", "compare-by-step.cjs")) {
      Files.copy(SOURCES.resolve(f), NPM_DIR.resolve(f), StandardCopyOption.REPLACE_EXISTING);
    }
    String lock = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(SOURCES.resolve("package-lock.json"))));
    Path stamp = NPM_DIR.resolve("node_modules/.installed-lock-sha256");
    if (!Files.exists(stamp) || !Files.readString(stamp).equals(lock)) {
      Result ci = run(NPM_DIR, 600, "npm", "ci", "--no-audit", "--no-fund");
      assertEquals(0, ci.exit(), "npm ci in " + NPM_DIR + ":\n" + ci.output());
      Files.writeString(stamp, lock);
    }
  }

  record Result(int exit, String output) {
  }

  private static Result run(Path dir, long timeoutSeconds, String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private Result checkSchema(String schemaPackage, List<Path> files) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("node", "check-dashboards.cjs", schemaPackage,
        tmp.resolve("ts-" + schemaPackage.replaceAll("\\W", "_")).toAbsolutePath().toString()));
    files.forEach(f -> cmd.add(f.toAbsolutePath().toString()));
    return run(NPM_DIR, 300, cmd.toArray(String[]::new));
  }

  private static int panelCount(JsonNode dashboard) {
    int n = 0;
    for (JsonNode p : dashboard.path("panels")) {
      n += 1 + p.path("panels").size();
    }
    return n;
  }

  @Test
  void everyDashboardMatchesGrafanasSchema() throws Exception {
    List<Path> files = Dashboards.files();
    int panels = 0;
    for (Path f : files) {
      panels += panelCount(JSON.readTree(f.toFile()));
    }
    for (Map.Entry<String, String> schema : SCHEMAS.entrySet()) {
      Result r = checkSchema(schema.getKey(), files);
      assertEquals(0, r.exit(), schema + ":\n" + r.output());
      assertTrue(r.output().contains("OK " + files.size() + " dashboards, " + panels + " panels match @grafana/schema "
          + schema.getValue()), r.output());
    }
  }

  /** A copy of the compare-runs dashboard changed by {@code change}, written to {@code name}. */
  private Path broken(String name, Consumer<ObjectNode> change) throws Exception {
    ObjectNode d = (ObjectNode) JSON.readTree(COMPARE.toFile());
    change.accept(d);
    Path f = tmp.resolve(name + ".json");
    JSON.writerWithDefaultPrettyPrinter().writeValue(f.toFile(), d);
    return f;
  }

  /** The object {@code parent.name}, created when missing. */
  private static ObjectNode object(ObjectNode parent, String name) {
    return parent.get(name) instanceof ObjectNode o ? o : parent.putObject(name);
  }

  private static ObjectNode firstPanel(ObjectNode d, String type) {
    for (JsonNode p : d.path("panels")) {
      if (p.path("type").asText().equals(type)) {
        return (ObjectNode) p;
      }
    }
    throw new AssertionError("no " + type + " panel");
  }

  @Test
  void brokenDashboardsFailTheSchemaCheck() throws Exception {
    // each file has one mistake; the check names the file, the panel and the mistake
    Map<Path, List<String>> expected = new LinkedHashMap<>();
    expected.put(broken("option-typo", d -> {
      ObjectNode options = (ObjectNode) firstPanel(d, "trend").path("options");
      options.set("xFeld", options.remove("xField"));
    }), List.of("(trend)", "'\"xFeld\"' does not exist"));
    expected.put(broken("enum-value", d -> object(object(firstPanel(d, "timeseries"), "options"), "legend")
        .put("displayMode", "tabel")), List.of("(timeseries)", "\"tabel\""));
    expected.put(broken("unit-type", d -> ((ObjectNode) firstPanel(d, "trend").path("fieldConfig").path("defaults"))
        .put("unit", 5)), List.of("(trend)", "Type 'number' is not assignable to type 'string'"));
    expected.put(broken("no-schema-version", d -> d.remove("schemaVersion")), List.of("dashboard:", "schemaVersion"));
    expected.put(broken("variable-type", d -> ((ObjectNode) d.path("templating").path("list").get(1))
        .put("type", "querry")), List.of("dashboard:", "\"querry\""));
    expected.put(broken("panel-type", d -> firstPanel(d, "table").put("type", "tabel")),
        List.of("(tabel)", "panel type without an @grafana/schema panelcfg"));
    expected.put(broken("custom-field-config", d -> object(object(object(firstPanel(d, "timeseries"), "fieldConfig"),
        "defaults"), "custom").put("lineWidht", 2)), List.of("(timeseries)", "lineWidht"));
    expected.put(broken("row-without-panels", d -> firstPanel(d, "row").remove("panels")),
        List.of("(row)", "Property 'panels' is missing"));
    for (String schema : SCHEMAS.keySet()) {
      Result r = checkSchema(schema, List.copyOf(expected.keySet()));
      assertEquals(1, r.exit(), schema + ":\n" + r.output());
      for (Map.Entry<Path, List<String>> e : expected.entrySet()) {
        String file = e.getKey().toAbsolutePath().toString();
        List<String> lines = r.output().lines().filter(l -> l.startsWith("ERROR " + file + ":")).toList();
        assertTrue(lines.stream().anyMatch(l -> e.getValue().stream().allMatch(l::contains)),
            schema + ": " + e.getKey().getFileName() + " should fail with " + e.getValue() + ", got:\n" + r.output());
      }
    }
  }

  /** The trainer, pausing after every 20th step (the snapshot steps) so that Prometheus scrapes the run there. */
  private static Trainer holdingEvery20Steps(Trainer t) {
    return new ForwardingTrainer(t) {
      private long steps;

      @Override
      public double step() {
        if (steps % 20 == 0) {
          try {
            Thread.sleep(HOLD_MS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        steps++;
        return delegate.step();
      }
    };
  }

  /** One tiny run of 100 steps (same seed and data for every run id), scraped through file service discovery. */
  private void trainRun(String id, Path sd) throws Exception {
    var o = SyntheticData.tinyRun(tmp, id, 100);
    o.put("splinewatch.metrics.port", TestTools.freePort());
    o.put("splinewatch.metrics.sd-dir", sd.toString());
    o.put("splinewatch.analysis.enabled", List.of("embedding", "regions"));
    o.put("splinewatch-analysis-dispatcher.fixed-pool-size", 2);
    var config = TrainCommand.load(o, null);
    EmbeddedRun.Result r = EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
        new PrintStream(java.io.OutputStream.nullOutputStream()), EmbeddedRun.defaultAnalyzers(config),
        new EmbeddedRun.Listener() {
          @Override
          public Trainer trainer(Trainer created) {
            return holdingEvery20Steps(created);
          }
        });
    assertEquals(0, r.exitCode(), id + ": " + r.finished());
  }

  private static JsonNode get(HttpClient http, String url) throws Exception {
    String body = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    JsonNode j = JSON.readTree(body);
    assertEquals("success", j.path("status").asText(), url + ": " + body);
    return j;
  }

  /** Time stamps (s) of one run's samples in a range-query response. */
  private static List<Double> times(JsonNode response, String run) {
    List<Double> t = new ArrayList<>();
    for (JsonNode s : response.path("data").path("result")) {
      if (s.path("metric").path("run").asText().equals(run)) {
        s.path("values").forEach(v -> t.add(v.get(0).asDouble()));
      }
    }
    return t;
  }

  /** {time → value} of one run's samples in a range-query response. */
  private static Map<Double, Double> series(JsonNode response, String run) {
    Map<Double, Double> m = new LinkedHashMap<>();
    for (JsonNode s : response.path("data").path("result")) {
      if (s.path("metric").path("run").asText().equals(run)) {
        s.path("values").forEach(v -> m.put(v.get(0).asDouble(), Double.parseDouble(v.get(1).asText())));
      }
    }
    return m;
  }

  private JsonNode transform(String dataPackage, Path dashboard, Path responses) throws Exception {
    Result r = run(NPM_DIR, 300, "node", "compare-by-step.cjs", dataPackage, dashboard.toAbsolutePath().toString(),
        responses.toAbsolutePath().toString());
    assertEquals(0, r.exit(), dataPackage + ":\n" + r.output());
    return JSON.readTree(r.output());
  }

  @Test
  void compareRunsByStepAlignsTwoRunsStartedApart() throws Exception {
    assumeTrue(TestTools.installed("prometheus"), "prometheus not installed (.ci/run installs it)");
    int promPort = TestTools.freePort();
    Path sd = Files.createDirectories(tmp.resolve("sd"));
    prometheus = TestTools.startPrometheus(tmp, promPort, """
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: splinewatch
            file_sd_configs:
              - files: ['%s/*.json']
                refresh_interval: 1s
        """.formatted(sd));
    String base = "http://127.0.0.1:" + promPort;
    long start = System.currentTimeMillis() / 1000 - 5;
    trainRun("early", sd);
    Thread.sleep(5000); // the second run starts well after the first ended
    trainRun("late", sd);
    Thread.sleep(2000);
    long end = System.currentTimeMillis() / 1000 + 1;

    // each step-aligned panel's queries as Grafana sends them: a range query per target, $run = both runs
    HttpClient http = HttpClient.newHttpClient();
    ObjectNode responses = JSON.createObjectNode();
    JsonNode dashboard = JSON.readTree(COMPARE.toFile());
    for (JsonNode p : dashboard.path("panels")) {
      if (!p.path("type").asText().equals("trend")) {
        continue;
      }
      ObjectNode byRefId = responses.putObject(p.path("title").asText());
      for (JsonNode t : p.path("targets")) {
        String expr = DashboardQueriesIT.substitute(t.path("expr").asText(), "early|late");
        byRefId.set(t.path("refId").asText(), get(http, base + "/api/v1/query_range?query="
            + URLEncoder.encode(expr, StandardCharsets.UTF_8) + "&start=" + start + "&end=" + end + "&step=1"));
      }
    }
    assertEquals(4, responses.size(), "step-aligned panels");
    Path recorded = tmp.resolve("responses.json");
    JSON.writeValue(recorded.toFile(), responses);
    Files.createDirectories(Path.of("target/test-artifacts"));
    Files.copy(recorded, Path.of("target/test-artifacts/compare-by-step-prometheus-responses.json"),
        StandardCopyOption.REPLACE_EXISTING);

    // the two runs do not overlap in wall-clock time: overlaid by time, no point of one meets a point of the other
    var first = responses.elements().next();
    List<Double> early = times(first.path("B"), "early");
    List<Double> late = times(first.path("B"), "late");
    assertTrue(!early.isEmpty() && !late.isEmpty(), "both runs were scraped: " + first);
    assertTrue(late.stream().mapToDouble(Double::doubleValue).min().orElseThrow()
        > early.stream().mapToDouble(Double::doubleValue).max().orElseThrow(),
        "the late run started after the early one ended");

    for (String data : DATA) {
      JsonNode out = transform(data, COMPARE, recorded);
      for (var panel : (Iterable<Map.Entry<String, JsonNode>>) out::fields) {
        String what = data + " \"" + panel.getKey() + "\"";
        JsonNode trend = panel.getValue().path("trend");
        assertTrue(trend.path("warning").isNull(), what + ": " + trend);
        assertEquals(1, panel.getValue().path("frames").size(), what);
        ArrayNode fields = (ArrayNode) panel.getValue().path("frames").get(0).path("fields");
        JsonNode x = fields.get(trend.path("xField").asInt());
        assertEquals("step", x.path("displayName").asText(), what);
        List<String> columns = new ArrayList<>();
        fields.forEach(f -> columns.add(f.path("displayName").asText()));
        assertEquals(List.of("step", "early", "late"), columns, what);
        // every value sits at the step Prometheus paired it with, for its own run
        JsonNode raw = responses.path(panel.getKey());
        for (int c = 1; c <= 2; c++) {
          String run = columns.get(c);
          Map<Double, Double> values = series(raw.path("A"), run);
          Map<Double, Double> steps = series(raw.path("B"), run);
          for (int row = 0; row < x.path("values").size(); row++) {
            JsonNode v = fields.get(c).path("values").get(row);
            if (v.isNull()) {
              continue;
            }
            double step = x.path("values").get(row).asDouble();
            assertTrue(values.entrySet().stream().anyMatch(e -> e.getValue() == v.asDouble()
                && Double.valueOf(step).equals(steps.get(e.getKey()))),
                what + ": " + run + " = " + v + " at step " + step + " is not a sample of that run at that step");
          }
        }
        // the runs share seed and data: where both have a step, they show the same value there
        int both = 0;
        for (int row = 0; row < x.path("values").size(); row++) {
          JsonNode a = fields.get(1).path("values").get(row);
          JsonNode b = fields.get(2).path("values").get(row);
          if (!a.isNull() && !b.isNull()) {
            both++;
            assertEquals(a.asDouble(), b.asDouble(), 1e-9 * Math.max(1, Math.abs(a.asDouble())),
                what + " at step " + x.path("values").get(row));
          }
        }
        assertTrue(both >= 2, what + ": steps where both runs have a value: " + both + "\n" + fields);
      }
    }

    // the same panels grouped by wall-clock time instead of the step: the runs never meet
    ObjectNode byTime = (ObjectNode) JSON.readTree(COMPARE.toFile());
    for (JsonNode p : byTime.path("panels")) {
      for (JsonNode t : p.path("transformations")) {
        if (t.path("id").asText().equals("groupingToMatrix")) {
          ((ObjectNode) t.path("options")).put("rowField", "Time");
        }
      }
    }
    Path byTimeFile = tmp.resolve("by-time.json");
    JSON.writeValue(byTimeFile.toFile(), byTime);
    JsonNode out = transform("@grafana/data", byTimeFile, recorded);
    for (var panel : (Iterable<Map.Entry<String, JsonNode>>) out::fields) {
      ArrayNode fields = (ArrayNode) panel.getValue().path("frames").get(0).path("fields");
      for (int row = 0; row < fields.get(0).path("values").size(); row++) {
        assertTrue(fields.get(1).path("values").get(row).isNull() || fields.get(2).path("values").get(row).isNull(),
            panel.getKey() + ": by time, the runs share no time stamp");
      }
    }
  }
}
