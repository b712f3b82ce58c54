package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * The number formats of the report's and the live page's charts (report.js), run in node with uPlot's own number
 * format stubbed (uPlot's: at most three decimals): a chart of small values, such as the mean region area as a
 * fraction of the plane's domain (about 1e-5 on the default run), must not read 0 on every tick. Skipped where node is
 * missing.
 */
class ReportScriptTest {
  @TempDir
  Path tmp;

  private String node(String script) throws Exception {
    String js = "const uPlot = {fmtNum: v => new Intl.NumberFormat('en-US').format(v)};\n"
        + new String(ReportScriptTest.class.getResourceAsStream("/org/splinewatch/report/report.js").readAllBytes(),
            StandardCharsets.UTF_8)
        + "\n" + script;
    Path f = tmp.resolve("t.js");
    Files.writeString(f, js);
    Process p = new ProcessBuilder("node", f.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertEquals(0, p.waitFor(), out);
    return out;
  }

  @Test
  void smallValuesKeepDistinctTicksAndLegendValues() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    // uPlot calls an axis's values(u, splits, axisIdx, foundSpace, foundIncr)
    assertEquals("[\"1.2e-5\",\"1.4e-5\",\"1.6e-5\",\"1.8e-5\"]",
        node("console.log(JSON.stringify(axisValues(null, [1.2e-5, 1.4e-5, 1.6e-5, 1.8e-5], 1, 50, 2e-6)))"));
    assertEquals("[\"0\",\"2.5e-4\",\"5.0e-4\"]",
        node("console.log(JSON.stringify(axisValues(null, [0, 2.5e-4, 5e-4], 1, 50, 2.5e-4)))"));
    // a small increment on values that are not small: fixed digits, as many as the increment needs
    assertEquals("[\"0.5550\",\"0.5552\",\"0.5554\"]",
        node("console.log(JSON.stringify(axisValues(null, [0.555, 0.5552, 0.5554], 1, 50, 2e-4)))"));
    // ordinary ranges keep uPlot's own format
    assertEquals("[\"50,000\",\"60,000\",\"\"]",
        node("console.log(JSON.stringify(axisValues(null, [50000, 60000, null], 1, 50, 10000)))"));
    assertEquals("[\"1.58e-5\",\"0.884\",\"--\"]",
        node("console.log(JSON.stringify([legendValue(null, 1.5834e-5), legendValue(null, 0.8838), "
            + "legendValue(null, null)]))"));
    String src = new String(ReportScriptTest.class.getResourceAsStream("/org/splinewatch/report/report.js")
        .readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(src.contains("values: axisValues") && src.contains("value: legendValue"),
        "the charts use these formats");
    assertTrue(List.of(src.split("\n")).size() > 10);
  }
}
