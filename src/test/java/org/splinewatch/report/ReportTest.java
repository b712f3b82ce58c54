package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading run directories tolerantly and the report's content, without a browser. */
class ReportTest {
  @TempDir
  Path tmp;

  static Path run(Path parent, String id, boolean finished, String extraLine) throws Exception {
    Path d = Files.createDirectories(parent.resolve(id));
    Files.writeString(d.resolve("config.json"), "{\"run_id\":\"" + id + "\",\"method\":\"simclr\",\"seed\":42}");
    StringBuilder m = new StringBuilder();
    for (int step = 0; step <= 300; step += 100) {
      m.append("{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"").append(id)
          .append("\"},\"step\":").append(step).append(",\"value\":").append(5 - step / 100.0).append(",\"time\":1}\n");
      m.append("{\"name\":\"splinewatch_regions\",\"labels\":{\"run\":\"").append(id)
          .append("\",\"plane\":\"0\",\"layer\":\"all\"},\"step\":").append(step).append(",\"value\":")
          .append(1000 + step).append(",\"time\":1}\n");
    }
    m.append(extraLine);
    Files.writeString(d.resolve("metrics.jsonl"), m);
    String events = "{\"type\":\"alert_firing\",\"rule\":\"std_collapse\",\"step\":200,\"message\":\"spread collapsed\"}\n"
        + (finished ? "{\"type\":\"run_finished\",\"steps\":300}\n" : "");
    Files.writeString(d.resolve("events.jsonl"), events);
    Files.createDirectories(d.resolve("planes"));
    for (int step : new int[] {0, 300}) {
      Files.writeString(d.resolve("planes").resolve(String.format("plane-0-step-%08d.svg", step)),
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>");
    }
    return d;
  }

  @Test
  void aFinishedRunIsCompleteWithCurvesAlertsAndPictures() throws Exception {
    RunData r = RunData.read(run(tmp, "a", true, ""));
    assertTrue(r.complete(), String.valueOf(r.problems()));
    assertEquals(300, r.lastStep());
    assertEquals(List.of(200L), r.alerts().stream().map(RunData.Alert::step).toList());
    assertEquals(2, r.pictures().get(0).size());
    Map<String, Object> data = ReportWriter.data(List.of(r), true);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> charts = (List<Map<String, Object>>) data.get("charts");
    assertEquals(List.of("Training loss, simclr: NT-Xent (InfoNCE)", "Linear regions per plane"), charts.stream()
        .map(c -> c.get("title")).toList());
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("a: finished at step 300") && html.contains("uPlot")
        && html.contains("data:image/svg+xml;base64,"));
    assertFalse(html.contains("<script src") || html.contains("<link") || html.contains("src=\"http")
        || html.contains("url(http"), "self-contained: nothing loaded from the network");
  }

  /**
   * In the page's data a step where a series has no sample (another series' step on the shared x axis, an analyser
   * that runs every few snapshots) is null, and a non-finite sample (NC1 under complete collapse, a kNN accuracy of
   * NaN) is its name as a string, so the page can tell them apart (a gap in the line versus a joined line).
   */
  @Test
  void nonFiniteSamplesStayDistinctFromMissingSteps() throws Exception {
    String nc1 = "{\"name\":\"splinewatch_neural_collapse_nc1\",\"labels\":{\"run\":\"a\",\"layer\":\"%d\"},"
        + "\"step\":%d,\"value\":%s,\"time\":1}\n";
    StringBuilder lines = new StringBuilder();
    for (int step = 0; step <= 300; step += 100) {
      lines.append(String.format(nc1, 1, step, "0.25")); // layer 1 analysed at every step, layer 0 not at 100
    }
    RunData r = RunData.read(run(tmp, "a", true, lines + String.format(nc1, 0, 0, "0.5")
        + String.format(nc1, 0, 200, "\"NaN\"") + String.format(nc1, 0, 300, "\"Infinity\"")));
    Map<String, Object> data = ReportWriter.data(List.of(r), false);
    @SuppressWarnings("unchecked")
    Map<String, Object> chart = ((List<Map<String, Object>>) data.get("charts")).stream()
        .filter(c -> c.get("title").equals("Neural collapse NC1")).findFirst().orElseThrow();
    assertEquals(List.of(0L, 100L, 200L, 300L), chart.get("x"));
    @SuppressWarnings("unchecked")
    Map<String, Object> series = ((List<Map<String, Object>>) chart.get("series")).stream()
        .filter(x -> x.get("label").equals("layer 0")).findFirst().orElseThrow();
    assertEquals(java.util.Arrays.asList(0.5, null, "NaN", "Infinity"),
        java.util.Arrays.asList((Object[]) series.get("values")));
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("[0.5,null,\"NaN\",\"Infinity\"]"), "the page's data keep the distinction");
  }

