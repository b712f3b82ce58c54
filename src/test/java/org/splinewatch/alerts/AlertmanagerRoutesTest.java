package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;

/**
 * {@code amtool config routes test} on the shipped Alertmanager configuration: each case of
 * {@code dashboards/alertmanager/tests/routes.txt} (also run by {@code .ci/run}) goes to its receiver, and a warning
 * never reaches the stop relay. Skipped where amtool (package prometheus-alertmanager) is missing.
 */
class AlertmanagerRoutesTest {
  private static final Path CONFIG = Path.of("dashboards/alertmanager/alertmanager.yml");

  private static int amtool(String receiver, List<String> labels) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("amtool", "config", "routes", "test", "--config.file=" + CONFIG,
        "--verify.receivers=" + receiver));
    cmd.addAll(labels);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return p.waitFor();
  }

  @Test
  void everyCaseGoesToItsReceiver() throws Exception {
    assumeTrue(TestTools.installed("amtool"), "amtool not installed (.ci/run installs prometheus-alertmanager)");
    int cases = 0;
    for (String line : Files.readAllLines(Path.of("dashboards/alertmanager/tests/routes.txt"))) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.trim().split("\\s+");
      List<String> labels = Arrays.asList(f).subList(1, f.length);
      assertEquals(0, amtool(f[0], labels), line);
      if (f[0].equals("splinewatch-log")) {
        assertTrue(amtool("splinewatch-stop", labels) != 0, "not to the stop relay: " + line);
      }
      cases++;
    }
    assertTrue(cases >= 10, "cases: " + cases);
  }
}
