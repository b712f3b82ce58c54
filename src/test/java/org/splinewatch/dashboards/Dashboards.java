package org.splinewatch.dashboards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The shipped Grafana dashboards and their PromQL expressions (panels, variables, annotations). */
final class Dashboards {
  static final Path DIR = Path.of("dashboards/grafana/dashboards");
  static final Pattern METRIC = Pattern.compile("\\b(splinewatch_[a-z0-9_]+)\\b");
  static final Pattern LEGEND_LABEL = Pattern.compile("\\{\\{\\s*(\\w+)\\s*}}");
  static final Pattern VARIABLE = Pattern.compile("\\$(\\w+)|\\$\\{(\\w+)[^}]*}");

  /**
   * One PromQL expression, where it comes from, and the text Grafana names its series with (a panel target's
   * legendFormat, an annotation's title and text formats; empty for a variable).
   */
  record Query(String dashboard, String where, String expr, boolean instant, String legend) {
  }

  private Dashboards() {
  }

  static List<Path> files() throws IOException {
    try (Stream<Path> s = Files.list(DIR)) {
      return s.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
  }

  static JsonNode read(Path f) throws IOException {
    return new ObjectMapper().readTree(f.toFile());
  }

  static List<Query> queries(Path f) throws IOException {
    JsonNode d = read(f);
    String name = f.getFileName().toString();
    List<Query> out = new ArrayList<>();
    for (JsonNode p : panels(d)) {
      for (JsonNode t : p.path("targets")) {
        out.add(new Query(name, "panel '" + p.path("title").asText() + "' " + t.path("refId").asText(),
            t.path("expr").asText(), t.path("instant").asBoolean(false), t.path("legendFormat").asText()));
      }
    }
    for (JsonNode v : d.path("templating").path("list")) {
      if (!"query".equals(v.path("type").asText())) {
        continue; // the datasource and text-box variables hold no PromQL
      }
      out.add(new Query(name, "variable " + v.path("name").asText(), v.path("query").path("query").asText(), true,
          ""));
    }
    for (JsonNode a : d.path("annotations").path("list")) {
      if (a.has("expr")) {
        out.add(new Query(name, "annotation " + a.path("name").asText(), a.path("expr").asText(), false,
            a.path("titleFormat").asText() + " " + a.path("textFormat").asText()));
      }
    }
    return out;
  }

  /** Every panel of a dashboard, those inside a collapsed row (which Grafana keeps in the row's own panels) included. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : dashboard.path("panels")) {
      out.add(p);
      p.path("panels").forEach(out::add);
    }
    return out;
  }

  static Set<String> metrics(String expr) {
    Set<String> out = new LinkedHashSet<>();
    Matcher m = METRIC.matcher(expr);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** The labels a legend or annotation format names ({@code {{run}}}). */
  static Set<String> legendLabels(String format) {
    Set<String> out = new LinkedHashSet<>();
    Matcher m = LEGEND_LABEL.matcher(format);
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  static Set<String> variables(String text) {
    Set<String> out = new LinkedHashSet<>();
    Matcher m = VARIABLE.matcher(text);
    while (m.find()) {
      out.add(m.group(1) != null ? m.group(1) : m.group(2));
    }
    return out;
  }
}
