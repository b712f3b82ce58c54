package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.splinewatch.snapshot.MetricFamily;

/**
 * docs/observing.md's "/metrics: families and label values" table names every family of the catalogue
 * {@link MetricFamily}, so a reader looking up a series a dashboard or rule uses finds it there. A cell abbreviates
 * families after the first as {@code `_suffix`} of the last full name before it.
 */
class ObservingDocTest {
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  @Test
  void familiesTableNamesEveryCataloguedFamily() throws Exception {
    String doc = Files.readString(Path.of("docs/observing.md"));
    String table = doc.substring(doc.indexOf("## /metrics: families and label values"), doc.indexOf("## Run directory"));
    Set<String> named = new HashSet<>();
    for (String line : table.lines().toList()) {
      if (!line.startsWith("| `")) {
        continue;
      }
      String last = null;
      Matcher m = CODE.matcher(line.split("\\|")[1]);
      while (m.find()) {
        String t = m.group(1);
        if (t.startsWith("splinewatch_")) {
          last = t;
          named.add(t);
        } else if (t.startsWith("_") && last != null) {
          String[] parts = last.split("_");
          for (int i = 1; i < parts.length; i++) {
            named.add(String.join("_", List.of(parts).subList(0, i)) + t);
          }
        }
      }
    }
    List<String> missing = new ArrayList<>();
    for (MetricFamily f : MetricFamily.values()) {
      if (!named.contains(f.id())) {
        missing.add(f.id());
      }
    }
    assertEquals(List.of(), missing, "families docs/observing.md's /metrics table does not name");
  }

  /**
   * ecosystem.md's account of the live dashboard names the fire levels its dashed thresholds draw, which are the
   * defaults of {@code splinewatch.alerts} (DashboardJsonTest checks the dashboard against the same settings).
   */
  @Test
  void ecosystemDocNamesTheLiveDashboardsFireLevels() throws Exception {
    String doc = Files.readString(Path.of("docs/ecosystem.md"));
    String live = doc.substring(doc.indexOf("- **live run**"), doc.indexOf("- **compare runs**"));
    var alerts = com.typesafe.config.ConfigFactory.defaultReference().getConfig("splinewatch.alerts");
    for (String[] level : new String[][] {{"spread ", "std-fire"}, {"RankMe ratio ", "rankme-ratio-fire"},
        {"zero rows ", "dead-rows-fire"}, {"regions at ", "region-drop-fire"}}) {
      String expected = level[0] + java.math.BigDecimal.valueOf(alerts.getDouble(level[1])).stripTrailingZeros()
          .toPlainString();
      assertEquals(true, live.replace("\n  ", " ").contains(expected), "docs/ecosystem.md's live run names "
          + expected + " (splinewatch.alerts." + level[1] + "): " + live);
    }
  }

  /**
   * The docker commands create runs/ before {@code docker compose up}: the trainer runs as SPLINEWATCH_UID and writes
   * into the bind-mounted ../runs, which Docker would otherwise create owned by root.
   */
  @Test
  void dockerCommandsCreateTheRunsDirectoryFirst() throws Exception {
    for (String file : List.of("docs/observing.md", "docs/ecosystem.md")) {
      String doc = Files.readString(Path.of(file));
      int up = doc.indexOf("cd docker && docker compose up --build\n");
      String block = doc.substring(doc.lastIndexOf("```bash", up), up);
      assertEquals(true, block.contains("mkdir -p runs"), file + ": " + block);
    }
  }

  /**
   * Every {@code splinewatch_} series README.md and docs/*.md name is one /metrics has (a catalogued family, or a
   * summary's {@code _count}...), and every label they give it in braces ({@code splinewatch_regions{plane,layer}},
   * {@code {rule="dim_collapse"}}) is one it carries: DashboardJsonTest checks the dashboards' and rules' queries the
   * same way, but not the prose a user copies a query from.
   */
  @Test
  void docsNameOnlyExportedFamiliesWithTheirLabels() throws Exception {
    // splinewatch_ words that are no series: the Python client's package, and the family memory.md names as removed
    Set<String> noSeries = Set.of("splinewatch_client", "splinewatch_memory_bytes");
    Pattern series = Pattern.compile("(?<![\\w:])(splinewatch_[a-z0-9_]*[a-z0-9])(\\{[^}]*})?");
    Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(?:=~|!~|!=|=|,|$)");
    List<Path> docs = new ArrayList<>(List.of(Path.of("README.md")));
    try (var files = Files.list(Path.of("docs"))) {
      files.filter(f -> f.toString().endsWith(".md") && !f.endsWith("metrics.md")).sorted().forEach(docs::add);
    }
    List<String> problems = new ArrayList<>();
    for (Path doc : docs) {
      List<String> lines = Files.readAllLines(doc);
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = series.matcher(lines.get(i));
        while (m.find()) {
          MetricFamily family = DashboardJsonTest.family(m.group(1));
          String where = doc + ":" + (i + 1) + ": " + m.group();
          if (family == null) {
            if (!noSeries.contains(m.group(1))) {
              problems.add(where + " is no family of docs/metrics.md");
            }
            continue;
          }
          Matcher l = label.matcher(m.group(2) == null ? "" : m.group(2).substring(1, m.group(2).length() - 1).strip());
          while (l.find()) {
            if (!family.allowedLabels().contains(l.group(1)) && !DashboardJsonTest.TARGET_LABELS.contains(l.group(1))) {
              problems.add(where + ": " + family.id() + " has no label " + l.group(1) + " (its labels: "
                  + family.allowedLabels() + ")");
            }
          }
        }
      }
    }
    assertEquals(List.of(), problems);
  }
}
