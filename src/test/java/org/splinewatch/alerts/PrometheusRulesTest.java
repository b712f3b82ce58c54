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
}
