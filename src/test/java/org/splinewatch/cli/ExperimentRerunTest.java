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

/**
 * {@code ./monitor experiment} on an experiment directory whose runs already finished (made by hand here, so nothing
 * trains): a rerun with other options, repeated values, an unwritable {@code --out} and damaged metrics.
 */
class ExperimentRerunTest {
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
        + " another --out", steps.strip());
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
    assertTrue(steps.strip().lines().count() == 1, steps);

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
          + " once", m.strip());
    }
    assertFalse(Files.exists(out.resolve("experiment.json")) || Files.exists(out.resolve("results.json")),
        "nothing written");
    Path file = Files.writeString(tmp.resolve("afile"), "keep");
    String unwritable = run(2, file.resolve("exp"));
    assertTrue(unwritable.startsWith("error: --out " + file.resolve("exp") + ": cannot write the experiment"
        + " directory (") && unwritable.contains("expected a directory this user can write")
        && unwritable.strip().lines().count() == 1, unwritable);
    assertEquals("keep", Files.readString(file));
  }

  @Test
  void finishedRunsWithDamagedMetricsAreNamedAndLeftOutAndWithoutUsableDataNothingIsWritten() throws Exception {
    Path out = experiment();
    Path damaged = out.resolve("runs").resolve(RUNS.get(0));
    Files.writeString(damaged.resolve("metrics.jsonl"), "{\"name\":\"splinewatch_training_lo\ngarbage\n",
        java.nio.file.StandardOpenOption.APPEND);
    String one = run(1, out);
    assertTrue(one.contains("warning: " + RUNS.get(0) + " finished but is incomplete, left out of the findings:"
        + " metrics.jsonl line 5 is malformed; metrics.jsonl line 6 is malformed (delete " + damaged + " and rerun to"
        + " train it again)"), one);
    assertTrue(one.contains("experiment: 1 of 2 runs analysed"), one);
    JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
    assertEquals(1, results.path("runs").asInt());
    assertEquals(RUNS.get(0), results.path("provenance").path("incomplete runs").path(0).asText());
    assertTrue(Files.exists(damaged.resolve("metrics.jsonl")), "the damaged run is kept for the user to look at");

    // no usable run left (one without its metrics file): one line, exit 1, the earlier results kept
    byte[] before = Files.readAllBytes(out.resolve("results.json"));
    Files.delete(out.resolve("runs").resolve(RUNS.get(1)).resolve("metrics.jsonl"));
    String none = run(1, out);
    assertTrue(none.contains("warning: " + RUNS.get(1) + " finished but is incomplete, left out of the findings: "),
        none);
    assertTrue(none.strip().endsWith("error: none of the 2 runs has usable data (0 failed, 2 incomplete, 0 not"
        + " finished); no findings written"), none);
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(out.resolve("results.json"))));
  }
}
