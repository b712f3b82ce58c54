package org.splinewatch.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;

/**
 * SIGTERM to {@code ./monitor experiment} while one of its runs trains: the run ends as interrupted and so does the
 * experiment (exit 143, no further run started, no results written from a partial plan).
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ExperimentSignalIT {
  @TempDir
  Path tmp;

  @Test
  void sigtermStopsTheExperimentNotJustItsCurrentRun() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 512, 5);
    Path out = tmp.resolve("exp");
    List<String> cmd = TestTools.mainCommand("-Xmx768m", "monitor", "experiment", "seeds",
        "--quick", "--seeds", "1", "--datasets", "mnist", "--methods", "supervised,simclr", "--data-dir",
        // far more steps than it trains before the SIGTERM; not 10,000,000: the experiment keeps every snapshot for
        // the analyzers, and the trainer refuses a run whose 400,002 could outgrow the heap
        data.toString(), "--steps", "10000", "--long-steps", "60", "--out", out.toString());
    Path log = tmp.resolve("experiment.log");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process p = pb.start();
    Path metrics = out.resolve("runs").resolve("supervised-mnist-s1").resolve("metrics.jsonl");
    try {
      for (int i = 0; i < 1800 && !(Files.exists(metrics) && Files.readString(metrics)
          .contains("splinewatch_training_step")); i++) {
        assertTrue(p.isAlive(), "the experiment exited early: " + Files.readString(log));
        Thread.sleep(100);
      }
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(40, TimeUnit.SECONDS), "still running 40 s after SIGTERM: " + Files.readString(log));
      String text = Files.readString(log);
      assertEquals(143, p.exitValue(), text);
      assertTrue(text.contains("[1/3] supervised-mnist-s1: interrupted (exit code 143); the experiment stops here"),
          text);
      assertFalse(text.contains("[2/3]"), "the next run was started after SIGTERM: " + text);
      // the run's own last line gives the advice that works here: a rerun starts it over, --resume is not used
      assertTrue(text.contains("(SIGTERM); rerun the same ./monitor experiment command: finished runs are kept, this"
          + " one starts over"), text);
      assertFalse(text.contains("resume with --resume"), text);
      assertFalse(Files.exists(out.resolve("results.json")), "results written from a partial plan");
    } finally {
      p.destroyForcibly();
    }
  }
}
