package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every family the sources publish as samples has HELP text; units follow the names' suffixes. */
class MetricFamilyTest {
  @Test
  void everyPublishedFamilyIsDescribed() throws Exception {
    // every family name literal (Sample.of, the region analyzer's add(...), the collapse rules' inputs)
    Pattern sample = Pattern.compile("\"(splinewatch_[a-z0-9_]+)\"");
    Set<String> missing = new TreeSet<>();
    int seen = 0;
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Matcher m = sample.matcher(Files.readString(f));
        while (m.find()) {
          seen++;
          if (!(MetricFamily.byId(m.group(1)) != null)) {
            missing.add(m.group(1));
          }
        }
      }
    }
    assertTrue(seen > 40, "samples found in the sources: " + seen);
    assertEquals(Set.of(), missing, "families without HELP text in MetricFamily");
  }

  @Test
  void unitsFollowTheSuffix() {
    assertEquals("bytes", MetricFamily.unitOf("splinewatch_cluster_sent_bytes_total"));
    assertEquals("ratio", MetricFamily.unitOf("splinewatch_knn_accuracy_ratio"));
    assertEquals("seconds", MetricFamily.unitOf("splinewatch_analysis_seconds"));
    assertNull(MetricFamily.unitOf("splinewatch_regions"));
  }
}
