package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.CpuByRole;

/** The after-warm-up rate of bench-overhead, read from a run's metrics.jsonl. */
class BenchOverheadTest {
  private static String step(long step, long time) {
    return "{\"name\":\"splinewatch_training_step\",\"labels\":{\"run\":\"r\"},\"step\":" + step + ",\"value\":"
        + step + ".0,\"time\":" + time + "}";
  }

  @Test
  void rateAfterTheWarmUpUsesTheTrainingStepSamples(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("metrics.jsonl");
    // 100 steps in 10 s while the JIT warms up, then 200 steps in 5 s; other samples are ignored
    Files.write(log, List.of(step(0, 1_000), step(100, 11_000),
        "{\"name\":\"splinewatch_training_loss\",\"labels\":{},\"step\":200,\"value\":1.0,\"time\":99999}",
        step(200, 13_500), step(300, 16_000)));
    assertEquals(40.0, BenchOverheadCommand.rateAfter(log, 100), 1e-9);
    assertEquals(40.0, BenchOverheadCommand.rateAfter(log, 50), 1e-9, "from the first sample at or after 50");
    assertEquals(20.0, BenchOverheadCommand.rateAfter(log, 0), 1e-9);
    var e = assertThrows(IllegalStateException.class, () -> BenchOverheadCommand.rateAfter(log, 300));
    assertTrue(e.getMessage().contains("no training-step samples after step 300"), e.getMessage());
  }

  private static String trainingCpu(long step, double seconds) {
    return "{\"name\":\"splinewatch_training_thread_cpu_seconds_total\",\"labels\":{\"run\":\"r\"},\"step\":" + step
        + ",\"value\":" + seconds + ",\"time\":" + (1000 + step) + "}";
  }

  @Test
  void theTrainingThreadsCpuPerStepAfterTheWarmUpComesFromItsRunningTotal(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("metrics.jsonl");
    // 3 s for the first 100 steps (compiling), then 25 ms a step; the wall-time samples do not count
    Files.write(log, List.of(trainingCpu(10, 0.5), step(100, 11_000), trainingCpu(100, 3.0), trainingCpu(200, 5.5),
        trainingCpu(300, 8.0)));
    assertEquals(25.0, BenchOverheadCommand.trainingCpuPerStepAfter(log, 100), 1e-9);
    assertEquals(25.0, BenchOverheadCommand.trainingCpuPerStepAfter(log, 11), 1e-9, "from the first at or after 11");
    assertEquals(7.5 / 290 * 1000, BenchOverheadCommand.trainingCpuPerStepAfter(log, 0), 1e-9);
    assertTrue(Double.isNaN(BenchOverheadCommand.trainingCpuPerStepAfter(log, 300)), "one sample is no rate");
    Files.write(log, List.of(step(100, 11_000), step(200, 13_500)));
    assertTrue(Double.isNaN(BenchOverheadCommand.trainingCpuPerStepAfter(log, 0)), "a JVM without thread CPU");
  }

  @Test
  void aStepSplitsIntoTheTrainingThreadsCpuAndTheRest() {
    CpuByRole none = CpuByRole.fromEvent(java.util.Map.of());
    // off: 40 steps/s (25 ms a step), 24 ms of them the training thread's CPU; on: 32 steps/s (31.25 ms), 26 ms CPU
    List<BenchOverheadCommand.Rate> off = List.of(new BenchOverheadCommand.Rate(38, 40, 24, 0, "", 1, none),
        new BenchOverheadCommand.Rate(38, 39, 23, 0, "", 1, none), new BenchOverheadCommand.Rate(38, 41, 25, 0, "",
        1, none));
    List<BenchOverheadCommand.Rate> on = List.of(new BenchOverheadCommand.Rate(30, 32, 26, 0, "", 1, none));
    assertEquals("a step after step 300, medians off -> on: wall 25.00 -> 31.25 ms, the training thread's CPU 24.00"
        + " -> 26.00 ms, the rest of the step 1.00 -> 5.25 ms", BenchOverheadCommand.stepSplit(300, off, on));
  }

