package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;

/**
 * {@code promtool check rules} and {@code promtool test rules} on {@code dashboards/prometheus/}: fire and no-fire
 * cases of every collapse alert. {@code .ci/run} installs Prometheus (Debian package), so these run in CI; on a
 * developer machine without promtool they are skipped.
 */
class PrometheusRulesTest {
  private static final Path RULES = Path.of("dashboards/prometheus/splinewatch-rules.yml");
  private static final Path TESTS = Path.of("dashboards/prometheus/tests/splinewatch-rules.test.yml");

  private static String promtool(String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of("promtool"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), String.join(" ", cmd) + " failed:\n" + out);
    return out;
  }

  @Test
  void rulesAreValidAndTheirUnitTestsPass() throws Exception {
    assumeTrue(TestTools.installed("promtool"), "promtool not installed (.ci/run installs the prometheus package)");
    promtool("check", "rules", RULES.toString());
    promtool("test", "rules", TESTS.toString());
  }

  /**
   * The configuration for Prometheus without Docker runs from the checkout as it is ({@code prometheus
   * --config.file=dashboards/prometheus-local.yml}): its paths, relative to the file, name the shipped rules and
   * the discovery directory the runs write with the default {@code --out runs}, and it scrapes and evaluates as
   * docker/prometheus.yml does. Until this release the docs had a new user copy docker/prometheus.yml and edit three
   * lines of it (its rule and discovery paths and the Alertmanager address).
   */
  @Test
  void theCheckoutsPrometheusConfigurationReadsTheShippedRulesAndTheRunsDiscovery() throws Exception {
    Path local = Path.of("dashboards/prometheus-local.yml");
    org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.isRegularFile(local), local + " is missing");
    String yml = java.nio.file.Files.readString(local);
    String docker = java.nio.file.Files.readString(Path.of("docker/prometheus.yml"));
    for (String same : List.of("scrape_interval: 5s", "evaluation_interval: 5s", "refresh_interval: 5s",
        "job_name: splinewatch")) {
      org.junit.jupiter.api.Assertions.assertTrue(yml.contains(same) && docker.contains(same), same);
    }
    org.junit.jupiter.api.Assertions.assertTrue(yml.contains("\n  - prometheus/splinewatch-rules.yml\n"), "the rules");
    org.junit.jupiter.api.Assertions.assertTrue(yml.contains("files: ['../runs/prometheus-sd/*.json']"),
        "the checkout's runs/prometheus-sd");
    org.junit.jupiter.api.Assertions.assertTrue(yml.contains("targets: ['localhost:9093']"), "a local Alertmanager");
    // the docker stack mounts dashboards/prometheus as its rule directory and reads every *.yml there as rules
    try (var files = java.nio.file.Files.list(RULES.getParent())) {
      assertEquals(List.of(RULES.getFileName().toString()), files.map(f -> f.getFileName().toString())
          .filter(n -> n.endsWith(".yml")).toList());
    }
    assumeTrue(TestTools.installed("promtool"), "promtool not installed (.ci/run installs the prometheus package)");
    String out = promtool("check", "config", local.toString());
    org.junit.jupiter.api.Assertions.assertTrue(out.contains("Checking " + RULES), out);
  }
}
