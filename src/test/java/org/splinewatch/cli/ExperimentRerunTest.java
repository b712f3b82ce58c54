package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.data.SyntheticData;

/**
 * {@code ./monitor experiment} on an experiment directory whose runs already finished (made by hand here, so little
 * trains): a rerun with other options, repeated values, an unwritable {@code --out}, and runs damaged or unfinished,
 * which are moved aside and trained again (one tiny run on synthetic data).
 */
class ExperimentRerunTest {
  /** The line that ends every bad argument's error, as in the other subcommands (it had none here). */
  private static final String HELP = System.lineSeparator() + "(./monitor experiment --help lists the options)";

  @TempDir
  Path tmp;

  /** The runs of {@code --seeds 1 --datasets mnist --methods supervised}. */
  private static final List<String> RUNS = List.of("supervised-mnist-s1", "long-supervised-mnist-s1");

  private static String run(int expected, Path out, String... options) {
    List<String> args = new ArrayList<>(List.of("monitor", "experiment", "seeds", "--seeds", "1", "--datasets",
        "mnist", "--methods", "supervised", "--out", out.toString()));
    args.addAll(List.of(options));
    return org.splinewatch.TestTools.cli(expected, args.toArray(String[]::new));
  }

  /** A finished run with a training loss at four steps. */
  private static Path finishedRun(Path out, String id) throws Exception {
    Path dir = Files.createDirectories(out.resolve("runs").resolve(id));
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"" + id + "\",\"method\":\"supervised\"}");
    StringBuilder m = new StringBuilder();
    for (int step = 0; step <= 300; step += 100) {
      m.append("{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"").append(id).append("\"},\"step\":")
          .append(step).append(",\"value\":").append(2 - step / 200.0).append(",\"time\":1}\n");
    }
    Files.writeString(dir.resolve("metrics.jsonl"), m);
    Files.writeString(dir.resolve("events.jsonl"), "{\"type\":\"run_started\",\"step\":0}\n"
        + "{\"type\":\"run_finished\",\"status\":\"done\",\"steps\":300}\n");
    return dir;
  }

  private Path experiment() throws Exception {
    Path out = tmp.resolve("exp");
    for (String id : RUNS) {
      finishedRun(out, id);
    }
    return out;
  }

  @Test
  void aRerunWithOtherOptionsIsRefusedNamingThemAndTheResultsNameTheWholeCommand() throws Exception {
    Path out = experiment();
    String first = run(0, out);
    assertTrue(first.contains("finished before, skipped") && !first.contains(": training ("), first);
    String command = "./monitor experiment seeds --seeds 1 --datasets mnist --methods supervised --out " + out;
    JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
    assertEquals(command, results.path("provenance").path("command").asText());
    assertTrue(Files.readString(out.resolve("results.md")).contains("- command: " + command + "\n"));
    assertEquals(command, new ObjectMapper().readTree(out.resolve("experiment.json").toFile()).path("command")
        .asText());
    byte[] md = Files.readAllBytes(out.resolve("results.md"));

    String steps = run(2, out, "--steps", "50");
    assertEquals("error: --out " + out + " holds an experiment made with other options (--steps 1500 there, 50 now);"
        + " expected the same options to resume it (" + out.resolve("experiment.json") + " names its command), or"
        + " another --out" + HELP, steps.strip());
    String quick = run(2, out, "--quick");
    assertTrue(quick.contains("(--quick now, not there; --steps 1500 there, 300 now; --long-steps 12000 there,"
        + " 2000 now)"), quick);
    Files.createDirectories(tmp.resolve("idx"));
    String data = run(2, out, "--data-dir", tmp.resolve("idx").toString());
    assertTrue(data.contains("(--data-dir not given there, " + tmp.resolve("idx") + " now)"), data);
    String seeds = org.splinewatch.TestTools.cli(2, "monitor", "experiment", "seeds", "--seeds", "1,2",
        "--datasets", "mnist", "--methods", "supervised", "--out", out.toString());
    assertTrue(seeds.contains("(--seeds 1 there, 1,2 now)"), seeds);
    assertTrue(java.util.Arrays.equals(md, Files.readAllBytes(out.resolve("results.md"))), "results kept");
    assertTrue(steps.strip().lines().count() == 2, steps);

    run(0, out); // the same options: resumed
    Files.writeString(out.resolve("experiment.json"), "{\"options\": [");
    String damaged = run(2, out);
    assertTrue(damaged.startsWith("error: " + out.resolve("experiment.json") + " cannot be read (not valid JSON"),
        damaged);
  }

  @Test
  void repeatedValuesAndAnOutThatCannotBeWrittenAreBadArgumentsBeforeAnythingIsWritten() throws Exception {
    Path out = experiment(); // every run of the plan finished: without the check the command would go on
    String[][] cases = {{"--seeds", "1,1", "seed"}, {"--datasets", "mnist,mnist", "data set"},
        {"--methods", "supervised,supervised", "method"}};
    for (String[] c : cases) {
      String m = run(2, out, c[0], c[1]);
      assertEquals("error: " + c[0] + " names " + c[1].split(",")[0] + " more than once; expected each " + c[2]
          + " once" + HELP, m.strip());
    }
    assertFalse(Files.exists(out.resolve("experiment.json")) || Files.exists(out.resolve("results.json")),
        "nothing written");
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String unwritable = run(2, file.resolve("exp"));
    assertTrue(unwritable.startsWith("error: --out " + file.resolve("exp") + ": cannot write the experiment"
        + " directory (") && unwritable.contains("expected a directory this user can write")
        && unwritable.strip().endsWith(HELP) && unwritable.strip().lines().count() == 2, unwritable);
    assertEquals("keep", Files.readString(file));
  }

  /** Metrics cut at a line boundary: three regions analyses recorded in run_finished, two of them in the file. */
  private static void cutShort(Path runDir) throws Exception {
    Files.writeString(runDir.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_analysis_seconds\",\"labels\":"
        + "{\"analyzer\":\"regions\"},\"step\":0,\"value\":0.5,\"time\":1}\n{\"name\":\"splinewatch_analysis_seconds\","
        + "\"labels\":{\"analyzer\":\"regions\"},\"step\":100,\"value\":0.5,\"time\":2}\n",
        java.nio.file.StandardOpenOption.APPEND);
    Files.writeString(runDir.resolve("events.jsonl"), "{\"type\":\"run_started\",\"step\":0}\n{\"type\":"
        + "\"run_finished\",\"status\":\"done\",\"steps\":300,\"analysed_snapshots\":{\"regions\":{\"analysed\":3,"
        + "\"offered\":3}}}\n");
  }

  /**
   * A finished run whose metrics were cut short is trained again on a rerun (it was left out with exit 1 on every
   * rerun, 'delete it and rerun'), its directory moved aside, not deleted; a whole run is kept as it is.
   */
  @Test
  void anIncompleteRunIsMovedAsideAndTrainedAgainAndAWholeOneIsKept() throws Exception {
    Path data = tmp.resolve("idx");
    SyntheticData.writeDir(data, 640, 512, 5); // the quick plan's 512 probes
    Path out = experiment();
    Path cut = out.resolve("runs").resolve(RUNS.get(0));
    cutShort(cut);
    byte[] cutMetrics = Files.readAllBytes(cut.resolve("metrics.jsonl"));
    Path whole = out.resolve("runs").resolve(RUNS.get(1));
    byte[] wholeMetrics = Files.readAllBytes(whole.resolve("metrics.jsonl"));
    String[] tiny = {"--quick", "--data-dir", data.toString(), "--steps", "20", "--long-steps", "30"};
    String first = run(0, out, tiny);
    Path aside = out.resolve("runs").resolve(RUNS.get(0) + ".incomplete-1");
    assertTrue(first.contains("[1/2] " + RUNS.get(0) + ": finished but incomplete (the metrics end early: they hold"
        + " fewer analyses than run_finished records (regions 2 of 3), as if cut short (an interrupted copy or write));"
        + " moved to " + aside + ", training it again\n[1/2] " + RUNS.get(0) + ": training ("), first);
    assertTrue(first.contains("[2/2] " + RUNS.get(1) + ": finished before, skipped"), first);
    assertTrue(first.contains("experiment: 2 of 2 runs analysed") && !first.contains("warning:"), first);
    assertTrue(java.util.Arrays.equals(cutMetrics, Files.readAllBytes(aside.resolve("metrics.jsonl"))),
        "the old run is kept beside the new one");
    assertTrue(ExperimentCommand.finished(cut) && !Files.readString(cut.resolve("metrics.jsonl")).contains(
        "\"step\":300"), "trained again: " + cut);
    assertTrue(java.util.Arrays.equals(wholeMetrics, Files.readAllBytes(whole.resolve("metrics.jsonl"))));

    String second = run(0, out, tiny); // everything whole now: nothing trained, nothing moved
    assertEquals(2, second.split("finished before, skipped", -1).length - 1, second);
    assertFalse(second.contains(": training (") || Files.exists(aside.resolveSibling(RUNS.get(0) + ".incomplete-2")),
        second);
  }

  /**
   * Damaged and unfinished runs are moved aside (the unfinished one was deleted by --overwrite) with a line saying
   * why; when training them again fails and no run has usable data, nothing is written and the results stay.
   */
  @Test
  void damagedAndUnfinishedRunsAreMovedAsideAndWithoutUsableDataNothingIsWritten() throws Exception {
    Path small = tmp.resolve("small");
    SyntheticData.writeDir(small, 640, 100, 5); // fewer test images than the quick plan's 512 probes: refused
    Path out = experiment();
    String[] options = {"--quick", "--data-dir", small.toString()};
    run(0, out, options); // every run finished whole: the results are written, nothing trained
    byte[] before = Files.readAllBytes(out.resolve("results.json"));
    Path damaged = out.resolve("runs").resolve(RUNS.get(0));
    Files.writeString(damaged.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_lo\ngarbage\n",
        java.nio.file.StandardOpenOption.APPEND);
    Path interrupted = out.resolve("runs").resolve(RUNS.get(1));
    Files.writeString(interrupted.resolve("events.jsonl"), "{\"type\":\"run_started\",\"step\":0}\n"
        + "{\"type\":\"run_finished\",\"status\":\"interrupted\",\"steps\":52}\n");
    String none = run(1, out, options);
    Path runs = out.resolve("runs");
    assertTrue(none.contains("[1/2] " + RUNS.get(0) + ": finished but incomplete (metrics.jsonl line 5 is malformed;"
        + " metrics.jsonl line 6 is malformed); moved to " + runs.resolve(RUNS.get(0) + ".incomplete-1")
        + ", training it again"), none);
    assertTrue(none.contains("[2/2] " + RUNS.get(1) + ": interrupted at step 52; moved to "
        + runs.resolve(RUNS.get(1) + ".incomplete-1") + ", training it again"), none);
    assertEquals(2, none.split(": FAILED \\(exit code 2\\)", -1).length - 1, none);
    assertTrue(none.strip().endsWith("error: none of the 2 runs has usable data (2 failed, 0 incomplete, 0 not"
        + " finished); no findings written"), none);
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(out.resolve("results.json"))), "results kept");
    assertTrue(Files.readString(runs.resolve(RUNS.get(0) + ".incomplete-1").resolve("metrics.jsonl"))
        .contains("garbage") && Files.readString(runs.resolve(RUNS.get(1) + ".incomplete-1").resolve("events.jsonl"))
        .contains("\"interrupted\""), "both kept beside");
  }
}