  @Test
  void peakResidentMemoryOfABlockComesFromItsRunFinishedEvent(@TempDir Path dir) throws Exception {
    Path events = dir.resolve("events.jsonl");
    Files.write(events, List.of("{\"type\":\"alert_firing\",\"rule\":\"x\"}",
        "{\"type\":\"run_finished\",\"steps\":10,\"heap_peak_bytes\":5,"
            + "\"resident_peak_bytes\":1234567890}"));
    assertEquals(1234567890L, BenchOverheadCommand.peakResident(events));
    Files.write(events, List.of("{\"type\":\"run_finished\",\"steps\":10}"));
    var e = assertThrows(IllegalStateException.class, () -> BenchOverheadCommand.peakResident(events));
    assertTrue(e.getMessage().endsWith("no run_finished event with resident_peak_bytes"), e.getMessage());
    assertEquals("1177 MiB", BenchOverheadCommand.mib(1234567890L));
  }

  @Test
  void coverageOfAMonitoredBlockIsItsLeastCoveredAnalyzer(@TempDir Path dir) throws Exception {
    Path events = dir.resolve("events.jsonl");
    Files.write(events, List.of("{\"type\":\"run_finished\",\"analysed_snapshots\":{\"embedding\":{\"analysed\":9,"
        + "\"offered\":9},\"regions\":{\"analysed\":6,\"offered\":8}}}"));
    var finished = BenchOverheadCommand.runFinished(events);
    assertEquals("embedding 9/9, regions 6/8", BenchOverheadCommand.coverage(finished));
    assertEquals(0.75, BenchOverheadCommand.leastCovered(finished), 1e-12);
    Files.write(events, List.of("{\"type\":\"run_finished\",\"steps\":10}"));
    assertEquals(1.0, BenchOverheadCommand.leastCovered(BenchOverheadCommand.runFinished(events)), 1e-12,
        "an unmonitored block offers nothing");
    Files.write(events, List.of("{\"type\":\"alert_firing\"}"));
    assertThrows(IllegalStateException.class, () -> BenchOverheadCommand.runFinished(events));
  }

  @Test
  void theCpuOfABlockComesFromItsRunFinishedEvent(@TempDir Path dir) throws Exception {
    Path events = dir.resolve("events.jsonl");
    Files.write(events, List.of("{\"type\":\"run_finished\",\"cpu_seconds\":{\"training\":41.5,\"jit\":22.7,"
        + "\"analysis\":0.0}}"));
    var cpu = BenchOverheadCommand.cpu(BenchOverheadCommand.runFinished(events));
    assertEquals(41.5, cpu.get("training"), 1e-12);
    assertEquals(22.7, cpu.get("jit"), 1e-12);
    assertEquals(0.0, cpu.get("gc"), 1e-12, "a role the event lacks is 0");
    Files.write(events, List.of("{\"type\":\"run_finished\",\"steps\":10}"));
    assertEquals(0.0, BenchOverheadCommand.cpu(BenchOverheadCommand.runFinished(events)).get("training"), 1e-12,
        "an event of an older build has no CPU");
  }

  @Test
  void optionsOutOfRangeAreOneLineNamingValueAndRangeBeforeAnythingIsChecked(@TempDir Path dir) {
    // --steps 3000000000 was handed to every block's trainer: days of training. The missing --data-dir is refused
    // only after the ranges
    String none = dir.resolve("none").toString();
    String[][] cases = {
        {"--steps", "3000000000", "--steps 3000000000 is out of range; expected 1 to 1000000 (steps per block; each"
            + " of the 2 x (--rounds + 1) blocks is a trainer run that long)"},
        {"--rounds", "2147483647", "--rounds 2147483647 is out of range; expected 1 to 100 (measured off/on pairs,"
            + " each two trainer runs)"},
        {"--snapshot-every", "601", "--snapshot-every 601 is out of range; expected 1 to 600 (--steps at most: a"
            + " longer interval takes no snapshot before a block's last step)"},
        // in the words of the other ranges (was: --warmup-steps must be at least 0 and below ...), and before --data-dir
        {"--warmup-steps", "600", "--warmup-steps 600 is out of range; expected 0 to 599 (steps each block's"
            + " steady rate leaves out, below --steps: at least one step is measured)"},
        {"--warmup-steps", "-1", "--warmup-steps -1 is out of range; expected 0 to 599 (steps each block's"
            + " steady rate leaves out, below --steps: at least one step is measured)"}};
    for (String[] c : cases) {
      String m = org.splinewatch.TestTools.cli(2, "monitor", "bench-overhead", c[0], c[1], "--data-dir", none);
      assertEquals("error: " + c[2], m.lines().findFirst().orElseThrow(), m);
      assertEquals(2, m.strip().lines().count(), "the error and the --help hint: " + m);
    }
  }
}
