package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;
import org.splinewatch.snapshot.MetricFamily;
import org.yaml.snakeyaml.Yaml;

/**
 * Dashboard JSON sanity: valid JSON, unique uids, every datasource the datasource variable, every referenced variable
 * defined, every family a panel or a Prometheus rule queries declared in {@link MetricFamily} with its labels; and the
 * docker/ compose stack's files.
 */
class DashboardJsonTest {
  /** Labels Prometheus adds to every scraped series. */
  static final Set<String> TARGET_LABELS = Set.of("instance", "job", "__name__");
  /** Every label some declared family may carry. */
  static final Set<String> ALL_LABELS = Stream.concat(TARGET_LABELS.stream(), Stream.of(MetricFamily.values())
      .flatMap(f -> f.allowedLabels().stream())).collect(Collectors.toUnmodifiableSet());
  /** The shipped Prometheus rules. */
  static final Path RULES = Path.of("dashboards/prometheus/splinewatch-rules.yml");
  /**
   * The recording rules of {@link #RULES} (level:metric:operation names, which are no families), allowed in
   * queries; the test checks this list against the rules file.
   */
  static final Set<String> RECORDING_RULES = Set.of("splinewatch:regions_trained", "splinewatch:regions:max_1h",
      "splinewatch:embedding_rankme_trained", "splinewatch:embedding_rankme:max_2h");
  /** Series names Prometheus builds from a family: a summary's (Micrometer timer's) parts, a histogram's buckets. */
  static final List<String> SERIES_SUFFIXES = List.of("_count", "_sum", "_max", "_bucket");

  private static final Pattern RECORDED = Pattern.compile("\\bsplinewatch:[a-z0-9_:]+");
  private static final Pattern SELECTOR = Pattern.compile("\\b(splinewatch_[a-z0-9_]+)\\s*\\{([^}]*)}");
  private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(?:=~|!~|!=|=)");
  private static final Pattern GROUPING = Pattern.compile(
      "\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\(([^)]*)\\)");
  // the selector's matchers may hold commas: "[^,)]*" skipped label_values(x{a="1",b="2"}, label) unchecked
  private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\(\\s*(splinewatch_[a-z0-9_]+)"
      + "\\s*(?:\\{[^}]*})?\\s*,\\s*([a-zA-Z_][a-zA-Z0-9_]*)\\s*\\)");
  /** An aggregation written before its argument: {@code max by (run) (...)}. */
  private static final Pattern AGGREGATION_BY = Pattern.compile("\\b([a-z_]+)\\s+by\\s*\\(([^)]*)\\)\\s*\\(");
  /** A series that is no catalogued family: a recording rule, Micrometer's JVM and process families, ALERTS, up. */
  private static final Pattern UNCATALOGUED = Pattern.compile("\\bsplinewatch:|\\b(?:jvm|process|system)_|\\bALERTS"
      + "|\\bup\\b");

  /** The end of the parenthesised argument that opens at {@code open}: the index of its closing parenthesis. */
  private static int closing(String expr, int open) {
    int depth = 0;
    for (int i = open; i < expr.length(); i++) {
      depth += expr.charAt(i) == '(' ? 1 : expr.charAt(i) == ')' ? -1 : 0;
      if (depth == 0) {
        return i;
      }
    }
    return expr.length();
  }

  /** The catalogued family a queried series belongs to (itself, or a summary's {@code _count}...), or null. */
  static MetricFamily family(String series) {
    MetricFamily f = MetricFamily.byId(series);
    for (int i = 0; f == null && i < SERIES_SUFFIXES.size(); i++) {
      String suffix = SERIES_SUFFIXES.get(i);
      if (series.endsWith(suffix)) {
        MetricFamily base = MetricFamily.byId(series.substring(0, series.length() - suffix.length()));
        f = base != null && base.type() == MetricFamily.Type.SUMMARY && !suffix.equals("_bucket") ? base : null;
      }
    }
    return f;
  }

  /**
   * What is wrong with one PromQL expression against the catalogue: a series no family declares, a recording rule
   * not in {@link #RECORDING_RULES}, a label a selector or {@code label_values} uses that its family does not
   * declare, a label in {@code by}/{@code on}/... that no family declares, and a label {@code max by (...) (...)}
   * keeps that none of the aggregated families declares.
   */
  static List<String> catalogueProblems(String expr) {
    List<String> out = new ArrayList<>();
    for (String m : Dashboards.metrics(expr)) {
      if (family(m) == null) {
        out.add("unknown metric " + m + " (not in MetricFamily)");
      }
    }
    Matcher r = RECORDED.matcher(expr);
    while (r.find()) {
      if (!RECORDING_RULES.contains(r.group())) {
        out.add("unknown recording rule " + r.group());
      }
    }
    Matcher s = SELECTOR.matcher(expr);
    while (s.find()) {
      MetricFamily f = family(s.group(1));
      Matcher l = MATCHER.matcher(s.group(2));
      while (f != null && l.find()) {
        if (!f.allowedLabels().contains(l.group(1)) && !TARGET_LABELS.contains(l.group(1))) {
          out.add(s.group(1) + " has no label " + l.group(1) + " (declared: " + f.allowedLabels() + ")");
        }
      }
    }
    Matcher v = LABEL_VALUES.matcher(expr);
    while (v.find()) {
      MetricFamily f = family(v.group(1));
      if (f != null && !f.allowedLabels().contains(v.group(2)) && !TARGET_LABELS.contains(v.group(2))) {
        out.add("label_values of " + v.group(1) + " asks for undeclared label " + v.group(2));
      }
    }
    Matcher g = GROUPING.matcher(expr);
    while (g.find()) {
      for (String label : g.group(1).split(",")) {
        if (!label.isBlank() && !ALL_LABELS.contains(label.strip())) {
          out.add("groups by " + label.strip() + ", a label no family declares");
        }
      }
    }
    // sum by (x) (...) over catalogued families only: x must be a label of one of them (any family's let a label of
    // another family through, whose group is one empty-labelled series)
    Matcher a = AGGREGATION_BY.matcher(expr);
    while (a.find()) {
      String argument = expr.substring(a.end() - 1, closing(expr, a.end() - 1));
      Set<String> labels = new java.util.TreeSet<>(TARGET_LABELS);
      Set<String> families = Dashboards.metrics(argument);
      if (families.isEmpty() || UNCATALOGUED.matcher(argument).find()) {
        continue;
      }
      for (String m : families) {
        MetricFamily f = family(m);
        if (f == null) {
          labels = null; // reported above as unknown
          break;
        }
        labels.addAll(f.allowedLabels());
      }
      for (String label : labels == null ? new String[0] : a.group(2).split(",")) {
        if (!label.isBlank() && ALL_LABELS.contains(label.strip()) && !labels.contains(label.strip())) {
          Object declared = families.size() == 1 ? family(families.iterator().next()).allowedLabels() : labels;
          out.add(a.group(1) + " by (" + a.group(2).strip() + ") over " + String.join(", ", families) + ": "
              + label.strip() + " is a label of none of them (declared: " + declared + ")");
        }
      }
    }
    return out;
  }