  /**
   * A finished run whose analyses were cut short (drain-timeout, an early end, drops) says so next to its status, in
   * the end line's words, so its sparse curves are not read as a complete analysis; a fully analysed run says nothing.
   */
  @Test
  void aRunWithUnanalysedSnapshotsNamesItsCoverage() throws Exception {
    StringBuilder analyses = new StringBuilder(); // one analysis-time sample per analysis the run counted
    for (int i = 0; i < 8; i++) {
      analyses.append("{\"name\":\"splinewatch_analysis_seconds\",\"labels\":{\"analyzer\":\"")
          .append(i < 7 ? "embedding" : "geometry").append("\"},\"step\":").append(i % 7 * 50)
          .append(",\"value\":0.1,\"time\":1}\n");
    }
    Path d = run(tmp, "c", true, analyses.toString());
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"steps\":300,\"analysed_snapshots\":"
        + "{\"embedding\":{\"analysed\":7,\"offered\":7},\"geometry\":{\"analysed\":1,\"offered\":7,\"dropped\":2,"
        + "\"unanalysed\":4}}}\n");
    RunData r = RunData.read(d);
    assertTrue(r.complete(), String.valueOf(r.problems()));
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("analysed snapshots: embedding 7/7, geometry 1/7 (14 %: 2 dropped); left unanalysed when"
        + " the run ended: geometry 4"), html.substring(0, Math.min(html.length(), 400)));
    assertFalse(ReportWriter.html(List.of(RunData.read(run(tmp, "e", true, "")))).contains("analysed snapshots:"));
  }

  /** A run whose live planes overflowed names them and the command that counts them exactly offline. */
  @Test
  void overflowedPlanesAreNamedWithTheOfflineCount() throws Exception {
    Path d = run(tmp, "o", true, "");
    assertFalse(ReportWriter.html(List.of(RunData.read(d))).contains("overflowed the live region cap"));
    for (int k : new int[] {1, 0}) {
      Files.write(d.resolve("planes").resolve("plane-" + k + "-overflow.npz"), new byte[] {1});
    }
    Files.write(d.resolve("planes").resolve("plane-x-overflow.npz"), new byte[] {1}); // not a plane's
    RunData r = RunData.read(d);
    assertEquals(List.of(0, 1), r.overflowedPlanes());
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("o: planes 0, 1 overflowed the live region cap (splinewatch_region_overflow 1: no exact"
        + " count or geometry there); count each exactly offline with ./monitor regions --model "
        + d.resolve("planes").resolve("plane-0-overflow.npz") + " --tiled"), html.substring(0, 600));
  }

  /**
   * A run resumed from an earlier checkpoint (e.g. {@code best}) trains its later steps again: the report and the live
   * page draw the resumed steps once, not beside those of the trajectory it left.
   */
  @Test
  void aRunResumedFromAnEarlierCheckpointDrawsItsResumedStepsOnly() throws Exception {
    Path d = run(tmp, "b", true, "");
    String loss = "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"b\"},\"step\":%d,\"value\":%s,"
        + "\"time\":%d}\n";
    // the first segment wrote steps 0..300 at time 1; resumed from step 100 at time 1000, it writes 200 and 300 again
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":100,\"checkpoint\":\"best\","
        + "\"time\":1000}\n{\"type\":\"run_finished\",\"steps\":300}\n", java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(d.resolve("metrics.jsonl"), String.format(loss, 200, "7.5", 1001) + String.format(loss, 300, "7.25",
        1002), java.nio.file.StandardOpenOption.APPEND);
    for (RunData r : List.of(RunData.read(d), new RunData.Incremental(d).refresh())) {
      List<double[]> points = r.series().get("splinewatch_training_loss{}").points();
      assertEquals(List.of(0.0, 100.0, 200.0, 300.0), points.stream().map(p -> p[0]).toList());
      assertEquals(List.of(5.0, 4.0, 7.5, 7.25), points.stream().map(p -> p[1]).toList());
    }
    // a run that was not resumed keeps every sample, whatever its order
    assertEquals(4, RunData.read(run(tmp, "n", true, "")).series().get("splinewatch_training_loss{}").points().size());
  }

  /**
   * On a cluster the analyses are stamped by an analyzer node whose clock may differ from the trainer's: the resumed
   * segment is told from the abandoned one by write order, from the segment's first training sample on, not by
   * comparing the analyzer's clock with the trainer's.
   */
  @Test
  void aResumedRunsAnalysesAreToldApartByWriteOrderNotByAnotherMachinesClock() throws Exception {
    Path d = run(tmp, "skew", true, "");
    String sample = "{\"name\":\"splinewatch_%s,\"step\":%d,\"value\":%s,\"time\":%d}\n";
    String loss = "training_loss\",\"labels\":{\"run\":\"skew\"}";
    String regions = "regions\",\"labels\":{\"run\":\"skew\",\"plane\":\"0\",\"layer\":\"all\"}";
    // before the resume: the abandoned trajectory's analysis of step 400, stamped by an analyzer clock far ahead;
    // after it (trainer time 1000): the resumed steps, their analyses stamped by an analyzer clock 900 ms behind
    Files.writeString(d.resolve("metrics.jsonl"), String.format(sample, regions, 400, "1400", 5000)
        + String.format(sample, loss, 200, "7.5", 1001) + String.format(sample, regions, 200, "2200", 101)
        + String.format(sample, loss, 300, "7.25", 1002) + String.format(sample, regions, 300, "2300", 102),
        java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":100,\"checkpoint\":\"best\","
        + "\"time\":1000}\n", java.nio.file.StandardOpenOption.APPEND);
    for (RunData r : List.of(RunData.read(d), new RunData.Incremental(d).refresh())) {
      List<double[]> counts = r.series().get("splinewatch_regions{layer=all, plane=0}").points();
      assertEquals(List.of(0.0, 100.0, 200.0, 300.0), counts.stream().map(p -> p[0]).toList());
      assertEquals(List.of(1000.0, 1100.0, 2200.0, 2300.0), counts.stream().map(p -> p[1]).toList());
      assertEquals(List.of(5.0, 4.0, 7.5, 7.25), r.series().get("splinewatch_training_loss{}").points().stream()
          .map(p -> p[1]).toList());
    }
    // resumed, and no training sample of the new segment yet: every later step is the abandoned trajectory's
    Path fresh = run(tmp, "fresh", true, "");
    Files.writeString(fresh.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":100,\"time\":1000}\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals(List.of(0.0, 100.0), RunData.read(fresh).series().get("splinewatch_regions{layer=all, plane=0}")
        .points().stream().map(p -> p[0]).toList());
  }

  /**
   * Resumed from step 100 and ended at step 200, a run left behind the partition picture of step 300 and the alert
   * at step 200 of the trajectory it abandoned: the report and the live page show its own pictures and alerts only.
   */
  @Test
  void aRunResumedFromAnEarlierCheckpointShowsNoPictureOrAlertOfTheTrajectoryItLeft() throws Exception {
    Path d = run(tmp, "p", true, ""); // pictures of steps 0 and 300, an alert at step 200, then run_finished
    String sample = "{\"name\":\"splinewatch_%s,\"step\":%d,\"value\":%s,\"time\":%d}\n";
    Files.writeString(d.resolve("metrics.jsonl"), String.format(sample, "training_loss\",\"labels\":{\"run\":\"p\"}",
        200, "7.5", 1001) + String.format(sample, "regions\",\"labels\":{\"run\":\"p\",\"plane\":\"0\",\"layer\":"
        + "\"all\"}", 200, "2200", 1002), java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":100,\"checkpoint\":\"best\","
        + "\"time\":1000}\n{\"type\":\"alert_firing\",\"rule\":\"knn_chance\",\"step\":150,\"message\":\"m\"}\n"
        + "{\"type\":\"run_finished\",\"steps\":200}\n", java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(d.resolve("planes").resolve("plane-0-step-00000200.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>");
    for (RunData r : List.of(RunData.read(d), new RunData.Incremental(d).refresh())) {
      assertEquals(List.of(0L, 200L), r.pictures().get(0).stream().map(RunData.Picture::step).toList());
      assertEquals(List.of(150L), r.alerts().stream().map(RunData.Alert::step).toList());
    }
    // the embedding views likewise: step 300's is the left trajectory's; 200's the resumed segment drew again
    Path views = Files.createDirectories(d.resolve("embeddings"));
    for (long step : new long[] {0, 200, 300}) {
      Files.writeString(views.resolve(String.format("repr-step-%08d.json", step)),
          "{\"step\":" + step + ",\"layer\":\"repr\",\"labels\":[1],\"xy\":[[0,0]]}");
    }
    Files.writeString(d.resolve("metrics.jsonl"), String.format(sample, "embedding_rankme\",\"labels\":{\"run\":"
        + "\"p\",\"layer\":\"repr\"}", 200, "3.5", 1003), java.nio.file.StandardOpenOption.APPEND);
    RunData resumed = RunData.read(d);
    assertEquals(List.of(0L, 200L), EmbeddingViewData.read(d, "p", 30, resumed.currentViews()).get(0).get("steps"));
    assertTrue(ReportWriter.html(List.of(resumed)).contains("\"layer\":\"repr\",\"steps\":[0,200]"),
        "the report's views");
    // not resumed: every picture and alert stays
    RunData plain = RunData.read(run(tmp, "q", true, ""));
    assertEquals(List.of(0L, 300L), plain.pictures().get(0).stream().map(RunData.Picture::step).toList());
    assertEquals(List.of(200L), plain.alerts().stream().map(RunData.Alert::step).toList());
  }

  /**
   * A run resumed in place ({@code ./trainer --resume}, in the checkpoint's own run directory) is marked where it was
   * resumed: the page's data name each resume's run and step (report.js draws a dashed line labelled "resumed at step
   * N" on the run's charts) and the caption says what the lines are. A resume a later one went back before happened
   * on the trajectory the run left and is not marked. Nothing marked it before.
   */
  @Test
  void aRunResumedInPlaceIsMarkedWhereItWasResumed() throws Exception {
    Path d = run(tmp, "r", true, "");
    // interrupted at 250, resumed there; crashed after 280, resumed from best at 200; a second crash, again at 200
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\","
        + "\"steps\":250}\n{\"type\":\"run_resumed\",\"step\":250,\"time\":10}\n{\"type\":\"run_resumed\","
        + "\"step\":200,\"checkpoint\":\"best\",\"time\":20}\n{\"type\":\"run_resumed\",\"step\":200,"
        + "\"time\":30}\n{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":300}\n");
    RunData r = RunData.read(d);
    assertEquals(List.of(200L), r.resumedAt());
    assertEquals(List.of(200L), new RunData.Incremental(d).refresh().resumedAt(), "the live page's reading");
    assertEquals(List.of(Map.of("run", "r", "step", 200L)), ReportWriter.data(List.of(r), false).get("resumes"));
    String html = ReportWriter.html(List.of(r));
    assertTrue(html.contains("\"resumes\":[{\"run\":\"r\",\"step\":200}]")
        || html.contains("\"resumes\":[{\"step\":200,\"run\":\"r\"}]"), "the page's data");
    assertTrue(html.contains(" Dashed blue lines: steps where the run was resumed from a checkpoint (\"resumed at step"
        + " N\")."), "the caption");
    assertEquals(List.of(250L, 400L), RunData.resumeSteps(List.of(resume(100), resume(250), resume(400))
        .subList(1, 3)), "resumed later each time: every resume is marked");
    // a run never resumed: none, and no caption of them
    RunData plain = RunData.read(run(tmp, "p", true, ""));
    assertEquals(List.of(), ReportWriter.data(List.of(plain), false).get("resumes"));
    assertFalse(ReportWriter.html(List.of(plain)).contains("Dashed blue lines"));
  }

  private static com.fasterxml.jackson.databind.JsonNode resume(long step) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree("{\"type\":\"run_resumed\",\"step\":" + step
        + ",\"time\":1}");
  }

  /**
   * The losses of different methods (SimCLR's NT-Xent, VICReg's three terms, a cross-entropy) are of different kinds
   * and scales: each method's runs get a loss chart of their own, titled with the method and its loss, the legend
   * naming run and method; they shared one axis, the legend naming the run only. Each chart names the runs it draws,
   * whose alert and resume lines the page draws on it.
   */
  @Test
  void eachMethodsTrainingLossHasAChartOfItsOwn() throws Exception {
    Path a = run(tmp, "a", true, "");
    Path v = run(tmp, "v", true, "");
    Path s = run(tmp, "s", true, "");
    Path x = run(tmp, "x", true, "");
    Files.writeString(v.resolve("config.json"), "{\"run_id\":\"v\",\"method\":\"vicreg\"}");
    Files.writeString(s.resolve("config.json"), "{\"run_id\":\"s\",\"method\":\"supervised\"}");
    Files.writeString(x.resolve("config.json"), "{\"run_id\":\"x\",\"method\":\"my-loop\",\"source\":\"http\"}");
    Path a2 = run(tmp, "a2", true, ""); // simclr too: on a's chart
    List<RunData> runs = List.of(RunData.read(a), RunData.read(v), RunData.read(s), RunData.read(a2),
        RunData.read(x));
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> charts = (List<Map<String, Object>>) ReportWriter.data(runs, false).get("charts");
    List<Map<String, Object>> losses = charts.stream().filter(c -> String.valueOf(c.get("title"))
        .startsWith("Training loss")).toList();
    assertEquals(List.of("Training loss, simclr: NT-Xent (InfoNCE)", "Training loss, vicreg: inv. + var. + cov. terms",
        "Training loss, supervised: cross-entropy", "Training loss, my-loop"),
        losses.stream().map(c -> c.get("title")).toList());
    assertEquals(List.of(List.of("a (simclr)", "a2 (simclr)"), List.of("v (vicreg)"), List.of("s (supervised)"),
        List.of("x (my-loop)")), losses.stream().map(c -> ((List<Map<String, Object>>) c.get("series")).stream()
        .map(z -> z.get("label")).toList()).toList());
    assertEquals(List.of(List.of("a", "a2"), List.of("v"), List.of("s"), List.of("x")),
        losses.stream().map(c -> c.get("runs")).toList());
    Map<String, Object> regions = charts.stream().filter(c -> c.get("title").equals("Linear regions per plane"))
        .findFirst().orElseThrow();
    assertEquals(List.of("a", "v", "s", "a2", "x"), regions.get("runs"), "other charts draw every run");
    assertTrue(ReportWriter.html(runs).contains("Each method's training loss has a chart of its own"));
    // one run: its method names the chart and the curve
    @SuppressWarnings("unchecked")
    Map<String, Object> one = ((List<Map<String, Object>>) ReportWriter.data(List.of(runs.get(1)), false)
        .get("charts")).get(0);
    assertEquals("Training loss, vicreg: inv. + var. + cov. terms", one.get("title"));
    assertEquals("vicreg loss", ((List<Map<String, Object>>) one.get("series")).get(0).get("label"));
  }

  /** A run interrupted and resumed has one run_finished per segment: the coverage is the whole run's. */
  @Test
  void aResumedRunsCoverageSumsItsSegments() throws Exception {
    Path d = run(tmp, "s", true, "");
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\","
        + "\"analysed_snapshots\":{\"regions\":{\"analysed\":3,\"offered\":5,\"dropped\":2,\"unanalysed\":1}}}\n"
        + "{\"type\":\"run_finished\",\"analysed_snapshots\":{\"regions\":{\"analysed\":6,\"offered\":6}}}\n");
    String html = ReportWriter.html(List.of(RunData.read(d)));
    assertTrue(html.contains("analysed snapshots (2 segments of a resumed run): regions 9/11 (82 %: 2 dropped)")
        && !html.contains("left unanalysed"), html.substring(0, Math.min(html.length(), 400)));
  }

  /** A regions analysis-time sample at {@code step}, as the metrics actor writes one with each analysis it counts. */
  private static String analysis(long step, long time) {
    return "{\"name\":\"splinewatch_analysis_seconds\",\"labels\":{\"analyzer\":\"regions\",\"run\":\"x\"},"
        + "\"step\":" + step + ",\"value\":0.5,\"time\":" + time + "}\n";
  }

  private static String finishedWith(String status, long analysed) {
    return "{\"type\":\"run_finished\",\"status\":\"" + status + "\",\"analysed_snapshots\":{\"regions\":"
        + "{\"analysed\":" + analysed + ",\"offered\":" + analysed + "}}}\n";
  }

  /**
   * Metrics cut at a line boundary (an interrupted copy: shorter than the run wrote, but ending with a newline) hold
   * no half-written line; the analyses its run_finished counted give them away. They were taken as complete, and
   * ./monitor experiment used such a run's findings as they were.
   */
  @Test
  void metricsCutShortAtALineBoundaryAreIncomplete() throws Exception {
    Path d = run(tmp, "cut", true, analysis(0, 1) + analysis(100, 2) + analysis(200, 3));
    Files.writeString(d.resolve("events.jsonl"), finishedWith("done", 3));
    assertTrue(RunData.read(d).complete(), String.valueOf(RunData.read(d).problems()));
    List<String> lines = Files.readAllLines(d.resolve("metrics.jsonl"));
    Files.writeString(d.resolve("metrics.jsonl"), String.join("\n", lines.subList(0, lines.size() - 1)) + "\n");
    RunData cut = RunData.read(d);
    assertFalse(cut.complete());
    assertEquals(List.of("the metrics end early: they hold fewer analyses than run_finished records (regions 2 of"
        + " 3), as if cut short (an interrupted copy or write)"), cut.problems());
    // the live page's reader says the same
    assertEquals(cut.problems(), new RunData.Incremental(d).refresh().problems());
    // retention deleted the earliest segments: the samples are short by them, which is the problem named
    try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(d.resolve("metrics-00002.jsonl.gz")))) {
      gz.write(new byte[0]);
    }
    List<String> deleted = RunData.read(d).problems();
    assertEquals(1, deleted.size(), deleted.toString());
    assertTrue(deleted.get(0).startsWith("the earliest metrics segments (before metrics-00002.jsonl.gz) were deleted")
        && deleted.get(0).endsWith("; the rest were not checked for metrics cut short"), deleted.toString());
  }

  /**
   * A resumed run: its segments' run_finished events add up, and the samples are counted as written, also those of
   * the trajectory it left (which the report drops); a segment that crashed recorded nothing and only adds samples.
   */
  @Test
  void aResumedRunsAnalysesAreCountedOverItsSegments() throws Exception {
    String resumedLoss = "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"res\"},\"step\":110,"
        + "\"value\":1.5,\"time\":20}\n"; // the resumed segment's first training sample
    Path d = run(tmp, "res", true, analysis(0, 1) + analysis(100, 2) + analysis(200, 3) + resumedLoss
        + analysis(100, 20) + analysis(300, 21));
    // the first segment analysed steps 0, 100 and 200; resumed from step 100, the second analysed 100 and 300
    Files.writeString(d.resolve("events.jsonl"), finishedWith("interrupted", 3) + "{\"type\":\"run_resumed\","
        + "\"step\":100,\"time\":10}\n" + finishedWith("done", 2));
    RunData r = RunData.read(d);
    assertTrue(r.complete(), String.valueOf(r.problems()));
    assertEquals(4, r.series().get("splinewatch_analysis_seconds{analyzer=regions}").points().size(),
        "step 200 of the trajectory left is dropped, but was counted");
    Files.writeString(d.resolve("events.jsonl"), finishedWith("interrupted", 3) + "{\"type\":\"run_resumed\","
        + "\"step\":100,\"time\":10}\n" + finishedWith("done", 3));
    assertTrue(RunData.read(d).problems().contains("the metrics end early: they hold fewer analyses than"
        + " run_finished records (regions 5 of 6), as if cut short (an interrupted copy or write)"));
    // no analysed_snapshots (written before they were recorded): nothing to compare with
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\"}\n");
    assertTrue(RunData.read(d).complete());
  }

  @Test
  void halfWrittenAndUnfinishedRunsAreMarkedIncomplete() throws Exception {
    RunData r = RunData.read(run(tmp, "b", false, "{\"name\":\"splinewatch_training_loss\",\"lab"));
    assertFalse(r.complete());
    assertTrue(r.problems().stream().anyMatch(p -> p.contains("line 9 is half-written")), r.problems()
        .toString());
    assertTrue(r.problems().stream().anyMatch(p -> p.contains("has not finished")));
    assertTrue(ReportWriter.html(List.of(r)).contains("INCOMPLETE"));
  }

  /**
   * A run's status line says first what became of the run (finished, interrupted, stopped early, failed at step N, or
   * not finished: still running or crashed), and its files only where they matter: damaged or cut short, or not
   * checkable. It read "complete; the run was interrupted at step 52" (whole files, but a run cut short) and
   * "INCOMPLETE — the run has not finished …". Its colour: green for a finished run with whole files, amber for one
   * interrupted or stopped early, red for one failed, not finished or with damaged files.
   */
  @Test
  void theStatusSaysWhatBecameOfTheRunAndItsFilesOnlyWhereTheyMatter() throws Exception {
    Path i = run(tmp, "i", false, "");
    Files.writeString(i.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\","
        + "\"steps\":52,\"exit_code\":130,\"reason\":\"interrupted by SIGINT\"}\n",
        java.nio.file.StandardOpenOption.APPEND);
    // its run_finished records no analyses: the metrics could not be checked for an early end, and it says so
    assertTrue(ReportWriter.html(List.of(RunData.read(i))).contains("<div class=\"status ended\" id=\"status-i\">"
        + "i: interrupted at step 52 by SIGINT; not checked for metrics cut short: run_finished records no"
        + " analysed snapshots and no last training step (a run without analyzers that ./trainer did not end done"
        + " itself: a --monitor or HTTP run, one stopped early or failed, or one of an earlier release)</div>"));
    Path m = run(tmp, "m", false, ""); // a monitor's marking of a run it found left without an end
    Files.writeString(m.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"interrupted\","
        + "\"steps\":9,\"reason\":\"the monitor stopped without ending this run\"," + CHECKED + "}\n");
    assertEquals("interrupted at step 9: the monitor stopped without ending this run",
        ReportWriter.status(RunData.read(m)));
    Path s = run(tmp, "s", false, "");
    Files.writeString(s.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"stopped\",\"steps\":121,"
        + "\"exit_code\":3,\"stopped\":true,\"reason\":\"collapse alert batch_collapse: batch collapsed\","
        + CHECKED + "}\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertTrue(ReportWriter.html(List.of(RunData.read(s))).contains("<div class=\"status ended\" id=\"status-s\">"
        + "s: stopped early at step 121: collapse alert batch_collapse: batch collapsed</div>"));
    Path f = run(tmp, "f", false, "");
    Files.writeString(f.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"failed\","
        + "\"steps\":7,\"error\":\"disk full\"," + CHECKED + "}\n", java.nio.file.StandardOpenOption.APPEND);
    assertTrue(ReportWriter.html(List.of(RunData.read(f))).contains("<div class=\"status failed\" id=\"status-f\">"
        + "f: failed at step 7: disk full</div>"));
    Path d = run(tmp, "d", false, "");
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":300,"
        + CHECKED + "}\n", java.nio.file.StandardOpenOption.APPEND);
    assertTrue(ReportWriter.html(List.of(RunData.read(d))).contains(
        "<div class=\"status complete\" id=\"status-d\">d: finished at step 300</div>"));
    // not finished, whole files: its state, and nothing said of its files
    Path n = run(tmp, "n", false, "");
    assertTrue(ReportWriter.html(List.of(RunData.read(n))).contains("<div class=\"status incomplete\" id=\"status-n\">"
        + "n: not finished (no run_finished event): still running, or it crashed</div>"));
    // resumed after its end and not ended since
    Files.writeString(d.resolve("events.jsonl"), "{\"type\":\"run_resumed\",\"step\":300,\"time\":5}\n",
        java.nio.file.StandardOpenOption.APPEND);
    assertEquals("not finished since it was resumed at step 300 (no run_finished after its run_resumed): still"
        + " running, or it crashed", ReportWriter.status(RunData.read(d)));
    // finished, damaged files: both, the files after the run's state
    Path h = run(tmp, "h", false, "{\"name\":\"splinewatch_training_loss\",\"lab");
    Files.writeString(h.resolve("events.jsonl"), "{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":300,"
        + CHECKED + "}\n");
    assertTrue(ReportWriter.html(List.of(RunData.read(h))).contains("<div class=\"status incomplete\" id=\"status-h\">"
        + "h: finished at step 300; files INCOMPLETE: metrics.jsonl line 9 is half-written</div>"));
  }

  /** A run_finished's record of analyses the metrics can be checked against: none made, none to find. */
  private static final String CHECKED = "\"analysed_snapshots\":{\"regions\":{\"analysed\":0,\"offered\":0}}";

  @Test
  void aSampleWhoseStepOrValueIsNotANumberIsMalformedNotStepZero() throws Exception {
    String loss = "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":%s,\"value\":%s}\n";
    RunData r = RunData.read(run(tmp, "m", true, String.format(loss, "\"abc\"", "1") + String.format(loss, "1.5", "1")
        + String.format(loss, "400", "null") + String.format(loss, "410", "true") + String.format(loss, "420", "\"x\"")
        + String.format(loss, "430", "\"NaN\"")));
    // the first three malformed lines named, the others counted
    assertEquals(List.of("metrics.jsonl line 9 is malformed", "metrics.jsonl line 10 is malformed",
        "metrics.jsonl line 11 is malformed", "metrics.jsonl: 2 more malformed lines, the last at line 13 (5 in all)"),
        r.problems());
    List<double[]> points = r.series().get("splinewatch_training_loss{}").points();
    assertEquals(List.of(0.0, 100.0, 200.0, 300.0, 430.0), points.stream().map(p -> p[0]).toList());
    assertEquals(5.0, points.get(0)[1], "step 0 keeps its own value, not the bad line's");
  }

  @Test
  void aFileOfGarbageGivesAShortWarningNotOneEntryPerLine() throws Exception {
    Path g = run(tmp, "g", true, "hello world not json\n".repeat(50_000));
    RunData r = RunData.read(g);
    assertTrue(r.incompleteWarning().length() < 400, r.incompleteWarning());
    assertTrue(r.incompleteWarning().contains("metrics.jsonl: 49997 more malformed lines, the last at line 50008 (50000 in all)"),
        r.incompleteWarning());
    // binary garbage (lines that are not UTF-8) is summarised the same way
    byte[] noise = new byte[200_000];
    new java.util.Random(3).nextBytes(noise);
    Path b = run(tmp, "b", true, "");
    Files.write(b.resolve("metrics.jsonl"), noise);
    String binary = RunData.read(b).incompleteWarning();
    assertTrue(binary.length() < 400 && binary.contains("more malformed lines"), binary);
    // the run's state and its files' damage said apart, as the report's status line says them
    assertTrue(binary.startsWith("warning: b's files are incomplete: metrics.jsonl line 1 is not valid UTF-8;"), binary);
    Path unfinished = run(tmp, "u", false, "hello\n");
    assertEquals("warning: u has not finished (no run_finished event): still running, or it crashed; u's files are"
        + " incomplete: metrics.jsonl line 9 is malformed", RunData.read(unfinished).incompleteWarning());
    // a few bad lines are all named, other problems kept in order
    assertEquals(List.of("a line 1 is malformed", "b line 2 is malformed", "other", "a line 3 is malformed"),
        RunData.summarised(List.of("a line 1 is malformed", "b line 2 is malformed", "other",
            "a line 3 is malformed")));
  }

  @Test
  void summariesAgreeWithTheFullRead() throws Exception {
    for (boolean finished : new boolean[] {true, false}) {
      Path d = run(tmp, "s" + finished, finished, "");
      RunData.Summary sum = RunData.summarize(d);
      RunData full = RunData.read(d);
      assertEquals(full.lastStep(), sum.lastStep());
      assertEquals(full.finished(), sum.finished());
      assertEquals("simclr", sum.config().get("method"));
    }
  }

  @Test
  void aSummaryReadsTheLargestStepALongHoldsAndSkipsLargerOnes() throws Exception {
    Path d = run(tmp, "big", false, "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"big\"},"
        + "\"step\":9223372036854775807,\"value\":1,\"time\":1}\n"
        + "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"big\"},"
        + "\"step\":9999999999999999999,\"value\":1,\"time\":1}\n");
    assertEquals(Long.MAX_VALUE, RunData.summarize(d).lastStep());
  }

  @Test
  void missingDirectoriesGiveAClearError() throws Exception {
    var e = assertThrows(RunData.ReportException.class, () -> RunData.read(tmp.resolve("nope")));
    assertTrue(e.getMessage().contains("no such run directory"), e.getMessage());
    Files.createDirectories(tmp.resolve("empty"));
    e = assertThrows(RunData.ReportException.class, () -> RunData.read(tmp.resolve("empty")));
    assertTrue(e.getMessage().contains("no metrics.jsonl"), e.getMessage());
  }

  @Test
  void aReportThatCannotBeMovedInPlaceLeavesNoTemporaryFile() throws Exception {
    RunData r = RunData.read(run(tmp, "a", true, ""));
    Path dir = Files.createDirectories(tmp.resolve("taken"));
    Files.writeString(dir.resolve("x"), "x");
    assertThrows(java.io.UncheckedIOException.class, () -> ReportWriter.write(List.of(r), dir));
    assertFalse(Files.exists(tmp.resolve("taken.tmp")));
    assertTrue(Files.exists(dir.resolve("x")));
  }

  @Test
  void aMalformedConfigIsOneShortProblem() throws Exception {
    Path d = run(tmp, "c", true, "");
    Files.writeString(d.resolve("config.json"), "[1,2\n");
    RunData r = RunData.read(d);
    assertFalse(r.complete());
    assertTrue(r.problems().contains("config.json is not valid JSON (line 2, column 1)"), r.problems().toString());
    assertEquals("c", r.runId());
  }

  @Test
  void severalRunsAreOverlaid() throws Exception {
    RunData a = RunData.read(run(tmp, "a", true, ""));
    RunData b = RunData.read(run(tmp, "b", true, ""));
    String html = ReportWriter.html(List.of(a, b));
    assertTrue(html.contains("\"label\":\"a plane 0\"") && html.contains("\"label\":\"b plane 0\""));
    // the page labels each alert line with its run (report.js alertMarks) from the runs the data name; the caption
    // says so: one run's alert crosses every run's curves
    assertEquals(List.of("a", "b"), ReportWriter.data(List.of(a, b), false).get("runs"));
    assertTrue(html.contains("<p>Dashed red lines: steps where a collapse alert started firing, each labelled with the"
        + " run it fired in.</p>"), "the caption of several runs");
    assertTrue(ReportWriter.html(List.of(a)).contains("<p>Dashed red lines: steps where a collapse alert started"
        + " firing.</p>"), "one run's");
  }

  @Test
  void runsWithTheSameIdFromDifferentDirectoriesAreToldApart() throws Exception {
    Path d1 = run(Files.createDirectories(tmp.resolve("lr1")), "a", true, "");
    Path d2 = run(Files.createDirectories(tmp.resolve("lr2")), "a", true, "");
    String html = ReportWriter.html(List.of(RunData.read(d1), RunData.read(d2)));
    for (Path d : List.of(d1, d2)) {
      assertTrue(html.contains("\"label\":\"a (" + d + ") plane 0\""), "each run's curves name its directory");
      assertTrue(html.contains("<th>a (" + d + ")</th>"), "and its hyperparameter column");
    }
    assertFalse(html.contains("\"label\":\"a plane 0\""));
    RunData b = RunData.read(run(tmp, "b", true, ""));
    assertTrue(ReportWriter.html(List.of(RunData.read(d1), b)).contains("\"label\":\"a plane 0\""),
        "distinct ids stay as they are");
  }

  @Test
  void theHyperparameterTableMarksTheSettingsThatDiffer() throws Exception {
    Path a = run(tmp, "a", true, "");
    Path b = run(tmp, "b", true, "");
    Files.writeString(a.resolve("config.json"), "{\"run_id\":\"a\",\"method\":\"simclr\",\"seed\":42,"
        + "\"settings\":{\"batch_size\":256,\"learning_rate\":0.001,\"hidden\":[256,256]},\"tags\":{\"sweep\":\"lr\"},"
        + "\"started\":\"2026-01-01T00:00:00Z\"}");
    Files.writeString(b.resolve("config.json"), "{\"run_id\":\"b\",\"method\":\"simclr\",\"seed\":42,"
        + "\"settings\":{\"batch_size\":256,\"learning_rate\":0.01,\"hidden\":[256,256]},\"notes\":\"<b>x</b>\","
        + "\"started\":\"2026-01-02T00:00:00Z\"}");
    List<RunData> runs = List.of(RunData.read(a), RunData.read(b));
    Map<String, Hyperparameters.Row> rows = new java.util.LinkedHashMap<>();
    Hyperparameters.rows(runs).forEach(r -> rows.put(r.name(), r));
    assertEquals(List.of("method", "seed", "settings.batch_size", "settings.learning_rate", "settings.hidden",
        "tags.sweep", "notes"), List.copyOf(rows.keySet()), "run id and start time are provenance, not settings");
    assertFalse(rows.get("seed").differs());
    assertFalse(rows.get("settings.hidden").differs());
    assertEquals(List.of("0.001", "0.01"), rows.get("settings.learning_rate").values());
    assertTrue(rows.get("settings.learning_rate").differs());
    assertEquals(List.of("lr", ""), rows.get("tags.sweep").values());
    assertTrue(rows.get("tags.sweep").differs() && rows.get("notes").differs());
    String html = ReportWriter.html(runs);
    assertTrue(html.contains("3 of 7 settings differ"), "summary line");
    assertTrue(html.contains("<tr class=\"differs\"><td>settings.learning_rate</td><td>0.001</td><td>0.01</td></tr>"));
    assertTrue(html.contains("<tr><td>seed</td><td>42</td><td>42</td></tr>"));
    assertTrue(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"), "values are escaped");
  }

  /** An HTTP run's directory {@code id} with no sample and {@code end} as its one event. */
  private Path httpRun(String id, String end) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(id));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"" + id + "\",\"method\":\"supervised\","
        + "\"source\":\"http\"}");
    Files.writeString(dir.resolve("metrics.jsonl"), "");
    Files.writeString(dir.resolve("events.jsonl"), end + "\n");
    return dir;
  }

  /**
   * An HTTP run that received no snapshot (its run_finished records none received) wrote no sample that could have
   * been cut short, and ended at no step: its status is "finished with no snapshot received", without "not checked
   * for metrics cut short: …" ("finished at step 0; not checked …" before). Whether it received one is what its
   * run_finished records, not its step: one whose only snapshot was of step 0, with its samples gone, is no run
   * without a snapshot.
   */
  @Test
  void aRunThatReceivedNoSnapshotSaysSoWithoutTheStepAndTheMetricsCheck() throws Exception {
    RunData none = RunData.read(httpRun("none", "{\"type\":\"run_finished\",\"steps\":0,\"status\":\"done\","
        + "\"source\":\"http\",\"snapshots_received\":0}"));
    assertEquals("finished with no snapshot received", ReportWriter.status(none));
    assertEquals(java.util.Optional.of("no snapshot received: the run was registered and ended without one, so it"
        + " has no samples and no curves"), ReportWriter.noSamples(none));
    RunData left = RunData.read(httpRun("left", "{\"type\":\"run_finished\",\"steps\":0,\"status\":"
        + "\"interrupted\",\"reason\":\"the monitor stopped without ending this run\",\"source\":\"http\","
        + "\"snapshots_received\":0}"));
    assertEquals("interrupted with no snapshot received: the monitor stopped without ending this run",
        ReportWriter.status(left));
    RunData lost = RunData.read(httpRun("lost", "{\"type\":\"run_finished\",\"steps\":0,\"status\":\"done\","
        + "\"source\":\"http\",\"snapshots_received\":1}"));
    assertEquals(java.util.Optional.of("no samples: its metrics.jsonl holds none, so it has no curves"),
        ReportWriter.noSamples(lost));
    assertTrue(ReportWriter.status(lost).startsWith("finished at step 0; not checked for metrics cut short"),
        ReportWriter.status(lost));
  }
}
