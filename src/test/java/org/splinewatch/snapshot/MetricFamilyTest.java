package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The catalogue itself: no family is named outside it, its names, units and meter names follow one rule, and
 * {@code docs/metrics.md} is generated from it. That every family the code publishes is declared, with its labels,
 * is checked on a real scrape in {@code metrics.MetricCatalogueTest}.
 */
class MetricFamilyTest {
  private static final Pattern PROMETHEUS_NAME = Pattern.compile("\"(splinewatch_[a-z][a-z0-9_]*)\"");
  /** A Micrometer meter name where a meter is built or looked up (configuration keys are dotted too). */
  private static final Pattern DOTTED_NAME = Pattern.compile(
      "\\b(?:builder|counter|gauge|timer|find|get)\\(\\s*\"(splinewatch(\\.[a-z0-9]+)+)\"");

  @Test
  void noFamilyIsNamedByStringOutsideTheCatalogue() throws Exception {
    Map<String, Set<String>> literals = new TreeMap<>();
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        if (f.getFileName().toString().equals("MetricFamily.java")) {
          continue;
        }
        String text = Files.readString(f);
        Set<String> found = new TreeSet<>();
        Matcher m = PROMETHEUS_NAME.matcher(text);
        while (m.find()) {
          found.add(m.group(1));
        }
        Matcher d = DOTTED_NAME.matcher(text);
        while (d.find()) {
          found.add(d.group(1));
        }
        if (!found.isEmpty()) {
          literals.put(f.getFileName().toString(), found);
        }
      }
    }
    assertEquals(Map.of(), literals, "family names as strings: name them through MetricFamily (REGIONS, .id(),"
        + " .meterName()) instead");
  }

  @Test
  void namesUnitsAndMeterNamesFollowOneRule() {
    assertEquals("splinewatch_regions", MetricFamily.REGIONS.id());
    assertEquals(MetricFamily.REGIONS, MetricFamily.byId("splinewatch_regions"));
    assertEquals("bytes", MetricFamily.unitOf("splinewatch_cluster_sent_bytes_total"));
    assertEquals("ratio", MetricFamily.KNN_ACCURACY_RATIO.unit());
    assertEquals("seconds", MetricFamily.ANALYSIS_SECONDS.unit());
    assertNull(MetricFamily.REGIONS.unit());
    // Micrometer's Prometheus naming adds _total to counters and the base unit to timers
    assertEquals("splinewatch.analysis.failures", MetricFamily.ANALYSIS_FAILURES_TOTAL.meterName());
    assertEquals("splinewatch.analysis", MetricFamily.ANALYSIS_SECONDS.meterName());
    assertEquals("splinewatch.memory.peak.bytes", MetricFamily.MEMORY_PEAK_BYTES.meterName());
    for (MetricFamily f : MetricFamily.values()) {
      assertFalse(f.help().isBlank(), f + " has no HELP text");
      assertEquals(f.type() == MetricFamily.Type.COUNTER, f.id().endsWith("_total"), f + ": counters end in _total");
      assertEquals(f.labels().size(), Set.copyOf(f.labels()).size(), f + " repeats a label");
      assertFalse(f.labels().stream().anyMatch(MetricFamily.RUN_LABELS::contains) && f.runScoped(),
          f + " lists a run label as its own");
    }
  }

  @Test
  void onlySampleFamiliesMayBePublishedAsSamples() {
    assertTrue(MetricFamily.ids().contains("splinewatch_regions"));
    assertTrue(MetricFamily.ids().contains("splinewatch_cluster_snapshots_analysed_total"));
    // meters registered by the process itself: a cluster peer must not be able to publish them
    for (MetricFamily f : new MetricFamily[] {MetricFamily.RUN_INFO, MetricFamily.MEMORY_PEAK_BYTES,
        MetricFamily.JAVACPP_ALLOCATED_BYTES, MetricFamily.CLUSTER_REJECTED_TOTAL}) {
      assertFalse(MetricFamily.ids().contains(f.id()), f.id());
    }
  }

  /**
   * {@code docs/metrics.md} is the catalogue's table. When this fails, regenerate it:
   * {@code mvn -B -o test -Dtest=MetricFamilyTest -Dsplinewatch.regenerateDocs=true}.
   */
  @Test
  void docsListTheCatalogue() throws Exception {
    Path doc = Path.of("docs/metrics.md");
    String expected = MetricFamily.markdown();
    if (Boolean.getBoolean("splinewatch.regenerateDocs")) {
      Files.writeString(doc, expected);
    }
    assertTrue(Files.exists(doc), "docs/metrics.md is missing; generate it with mvn -B -o test"
        + " -Dtest=MetricFamilyTest -Dsplinewatch.regenerateDocs=true");
    assertEquals(expected, Files.readString(doc), "docs/metrics.md is stale; regenerate it with mvn -B -o test"
        + " -Dtest=MetricFamilyTest -Dsplinewatch.regenerateDocs=true");
    for (MetricFamily f : MetricFamily.values()) {
      assertTrue(expected.contains("| `" + f.id() + "` |"), f.id());
    }
  }
}
