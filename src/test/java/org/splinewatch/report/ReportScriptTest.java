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
    String js = "let uPlot = {fmtNum: v => new Intl.NumberFormat('en-US').format(v)};\n"
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
    assertTrue(src.contains("values: axisValues") && src.contains("value: (u, v, si, idx) => legendValue("),
        "the charts use these formats");
    assertTrue(List.of(src.split("\n")).size() > 10);
  }

  /**
   * A step where a series' value is NaN or infinite is a gap in its line, and its legend says so; a step where the
   * series has no sample (another series' step, an analyser that runs every few snapshots) is joined over. uPlot
   * 1.6.30's linear paths break a line only at null and pass over undefined, with spanGaps false: the data's null
   * (no sample) becomes undefined, a non-finite sample (its name as a string) null, widened over the steps without a
   * sample next to it so the gap runs from the sample before to the sample after.
   */
  @Test
  void nonFiniteValuesAreGapsAndMissingStepsAreJoined() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String show = "const show = a => JSON.stringify(a.map(v => v === undefined ? \"u\" : v));\n";
    assertEquals("[1,\"u\",2,\"u\",3]", node(show + "console.log(show(plotValues([1, null, 2, null, 3])))"));
    assertEquals("[1,null,null,null,2,\"u\",3,null]",
        node(show + "console.log(show(plotValues([1, null, \"NaN\", null, 2, null, 3, \"Infinity\"])))"));
    assertEquals("[\"NaN\",\"-Infinity\",\"\",\"0.5\",\"--\"]",
        node("const raw = [\"NaN\", \"-Infinity\", null, 0.5];\n"
            + "console.log(JSON.stringify([legendValue(null, null, 1, 0, raw), legendValue(null, null, 1, 1, raw), "
            + "legendValue(null, null, 1, 2, raw), legendValue(null, 0.5, 1, 3, raw), "
            + "legendValue(null, null, 1, null, raw)]))"));
    String src = new String(ReportScriptTest.class.getResourceAsStream("/org/splinewatch/report/report.js")
        .readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(src.contains("spanGaps: false") && !src.contains("spanGaps: true")
        && src.contains("c.series.map(s => plotValues(s.values))"), "the charts draw plotValues without spanGaps");
  }

  /** Just enough DOM for the renderers: elements with children, text, attributes and listeners. */
  private static final String DOM = """
      class El {
        constructor(tag) { this.tagName = tag; this.children = []; this.attrs = {}; this.style = {}; this.dataset = {};
          this.textContent = ""; }
        appendChild(c) { this.children.push(c); return c; }
        append(...cs) { cs.forEach(c => this.appendChild(c)); }
        replaceChildren(...cs) { this.children = cs; }
        setAttribute(k, v) { this.attrs[k] = String(v); }
        getAttribute(k) { return this.attrs[k]; }
        addEventListener() {}
        getContext() { return {fillRect() {}}; }
        get clientWidth() { return 1200; }
      }
      globalThis.document = {createElement: t => new El(t)};
      globalThis.window = {innerWidth: 1280};
      """;

  /**
   * A canvas that records what the charts' draw hooks draw on it (after {@link #DOM}): {@code drawn(data)} renders
   * data's charts and gives, per chart, the x of each dashed line drawn and each label written.
   */
  private static final String MARKS = """
      let hooks = [];
      uPlot = class { constructor(opts) { hooks.push(opts.hooks.draw[0]); } destroy() {} };
      const drawn = data => {
        hooks = [];
        renderCharts(data, document.createElement("div"));
        return hooks.map(hook => {
          const texts = [], lines = [];
          const ctx = {save() {}, restore() {}, setLineDash() {}, beginPath() {}, stroke() {},
            moveTo(x) { lines.push(x); }, lineTo() {}, fillText(t) { texts.push(t); }};
          hook({ctx: ctx, valToPos: v => v, bbox: {left: 0, top: 0, width: 1000, height: 100}});
          return [lines, texts];
        });
      };
      """;

  /**
   * The live page draws the shown run's charts again every 2 s: each uPlot instance of the previous drawing is
   * destroyed (uPlot keeps every instance it made in a module-wide set and a media-query listener until destroy(),
   * so dropping only its DOM kept every chart of every refresh, about 140 DOM nodes a second, in memory).
   */
  @Test
  void drawingTheChartsAgainDestroysThePreviousCharts() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + """
        let live = 0;
        uPlot = class { constructor(opts, data, el) { live++; el.appendChild(new El("div")); }
          destroy() { live--; } };
        uPlot.fmtNum = v => String(v);
        const data = {alerts: [], charts: [1, 2, 3].map(i => ({title: "c" + i, x: [1, 2],
          series: [{label: "s", values: [1, 2]}]}))};
        const container = document.createElement("div");
        for (let i = 0; i < 5; i++) renderCharts(data, container);
        console.log(live + " " + container.children.length);
        """);
    assertEquals("3 3", out, "uPlot instances alive and charts shown after five drawings of three charts");
  }

  /**
   * A run without partition pictures (--analyzers embedding, or no region analysis finished) or without embedding
   * views says so under the section's heading instead of leaving it empty.
   */
  @Test
  void anEmptySectionSaysWhyItIsEmpty() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + """
        const t = document.createElement("div"), e = document.createElement("div");
        renderTimelines({timelines: []}, t);
        renderEmbeddings({embeddings: []}, e);
        console.log(JSON.stringify([t.children.map(c => c.textContent), e.children.map(c => c.textContent)]));
        """);
    assertTrue(out.matches("\\[\\[\"No partition pictures: [^\"]+\"],\\[\"No probe embeddings: [^\"]+\"]]"), out);
  }

  /**
   * Every chart's step axis spans the run (0 to its last step), not only the chart's own samples: a chart whose
   * analyser analysed only step 0 (the rest dropped or left unanalysed when a collapse alert stopped the run at step
   * 121) drew steps 0 to 100, hiding the alert's dashed line at step 120 and suggesting a run that ended at 100.
   */
  @Test
  void everyChartsStepAxisSpansTheRun() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + """
        const ranges = [];
        // uPlot calls an x scale's range function with the data's first and last step
        uPlot = class { constructor(opts) { const [lo, hi] = opts.title === "loss" ? [10, 120] : [0, 0];
          ranges.push(opts.scales.x.range ? opts.scales.x.range(this, lo, hi) : "auto"); } destroy() {} };
        const data = {alerts: [{step: 120}], lastStep: 121, charts: [
          {title: "loss", x: [10, 120], series: [{label: "loss", values: [5, 1]}]},
          {title: "kNN", x: [0], series: [{label: "repr", values: [0.7]}]}]};
        renderCharts(data, document.createElement("div"));
        console.log(JSON.stringify(ranges));
        """);
    assertEquals("[[0,121],[0,121]]", out);
  }

  /**
   * Charts drawn in a wide window fit it again when it is made narrower (or wider): uPlot keeps the size it drew at,
   * so a report opened wide and then narrowed overflowed its window. {@code fitCharts} resizes only the charts whose
   * width changed, keeping their height.
   */
  @Test
  void chartsFitTheirContainerAgainAfterAResize() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + """
        const sizes = [];
        uPlot = class { constructor(opts) { this.width = opts.width; this.height = opts.height; }
          setSize(s) { sizes.push([s.width, s.height]); this.width = s.width; this.height = s.height; } destroy() {} };
        const data = {alerts: [], lastStep: 2, charts: [1, 2].map(i => ({title: "c" + i, x: [1, 2],
          series: [{label: "s", values: [1, 2]}]}))};
        const container = document.createElement("div");
        let width = 1200;
        Object.defineProperty(container, "clientWidth", {get: () => width});
        renderCharts(data, container);
        const drawn = container.plots.map(u => u.width);
        fitCharts(container); // the same width: nothing to do
        width = 400;
        fitCharts(container);
        width = 100;
        fitCharts(container);
        console.log(JSON.stringify([drawn, sizes]));
        """);
    assertEquals("[[560,560],[[390,260],[390,260],[240,260],[240,260]]]", out);
  }

  /**
   * The live page merges an answer of only the samples written since its last one into the charts it shows: later
   * steps are appended, a sample of an earlier step (an analysis that finished after training moved on) goes in step
   * order, a null (no sample of that series there) keeps what was shown, the charts it was given are left as they
   * were, and a chart or series it does not show yet gives null (the page then asks for all of the run).
   */
  @Test
  void anAnswerOfNewSamplesIsMergedIntoTheChartsShown() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node("""
        const shown = [{title: "loss", x: [10, 20], series: [{label: "loss", values: [2, 1.5]}]},
          {title: "kNN", x: [0, 20], series: [{label: "a", values: [0.5, 0.6]}, {label: "b", values: [0.4, null]}]}];
        const before = JSON.stringify(shown);
        const merged = mergeCharts(shown, [
          {title: "loss", x: [30, 40], series: [{label: "loss", values: [1.2, "NaN"]}]},
          {title: "kNN", x: [10, 20, 30], series: [{label: "b", values: [0.45, 0.5, null]}]}]);
        console.log(JSON.stringify(merged));
        console.log(JSON.stringify(shown) === before);
        console.log(mergeCharts(shown, [{title: "uniformity", x: [1], series: [{label: "repr", values: [1]}]}]));
        console.log(mergeCharts(shown, [{title: "kNN", x: [40], series: [{label: "c", values: [1]}]}]));
        console.log(JSON.stringify(mergeCharts(shown, [])) === before);
        """);
    assertEquals(String.join("\n",
        "[{\"title\":\"loss\",\"x\":[10,20,30,40],\"series\":[{\"label\":\"loss\",\"values\":[2,1.5,1.2,\"NaN\"]}]},"
            + "{\"title\":\"kNN\",\"x\":[0,10,20,30],\"series\":[{\"label\":\"a\",\"values\":[0.5,null,0.6,null]},"
            + "{\"label\":\"b\",\"values\":[0.4,0.45,0.5,null]}]}]",
        "true", "null", "null", "true"), out);
  }

  /**
   * Every curve of a chart has a colour of its own: the palette has ten, and a chart of several runs overlaid has
   * more curves (eight runs with two planes and the data plane are 24), which took the palette's colours again, so
   * that two runs' curves (a1 plane 0 and sup1 plane 0 of a report of eight runs) were drawn alike and the legend
   * could not tell them apart. Charts of ten curves or fewer keep the palette.
   */
  @Test
  void everyCurveOfAChartHasAColourOfItsOwn() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + """
        const strokes = [];
        uPlot = class { constructor(opts) { strokes.push(opts.series.slice(1).map(s => s.stroke)); } destroy() {} };
        const chart = n => ({title: "c" + n, x: [0, 100], series: Array.from({length: n},
          (_, i) => ({label: "r" + Math.floor(i / 3) + " plane " + i % 3, values: [i, i + 1]}))});
        renderCharts({alerts: [], lastStep: 100, charts: [chart(3), chart(10), chart(24), chart(34)]},
          document.createElement("div"));
        console.log(JSON.stringify(strokes.map(s => [s.length, new Set(s).size])));
        console.log(JSON.stringify(strokes[0]) === JSON.stringify(COLORS.slice(0, 3)));
        """);
    assertEquals("[[3,3],[10,10],[24,24],[34,34]]\ntrue", out);
  }

  /**
   * The dashed alert lines of a report of several runs are labelled with the run whose alert started firing there
   * (one label per step, the runs of that step joined): they cross every run's curves, and unlabelled a collapse
   * alert of one run read as an alert of the healthy runs it was compared with. One run's lines stay unlabelled.
   */
  @Test
  void alertLinesOfSeveralRunsNameTheirRun() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + MARKS + """
        const charts = [{title: "loss", x: [0, 300], series: [{label: "a loss", values: [5, 4]},
          {label: "col2 loss", values: [5, 1]}, {label: "c loss", values: [5, 4]}]}];
        const alerts = [{run: "col2", step: 20, rule: "batch_collapse"}, {run: "col2", step: 300, rule: "knn_chance"},
          {run: "col2", step: 300, rule: "knn_chance"}, {run: "c", step: 300, rule: "std_collapse"}];
        console.log(JSON.stringify(drawn({alerts: alerts, lastStep: 300, runs: ["a", "col2", "c"],
          charts: charts})[0]));
        console.log(JSON.stringify(drawn({alerts: alerts.slice(0, 2), lastStep: 300, runs: ["col2"],
          charts: charts})[0]));
        """);
    assertEquals("[[20,300],[\"col2\",\"col2, c\"]]\n[[20,300],[]]", out);
  }

  /**
   * A run resumed in place is marked on its charts where it was resumed: a dashed line labelled "resumed at step N"
   * (after the run's name where the report holds several runs), drawn only on the charts that draw that run (a loss
   * chart holds one method's runs), as the alert lines are. The page drew no such line before.
   */
  @Test
  void resumeLinesAreDrawnAndLabelledOnTheChartsOfTheirRun() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String out = node(DOM + MARKS + """
        const loss = (title, run) => ({title: title, runs: [run], x: [0, 300],
          series: [{label: run + " loss", values: [5, 4]}]});
        const resumes = [{run: "a", step: 197}, {run: "b", step: 40}];
        console.log(JSON.stringify(drawn({alerts: [{run: "b", step: 60, rule: "std_collapse"}], resumes: resumes,
          lastStep: 300, runs: ["a", "b"], charts: [loss("simclr", "a"), loss("vicreg", "b"),
          {title: "regions", runs: ["a", "b"], x: [0], series: [{label: "a plane 0", values: [1]}]}]})));
        console.log(JSON.stringify(drawn({alerts: [], resumes: resumes.slice(0, 1), lastStep: 300, runs: ["a"],
          charts: [{title: "loss", x: [0, 300], series: [{label: "loss", values: [5, 4]}]}]})));
        """);
    assertEquals("[[[197],[\"a: resumed at step 197\"]],[[60,40],[\"b\",\"b: resumed at step 40\"]],"
        + "[[60,40,197],[\"b\",\"b: resumed at step 40\",\"a: resumed at step 197\"]]]\n"
        + "[[[197],[\"resumed at step 197\"]]]", out);
  }

  /**
   * The live page's run list shows each run's state as /api/runs words it (LivePage.runs, in ReportWriter's words:
   * LivePageDeltaTest), not as report.js worded it again: the page's script is run in node on an answer of the API.
   */
  @Test
  void theRunListShowsTheStateTheMonitorWords() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    String html = new String(ReportScriptTest.class.getResourceAsStream("/org/splinewatch/report/live.html")
        .readAllBytes(), StandardCharsets.UTF_8);
    String page = html.substring(html.indexOf("/*REPORTJS*/") + "/*REPORTJS*/".length(), html.indexOf("</script>",
        html.indexOf("/*REPORTJS*/")));
    String out = node("""
        class Node {}
        class El extends Node {
          constructor(tag) { super(); this.tagName = tag; this.children = []; this.textContent = ""; }
          appendChild(c) { this.children.push(c); return c; }
          replaceChildren(...cs) { this.children = cs; }
          setAttribute() {}
        }
        const elements = {};
        globalThis.document = {createElement: t => new El(t),
          getElementById: id => elements[id] || (elements[id] = new El("div"))};
        globalThis.location = {search: ""};
        globalThis.setInterval = () => {};
        const runs = [{id: "a", state: "running", step: 40, method: "supervised", dataset: "mnist"},
          {id: "b", state: "interrupted at step 27", step: 27, method: "simclr", dataset: "mnist"}];
        const run = {charts: [], alerts: [], resumes: [], planes: [], lastStep: 40, step: 40, cursor: "1.0.0"};
        globalThis.fetch = async url => ({ok: true, text: async () => JSON.stringify(url === "/api/runs" ? runs
          : run)});
        renderCharts = () => {};
        """ + page + """
        setTimeout(() => console.log(JSON.stringify(elements.runs.children.map(tr => tr.children.map(td =>
          td.children.length ? td.children[0].textContent : td.textContent)))), 100);
        """);
    assertEquals("[[\"run\",\"state\",\"step\",\"method\",\"dataset\"],[\"a\",\"running\",\"40\",\"supervised\","
        + "\"mnist\"],[\"b\",\"interrupted at step 27\",\"27\",\"simclr\",\"mnist\"]]", out);
  }
}
