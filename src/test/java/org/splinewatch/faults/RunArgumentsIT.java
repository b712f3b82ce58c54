package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * Hostile and out-of-range command lines (issue 21, items 4 and 9): run ids that would leave {@code --out}, a reused
 * run directory (here, or on the monitor of {@code --monitor}), and settings outside their range are refused with exit
 * code 2 and one line naming the problem, before anything is written.
 */
class RunArgumentsIT {
  @TempDir
  Path tmp;

  private static String firstLine(String text) {
    return text.lines().filter(l -> !l.isBlank()).findFirst().orElse("");
  }

  @Test
  void runIdsThatLeaveTheOutputDirectoryAreRefused() throws Exception {
    Path out = tmp.resolve("parent").resolve("runs");
    Files.createDirectories(out);
    for (String id : new String[] {"..", ".", ".hidden", "a/b", "../escape", "-dash", "a\\b"}) {
      String m = TestTools.cli(2, "train", "--run-id", id, "--out", out.toString(), "--metrics-port", "0",
          "--data-dir", tmp.toString());
      assertTrue(m.contains("run id '" + id + "' is not valid; expected 1 to 128 letters, digits"), m);
    }
    String empty = TestTools.cli(2, "train", "--run-id", "", "--out", out.toString());
    assertTrue(empty.contains("run id is empty"), empty);
    // nothing was written anywhere: not under --out, not in its parent
    try (var s = Files.list(out)) {
      assertEquals(0, s.count());
    }
    try (var s = Files.list(out.getParent())) {
      assertEquals(List.of(out), s.toList());
    }
  }

  @Test
  void outOfRangeSettingsExitTwoWithOneLine() {
    String[][] cases = {
        {"--planes -3", "--planes -3: expected 1-64"},
        {"--planes 0", "--planes 0: expected 1-64"},
        {"--planes 100000", "--planes 100000: expected 1-64"},
        {"--learning-rate NaN", "--learning-rate NaN: expected a finite number > 0"},
        {"--learning-rate -0.1", "--learning-rate -0.1: expected a finite number > 0"},
        {"--temperature Infinity", "--temperature Infinity: expected a finite number > 0"},
        {"--hidden 0", "--hidden [0]: expected one or more widths of at least 1"},
        {"--hidden 64,-1", "--hidden [64, -1]: expected one or more widths of at least 1"},
        {"--snapshot-every 0", "--snapshot-every 0: expected at least 1"},
        {"--train-subset 10", "--train-subset 10: expected 0 (all) or at least the batch size 256"},
        {"--max-steps -5", "--max-steps -5: expected 0 (use --epochs) or more"},
        {"--ema-tau 1.5", "--ema-tau 1.5: expected a number in [0, 1]"},
        {"--vicreg-std-coeff -1", "--vicreg-std-coeff -1.0: expected a finite number >= 0"},
        {"--metrics-port 70000", "--metrics-port 70000 is not a port; expected 0 (off) or 1-65535"},
        {"--alert std-fire=-1", "splinewatch.alerts.std-fire -1.0: expected a number in [0, 1]"},
        {"--alert std-fire=0.5", "splinewatch.alerts.std-fire 0.5: expected at most splinewatch.alerts.std-clear"
            + " (0.3;"},
        {"--alert dead-rows-clear=0.2", "splinewatch.alerts.dead-rows-clear 0.2: expected at most"
            + " splinewatch.alerts.dead-rows-fire (0.1;"},
        {"--alert knn-chance-fire=3", "splinewatch.alerts.knn-chance-fire 3.0: expected at most"
            + " splinewatch.alerts.knn-chance-clear (2.0;"},
        {"--alert region-drop-clear=1.5", "splinewatch.alerts.region-drop-clear 1.5: expected a number in [0, 1]"},
    };
    for (String[] c : cases) {
      List<String> args = new java.util.ArrayList<>(List.of("train", "--out", tmp.resolve("runs").toString()));
      args.addAll(List.of(c[0].split(" ")));
      String m = TestTools.cli(2, args.toArray(String[]::new));
      assertTrue(firstLine(m).contains(c[1]), c[0] + " printed: " + m);
    }
    assertFalse(Files.exists(tmp.resolve("runs")), "a refused command line wrote the run directory");
  }

