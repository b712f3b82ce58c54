package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.snapshot.DurableFiles;

/** {@code ./monitor report} on long runs: what it says while it reads them, and a heap too small for them. */
class ReportCliTest {
  /** The line a bad argument's error is followed by. */
  private static final String HELP = System.lineSeparator() + "(./monitor report --help lists the options)";

  @TempDir
  Path tmp;

  /** A finished run of {@code steps} steps with one loss sample each. */
  private static Path run(Path dir, String id, int steps) throws Exception {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"" + id + "\",\"method\":\"supervised\"}");
    try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      for (int s = 0; s < steps; s++) {
        w.write("{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":" + s + ",\"value\":1}\n");
      }
    }
    // no analyses made, none to find: its metrics can be checked for an early end
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":" + steps
        + ",\"analysed_snapshots\":{\"embedding\":{\"analysed\":0,\"offered\":0}}}\n");
    return dir;
  }

  /**
   * A finished run whose run_finished records no analyses: metrics cut at a line boundary could not be told from whole
   * ones, and the report says so in a note instead of taking the run as complete without a word.
   */
  @Test
  void aRunWhoseMetricsCannotBeCheckedIsNoted() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Path out = tmp.resolve("r.html");
    assertEquals("report: " + out, TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString())
        .strip());
    Files.writeString(a.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":30}\n");
    String m = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
    assertEquals("note: a: not checked for metrics cut short: run_finished records no analysed snapshots and no last"
        + " training step (a run without analyzers that ./trainer did not end done itself: a --monitor or HTTP run,"
        + " one stopped early or failed, or one of an earlier release)\nreport: " + out, m.strip(), m);
    assertTrue(Files.readString(out).contains("a: finished at step 30; not checked for metrics cut short:"
        + " run_finished records no analysed snapshots"));
  }

  /**
   * An HTTP run registered and finished without a snapshot has no sample: the monitor wrote its report.html at its
   * end, and ./monitor report writes the same kind of report, saying that no snapshot was received, with exit 0 (it
   * was "error: …: no usable sample in its metrics", exit 1). Its status has no step and no "not checked for metrics
   * cut short" (it read "finished at step 0; not checked …"), and no such note is printed. Metrics of garbage stay an
   * error (CliTest).
   */
  @Test
  void anHttpRunWithoutASnapshotIsReportedAsSuch() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("nosnap"));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"nosnap\",\"method\":\"supervised\","
        + "\"source\":\"http\"}");
    Files.writeString(dir.resolve("metrics.jsonl"), "");
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"steps\":0,\"exit_code\":0,"
        + "\"stopped\":false,\"status\":\"done\",\"reason\":null,\"error\":null,\"source\":\"http\","
        + "\"snapshots_received\":0}\n");
    Path out = tmp.resolve("r.html");
    String m = TestTools.cli(0, "monitor", "report", dir.toString(), "--out", out.toString());
    assertEquals("note: nosnap: no snapshot received: the run was registered and ended without one, so it has no"
        + " samples and no curves\nreport: " + out, m.strip(), m);
    String html = Files.readString(out);
    assertTrue(html.contains("<div class=\"coverage\">nosnap: no snapshot received: the run was registered and ended"
        + " without one, so it has no samples and no curves</div>") && html.contains("id=\"status-nosnap\">nosnap:"
        + " finished with no snapshot received</div>")
        && html.contains("<p class=\"empty\">No curves: the run recorded no sample.</p>"),
        html.substring(0, Math.min(html.length(), 2000)));
  }

  /**
   * A partition picture or embedding view damaged after it was written (a disk error, an interrupted copy) is left
   * out of the report and named, on the command line and in the report, and the intact ones are still drawn; until
   * this release a cut-off or empty picture was inlined as a broken image and a damaged view dropped without a word.
   */
  @Test
  void damagedPicturesAndViewsAreLeftOutAndNamed() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Path planes = Files.createDirectories(a.resolve("planes"));
    String svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"><rect width=\"4\"/></svg>\n";
    Files.writeString(planes.resolve("plane-0-step-00000000.svg"), svg);
    Files.writeString(planes.resolve("plane-0-step-00000010.svg"), svg.substring(0, 20));
    Files.writeString(planes.resolve("plane-0-step-00000020.svg"), "");
    Path views = Files.createDirectories(a.resolve("embeddings"));
    Files.writeString(views.resolve("proj-step-00000000.json"), "{\"labels\":[1],\"xy\":[0.5,0.5]}\n");
    Files.writeString(views.resolve("proj-step-00000010.json"), "{\"labels\":[1],\"xy\":[0.5,");
    Path out = tmp.resolve("r.html");
    String m = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
    String picture = "a: planes/plane-0-step-00000010.svg (20 bytes) is not a whole SVG picture (it ends early,"
        + " without </svg>); left out of the report";
    String empty = "a: planes/plane-0-step-00000020.svg (0 bytes) is empty; expected an SVG picture; left out of the"
        + " report";
    String view = "a: embeddings/proj-step-00000010.json (24 bytes) is not a whole embedding view (Unexpected"
        + " end-of-input within/between Array entries); left out of the report";
    assertEquals("note: " + picture + "\nnote: " + empty + "\nnote: " + view + "\nreport: " + out, m.strip(), m);
    String html = Files.readString(out);
    assertTrue(html.contains("<div class=\"coverage\">a: note: planes/plane-0-step-00000010.svg (20 bytes) is not a"
        + " whole SVG picture (it ends early, without &lt;/svg&gt;); left out of the report</div>"), html);
    // the intact picture and view are still in it, the damaged ones are not
    String data = html.substring(html.indexOf("const DATA = "));
    assertTrue(data.contains("\"steps\":[0]") && !data.contains("\"steps\":[0,10"), data);
  }

  /**
   * A run without run_finished is told apart by its .run-lock, as the live page tells it: left behind by a killed
   * process, or held by a run writing now; without a lock file the old words stay. Until this release report and
   * detection said "still running, or it crashed" of a run killed with kill -9.
   */
  @Test
  void anUnfinishedRunIsToldKilledOrRunningByItsLock() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Files.writeString(a.resolve("events.jsonl"), "");
    Path out = tmp.resolve("r.html");
    String none = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
    assertTrue(none.contains("warning: a has not finished (no run_finished event): still running, or it crashed\n"),
        none);
    Files.writeString(a.resolve(".run-lock"), ""); // as a killed run leaves it
    String killed = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
    assertTrue(killed.contains("warning: a has not finished (no run_finished event): its process ended without one,"
        + " crashed or killed (its .run-lock is left behind, held by no process)\n"), killed);
    String detection = TestTools.cli(1, "monitor", "detection", a.toString());
    assertTrue(detection.contains(a + ": the run has not finished (no run_finished event): its process ended without"
        + " one, crashed or killed"), detection);
    try (var held = org.splinewatch.metrics.RunLock.acquire(a)) {
      String running = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
      assertTrue(running.contains("warning: a has not finished (no run_finished event): it is running now (a process"
          + " holds its .run-lock)\n"), running);
    }
  }

  @Test
  void largeRunsAreReadWithAProgressLineEach() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 3000);
    Path b = run(tmp.resolve("b"), "b", 2000);
    Path out = tmp.resolve("r.html");
    long was = ReportCommand.progressBytes;
    String m;
    try {
      ReportCommand.progressBytes = 0; // as if the runs were long: their samples are over the threshold
      m = TestTools.cli(0, "monitor", "report", a.toString(), b.toString(), "--out", out.toString());
    } finally {
      ReportCommand.progressBytes = was;
    }
    assertTrue(Pattern.compile("reading run 1 of 2: " + Pattern.quote(a.toString()) + " \\(0 MiB of samples\\)\\.\\.\\."
        + " 3,000 samples in \\d+\\.\\d s\n").matcher(m).find(), m);
    assertTrue(Pattern.compile("reading run 2 of 2: " + Pattern.quote(b.toString()) + " \\(0 MiB of samples\\)\\.\\.\\."
        + " 2,000 samples in \\d+\\.\\d s\n").matcher(m).find(), m);
    assertTrue(m.contains("writing " + out + "...\n") && Pattern.compile("done in \\d+\\.\\d s\n").matcher(m).find()
        && m.strip().endsWith("report: " + out), m);
    // short runs: the report only says where it is
    String quiet = TestTools.cli(0, "monitor", "report", a.toString(), "--out", out.toString());
    assertEquals("report: " + out, quiet.strip(), quiet);
    assertEquals(0, ReportCommand.sampleBytes(tmp.resolve("missing")));
    assertEquals(Files.size(a.resolve("metrics.jsonl")), ReportCommand.sampleBytes(a));
  }

  /**
   * A million samples do not fit a 24 MiB heap: one error line saying what to do, exit 1, not a stack trace of
   * OutOfMemoryError (three runs of a million steps did that in the default 640 MiB).
   */
  @Test
  void aHeapTooSmallForTheRunsIsOneLineSayingWhatToDo() throws Exception {
    Path big = run(tmp.resolve("big"), "big", 1_000_000);
    Process p = new ProcessBuilder(TestTools.mainCommand("-Xmx24m", "monitor", "report", big.toString(), "--out",
        tmp.resolve("big.html").toString())).redirectErrorStream(true).start();
    String m = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), m);
    assertEquals(1, p.exitValue(), m);
    assertFalse(m.contains("OutOfMemoryError") || m.contains("\tat "), m);
    assertTrue(Pattern.compile("error: the report of 1 run \\(\\d+ MiB of samples, and their pictures\\) needs more than the \\d+ MiB heap;"
        + " give it more \\(SPLINEWATCH_HEAP=2g \\./monitor report \\.\\.\\.\\) or report fewer runs at a time")
        .matcher(m).find(), m);
    assertFalse(Files.exists(tmp.resolve("big.html")), "no report is left behind");
  }

  /**
   * {@code --out /dev/null} and a FIFO take the report as other Unix tools do (both were refused: "exists and is not
   * an HTML file"); a socket is refused; a regular report is still replaced atomically, through a link the file it
   * names.
   */
  @Test
  void theReportGoesToDevNullAndAFifoButNotASocket() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Path devNull = Path.of("/dev/null");
    Assumptions.assumeTrue("a character device".equals(DurableFiles.specialKind(devNull)), "no /dev/null");
    String m = TestTools.cli(0, "monitor", "report", a.toString(), "--out", devNull.toString());
    assertEquals("report: /dev/null", m.strip(), m);
    assertEquals("a character device", DurableFiles.specialKind(devNull), "written to, not replaced");
    Path fifo = tmp.resolve("report.fifo");
    Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo");
    var read = CompletableFuture.supplyAsync(() -> {
      try {
        return Files.readString(fifo);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    String viaFifo = TestTools.cli(0, "monitor", "report", a.toString(), "--out", fifo.toString());
    String html = read.get(60, TimeUnit.SECONDS);
    assertTrue(viaFifo.strip().equals("report: " + fifo) && html.startsWith("<!doctype html>") && html.contains("</html>"),
        viaFifo + html.substring(0, Math.min(200, html.length())));
    assertEquals("a FIFO", DurableFiles.specialKind(fifo));
    Path socket = tmp.resolve("s.sock");
    try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      server.bind(java.net.UnixDomainSocketAddress.of(socket));
      String s = TestTools.cli(2, "monitor", "report", a.toString(), "--out", socket.toString());
      assertEquals("error: --out " + socket + ": is a socket; expected a file, a FIFO or a character device such as"
          + " /dev/null" + HELP, s.strip());
    }
    Path old = Files.writeString(tmp.resolve("old.html"), "<html/>");
    Path link = Files.createSymbolicLink(tmp.resolve("link.html"), old.getFileName());
    TestTools.cli(0, "monitor", "report", a.toString(), "--out", link.toString());
    assertTrue(Files.isSymbolicLink(link), "the link is kept");
    assertTrue(Files.readString(old).contains("</html>") && Files.size(old) > 1000);
    try (var left = Files.list(tmp)) {
      assertEquals(java.util.List.of(), left.filter(p -> p.toString().endsWith(".tmp")).toList(), "no temporary left");
    }
  }

  /**
   * A dangling link is written through, as a shell's {@code >} does: its target is created and the link kept (it was
   * replaced by a regular file); a link into a directory that does not exist, or a loop of links, is refused before
   * any run is read. As regions --svg.
   */
  @Test
  void aDanglingLinkIsWrittenThroughAndKept() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Files.createDirectories(tmp.resolve("site"));
    Path link = Files.createSymbolicLink(tmp.resolve("latest.html"), Path.of("site", "r.html"));
    assertEquals("report: " + link, TestTools.cli(0, "monitor", "report", a.toString(), "--out", link.toString())
        .strip());
    assertTrue(Files.isSymbolicLink(link), "the link is kept");
    assertTrue(Files.readString(tmp.resolve("site/r.html")).contains("</html>"));
    // the run's own report.html as a dangling link (no --out), through a second link
    Path hop = Files.createSymbolicLink(tmp.resolve("hop.html"), tmp.resolve("site/a.html"));
    Path own = Files.createSymbolicLink(a.resolve("report.html"), hop);
    TestTools.cli(0, "monitor", "report", a.toString());
    assertTrue(Files.isSymbolicLink(own) && Files.isSymbolicLink(hop), "the links are kept");
    assertTrue(Files.readString(tmp.resolve("site/a.html")).contains("</html>"));
    Path nowhere = Files.createSymbolicLink(tmp.resolve("gone.html"), Path.of("missing", "r.html"));
    String m = TestTools.cli(2, "monitor", "report", a.toString(), "--out", nowhere.toString());
    assertEquals("error: --out " + nowhere + ": is a link to " + tmp.resolve("missing/r.html") + ", whose directory "
        + tmp.resolve("missing") + " does not exist; expected a link to a file in an existing directory" + HELP,
        m.strip());
    assertTrue(Files.isSymbolicLink(nowhere) && !Files.exists(tmp.resolve("missing")), "nothing written");
    Path loop = Files.createSymbolicLink(tmp.resolve("loop.html"), Path.of("loop.html"));
    assertEquals("error: --out " + loop + ": is a loop of symbolic links; expected a file or a link to one" + HELP,
        TestTools.cli(2, "monitor", "report", a.toString(), "--out", loop.toString()).strip());
    try (var left = Files.list(tmp.resolve("site"))) {
      assertEquals(java.util.List.of(), left.filter(p -> p.toString().endsWith(".tmp")).toList(), "no temporary left");
    }
  }

  /**
   * A link named like a report to a file that is not one is refused as that file is, before any run is read: the
   * report would replace the file the link names (notes.txt was overwritten with the HTML). As regions --svg.
   */
  @Test
  void aLinkToAFileThatIsNotAReportIsRefused() throws Exception {
    Path a = run(tmp.resolve("a"), "a", 30);
    Path notes = Files.writeString(tmp.resolve("notes.txt"), "keep me\n");
    Path link = Files.createSymbolicLink(tmp.resolve("r.html"), notes.getFileName());
    String m = TestTools.cli(2, "monitor", "report", a.toString(), "--out", link.toString());
    assertEquals("error: --out " + link + ": is a link to " + notes.toRealPath() + ", which is not an HTML file;"
        + " expected a new file or an .html report to replace" + HELP, m.strip());
    assertEquals("keep me\n", Files.readString(notes));
    assertTrue(Files.isSymbolicLink(link), "the link is kept");
    // a link to the run's own data is refused the same way; nothing is written
    Path data = Files.createSymbolicLink(tmp.resolve("data.htm"), a.resolve("metrics.jsonl"));
    String d = TestTools.cli(2, "monitor", "report", a.toString(), "--out", data.toString());
    assertEquals("error: --out " + data + ": is a link to " + a.resolve("metrics.jsonl").toRealPath() + ", which is"
        + " not an HTML file; expected a new file or an .html report to replace" + HELP, d.strip());
    assertFalse(Files.exists(a.resolve("report.html")), "nothing written");
    try (var left = Files.list(tmp)) {
      assertEquals(java.util.List.of(), left.filter(p -> p.toString().endsWith(".tmp")).toList(), "no temporary left");
    }
    // without --out, the run's report.html is checked the same way (it replaced the link's target)
    Path own = Files.createSymbolicLink(a.resolve("report.html"), notes);
    String o = TestTools.cli(2, "monitor", "report", a.toString());
    assertEquals("error: the report " + own + ": is a link to " + notes.toRealPath() + ", which is not an HTML file;"
        + " expected a new file or an .html report to replace; or pass --out FILE" + HELP, o.strip());
    assertEquals("keep me\n", Files.readString(notes));
  }
}
