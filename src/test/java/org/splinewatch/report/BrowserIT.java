package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.serve.LivePage;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;

/**
 * The report of a tiny real run and the live page of a running one, opened in headless Chromium (Debian package,
 * installed by .ci/run; skipped where missing): no console errors, the charts and pictures rendered, a screenshot with
 * ink on it (kept as target/test-artifacts/report.png), and the live page's step number moving between two reads.
 */
class BrowserIT {
  private static final Pattern STEP = Pattern.compile("<span id=\"step\">(\\d+)</span>");
  @TempDir
  Path tmp;

  /** Runs headless Chromium; returns {stdout, stderr}. */
  private String[] chromium(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--enable-logging=stderr", "--v=0",
        "--user-data-dir=" + Files.createTempDirectory(tmp, "chromium")));
    cmd.addAll(List.of(args));
    Path err = Files.createTempFile(tmp, "chromium", ".err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    return new String[] {out, Files.readString(err)};
  }

  private static List<String> consoleErrors(String stderr) {
    return stderr.lines().filter(l -> l.contains("CONSOLE") || l.contains("Uncaught")).toList();
  }

  private EmbeddedRun.Result tinyRun(String id, long steps, int port, EmbeddedRun.Listener listener) throws Exception {
    var o = SyntheticData.tinyRun(tmp, id, steps);
    o.put("splinewatch.run.hidden", List.of(16, 16));
    o.put("splinewatch.run.probe-size", 60);
    o.put("splinewatch.metrics.port", port);
    o.put("splinewatch.analysis.enabled", List.of("embedding", "regions", "geometry"));
    o.put("splinewatch-analysis-dispatcher.fixed-pool-size", 2);
    var config = TrainCommand.load(o, null);
    return EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(),
        new PrintStream(java.io.OutputStream.nullOutputStream()), EmbeddedRun.defaultAnalyzers(config), listener);
  }

  @Test
  void theReportOfATinyRunRendersWithoutErrors() throws Exception {
    assumeTrue(TestTools.installed("chromium"), "chromium not installed (.ci/run installs it)");
    EmbeddedRun.Result r = tinyRun("report", 300, 0, new EmbeddedRun.Listener() { });
    assertEquals(0, r.exitCode());
    Path report = r.runDir().resolve("report.html");
    assertTrue(Files.isRegularFile(report), "./trainer writes report.html at the end of the run");
    String[] dom = chromium("--virtual-time-budget=5000", "--dump-dom", report.toUri().toString());
    assertEquals(List.of(), consoleErrors(dom[1]));
    int canvases = count(dom[0], "<canvas");
    assertTrue(canvases >= 6, "charts drawn: " + canvases);
    int images = count(dom[0], "<img");
    assertTrue(images >= 3, "partition pictures shown: " + images);
    // screen-reader basics: the page's language, a text alternative for every picture, a name for every slider and
    // for the charts and embedding canvases
    assertTrue(dom[0].contains("<html lang=\"en\">"), "the page's language");
    assertEquals(0, Pattern.compile("<img(?![^>]*\\balt=\"[^\"]+\")").matcher(dom[0]).results().count(),
        "every picture has alt text");
    assertEquals(0, Pattern.compile("<input(?![^>]*\\baria-label=\"[^\"]+\")").matcher(dom[0]).results().count(),
        "every slider is labelled");
    assertEquals(count(dom[0], "<div class=\"chart\""), count(dom[0], "<div class=\"chart\" role=\"figure\" "
        + "aria-label=\""), "every chart is a labelled figure");
    assertTrue(dom[0].matches("(?s).*<canvas width=\"360\" height=\"360\" role=\"img\" aria-label=\"2D PCA of the "
        + "probe embeddings of layer repr at step \\d+.*"), "the embedding view is labelled");
    // the embedding view: the 2D PCA of repr at each analysed step on a canvas, with a step slider
    assertTrue(dom[0].contains("<div class=\"embedding\" data-run=\"report\" data-layer=\"repr\">"),
        "embedding view of repr");
    assertTrue(dom[0].matches("(?s).*<div class=\"embedding\"[^>]*><h3>[^<]*</h3><canvas[^>]*></canvas><div>step \\d+.*"
        + "<input type=\"range\".*"), "canvas, step caption and slider");
    // a narrow window (half a laptop screen; headless Chromium's windows are at least 500 px wide): the charts fit
    // in it, inside the page's 16 px margins, instead of running off its edge
    String[] narrow = chromium("--window-size=520,900", "--force-device-scale-factor=1", "--virtual-time-budget=5000",
        "--dump-dom", report.toUri().toString());
    List<Integer> widths = Pattern.compile("<canvas width=\"(\\d+)\" height=\"260\"").matcher(narrow[0]).results()
        .map(m -> Integer.parseInt(m.group(1))).toList();
    assertTrue(!widths.isEmpty() && widths.stream().allMatch(w -> w <= 520 - 32), "chart widths in 520 px: " + widths);
    // the hyperparameter table of two runs whose learning rates differ: that row is highlighted, the seed's is not
    Path twin = tmp.resolve("runs-twin").resolve("twin");
    Files.createDirectories(twin);
    Files.copy(r.runDir().resolve("metrics.jsonl"), twin.resolve("metrics.jsonl"));
    Files.writeString(twin.resolve("config.json"), Files.readString(r.runDir().resolve("config.json"))
        .replace("\"run_id\" : \"report\"", "\"run_id\" : \"twin\"")
        .replace("\"learning_rate\" : 0.001", "\"learning_rate\" : 0.01"));
    Path both = tmp.resolve("both.html");
    ReportWriter.write(List.of(RunData.read(r.runDir()), RunData.read(twin)), both);
    String[] two = chromium("--virtual-time-budget=5000", "--dump-dom", both.toUri().toString());
    assertEquals(List.of(), consoleErrors(two[1]));
    assertTrue(two[0].contains("<tr class=\"differs\"><td>settings.learning_rate</td><td>0.001</td><td>0.01</td></tr>"),
        "the differing learning rate is highlighted");
    assertTrue(two[0].contains("<tr><td>seed</td><td>42</td><td>42</td></tr>"), "equal settings are not");
    Path shot = Path.of("target/test-artifacts");
    Files.createDirectories(shot);
    chromium("--window-size=1280,1600", "--screenshot=" + shot.resolve("report.png").toAbsolutePath(),
        report.toUri().toString());
    BufferedImage img = ImageIO.read(shot.resolve("report.png").toFile());
    long ink = 0;
    for (int y = 0; y < img.getHeight(); y += 2) {
      for (int x = 0; x < img.getWidth(); x += 2) {
        ink += (img.getRGB(x, y) & 0xffffff) != 0xffffff ? 1 : 0;
      }
    }
    assertTrue(ink > img.getWidth() * img.getHeight() / 4 / 50, "the screenshot is not blank: " + ink);
  }

  @Test
  void theLivePageUpdatesWhileTheRunTrains() throws Exception {
    assumeTrue(TestTools.installed("chromium"), "chromium not installed (.ci/run installs it)");
    int port = TestTools.freePort();
    CompletableFuture<long[]> steps = new CompletableFuture<>();
    List<String> errors = new ArrayList<>();
    boolean[] liveEmbedding = new boolean[1];
    int p = port;
    EmbeddedRun.Result r = tinyRun("live", 1_000_000, port, new EmbeddedRun.Listener() {
      @Override
      public void started(Path runDir, int boundPort, ActorRef<TrainerActor.Command> trainer) {
        Thread t = new Thread(() -> {
          try {
            Thread.sleep(3000);
            // loads the page until one shows a step, a later one a greater step, and one the run's embedding view
            // (after its first embedding analysis): polled with a deadline, since on a loaded machine two loads at
            // fixed times could both come before the first analysis
            long[] seen = {-1, -1};
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
            while (!(seen[0] > 0 && seen[1] > seen[0] && liveEmbedding[0]) && System.nanoTime() < deadline) {
              String[] dom = chromium("--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:" + p + "/");
              errors.addAll(consoleErrors(dom[1]));
              liveEmbedding[0] |= dom[0].contains("<div class=\"embedding\" data-run=\"live\"");
              Matcher m = STEP.matcher(dom[0]);
              seen[seen[0] > 0 ? 1 : 0] = m.find() ? Long.parseLong(m.group(1)) : -1;
              Thread.sleep(2000);
            }
            steps.complete(seen);
          } catch (Exception e) {
            steps.completeExceptionally(e);
          } finally {
            trainer.tell(new TrainerActor.Stop("live page checked"));
          }
        });
        t.setDaemon(true);
        t.start();
      }
    });
    long[] seen = steps.join();
    assertEquals(List.of(), errors);
    assertTrue(seen[0] > 0 && seen[1] > seen[0], "the step shown moved: " + seen[0] + " then " + seen[1]);
    assertTrue(liveEmbedding[0], "the live page shows the embedding view of the running run");
    assertEquals(3, r.exitCode());
  }

  /**
   * The live page when its monitor cannot be reached (the trainer that served it ended or was killed): it says so and
   * that it shows the last data it read, instead of an uncaught "Failed to fetch" every 2 s beside a run still listed
   * as active. The page is opened as a file, where every request of it fails as it does once its server is gone.
   */
  @Test
  void theLivePageSaysWhenItsMonitorCannotBeReached() throws Exception {
    assumeTrue(TestTools.installed("chromium"), "chromium not installed (.ci/run installs it)");
    Path page = tmp.resolve("live.html");
    Files.writeString(page, org.splinewatch.serve.LivePage.page());
    String[] dom = chromium("--virtual-time-budget=5000", "--dump-dom", page.toUri().toString());
    // the browser itself logs each failed request; the page's script must not fail on them
    assertEquals(List.of(), consoleErrors(dom[1]).stream().filter(l -> l.contains("Uncaught")).toList());
    assertTrue(dom[0].matches("(?s).*<p id=\"connection\" role=\"status\" class=\"lost\">"
        + "The monitor cannot be reached.*"), "the page says that the monitor cannot be reached");
  }

  /**
   * The live page on a monitor's run directory: the run asked for in the address that is not there is said to be not
   * there (it was shown as the monitor answering 404, as if the page had lost its monitor); the shown run's row is
   * marked in the run list; a run interrupted between logged steps is at its end step in the list and the heading; a
   * run whose training ended while the monitor analyses its last snapshots says so (it read "active"); an alert that
   * resolved says at which step.
   */
  @Test
  void theLivePageNamesAMissingRunAndMarksTheShownOne() throws Exception {
    assumeTrue(TestTools.installed("chromium"), "chromium not installed (.ci/run installs it)");
    Path out = tmp.resolve("runs");
    for (String id : new String[] {"cut", "other"}) {
      RunLog.writeConfig(out.resolve(id), Map.of("run_id", id, "method", "supervised", "dataset", "mnist"));
      RunLog log = new RunLog(out.resolve(id));
      for (int step = 10; step <= 20; step += 10) {
        log.append(List.of(Sample.of(MetricFamily.TRAINING_LOSS, 1.0 / step, step)), Map.of("run", id));
      }
      log.close();
    }
    // an alert that resolved, and one still firing when the run ended: the page said only "2 alert(s): spread@10, ..."
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "alert_firing", "rule", "spread", "step", 10));
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "alert_resolved", "rule", "spread", "step", 20));
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "alert_firing", "rule", "rankme", "step", 20));
    RunLog.appendEvent(out.resolve("cut"), Map.of("type", "run_finished", "status", "interrupted", "steps", 27));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "browser-live");
    MetricsHttpServer http = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        "127.0.0.1", 0, LivePage.route(out, "other"::equals, id -> id.equals("other") ? "finished training at step 20"
            : null, Runnable::run),
        MetricsHttpServer.AllowedHosts.loopbackAnd(List.of()));
    try {
      String base = "http://127.0.0.1:" + http.port() + "/";
      String[] missing = chromium("--virtual-time-budget=5000", "--dump-dom", base + "?run=nosuch");
      assertEquals(List.of(), consoleErrors(missing[1]));
      assertTrue(missing[0].matches("(?s).*<p id=\"connection\" role=\"status\" hidden=\"\"( class=\"\")?></p>.*"),
          "the monitor answers: not a lost connection");
      assertTrue(missing[0].contains("No run 'nosuch' in this monitor's run directory"), missing[0]);

      String[] cut = chromium("--virtual-time-budget=5000", "--dump-dom", base + "?run=cut");
      assertEquals(List.of(), consoleErrors(cut[1]));
      assertTrue(cut[0].contains("<span id=\"step\">27</span>"), "the step the run ended at");
      assertTrue(cut[0].contains("2 alert(s): spread@10 (resolved @20), rankme@20<"), cut[0]);
      assertTrue(cut[0].matches("(?s).*<tr class=\"shown\" aria-current=\"true\"><td><a href=\"\\?run=cut\">cut</a>"
          + "</td><td>interrupted at step 27</td><td>27</td>.*"),
          "the shown run's row is marked, with its state as /api/runs words it");
      assertTrue(cut[0].matches("(?s).*<tr><td><a href=\"\\?run=other\">other</a></td><td>analysing its last"
          + " snapshots \\(finished training at step 20\\)</td><td>20</td>.*"),
          "the other run's row is not marked; its training ended, its analyses drain: not merely active");
    } finally {
      http.stop();
      system.terminate();
    }
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }
}
