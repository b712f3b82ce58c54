package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.serve.LivePage;
import org.splinewatch.trainer.RunSettings;

/**
 * The live page's polling of a real run, as the page does it (node, with the page's own {@code mergeCharts}): the
 * first answer whole, then only what was written since each answer, merged, and the whole run again where a chart or
 * series appears that the page does not show yet. Once the run has finished, the charts the polls built must equal
 * the run's charts read whole, step for step and value for value, although the analyses' samples arrive after
 * training has moved on. Skipped where node is missing.
 */
class LivePagePollingIT {
  @TempDir
  Path tmp;

  private static final String POLL = """
      const fs = require("fs");
      const [url, done] = process.argv.slice(2);
      let shown = null, cursor = null, polls = 0, deltas = 0, whole = 0, early = 0, deltaBytes = 0, wholeBytes = 0;
      async function get(u, delta) {
        const r = await fetch(u);
        if (r.status === 404) return null; // the run directory is not there yet
        if (!r.ok) throw new Error(u + ": HTTP " + r.status);
        const t = await r.text();
        if (delta) deltaBytes += t.length; else wholeBytes += t.length;
        return JSON.parse(t);
      }
      async function poll() {
        let a = await get(url + (cursor ? "?after=" + encodeURIComponent(cursor) : ""), cursor !== null);
        if (a === null) return;
        polls++;
        let charts = a.delta ? mergeCharts(shown, a.charts) : a.charts;
        if (a.delta && charts !== null) {
          deltas++;
          for (const d of a.charts) {
            const c = shown.find(c => c.title === d.title);
            if (d.x[0] <= c.x[c.x.length - 1]) early++;
          }
        }
        if (charts === null) {
          a = await get(url, false);
          charts = a.charts;
        }
        if (!a.delta) whole++;
        shown = charts;
        cursor = a.cursor;
      }
      (async () => {
        for (;;) {
          const last = fs.existsSync(done);
          await poll();
          if (last) break;
          await new Promise(r => setTimeout(r, 150));
        }
        const all = await get(url, false);
        // the charts' content, whatever order the server's JSON objects list their keys in
        const canonical = charts => JSON.stringify(charts.map(c => [c.title, c.x, c.series.map(s => [s.label,
          s.values])]));
        const same = canonical(shown) === canonical(all.charts);
        console.log((same ? "equal" : "differ") + " polls " + polls + " deltas " + deltas + " whole " + whole
          + " early " + early + " deltaBytes " + deltaBytes + " wholeBytes " + wholeBytes + " finalBytes "
          + JSON.stringify(all).length);
        if (!same) {
          console.log(canonical(shown));
          console.log(canonical(all.charts));
        }
      })().catch(e => { console.log("error " + e.message); process.exit(1); });
      """;

  @Test
  void chartsBuiltFromNewSamplesEqualTheRunReadWhole() throws Exception {
    assumeTrue(TestTools.installed("node"), "node not installed");
    Path script = tmp.resolve("poll.js");
    Files.writeString(script, ReportWriter.resource(ReportWriter.reportJs()) + "\n" + POLL);
    Path done = tmp.resolve("done");
    Path out = tmp.resolve("runs");
    Files.createDirectories(out);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "live-page-polling");
    MetricsHttpServer http = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        "127.0.0.1", 0, LivePage.route(out, "poll"), MetricsHttpServer.AllowedHosts.loopbackAnd(List.of()));
    try {
      Process node = new ProcessBuilder("node", script.toString(),
          "http://127.0.0.1:" + http.port() + "/api/runs/poll", done.toString()).redirectErrorStream(true).start();
      var o = SyntheticData.tinyRun(tmp, "poll", 600);
      o.put("splinewatch.run.hidden", List.of(16, 16));
      o.put("splinewatch.analysis.enabled", List.of("embedding", "regions", "geometry", "boundary"));
      o.put("splinewatch-analysis-dispatcher.fixed-pool-size", 2);
      var config = TrainCommand.load(o, null);
      EmbeddedRun.Result r = EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
          new PrintStream(java.io.OutputStream.nullOutputStream()), EmbeddedRun.defaultAnalyzers(config),
          new EmbeddedRun.Listener() { });
      assertEquals(0, r.exitCode());
      Files.createFile(done);
      assertTrue(node.waitFor(60, TimeUnit.SECONDS), "the poller ends after the run");
      String result = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      System.out.println("live page polling: " + result.lines().findFirst().orElse(""));
      assertTrue(result.startsWith("equal "), result);
      String[] f = result.lines().findFirst().orElseThrow().split(" ");
      assertTrue(Integer.parseInt(f[4]) >= 5, "most polls were answered with what was new: " + result);
    } finally {
      http.stop();
      system.terminate();
    }
  }
}