  @Test
  void anExistingRunIsRefusedUnlessResumedOrOverwritten() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 640, 200, 3);
    String[] tiny = {"train", "--method", "supervised", "--data-dir", tmp.resolve("idx").toString(), "--batch-size",
        "32", "--hidden", "16", "--probe-size", "50", "--snapshot-every", "20", "--metrics-port", "0",
        "--no-monitoring", "--out", tmp.resolve("runs").toString(), "--run-id", "again"};
    Path dir = tmp.resolve("runs").resolve("again");
    TestTools.cli(0, concat(tiny, "--max-steps", "20"));
    String before = Files.readString(dir.resolve("metrics.jsonl"));
    String refused = TestTools.cli(2, concat(tiny, "--max-steps", "20"));
    assertTrue(firstLine(refused).contains("run directory " + dir + " already holds a run; give another --run-id,"
        + " --resume " + dir.resolve("checkpoints").resolve("latest") + " to continue it, or --overwrite to replace"
        + " it"), refused);
    assertEquals(before, Files.readString(dir.resolve("metrics.jsonl")), "the refused run touched the old files");

    String clash = TestTools.cli(2, concat(tiny, "--max-steps", "40", "--overwrite", "--resume",
        dir.resolve("checkpoints/latest").toString()));
    assertTrue(clash.contains("--overwrite would delete the checkpoint"), clash);

    TestTools.cli(0, concat(tiny, "--max-steps", "40", "--resume", dir.resolve("checkpoints/latest").toString()));
    assertTrue(Files.readString(dir.resolve("metrics.jsonl")).startsWith(before), "resume keeps the earlier lines");

    TestTools.cli(0, concat(tiny, "--max-steps", "10", "--overwrite"));
    List<String> events = Files.readAllLines(dir.resolve("events.jsonl"));
    assertEquals(1, events.stream().filter(l -> l.contains("\"run_finished\"")).count(), String.join("\n", events));
    assertTrue(events.get(events.size() - 1).contains("\"steps\":10"), events.toString());
    assertFalse(Files.readString(dir.resolve("metrics.jsonl")).contains("\"step\":20,"), "old samples survived");
  }

  /**
   * A run id taken on the monitor of {@code ./trainer --monitor} is refused as one taken here: exit code 2 and one
   * line naming the id and what to do (it was exit code 1, as if the run had failed).
   */
  @Test
  void aRunIdTakenOnTheMonitorIsExitTwoAsOneTakenHere() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 640, 200, 3);
    Path monitorRuns = tmp.resolve("monitor-runs");
    Path earlier = Files.createDirectories(monitorRuns.resolve("taken"));
    Files.writeString(earlier.resolve("events.jsonl"), "{\"type\":\"run_finished\"}\n");
    com.typesafe.config.Config c = org.splinewatch.cli.TrainCommand.load(java.util.Map.of("splinewatch.cluster.port",
        0, "splinewatch.cluster.roles", List.of("metrics"), "splinewatch.cluster.seed", ""), null);
    try (org.splinewatch.serve.MonitorServer monitor = org.splinewatch.serve.MonitorServer.start(c,
        org.splinewatch.cluster.ClusterSettings.fromConfig(c), "127.0.0.1", 0, monitorRuns,
        new java.io.PrintStream(new java.io.ByteArrayOutputStream()))) {
      String seed = org.splinewatch.cluster.ClusterNode.address(monitor.system());
      String refused = TestTools.cli(2, "train", "--monitor", seed, "--method", "supervised", "--data-dir",
          tmp.resolve("idx").toString(), "--batch-size", "32", "--hidden", "16", "--probe-size", "50",
          "--max-steps", "20", "--analyzers", "embedding", "--out", tmp.resolve("runs").toString(), "--run-id",
          "taken");
      List<String> errors = refused.lines().filter(l -> l.startsWith("error: ")).toList();
      assertEquals(List.of("error: the monitor's run directory " + earlier + " already holds run 'taken'; choose"
          + " another --run-id, or --resume a checkpoint of that run"), errors, refused);
      assertTrue(refused.contains("(./trainer --help lists the options)"), refused);
    }
    assertEquals("{\"type\":\"run_finished\"}\n", Files.readString(earlier.resolve("events.jsonl")),
        "the refused run touched the earlier one");
    try (var files = Files.list(earlier)) {
      assertEquals(List.of(earlier.resolve("events.jsonl")), files.toList(), "the refused run wrote on the monitor");
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
