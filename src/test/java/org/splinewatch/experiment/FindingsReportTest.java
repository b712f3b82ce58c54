package org.splinewatch.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.splinewatch.experiment.FindingsTest.points;
import static org.splinewatch.experiment.FindingsTest.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.MetricFamily;

/**
 * The findings report's charts draw a NaN or infinite value as a gap in its line with a legend reading NaN/Infinity,
 * and join a series over the steps where it has no sample, as the run report does (report.js's plotValues and
 * legendValue): an undefined NC1 under complete collapse or a NaN kNN accuracy must not be drawn across as data.
 */
class FindingsReportTest {
  @TempDir
  Path tmp;

  private static final String NC1 = MetricFamily.NEURAL_COLLAPSE_NC1.id();
  private static final String DUALITY = MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY.id();
  private static final String KNN = MetricFamily.KNN_ACCURACY_RATIO.id() + "{layer=repr}";
  private static final String REGIONS = MetricFamily.REGIONS.id() + "{layer=all,plane=0}";

  private static String page() {
    ExperimentPlan plan = ExperimentPlan.of(true, List.of(42), List.of("mnist"), List.of("supervised", "simsiam"));
    ExperimentPlan.Run longRun = plan.runs().stream().filter(r -> r.role() == ExperimentPlan.Role.LONG).findFirst()
        .orElseThrow();
    ExperimentPlan.Run collapse = plan.runs().stream().filter(r -> r.role() == ExperimentPlan.Role.COLLAPSE)
        .findFirst().orElseThrow();
    // NC1 has no sample at step 150 (self-duality has) and is NaN at 300
    RunData l = run(longRun.id(), Map.of(NC1, points(100, 0.5, 200, 0.4, 300, Double.NaN, 400, 0.2),
        DUALITY, points(100, 0.9, 150, 0.8, 200, 0.7, 300, 0.6, 400, 0.5)));
    RunData c = run(collapse.id(), Map.of(REGIONS, points(50, 100, 100, 100, 200, 90, 300, 80),
        KNN, points(50, 0.5, 100, Double.NaN, 200, Double.POSITIVE_INFINITY, 300, 0.4)));
    return FindingsReport.html(plan, List.of(), Map.of(longRun.id(), l, collapse.id(), c));
  }

  /** The last script of the page: the charts' data and the code that draws them. */
  private static String chartScript(String html) {
    int start = html.lastIndexOf("<script>") + "<script>".length();
    return html.substring(start, html.indexOf("</script>", start));
  }

  private static JsonNode chart(JsonNode charts, String titlePrefix) {
    for (JsonNode c : charts) {
      if (c.get("title").asText().startsWith(titlePrefix)) {
        return c;
      }
    }
    throw new AssertionError("no chart " + titlePrefix + " in " + charts);
  }

  @Test
  void theEmbeddedDataMarkNonFiniteValuesByNameAndMissingStepsWithNull() throws Exception {
    String script = chartScript(page());
    int at = script.indexOf("const CHARTS = ") + "const CHARTS = ".length();
    JsonNode charts = new ObjectMapper().readTree(script.substring(at, script.indexOf(";\n", at)));
    JsonNode f6 = chart(charts, "F6:");
    assertEquals("[100.0,150.0,200.0,300.0,400.0]", f6.get("data").get(0).toString());
    assertEquals("[0.5,null,0.4,\"NaN\",0.2]", f6.get("data").get(1).toString(), "NC1");
    JsonNode f3 = chart(charts, "F3:");
    assertEquals("[50.0,100.0,200.0,300.0]", f3.get("data").get(0).toString());
    assertEquals("[0.5,\"NaN\",\"Infinity\",0.4]", f3.get("data").get(2).toString(), "kNN accuracy");
  }

  /** The page's chart script run in node with uPlot and the DOM stubbed: what it hands uPlot. */
  @Test
  void theChartsDrawNonFiniteValuesAsGapsAndJoinMissingSteps() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String js = """
        const drawn = [];
        class uPlot {
          constructor(opts, data, div) { drawn.push({opts, data}); }
          static fmtNum(v) { return String(v); }
        }
        const document = {createElement: () => ({}), getElementById: () => ({appendChild() {}})};
        """ + chartScript(page()) + """

        const f6 = drawn.find(d => d.opts.title.startsWith("F6:"));
        const show = a => a.map(v => v === undefined ? "u" : v);
        console.log(JSON.stringify({nc1: show(f6.data[1]), spanGaps: f6.opts.series[1].spanGaps,
          legend: [3, 2, 1].map(i => f6.opts.series[1].value(null, f6.data[1][i], 1, i)),
          ticks: f6.opts.axes[1].values(null, [1.2e-5, 1.4e-5])}));
        """;
    Path f = tmp.resolve("t.js");
    Files.writeString(f, js);
    Process p = new ProcessBuilder("node", f.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertEquals(0, p.waitFor(), out);
    // step 150 (no NC1 sample) joined over, step 300 (NaN) a gap; the legend names the NaN
    assertEquals("{\"nc1\":[0.5,\"u\",0.4,null,0.2],\"spanGaps\":false,\"legend\":[\"NaN\",\"0.4\",\"\"],"
        + "\"ticks\":[\"0.000012\",\"0.000014\"]}", out);
    assertTrue(js.contains("function plotValues("), "the run report's report.js, not a copy");
  }
}