  private static final String DS = "${datasource}";

  @Test
  void dashboardsAreSaneAndConsistent() throws Exception {
    Set<String> uids = new HashSet<>();
    List<Path> files = Dashboards.files();
    assertEquals(3, files.size(), "live, comparison and alerts dashboards");
    for (Path f : files) {
      JsonNode d = Dashboards.read(f);
      assertTrue(uids.add(d.path("uid").asText()), "duplicate dashboard uid in " + f);
      Set<String> defined = new HashSet<>();
      for (JsonNode v : d.path("templating").path("list")) {
        defined.add(v.path("name").asText());
        if (v.path("type").asText().equals("query")) {
          assertEquals(DS, v.path("datasource").path("uid").asText(), f + " variable " + v.path("name"));
        }
      }
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : d.path("panels")) {
        assertTrue(ids.add(p.path("id").asInt()), f + ": duplicate panel id " + p.path("id"));
        if (p.has("targets")) {
          assertEquals(DS, p.path("datasource").path("uid").asText(), f + " panel " + p.path("title"));
          for (JsonNode t : p.path("targets")) {
            assertEquals(DS, t.path("datasource").path("uid").asText(), f + " target of " + p.path("title"));
          }
        }
      }
      for (Dashboards.Query q : Dashboards.queries(f)) {
        assertFalse(q.expr().isBlank(), q.where() + " has no expression");
        Set<String> used = Dashboards.variables(q.expr());
        used.removeIf(v -> v.startsWith("__"));
        assertTrue(defined.containsAll(used), q.dashboard() + " " + q.where() + " uses undefined variables " + used);
        assertEquals(List.of(), catalogueProblems(q.expr()), q.dashboard() + " " + q.where() + ": " + q.expr());
      }
      for (JsonNode p : d.path("panels")) {
        for (String v : Dashboards.variables(p.path("options").path("content").asText())) {
          assertTrue(defined.contains(v), f + " text panel " + p.path("title") + " uses undefined $" + v);
        }
      }
    }
  }

  /**
   * Every family the Prometheus rules query is declared in {@link MetricFamily}, with declared labels only, and the
   * recording rules are exactly {@link #RECORDING_RULES}.
   */
  @Test
  @SuppressWarnings("unchecked")
  void prometheusRulesQueryOnlyCataloguedFamilies() throws Exception {
    Map<String, Object> rules = new Yaml().load(Files.readString(RULES));
    Set<String> recorded = new HashSet<>();
    int exprs = 0;
    for (Map<String, Object> group : (List<Map<String, Object>>) rules.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        if (rule.containsKey("record")) {
          recorded.add((String) rule.get("record"));
        }
        String name = String.valueOf(rule.containsKey("record") ? rule.get("record") : rule.get("alert"));
        String expr = String.valueOf(rule.get("expr"));
        exprs++;
        assertEquals(List.of(), catalogueProblems(expr), RULES + " rule " + name + ": " + expr);
      }
    }
    assertEquals(RECORDING_RULES, recorded, "the recording rules of " + RULES);
    assertTrue(exprs > 10, "rules read: " + exprs);
    // the check can fail
    assertEquals(List.of("unknown metric splinewatch_no_such (not in MetricFamily)"),
        catalogueProblems("splinewatch_no_such"));
    assertEquals(1, catalogueProblems("splinewatch_regions{rule=\"x\"}").size());
    assertEquals(1, catalogueProblems("max by (colour) (splinewatch_regions)").size());
    // a label another family declares is still not one of the aggregated family's: the group is empty
    assertEquals(List.of("max by (run, plane) over splinewatch_knn_accuracy_ratio: plane is a label of none of them"
        + " (declared: " + MetricFamily.KNN_ACCURACY_RATIO.allowedLabels() + ")"),
        catalogueProblems("max by (run, plane) (last_over_time(splinewatch_knn_accuracy_ratio{layer=\"repr\"}[1h]))"));
    // label_values of a selector with several matchers (the comparison dashboard's run variable)
    assertEquals(List.of("label_values of splinewatch_training_step asks for undeclared label layer"),
        catalogueProblems("label_values(splinewatch_training_step{method=~\"$method\",dataset=~\"$dataset\"}, layer)"));
    assertEquals(List.of(), catalogueProblems("sum by (run) (rate(splinewatch_analysis_seconds_sum{analyzer=\"x\"}"
        + "[1m])) and on (instance) splinewatch_run_info{git_commit!=\"\"}"));
  }

  /**
   * Importable into any Grafana >= 10 (Grafana itself is not installed here: checked against its documented
   * dashboard JSON model): a Prometheus datasource variable that every query uses, {@code __inputs} asking for the
   * datasource on import, {@code __requires} naming Grafana, the Prometheus plugin and every panel type used.
   */
  @Test
  void dashboardsUseADatasourceVariableAndDeclareInputsAndRequirements() throws Exception {
    @SuppressWarnings("unchecked")
    Map<String, Object> prov = (Map<String, Object>) ((List<Object>) ((Map<String, Object>) new Yaml().load(
        Files.readString(Path.of("dashboards/grafana/provisioning/datasources/prometheus.yml")))).get("datasources"))
        .get(0);
    assertEquals("prometheus", prov.get("type"), "the provisioned datasource is what the variable selects");
    for (Path f : Dashboards.files()) {
      JsonNode d = Dashboards.read(f);
      String text = Files.readString(f);
      assertFalse(text.contains("splinewatch-prometheus"), f + " still names the provisioned datasource uid");
      JsonNode ds = null;
      for (JsonNode v : d.path("templating").path("list")) {
        if (v.path("name").asText().equals("datasource")) {
          ds = v;
        }
      }
      assertTrue(ds != null && ds.path("type").asText().equals("datasource")
          && ds.path("query").asText().equals("prometheus"), f + ": a datasource variable of type prometheus");
      JsonNode inputs = d.path("__inputs");
      assertEquals(1, inputs.size(), f + " __inputs");
      assertEquals("datasource", inputs.get(0).path("type").asText());
      assertEquals("prometheus", inputs.get(0).path("pluginId").asText());
      assertTrue(text.contains("${" + inputs.get(0).path("name").asText() + "}"), f + ": the import input is used");
      Set<String> required = new HashSet<>();
      for (JsonNode r : d.path("__requires")) {
        required.add(r.path("type").asText() + ":" + r.path("id").asText());
      }
      assertTrue(required.contains("grafana:grafana") && required.contains("datasource:prometheus"), f + " " + required);
      for (JsonNode p : d.path("panels")) {
        if (!p.path("type").asText().equals("row")) {
          assertTrue(required.contains("panel:" + p.path("type").asText()), f + " does not require " + p.path("type"));
        }
      }
    }
  }

  /** Units and descriptions on every panel, rows, links between the dashboards and to the live page. */
  @Test
  void everyPanelHasAUnitADescriptionAndTheDashboardsLinkEachOther() throws Exception {
    for (Path f : Dashboards.files()) {
      JsonNode d = Dashboards.read(f);
      int rows = 0;
      for (JsonNode p : d.path("panels")) {
        String where = f.getFileName() + " panel '" + p.path("title").asText() + "'";
        if (p.path("type").asText().equals("row")) {
          rows++;
          continue;
        }
        assertFalse(p.path("description").asText().isBlank(), where + " has no description");
        if (p.has("targets")) {
          assertFalse(p.path("fieldConfig").path("defaults").path("unit").asText().isBlank(), where + " has no unit");
        }
      }
      assertTrue(rows >= 2, f + " is organised in rows");
      boolean toDashboards = false;
      boolean toLivePage = false;
      for (JsonNode l : d.path("links")) {
        toDashboards |= l.path("type").asText().equals("dashboards") && l.path("tags").toString().contains("splinewatch");
        toLivePage |= l.path("url").asText().startsWith("${monitor}");
      }
      assertTrue(toDashboards && toLivePage, f + " links the splinewatch dashboards and the live page");
      assertTrue(d.path("tags").toString().contains("splinewatch"), f + " carries the tag the links use");
    }
  }

  /** The first threshold step of the panel of {@code metric} (live dashboard) where it turns red or green. */
  private static double threshold(JsonNode dashboard, String metric) {
    for (JsonNode p : dashboard.path("panels")) {
      for (JsonNode t : p.path("targets")) {
        if (Dashboards.metrics(t.path("expr").asText()).contains(metric)) {
          JsonNode steps = p.path("fieldConfig").path("defaults").path("thresholds").path("steps");
          if (steps.size() == 2) {
            return steps.get(1).path("value").asDouble();
          }
        }
      }
    }
    return Double.NaN;
  }

  /**
   * The comparison dashboard's tables (instant queries) take each run's last value in the dashboard's time range:
   * a run that finished has no current sample (its target is gone and its series are stale), and comparing finished
   * runs is what the dashboard is for.
   */
  @Test
  void compareTablesShowFinishedRuns() throws Exception {
    int tables = 0;
    for (Dashboards.Query q : Dashboards.queries(Dashboards.DIR.resolve("splinewatch-compare-runs.json"))) {
      if (q.instant() && q.where().startsWith("panel")) {
        tables++;
        for (String m : Dashboards.metrics(q.expr())) {
          assertTrue(q.expr().contains("last_over_time(" + m + "{") && q.expr().contains("}[$__range])"),
              q.where() + " reads only current samples of " + m + ": " + q.expr());
        }
      }
    }
    assertTrue(tables >= 6, "table queries: " + tables);
  }

  /**
   * kNN accuracy is shown in percent on every panel that shows it: a panel of one query through its unit, a table of
   * several through an override of the query's column ({@code Value #<refId>} after the merge), not as a fraction
   * next to percent panels.
   */
  @Test
  void knnAccuracyIsInPercentOnEveryPanelTablesIncluded() throws Exception {
    int seen = 0;
    for (Path f : Dashboards.files()) {
      List<JsonNode> panels = new ArrayList<>();
      Dashboards.read(f).path("panels").forEach(p -> {
        panels.add(p);
        p.path("panels").forEach(panels::add);
      });
      for (JsonNode p : panels) {
        String where = f.getFileName() + " panel '" + p.path("title").asText() + "'";
        for (JsonNode t : p.path("targets")) {
          if (!Dashboards.metrics(t.path("expr").asText()).contains("splinewatch_knn_accuracy_ratio")) {
            continue;
          }
          seen++;
          String unit = p.path("fieldConfig").path("defaults").path("unit").asText();
          for (JsonNode o : p.path("fieldConfig").path("overrides")) {
            if (o.path("matcher").path("id").asText().equals("byName")
                && o.path("matcher").path("options").asText().equals("Value #" + t.path("refId").asText())) {
              for (JsonNode prop : o.path("properties")) {
                if (prop.path("id").asText().equals("unit")) {
                  unit = prop.path("value").asText();
                }
              }
            }
          }
          assertEquals("percentunit", unit, where + " shows kNN accuracy (query " + t.path("refId").asText()
              + ") as a fraction");
        }
      }
    }
    assertTrue(seen >= 4, "kNN queries: " + seen);
  }

  /** Grafana units of a duration, of a size in bytes, and of a fraction shown in percent. */
  static final Set<String> TIME_UNITS = Set.of("s", "ms", "µs", "ns", "dtdurations", "dtdurationms", "clocks");
  static final Set<String> BYTE_UNITS = Set.of("bytes", "decbytes", "kbytes", "mbytes", "gbytes", "deckbytes",
      "decmbytes", "decgbytes");
  /** Ratio families that are no fraction of a whole and may exceed 1 (perimeters, densities relative to the mean). */
  static final Set<String> UNBOUNDED_RATIOS = Set.of("splinewatch_boundary_length_ratio",
      "splinewatch_decision_boundary_length_ratio", "splinewatch_region_density_near_ratio",
      "splinewatch_region_density_far_ratio");

  /** The unit a panel shows one query's values in: its default, or an override of the query's column or frame. */
  private static String unitOf(JsonNode panel, JsonNode target) {
    String unit = panel.path("fieldConfig").path("defaults").path("unit").asText();
    String ref = target.path("refId").asText();
    for (JsonNode o : panel.path("fieldConfig").path("overrides")) {
      String id = o.path("matcher").path("id").asText();
      String options = o.path("matcher").path("options").asText();
      if (id.equals("byName") && options.equals("Value #" + ref) || id.equals("byFrameRefID") && options.equals(ref)) {
        for (JsonNode prop : o.path("properties")) {
          if (prop.path("id").asText().equals("unit")) {
            unit = prop.path("value").asText();
          }
        }
      }
    }
    return unit;
  }

  /**
   * What is wrong with showing {@code expr} in {@code unit} given the catalogue's units: a {@code _seconds} family not
   * in a time unit (or, as a rate, a fraction), a {@code _bytes} family not in bytes (or bytes per second as a rate),
   * a family in Grafana's {@code percent} (0-100) without a factor of 100 ({@code _ratio} families are fractions:
   * {@code percentunit}), a {@code _ratio} family in a time or byte unit.
   */
  static List<String> unitProblems(String expr, String unit) {
    List<String> out = new ArrayList<>();
    boolean rate = expr.contains("rate(") || expr.contains("increase(");
    boolean hundred = expr.matches("(?s).*(\\*\\s*100\\b|\\b100\\s*\\*).*");
    for (String m : Dashboards.metrics(expr)) {
      MetricFamily f = family(m);
      String u = f == null ? null : f.unit();
      if ("seconds".equals(u) && !TIME_UNITS.contains(unit) && !(rate && unit.equals("percentunit"))) {
        out.add(m + " is in seconds, shown in unit '" + unit + "'");
      } else if ("bytes".equals(u) && !BYTE_UNITS.contains(unit) && !(rate && unit.matches("B?[Bb]ps|binBps"))) {
        out.add(m + " is in bytes, shown in unit '" + unit + "'");
      } else if ("ratio".equals(u) && (TIME_UNITS.contains(unit) || BYTE_UNITS.contains(unit))) {
        out.add(m + " is a ratio, shown in unit '" + unit + "'");
      }
      if (unit.equals("percent") && !hundred) {
        out.add(m + " shown in percent (0-100) without a factor of 100: a fraction wants percentunit");
      }
    }
    return out;
  }

  /**
   * Every panel shows each query in the unit of what it queries (the catalogue's {@code _seconds}, {@code _bytes},
   * {@code _ratio}), and the thresholds drawn on a fraction panel are fractions too (a level of 15 on a percentunit
   * panel is 1500 %).
   */
  @Test
  void panelUnitsFollowTheCatalogue() throws Exception {
    int checked = 0;
    for (Path f : Dashboards.files()) {
      for (JsonNode p : Dashboards.panels(Dashboards.read(f))) {
        String where = f.getFileName() + " panel '" + p.path("title").asText() + "'";
        for (JsonNode t : p.path("targets")) {
          checked++;
          assertEquals(List.of(), unitProblems(t.path("expr").asText(), unitOf(p, t)),
              where + " query " + t.path("refId").asText());
        }
        if (p.path("fieldConfig").path("defaults").path("unit").asText().equals("percentunit")) {
          for (JsonNode step : p.path("fieldConfig").path("defaults").path("thresholds").path("steps")) {
            if (step.path("value").isNumber()) {
              assertTrue(Math.abs(step.path("value").asDouble()) <= 1, where + ": threshold " + step.path("value")
                  + " on a fraction panel");
            }
          }
        }
      }
    }
    assertTrue(checked > 40, "queries checked: " + checked);
    // the check can fail
    assertEquals(1, unitProblems("splinewatch_knn_accuracy_ratio", "percent").size());
    assertEquals(List.of(), unitProblems("100 * splinewatch_knn_accuracy_ratio", "percent"));
    assertEquals(1, unitProblems("splinewatch_analysis_cpu_seconds{analyzer=\"regions\"}", "short").size());
    assertEquals(List.of(), unitProblems("rate(splinewatch_analysis_seconds_sum[1m]) / rate("
        + "splinewatch_analysis_seconds_count[1m])", "s"));
    assertEquals(1, unitProblems("splinewatch_snapshot_bytes", "none").size());
  }

  /** {@code name <op> number} in PromQL: a family compared with a literal level. */
  private static final Pattern COMPARED = Pattern.compile(
      "\\b(splinewatch_[a-z0-9_]+)\\s*(?:\\{[^}]*})?\\s*(?:<|>|<=|>=)\\s*([0-9.eE+-]+)");
  /** The values the {@code analyzer} and {@code rule} labels take: the analyzers' and collapse rules' names. */
  static final Set<String> ANALYZERS = Set.of(org.splinewatch.analysis.EmbeddingAnalyzer.NAME,
      org.splinewatch.analysis.RegionAnalyzer.NAME, org.splinewatch.analysis.BoundaryChangeAnalyzer.NAME,
      org.splinewatch.analysis.LayerGeometryAnalyzer.NAME, org.splinewatch.analysis.ProbeAnalyzer.NAME,
      org.splinewatch.analysis.TrainingHealthAnalyzer.NAME, org.splinewatch.analysis.LocalComplexityAnalyzer.NAME);
  static final Set<String> RULES_NAMES = Set.of(org.splinewatch.alerts.StdCollapse.NAME,
      org.splinewatch.alerts.DimCollapse.NAME, org.splinewatch.alerts.RegionDrop.NAME,
      org.splinewatch.alerts.CollapseWithRegionDrop.NAME, org.splinewatch.alerts.KnnChance.NAME,
      org.splinewatch.alerts.Divergence.NAME, org.splinewatch.alerts.DeadRepresentation.NAME,
      org.splinewatch.alerts.TrainingBatchCollapse.NAME);
  private static final Pattern EXACT_VALUE = Pattern.compile("\\b(analyzer|rule)\\s*=\\s*\"([^\"]*)\"");

  /**
   * What is wrong with the literal levels and label values of one expression: a fraction ({@code _ratio}) compared
   * with a level above 1 (a percent where a fraction is meant), an {@code analyzer} or {@code rule} value that no
   * analyzer or collapse rule has (such a selector matches nothing, silently).
   */
  static List<String> levelAndValueProblems(String expr) {
    List<String> out = new ArrayList<>();
    Matcher c = COMPARED.matcher(expr);
    while (c.find()) {
      MetricFamily f = family(c.group(1));
      if (f != null && "ratio".equals(f.unit()) && !UNBOUNDED_RATIOS.contains(f.id())
          && Math.abs(Double.parseDouble(c.group(2))) > 1) {
        out.add(c.group(1) + " is a fraction, compared with " + c.group(2));
      }
    }
    Matcher v = EXACT_VALUE.matcher(expr);
    while (v.find()) {
      Set<String> known = v.group(1).equals("analyzer") ? ANALYZERS : RULES_NAMES;
      if (!known.contains(v.group(2))) {
        out.add(v.group(1) + "=\"" + v.group(2) + "\" names no " + v.group(1) + " (" + known + ")");
      }
    }
    return out;
  }

  /** The levels and label values of every dashboard query and Prometheus rule (see {@link #levelAndValueProblems}). */
  @Test
  @SuppressWarnings("unchecked")
  void levelsAreFractionsAndLabelValuesExist() throws Exception {
    List<String> exprs = new ArrayList<>();
    for (Path f : Dashboards.files()) {
      Dashboards.queries(f).forEach(q -> exprs.add(q.expr()));
    }
    Map<String, Object> rules = new Yaml().load(Files.readString(RULES));
    for (Map<String, Object> group : (List<Map<String, Object>>) rules.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        exprs.add(String.valueOf(rule.get("expr")));
        Object r = ((Map<String, Object>) rule.getOrDefault("labels", Map.of())).get("rule");
        if (r != null) {
          assertTrue(RULES_NAMES.contains(r), rule.get("alert") + " mirrors no in-process rule: " + r);
        }
      }
    }
    for (String e : exprs) {
      assertEquals(List.of(), levelAndValueProblems(e), e);
    }
    // the check can fail
    assertEquals(1, levelAndValueProblems("splinewatch_knn_accuracy_ratio{layer=\"repr\"} < 15").size());
    assertEquals(List.of(), levelAndValueProblems("splinewatch_knn_accuracy_ratio < 0.15"));
    assertEquals(1, levelAndValueProblems("splinewatch_analysis_step{analyzer=\"region\"}").size());
    assertEquals(1, levelAndValueProblems("splinewatch_alert_consecutive_breaches{rule=\"std-collapse\"} >= 3").size());
  }

  /** The families MetricsActor creates with a placeholder series {@code analyzer="none"} (at 0) from the run's start. */
  static final Set<String> PLACEHOLDER_FAMILIES = Set.of(MetricFamily.SNAPSHOTS_DROPPED_TOTAL.id(),
      MetricFamily.ANALYSIS_FAILURES_TOTAL.id());
  private static final Pattern PLACEHOLDER_USE = Pattern.compile(
      "\\b(" + String.join("|", PLACEHOLDER_FAMILIES) + ")\\b(?:\\s*\\{([^}]*)})?");
  private static final Pattern NOT_NONE = Pattern.compile("\\banalyzer\\s*!=\\s*\"none\"");

  /**
   * What is wrong with one expression's use of the placeholder families: a selector without {@code analyzer!="none"}
   * shows the placeholder as a line named "none" at 0 next to the analyzers.
   */
  static List<String> placeholderProblems(String expr) {
    List<String> out = new ArrayList<>();
    Matcher m = PLACEHOLDER_USE.matcher(expr);
    while (m.find()) {
      if (m.group(2) == null || !NOT_NONE.matcher(m.group(2)).find()) {
        out.add(m.group(1) + " without analyzer!=\"none\" shows the placeholder series");
      }
    }
    return out;
  }

  /** No dashboard query or Prometheus rule shows the placeholder {@code analyzer="none"} series. */
  @Test
  @SuppressWarnings("unchecked")
  void placeholderSeriesAreLeftOut() throws Exception {
    List<String> exprs = new ArrayList<>();
    int uses = 0;
    for (Path f : Dashboards.files()) {
      for (Dashboards.Query q : Dashboards.queries(f)) {
        exprs.add(q.expr());
      }
    }
    Map<String, Object> rules = new Yaml().load(Files.readString(RULES));
    for (Map<String, Object> group : (List<Map<String, Object>>) rules.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        exprs.add(String.valueOf(rule.get("expr")));
      }
    }
    for (String e : exprs) {
      assertEquals(List.of(), placeholderProblems(e), e);
      uses += PLACEHOLDER_USE.matcher(e).results().count();
    }
    assertTrue(uses >= 2, "the dropped snapshots and analysis failures panels are checked: " + uses);
    // the check can fail
    assertEquals(1, placeholderProblems("increase(splinewatch_snapshots_dropped_total{run=~\"$run\"}[5m])").size());
    assertEquals(1, placeholderProblems("sum(splinewatch_analysis_failures_total)").size());
    assertEquals(1, placeholderProblems("splinewatch_analysis_failures_total{analyzer=\"none\"}").size());
    assertEquals(List.of(), placeholderProblems(
        "increase(splinewatch_analysis_failures_total{run=~\"$run\", analyzer!=\"none\"}[15m])"));
  }

  /** The description of the first panel that queries {@code metric}. */
  private static String description(JsonNode dashboard, String metric) {
    for (JsonNode p : dashboard.path("panels")) {
      for (JsonNode t : p.path("targets")) {
        if (Dashboards.metrics(t.path("expr").asText()).contains(metric)) {
          return p.path("description").asText();
        }
      }
    }
    return "";
  }

  /** 0.02, 0.77: a level as a description writes it. */
  private static String number(double v) {
    return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
  }

  /**
   * Every input of the collapse rules and the probe accuracy has a panel on the live dashboard, and the thresholds
   * drawn are the rules' fire levels of reference.conf (kNN: 1.5 / 10 classes).
   */
  @Test
  void liveDashboardShowsEveryAlertInputWithItsFireLevel() throws Exception {
    JsonNode live = Dashboards.read(Dashboards.DIR.resolve("splinewatch-live-run.json"));
    Set<String> shown = new HashSet<>();
    for (Dashboards.Query q : Dashboards.queries(Dashboards.DIR.resolve("splinewatch-live-run.json"))) {
      shown.addAll(Dashboards.metrics(q.expr()));
    }
    for (String m : List.of("splinewatch_training_loss", "splinewatch_embedding_std_normalized",
        "splinewatch_embedding_zero_rows_ratio", "splinewatch_embedding_rankme", "splinewatch_embedding_rankme_ratio",
        "splinewatch_knn_accuracy_ratio", "splinewatch_regions", "splinewatch_linear_probe_accuracy_ratio",
        "splinewatch_region_overflow", "splinewatch_training_learning_rate")) {
      assertTrue(shown.contains(m), "no live panel for " + m);
    }
    var alerts = com.typesafe.config.ConfigFactory.defaultReference().getConfig("splinewatch.alerts");
    assertEquals(alerts.getDouble("std-fire"), threshold(live, "splinewatch_embedding_std_normalized"), 1e-12);
    assertEquals(alerts.getDouble("rankme-ratio-fire"), threshold(live, "splinewatch_embedding_rankme_ratio"), 1e-12);
    assertEquals(alerts.getDouble("dead-rows-fire"), threshold(live, "splinewatch_embedding_zero_rows_ratio"), 1e-12);
    assertEquals(alerts.getDouble("knn-chance-fire") / 10, threshold(live, "splinewatch_knn_accuracy_ratio"), 1e-12);
    assertEquals(alerts.getDouble("region-drop-fire"), threshold(live, "splinewatch_regions"), 1e-12);
    assertEquals(alerts.getDouble("batch-std-fire"), threshold(live, "splinewatch_training_batch_std_normalized"),
        1e-12);
    assertEquals(alerts.getDouble("batch-rankme-drop-fire"), threshold(live, "splinewatch_training_batch_rankme"),
        1e-12);
    assertEquals(alerts.getDouble("batch-scale-drop-fire"), threshold(live, "splinewatch_training_batch_scale"),
        1e-12);
    // the regions' reference maximum leaves out the warm-up, as region_drop and the Prometheus rules do: healthy runs
    // lose half the untrained network's regions, which would put them under the dashed level with no alert
    String regionsExpr = "";
    for (Dashboards.Query q : Dashboards.queries(Dashboards.DIR.resolve("splinewatch-live-run.json"))) {
      if (q.where().startsWith("panel 'Regions relative")) {
        regionsExpr = q.expr();
      }
    }
    assertTrue(regionsExpr.contains("splinewatch_analysis_step{run=~\"$run\",analyzer=\"regions\"} >= "
        + alerts.getLong("warmup-steps") + ")"), regionsExpr);
    // the descriptions name the same levels and windows
    JsonNode compare = Dashboards.read(Dashboards.DIR.resolve("splinewatch-compare-runs.json"));
    String rankmeRatio = number(alerts.getDouble("rankme-ratio-fire"));
    assertTrue(description(live, "splinewatch_embedding_rankme_ratio").contains("below " + rankmeRatio + " "));
    assertTrue(description(compare, "splinewatch_embedding_rankme_ratio").contains("level " + rankmeRatio + "."));
    assertTrue(description(live, "splinewatch_training_batch_std_normalized").contains(
        "under " + number(alerts.getDouble("batch-std-drop-fire")) + " of"));
    String window = "previous " + alerts.getInt("batch-window") + " batches";
    for (String[] m : new String[][] {{"splinewatch_training_batch_rankme", "batch-rankme-drop-fire"},
        {"splinewatch_training_batch_scale", "batch-scale-drop-fire"}}) {
      String d = description(live, m[0]);
      assertTrue(d.contains("under " + number(alerts.getDouble(m[1])) + " of the maximum of the " + window), d);
    }
    // the picture panel follows $run and asks the monitor's per-run route
    String pictures = "";
    for (JsonNode p : live.path("panels")) {
      if (p.path("type").asText().equals("text")) {
        pictures += p.path("options").path("content").asText();
      }
    }
    assertTrue(pictures.contains("${monitor}/runs/${run}/planes/0/latest.svg"), pictures);
    assertFalse(pictures.contains("localhost:9464"), "no hard-coded monitor address");
  }

  /**
   * The consecutive-breaches panel marks, for every collapse rule, the count at which that rule fires: each rule has its
   * own ({@code n-fire}, {@code rankme-n-fire}, {@code batch-n-fire}, {@code dead-rows-n-fire}; divergence at once),
   * so one dashed line at {@code n-fire} put dim_collapse, batch_collapse and dead_representation below the line while
   * they fired. A series is named by its legend, which ends with the rule; Grafana's {@code byRegexp} matcher matches
   * the whole display name, and the last matching override wins.
   */
  @Test
  void consecutiveBreachesPanelMarksEachRulesFireCount() throws Exception {
    var alerts = org.splinewatch.alerts.AlertSettings.fromConfig(
        com.typesafe.config.ConfigFactory.defaultReference());
    Map<String, Integer> fireAt = Map.of(
        org.splinewatch.alerts.StdCollapse.NAME, alerts.std().counts().fire(),
        org.splinewatch.alerts.RegionDrop.NAME, alerts.regions().counts().fire(),
        org.splinewatch.alerts.CollapseWithRegionDrop.NAME, alerts.regions().counts().fire(),
        org.splinewatch.alerts.KnnChance.NAME, alerts.knn().counts().fire(),
        org.splinewatch.alerts.DimCollapse.NAME, alerts.dim().counts().fire(),
        org.splinewatch.alerts.TrainingBatchCollapse.NAME, alerts.batch().counts().fire(),
        org.splinewatch.alerts.DeadRepresentation.NAME, alerts.dead().counts().fire(),
        org.splinewatch.alerts.Divergence.NAME, alerts.divergence().counts().fire());
    assertEquals(RULES_NAMES, fireAt.keySet(), "every collapse rule has its fire count here");
    int panels = 0;
    for (Path f : Dashboards.files()) {
      for (JsonNode p : Dashboards.panels(Dashboards.read(f))) {
        JsonNode t = p.path("targets").path(0);
        if (!Dashboards.metrics(t.path("expr").asText()).contains(MetricFamily.ALERT_CONSECUTIVE_BREACHES.id())) {
          continue;
        }
        panels++;
        String where = f.getFileName() + " panel '" + p.path("title").asText() + "'";
        String legend = t.path("legendFormat").asText();
        assertTrue(legend.endsWith("{{rule}}"), where + ": the legend must end with the rule: " + legend);
        for (var e : fireAt.entrySet()) {
          String displayName = legend.replace("{{rule}}", e.getKey()).replace("{{run}}", "some-run");
          JsonNode steps = p.path("fieldConfig").path("defaults").path("thresholds").path("steps");
          for (JsonNode o : p.path("fieldConfig").path("overrides")) {
            if (o.path("matcher").path("id").asText().equals("byRegexp")
                && displayName.matches(o.path("matcher").path("options").asText())) {
              for (JsonNode prop : o.path("properties")) {
                if (prop.path("id").asText().equals("thresholds")) {
                  steps = prop.path("value").path("steps");
                }
              }
            }
          }
          assertEquals(2, steps.size(), where + ": one fire level for " + e.getKey());
          assertEquals(e.getValue().doubleValue(), steps.get(1).path("value").asDouble(), 0,
              where + ": " + e.getKey() + " fires at " + e.getValue() + " breaches in a row");
        }
        for (String rule : fireAt.keySet()) {
          assertTrue(p.path("description").asText().contains(rule), where + ": the description names " + rule
              + "'s count");
        }
      }
    }
    assertTrue(panels >= 1, "no consecutive-breaches panel");
  }

  /**
   * splinewatch_boundary_flip_ratio is the neuron flip rate of regions.md 5a (the fraction of the neurons' signs that
   * flipped, averaged over the probe points), not the fraction of points whose pattern changed, which is
   * splinewatch_region_change_ratio: the catalogue and every panel showing it say so.
   */
  @Test
  void flipRatioIsDescribedAsNeuronFlipsNotAsChangedPatterns() throws Exception {
    Pattern changedPattern = Pattern.compile("(points|probes) whose (whole )?activation pattern changed");
    String catalogue = MetricFamily.BOUNDARY_FLIP_RATIO.help();
    assertTrue(catalogue.contains("neuron") && !changedPattern.matcher(catalogue).find(), catalogue);
    int panels = 0;
    for (Path f : Dashboards.files()) {
      for (JsonNode p : Dashboards.panels(Dashboards.read(f))) {
        for (JsonNode t : p.path("targets")) {
          if (Dashboards.metrics(t.path("expr").asText()).contains(MetricFamily.BOUNDARY_FLIP_RATIO.id())) {
            panels++;
            String d = p.path("description").asText();
            String where = f.getFileName() + " panel '" + p.path("title").asText() + "': " + d;
            assertTrue(d.contains("neurons"), where);
            Matcher m = changedPattern.matcher(d);
            assertTrue(!m.find() || d.toLowerCase(java.util.Locale.ROOT).contains("change ratio"), where);
          }
        }
      }
    }
    assertTrue(panels >= 2, "flip-ratio panels: " + panels);
  }

  /** The labels Prometheus gives its ALERTS series besides the alerting rule's own and its expression's. */
  static final Set<String> ALERTS_LABELS = Set.of("alertname", "alertstate");
  private static final Pattern ALERTS_SERIES = Pattern.compile("\\bALERTS\\b");

  /**
   * The labels a legend (or an annotation's title and text) names that none of the expression's families declares,
   * nor Prometheus's target labels, nor for ALERTS an alert's: Grafana renders such a label as empty text.
   */
  static List<String> legendProblems(String expr, String legend) {
    Set<String> known = new HashSet<>(TARGET_LABELS);
    for (String m : Dashboards.metrics(expr)) {
      MetricFamily f = family(m);
      if (f != null) {
        known.addAll(f.allowedLabels());
      }
    }
    if (ALERTS_SERIES.matcher(expr).find()) {
      known.addAll(ALERTS_LABELS);
      known.addAll(ALL_LABELS);
    }
    List<String> out = new ArrayList<>();
    for (String l : Dashboards.legendLabels(legend)) {
      if (!known.contains(l)) {
        out.add("the legend names " + l + ", a label no queried family declares");
      }
    }
    return out;
  }

  /**
   * Every label a panel's legend or an annotation's text names is declared by the families it queries (the static
   * half; DashboardQueriesIT checks the series a live run's queries return).
   */
  @Test
  void legendsNameDeclaredLabels() throws Exception {
    int checked = 0;
    for (Path f : Dashboards.files()) {
      for (Dashboards.Query q : Dashboards.queries(f)) {
        if (!Dashboards.legendLabels(q.legend()).isEmpty()) {
          checked++;
          assertEquals(List.of(), legendProblems(q.expr(), q.legend()), f.getFileName() + " " + q.where());
        }
      }
    }
    assertTrue(checked > 40, "legends checked: " + checked);
    // the check can fail
    assertEquals(1, legendProblems("splinewatch_regions{run=\"a\"}", "plane {{planes}}").size());
    assertEquals(List.of(), legendProblems("splinewatch_regions{run=\"a\"}", "{{run}} {{plane}} {{instance}}"));
    assertEquals(1, legendProblems("splinewatch_training_loss", "{{layer}}").size());
    assertEquals(List.of(), legendProblems("ALERTS{alertstate=\"firing\"}", "{{alertname}} {{run}} {{rule}}"));
  }

  /** The comparison overlays runs by training step: trend panels whose x field is the step query. */
  @Test
  void compareDashboardAlignsRunsByStep() throws Exception {
    JsonNode compare = Dashboards.read(Dashboards.DIR.resolve("splinewatch-compare-runs.json"));
    int trends = 0;
    for (JsonNode p : compare.path("panels")) {
      if (!p.path("type").asText().equals("trend")) {
        continue;
      }
      trends++;
      assertEquals("step", p.path("options").path("xField").asText(), p.path("title").asText());
      assertEquals(2, p.path("targets").size());
      String stepExpr = p.path("targets").get(1).path("expr").asText();
      assertTrue(stepExpr.contains("splinewatch_training_step") || stepExpr.contains("splinewatch_analysis_step"),
          stepExpr);
      // both series reduced to the run label alone, in table format, so merge joins them on (Time, run)
      for (JsonNode t : p.path("targets")) {
        assertTrue(t.path("expr").asText().startsWith("max by (run) ("), t.path("expr").asText());
        assertEquals("table", t.path("format").asText());
      }
      List<String> chain = new java.util.ArrayList<>();
      p.path("transformations").forEach(t -> chain.add(t.path("id").asText()));
      // only transformations of @grafana/data, which GrafanaPackagesIT runs on real Prometheus responses: one row per
      // step (the step query's value), one column per run (the value query's), sorted by step for the trend panel
      assertEquals(List.of("merge", "groupingToMatrix", "convertFieldType", "organize", "sortBy"), chain,
          p.path("title").asText());
      JsonNode matrix = p.path("transformations").get(1).path("options");
      assertEquals("run", matrix.path("columnField").asText());
      assertEquals("Value #B", matrix.path("rowField").asText());
      assertEquals("Value #A", matrix.path("valueField").asText());
      assertEquals("null", matrix.path("emptyValue").asText(), "a step one run lacks is a gap, not an empty string");
      assertEquals("step", p.path("transformations").get(3).path("options").path("renameByName")
          .path("Value #B\\run").asText());
      assertTrue(p.path("fieldConfig").path("defaults").path("custom").path("spanNulls").asBoolean(),
          "each run's line spans the steps only the other run has");
    }
    assertTrue(trends >= 4, "step-aligned panels: " + trends);
  }

  /**
   * docker/ hardening: non-root runtime, no npm in it, pinned images, a .dockerignore keeping the build context to the
   * Maven project, ports on 127.0.0.1 by default, healthchecks that the start order waits for, a required Grafana
   * password.
   */
  @Test
  @SuppressWarnings("unchecked")
  void dockerStackIsHardened() throws Exception {
    String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
    List<String> froms = dockerfile.lines().filter(l -> l.startsWith("FROM ") || l.startsWith("ARG RUNTIME_IMAGE="))
        .toList();
    for (String f : froms) {
      String image = f.startsWith("ARG") ? f.substring(f.indexOf('=') + 1) : f.split("\\s+")[1];
      if (!image.startsWith("${")) {
        assertTrue(image.matches("[a-z0-9./_-]+:[0-9]+\\.[0-9]+\\.[0-9][0-9A-Za-z._-]*(@sha256:[0-9a-f]{64})?"),
            "base image pinned to a version tag: " + image);
      }
    }
    String runtime = dockerfile.substring(dockerfile.lastIndexOf("\nFROM "));
    assertFalse(runtime.contains("npm"), "no npm in the runtime image (the data packages are fetched at build time)");
    assertTrue(runtime.contains("\nUSER 10001"), "the runtime runs as a non-root user");
    assertTrue(runtime.contains("HEALTHCHECK"), "the image has a healthcheck");
    List<String> ignore = Files.readAllLines(Path.of(".dockerignore")).stream()
        .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
    assertEquals("*", ignore.get(0), ".dockerignore starts by excluding everything");
    assertEquals(Set.of("!pom.xml", "!src/"), Set.copyOf(ignore.subList(1, ignore.size())),
        "only what the Dockerfile copies is sent");
    for (String copied : dockerfile.lines().filter(l -> l.startsWith("COPY ") && !l.contains("--from")).toList()) {
      String source = copied.split("\\s+")[1];
      assertTrue(ignore.contains("!" + source) || ignore.contains("!" + source.replaceAll("/?$", "/")),
          "the build context keeps " + source);
    }
    Map<String, Object> c = new Yaml().load(Files.readString(Path.of("docker/docker-compose.yml")));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) c.get("services");
    for (var s : services.entrySet()) {
      String name = s.getKey();
      Map<String, Object> svc = s.getValue();
      for (Object port : (List<Object>) svc.get("ports")) {
        assertTrue(port.toString().startsWith("${SPLINEWATCH_BIND:-127.0.0.1}:"), name + " publishes " + port);
      }
      assertTrue(svc.containsKey("healthcheck"), name + " has no healthcheck");
      if (svc.containsKey("image")) {
        assertTrue(svc.get("image").toString().matches("[a-z0-9./_-]+:v?[0-9]+\\.[0-9]+\\.[0-9][0-9A-Za-z._-]*(@sha256:[0-9a-f]{64})?"),
            name + " image pinned: " + svc.get("image"));
      }
      Map<String, Map<String, Object>> deps = (Map<String, Map<String, Object>>) svc.getOrDefault("depends_on",
          Map.of());
      for (var d : deps.entrySet()) {
        assertEquals("service_healthy", d.getValue().get("condition"), name + " waits for " + d.getKey());
        assertTrue(services.get(d.getKey()).containsKey("healthcheck"), d.getKey() + " has a healthcheck");
      }
    }
    assertTrue(services.get("grafana").containsKey("depends_on") && services.get("prometheus").containsKey("depends_on"));
    // the run starts once Prometheus is healthy, and Prometheus once Alertmanager is: its first samples are scraped
    assertEquals(Set.of("prometheus"), ((Map<String, Object>) services.get("trainer").get("depends_on")).keySet());
    assertEquals(Set.of("alertmanager"), ((Map<String, Object>) services.get("prometheus").get("depends_on")).keySet());
    assertFalse(services.get("alertmanager").containsKey("depends_on"), "Alertmanager waits for nothing");
    assertTrue(String.valueOf(services.get("trainer").get("user")).startsWith("${SPLINEWATCH_UID"),
        "the trainer runs as the host user, so run files are not root's");
    String password = String.valueOf(((Map<String, Object>) services.get("grafana").get("environment"))
        .get("GF_SECURITY_ADMIN_PASSWORD"));
    assertTrue(password.startsWith("${GRAFANA_ADMIN_PASSWORD:?"), "Grafana's admin password is required: " + password);
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeStackFilesExistAndAgree() throws Exception {
    Path compose = Path.of("docker/docker-compose.yml");
    Map<String, Object> c = new Yaml().load(Files.readString(compose));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) c.get("services");
    assertEquals(Set.of("trainer", "prometheus", "alertmanager", "grafana"), services.keySet());
    for (var s : services.entrySet()) {
      for (Object v : (List<Object>) s.getValue().getOrDefault("volumes", List.of())) {
        String source = v.toString().split(":")[0];
        if (source.startsWith(".")) {
          Path p = compose.getParent().resolve(source).normalize();
          assertTrue(Files.exists(p) || source.equals("../runs"), s.getKey() + " mounts missing " + p);
        }
      }
    }
    Map<String, Object> build = (Map<String, Object>) services.get("trainer").get("build");
    assertTrue(Files.isRegularFile(compose.getParent().resolve((String) build.get("context"))
        .resolve((String) build.get("dockerfile")).normalize()), "Dockerfile");
    // ports agree with the monitor's defaults and with Prometheus/Alertmanager wiring
    assertTrue(((List<Object>) services.get("trainer").get("ports")).contains("${SPLINEWATCH_BIND:-127.0.0.1}:9464:9464"));
    String am = Files.readString(Path.of("docker/alertmanager.yml"));
    assertTrue(am.contains("http://trainer:9464/api/v1/alerts"), "Alertmanager calls the trainer's control port");
    String prom = Files.readString(Path.of("docker/prometheus.yml"));
    assertTrue(prom.contains("alertmanager:9093") && prom.contains("/splinewatch/runs/prometheus-sd/*.json"));
    // file discovery re-reads on a short period: a discovery directory Prometheus could not watch at start (not
    // created yet) is otherwise read only every 5 minutes, longer than a default run
    Map<String, Object> promConf = new Yaml().load(prom);
    Map<String, Object> sd = ((List<Map<String, List<Map<String, Object>>>>) promConf.get("scrape_configs")).get(0)
        .get("file_sd_configs").get(0);
    assertEquals("5s", sd.get("refresh_interval"), "docker/prometheus.yml file_sd refresh_interval");
    String observing = Files.readString(Path.of("docs/observing.md"));
    assertTrue(observing.contains("file_sd_configs: [{files: ['<repo>/runs/prometheus-sd/*.json'], refresh_interval: 5s}]"),
        "observing.md's discovery snippet re-reads the directory");
    String conf = Files.readString(Path.of("src/main/resources/reference.conf"));
    assertTrue(conf.contains("port = 9464"), "monitor default port");
    List<Object> secrets = (List<Object>) services.get("alertmanager").get("secrets");
    assertTrue(am.contains("/run/secrets/" + secrets.get(0)), "Alertmanager reads the compose secret");
    // tools from the Debian packages, where installed
    if (TestTools.installed("promtool")) {
      DashboardQueriesIT.mustRun(List.of("promtool", "check", "config", "docker/prometheus.yml"));
    }
    if (TestTools.installed("amtool")) {
      DashboardQueriesIT.mustRun(List.of("amtool", "check-config", "docker/alertmanager.yml"));
      DashboardQueriesIT.mustRun(List.of("amtool", "check-config", "dashboards/alertmanager/alertmanager.yml"));
    }
    Set<String> provisioned = Files.readAllLines(Path.of("dashboards/grafana/provisioning/dashboards/splinewatch.yml"))
        .stream().filter(l -> l.contains("path:")).map(l -> l.substring(l.indexOf("path:") + 5).trim())
        .collect(Collectors.toSet());
    assertTrue(services.get("grafana").get("volumes").toString().contains(provisioned.iterator().next()),
        "Grafana mounts the dashboards where provisioning looks for them");
  }
}
