package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.metrics.RunLock;

/**
 * Two runs started together into one {@code --out}: with the same {@code --run-id}, or with default run ids in the
 * same second, both found the run directory free and wrote into it, their metrics and events interleaved.
 */
class ConcurrentRunsTest {
  @TempDir
  static Path tmp;

  @BeforeAll
  static void data() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 320, 100, 3);
  }

  private static List<String> tiny(Path out, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--no-monitoring", "--method", "supervised", "--data-dir",
        tmp.resolve("idx").toString(), "--batch-size", "32", "--hidden", "16", "--probe-size", "50",
        "--metrics-port", "0", "--max-steps", "2", "--out", out.toString()));
    args.addAll(List.of(more));
    return args;
  }

  @Test
  void aRunIdThatARunningRunHoldsIsRefusedAndNothingIsWrittenThere() throws Exception {
    Path out = tmp.resolve("held-out");
    Path held = out.resolve("held");
    // the other run has locked its directory and not written its files yet (it loads its data set)
    try (RunLock other = RunLock.acquire(held)) {
      String m = TestTools.cli(2, tiny(out, "--run-id", "held").toArray(String[]::new));
      assertTrue(m.startsWith("error: run directory " + held + " is in use by a run that is running now (it holds"
          + " .run-lock there); expected a run id of its own for each run (--run-id)"), m);
      try (var files = Files.list(held)) {
        assertEquals(List.of(RunLock.FILE), files.map(p -> p.getFileName().toString()).toList());
      }
    }
  }

  @Test
  void aSecondExperimentInTheSameDirectoryIsRefused() throws Exception {
    Path dir = tmp.resolve("experiment");
    // it took the first one's run in progress for an interrupted one and moved it aside while it was being written
    try (RunLock first = RunLock.acquire(dir, ".experiment-lock", "held")) {
      String m = TestTools.cli(2, "monitor", "experiment", "seeds", "--quick", "--steps", "2", "--data-dir",
          tmp.resolve("idx").toString(), "--datasets", "mnist", "--out", dir.toString());
      assertTrue(m.startsWith("error: --out " + dir + " is in use by another ./monitor experiment that is running now"
          + " (it holds .experiment-lock there); expected one experiment at a time in a directory"), m);
      try (var files = Files.list(dir)) {
        assertEquals(List.of(".experiment-lock"), files.map(p -> p.getFileName().toString()).toList());
      }
    }
  }

  @Test
  void aDefaultRunIdTakenInTheSameSecondGoesToTheNextOne() throws Exception {
    Path out = tmp.resolve("default-out");
    // runs that started in each of the next 60 seconds hold their default run ids' directories
    DateTimeFormatter f = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT);
    LocalDateTime now = LocalDateTime.now();
    List<RunLock> others = new ArrayList<>();
    try {
      for (int s = -1; s < 60; s++) {
        others.add(RunLock.acquire(out.resolve("supervised-mnist-" + now.plusSeconds(s).format(f))));
      }
      String m = TestTools.cli(0, tiny(out).toArray(String[]::new));
      String id = m.lines().filter(l -> l.startsWith("splinewatch run ")).findFirst().orElse("").split("[ :]")[2];
      assertTrue(id.startsWith("supervised-mnist-") && id.endsWith("-2"), m);
      assertTrue(Files.isRegularFile(out.resolve(id).resolve("metrics.jsonl")), m);
      assertFalse(Files.exists(out.resolve(id).resolve(RunLock.FILE)), "the lock goes with the run");
    } finally {
      others.forEach(RunLock::close);
    }
    try (var dirs = Files.list(out)) {
      assertEquals(1, dirs.count(), "the others' directories, empty, went with their locks");
    }
  }
}
