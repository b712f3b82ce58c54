package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ProgressLine} and the progress of {@code ./monitor regions} without {@code --tiled}, which showed nothing
 * during a partition of minutes (only {@code --tiled} had a progress line).
 */
class ProgressLineTest {
  @TempDir
  Path tmp;

  private static final long S = 1_000_000_000L;

  @Test
  void withoutATerminalALineEveryIntervalAndNothingForShortWork() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressLine bar = new ProgressLine(new PrintStream(buf, true, StandardCharsets.UTF_8), false, 10 * S, 0);
    assertFalse(bar.due(9 * S), "nothing before the interval");
    bar.finish();
    assertEquals("", buf.toString(StandardCharsets.UTF_8), "short work prints nothing");
    assertTrue(bar.due(10 * S));
    bar.show("step one", 10 * S);
    assertFalse(bar.due(19 * S));
    assertEquals(12.5, bar.seconds(12 * S + S / 2));
    bar.show("step two", 20 * S);
    bar.finish();
    assertEquals("step one\nstep two\n", buf.toString(StandardCharsets.UTF_8).replace(System.lineSeparator(), "\n"));
  }

  /** A count that will take weeks says so, and its share of the plane does not read as 0.0 % for hours. */
  @Test
  void theTiledLineShowsSmallSharesAndTheTimeLeft() {
    // 2-100000-1: 74 tiles counted and 0.0042 % of the plane done after 131 s
    assertEquals("tiled: 0.0042 % of the plane, 74 tiles, 25 split, 131 s, about 36 days left at this rate",
        MonitorCommand.Regions.tiledProgress(4.2e-5, 74, 25, 131));
    assertEquals("tiled:  50.0 % of the plane, 310 tiles, 35 split, 95 s, about 95 s left at this rate",
        MonitorCommand.Regions.tiledProgress(0.5, 310, 35, 95));
    assertEquals("tiled:   0.0 % of the plane, 0 tiles, 1 split, 3 s", MonitorCommand.Regions.tiledProgress(0, 0, 1, 3));
    // the seams, after the tiles
    assertEquals("tiled: 310 tiles counted, the seams of 12 of 103 split, 140 s",
        MonitorCommand.Regions.tiledSeamsProgress(310, 12, 103, 140));
    assertEquals("about 2.5 h", "about " + MonitorCommand.Regions.duration(9000));
    assertEquals("about 3 min", "about " + MonitorCommand.Regions.duration(180));
  }

  @Test
  void onATerminalTheLineIsRedrawnAndWipedAtTheEnd() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressLine bar = new ProgressLine(new PrintStream(buf, true, StandardCharsets.UTF_8), true, S / 4, 0);
    bar.show("a longer line", S);
    bar.show("short", 2 * S);
    bar.finish();
    bar.finish(); // once
    assertEquals("\ra longer line\rshort        \r             \r", buf.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theWholePartitionReportsProgressOnStandardErrorOnly() throws Exception {
    Assumptions.assumeFalse(ProgressLine.stderrIsTerminal(), "the forced interval applies without a terminal");
    Path f = RegionsCliTest.oneLayer(tmp.resolve("lines.npz"), 30, 5);
    // the default interval (10 s): a computation of milliseconds prints no progress
    String[] quiet = run(null, "monitor", "regions", "--model", f.toString(), "--json");
    assertFalse(quiet[1].contains("regions: layer"), quiet[1]);
    String[] forced = run("0", "monitor", "regions", "--model", f.toString(), "--json");
    var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(forced[0]); // stdout: the JSON alone
    int regions = json.get("regions").asInt();
    // one line per hidden neuron at interval 0: the last one is the 30th neuron with the partition's count
    assertEquals(30, forced[1].lines().filter(l -> l.startsWith("regions: layer 1/1, neuron ")).count(), forced[1]);
    assertTrue(forced[1].lines().anyMatch(l -> l.matches("regions: layer 1/1, neuron 30/30, " + regions
        + " regions so far, [0-9]+ s")), forced[1]);
    assertFalse(forced[0].contains("regions so far"), forced[0]);
    // --tiled through the same line
    String[] tiled = run("0", "monitor", "regions", "--model", f.toString(), "--tiled", "--max-regions", "40");
    // a line as soon as the whole plane is split, before any tile is counted (a wide network's tiles overflowed for
    // minutes without a line), and, once some of the plane is done, the time left at that rate
    List<String> lines = tiled[1].lines().filter(l -> l.startsWith("tiled:")).toList();
    assertTrue(!lines.isEmpty() && lines.get(0).matches("tiled: +0\\.0 % of the plane, 0 tiles, 1 split, [0-9]+ s"),
        tiled[1]);
    assertTrue(lines.stream().anyMatch(l -> l.matches("tiled: +[0-9.]+ % of the plane, [0-9]+ tiles, [0-9]+ split,"
        + " [0-9]+ s, about [0-9.]+ (s|min|h|days) left at this rate")), tiled[1]);
    assertTrue(tiled[0].contains("\nregions: " + regions + "\n") && !tiled[0].contains("tiled:"), tiled[0]);
  }

  /**
   * The {@code --tiled} line on a terminal is wiped whatever the count ends with: an exception other than the two it
   * turns into an error line (here the engine's refusal of a plane in another dimension) left the line on the
   * terminal, with the error printed after it.
   */
  @Test
  void theTiledLineIsWipedWhenTheCountThrows() throws Exception {
    Path f = RegionsCliTest.oneLayer(tmp.resolve("lines.npz"), 30, 5);
    var model = org.splinewatch.regions.NpzModel.read(f);
    var plane = org.splinewatch.regions.Plane.explicit(new double[3], new double[] {1, 0, 0}, new double[] {0, 1, 0});
    MonitorCommand.Regions regions = new MonitorCommand.Regions();
    regions.model = f;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ProgressLine bar = new ProgressLine(new PrintStream(buf, true, StandardCharsets.UTF_8), true, S / 4, 0);
    bar.show("tiled:  10.0 % of the plane, 3 tiles, 1 s", S);
    assertThrows(IllegalArgumentException.class, () -> regions.tiledCount(new MonitorCommand.Regions.Network(
        model.net(), plane, model.widths(), null), bar));
    assertEquals("\rtiled:  10.0 % of the plane, 3 tiles, 1 s\r" + " ".repeat(41) + "\r",
        buf.toString(StandardCharsets.UTF_8));
  }

  /** Runs {@code Main} in this JVM with the interval property {@code seconds} (null: unset): {stdout, stderr}. */
  private static String[] run(String seconds, String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    String before = System.getProperty(ProgressLine.INTERVAL_PROPERTY);
    int code;
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      if (seconds == null) {
        System.clearProperty(ProgressLine.INTERVAL_PROPERTY);
      } else {
        System.setProperty(ProgressLine.INTERVAL_PROPERTY, seconds);
      }
      code = Main.execute(args);
    } finally {
      System.setOut(out);
      System.setErr(err);
      if (before == null) {
        System.clearProperty(ProgressLine.INTERVAL_PROPERTY);
      } else {
        System.setProperty(ProgressLine.INTERVAL_PROPERTY, before);
      }
    }
    String[] r = {o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    assertEquals(0, code, r[0] + r[1]);
    return r;
  }
}
