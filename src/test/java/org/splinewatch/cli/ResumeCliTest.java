package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.run.ResumeCheck;
import org.splinewatch.run.RunDirectory;
import org.splinewatch.run.WiringSettings;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.RunSettings;

/**
 * {@code --resume}: the command an interrupted run advises continues it in its own directory, and a checkpoint that
 * does not fit the command line (method, data set, widths, a total not beyond its step) is exit code 2 with one line,
 * before anything is written.
 */
class ResumeCliTest {
  @TempDir
  static Path tmp;
  /** A supervised run of 40 steps (two epochs of 20), its checkpoint at step 40. */
  private static Path first;

  /** A tiny supervised run's command line; {@code more} adds options or replaces the defaults' values. */
  private static String[] tiny(String... more) {
    Map<String, String> options = new java.util.LinkedHashMap<>(Map.of("--method", "supervised", "--data-dir",
        tmp.resolve("idx").toString(), "--batch-size", "32", "--hidden", "16", "--probe-size", "50",
        "--snapshot-every", "20", "--metrics-port", "0"));
    for (int i = 0; i < more.length; i += 2) {
      options.put(more[i], more[i + 1]);
    }
    List<String> args = new ArrayList<>(List.of("train", "--no-monitoring"));
    options.forEach((k, v) -> args.addAll(List.of(k, v)));
    return args.toArray(String[]::new);
  }

  @BeforeAll
  static void trainFirst() throws Exception {
    SyntheticData.writeDir(tmp.resolve("idx"), 640, 200, 3);
    first = tmp.resolve("runs").resolve("first");
    TestTools.cli(0, tiny("--out", tmp.resolve("runs").toString(), "--run-id", "first", "--max-steps", "40"));
    assertEquals(40, Checkpoints.read(first.resolve("checkpoints/latest")).step());
  }

  /** Every file under {@code dir} with a hash of its bytes. */
  private static Map<String, Integer> files(Path dir) throws Exception {
    Map<String, Integer> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(p).toString(), Arrays.hashCode(Files.readAllBytes(p)));
      }
    }
    return m;
  }

  private static String firstLine(String text) {
    return text.lines().filter(l -> !l.isBlank()).findFirst().orElse("");
  }

  @Test
  void aCheckpointThatDoesNotFitIsRefusedBeforeAnythingIsWritten() throws Exception {
    Path latest = first.resolve("checkpoints/latest");
    Map<String, Integer> before = files(tmp.resolve("runs"));
    String[][] cases = {
        {"--method vicreg", "--resume " + latest + " is a supervised checkpoint, this run's --method is vicreg;"
            + " expected --method supervised"},
        {"--dataset fashion-mnist", "--resume " + latest + " is from a run with --dataset mnist, this run has"
            + " --dataset fashion-mnist; expected --dataset mnist"},
        {"--hidden 32", "is from a run with --hidden 16, this run has --hidden 32; expected --hidden 16"},
        {"--max-steps 20", "--max-steps 20 is not beyond the checkpoint's step 40; expected more than 40"},
        {"--max-steps 40", "--max-steps 40 is not beyond the checkpoint's step 40; expected more than 40"},
        // a total from --epochs (known once the data is loaded): 2 epochs of 20 steps end at the checkpoint
        {"--epochs 2", "--epochs 2 (40 steps of 20 each) ends at or before the checkpoint's step 40; expected more"
            + " --epochs or --max-steps beyond 40"},
    };
    for (String[] c : cases) {
      List<String> args = new ArrayList<>(List.of(c[0].split(" ")));
      args.addAll(List.of("--resume", latest.toString()));
      String m = TestTools.cli(2, tiny(args.toArray(String[]::new)));
      assertTrue(firstLine(m).contains(c[1]), c[0] + " printed: " + m);
    }
    // the same into a new run directory: not created
    String m = TestTools.cli(2, tiny("--method", "vicreg", "--out", tmp.resolve("other").toString(), "--run-id",
        "x", "--resume", latest.toString()));
    assertTrue(firstLine(m).contains("is a supervised checkpoint"), m);
    assertFalse(Files.exists(tmp.resolve("other")), "a refused resume created its run directory");
    assertEquals(before, files(tmp.resolve("runs")), "a refused resume touched the run's files");
  }

  @Test
  void theAdvisedResumeContinuesTheRunInItsDirectory() throws Exception {
    // a copy of the first run, as an interrupted ./trainer --out OUT --run-id int1 leaves it
    Path out = tmp.resolve("advised");
    Path int1 = out.resolve("int1");
    Files.createDirectories(out);
    try (Stream<Path> s = Files.walk(first)) {
      for (Path p : s.toList()) {
        Files.copy(p, int1.resolve(first.relativize(p).toString()));
      }
    }
    String metrics = Files.readString(int1.resolve("metrics.jsonl"));
    // exactly what the console advises: --resume OUT/int1/checkpoints/latest, no --out, no --run-id
    String text = TestTools.cli(0, tiny("--max-steps", "60", "--resume",
        int1.resolve("checkpoints").resolve("latest").toString()));
    assertTrue(text.contains("run directory: " + int1), text);
    assertTrue(text.contains("at step 40"), text);
    try (Stream<Path> s = Files.list(out)) {
      assertEquals(List.of(int1), s.toList(), "the resume went to another run directory");
    }
    assertEquals(60, Checkpoints.read(int1.resolve("checkpoints/latest")).step());
    String appended = Files.readString(int1.resolve("metrics.jsonl"));
    assertTrue(appended.startsWith(metrics) && appended.length() > metrics.length(), "metrics.jsonl was not appended");
    assertTrue(appended.contains("\"run\":\"int1\"},\"step\":60,"), "the resumed steps are int1's");
    List<String> finished = Files.readAllLines(int1.resolve("events.jsonl")).stream()
        .filter(l -> l.contains("\"run_finished\"")).toList();
    assertEquals(2, finished.size(), finished.toString());
    assertTrue(finished.get(1).contains("\"steps\":60"), finished.toString());
    // the resume is an event of its own (the report drops the earlier segment's steps after it, if it logged any)
    List<String> events = Files.readAllLines(int1.resolve("events.jsonl"));
    List<String> resumed = events.stream().filter(l -> l.contains("\"run_resumed\"")).toList();
    assertEquals(1, resumed.size(), events.toString());
    assertTrue(resumed.get(0).contains("\"step\":40") && resumed.get(0).contains("\"checkpoint\":\"latest\""),
        resumed.toString());
    assertTrue(events.indexOf(resumed.get(0)) > events.indexOf(finished.get(0))
        && events.indexOf(resumed.get(0)) < events.indexOf(finished.get(1)), events.toString());
  }

  /**
   * {@code --resume <run>/checkpoints/latest} alone, as the console advises after an interrupt, continues the run with
   * the options it was started with (until this release it was refused for a supervised run, "this run's --method is
   * simclr", and a run started with --max-steps was trained to the default --epochs instead); what is given now wins,
   * and a length given as --epochs takes neither length option from the run.
   */
  @Test
  void theAdvisedResumeAloneKeepsTheOptionsTheRunWasStartedWith() throws Exception {
    Path k1 = copyOfFirst("kept", "k1");
    String text = TestTools.cli(0, "train", "--max-steps", "60", "--snapshot-every", "10", "--resume",
        k1.resolve("checkpoints").resolve("latest").toString());
    String kept = text.lines().filter(l -> l.startsWith("resuming with the options the run was started with: "))
        .findFirst().orElseThrow(() -> new AssertionError(text));
    for (String option : List.of("splinewatch.run.method = supervised", "splinewatch.run.batch-size = 32",
        "splinewatch.run.hidden = [16]", "splinewatch.run.monitoring = false", "splinewatch.run.probe-size = 50")) {
      assertTrue(kept.contains(option), option + " not in: " + kept);
    }
    assertFalse(kept.contains("max-steps") || kept.contains("snapshot-every") || kept.contains("run-id")
        || kept.contains("splinewatch.run.out"), kept);
    assertTrue(text.contains("run directory: " + k1) && text.contains("at step 40"), text);
    assertEquals(60, Checkpoints.read(k1.resolve("checkpoints/latest")).step());
    // resumed a second time: the options kept from the start and those given to the first resume go on (until this
    // release config.json recorded only the first resume's command line, so the third segment trained a simclr run
    // with the default widths, or was refused)
    String again = TestTools.cli(0, "train", "--max-steps", "80", "--resume",
        k1.resolve("checkpoints").resolve("latest").toString());
    String keptAgain = again.lines().filter(l -> l.startsWith("resuming with the options the run was started with: "))
        .findFirst().orElseThrow(() -> new AssertionError(again));
    for (String option : List.of("splinewatch.run.method = supervised", "splinewatch.run.hidden = [16]",
        "splinewatch.run.snapshot-every = 10", "splinewatch.run.monitoring = false")) {
      assertTrue(keptAgain.contains(option), option + " not in: " + keptAgain);
    }
    assertEquals(80, Checkpoints.read(k1.resolve("checkpoints/latest")).step());
    assertEquals(10, new com.fasterxml.jackson.databind.ObjectMapper().readTree(k1.resolve("config.json").toFile())
        .path("settings").path("snapshot_every").asInt());
    // config.json has the last segment's interval; each run_resumed records its segment's and the one before it
    List<String> resumes = Files.readAllLines(k1.resolve("events.jsonl")).stream()
        .filter(l -> l.contains("\"run_resumed\"")).toList();
    assertEquals(2, resumes.size(), resumes.toString());
    assertTrue(resumes.get(0).contains("\"snapshot_every\":10")
        && resumes.get(0).contains("\"snapshot_every_before\":20"),
        resumes.get(0));
    assertTrue(resumes.get(1).contains("\"snapshot_every\":10")
        && resumes.get(1).contains("\"snapshot_every_before\":10"),
        resumes.get(1));
    // --epochs now: the run's --max-steps 40 is not kept (it would win and end at the checkpoint)
    Path k2 = copyOfFirst("kept", "k2");
    String epochs = TestTools.cli(0, "train", "--epochs", "3", "--resume",
        k2.resolve("checkpoints").resolve("latest").toString());
    assertFalse(epochs.lines().filter(l -> l.startsWith("resuming with")).findFirst().orElseThrow()
        .contains("max-steps"), epochs);
    assertEquals(60, Checkpoints.read(k2.resolve("checkpoints/latest")).step());
    // the run's own --max-steps, at its checkpoint's step: said to be the run's
    Path k3 = copyOfFirst("kept", "k3");
    String own = TestTools.cli(2, "train", "--resume", k3.resolve("checkpoints").resolve("latest").toString());
    assertTrue(firstLine(own).contains("--max-steps 40 is not beyond the checkpoint's step 40")
        && firstLine(own).contains("--max-steps 40 is the run's own, kept from its start: give a larger one"), own);
  }

  /** A copy of the first run under {@code out}/{@code runId}, as a run that was stopped leaves it. */
  private static Path copyOfFirst(String out, String runId) throws Exception {
    Path copy = tmp.resolve(out).resolve(runId);
    Files.createDirectories(copy.getParent());
    try (Stream<Path> s = Files.walk(first)) {
      for (Path p : s.toList()) {
        Files.copy(p, copy.resolve(first.relativize(p).toString()));
      }
    }
    return copy;
  }

  @Test
  void aCheckpointWithADamagedArrayFileFallsBackToItsPredecessor() throws Exception {
    Path run = copyOfFirst("damaged", "d1");
    Path latest = run.resolve("checkpoints/latest");
    long prevStep = Checkpoints.read(run.resolve("checkpoints/latest.prev")).step();
    Files.write(latest.resolve("model.zip"), new byte[0]);
    String text = TestTools.cli(0, tiny("--max-steps", "60", "--resume", latest.toString()));
    assertTrue(text.contains(latest + " is not usable (" + latest.resolve("model.zip")
        + " (0 bytes) is not a readable model file ("), text);
    assertTrue(text.contains("resuming from its predecessor " + latest.resolveSibling("latest.prev")), text);
    assertTrue(text.contains("at step " + prevStep), text);
    assertEquals(60, Checkpoints.read(latest).step());
  }

  @Test
  void theRunStartsFromTheCheckpointAsTheCommandLineReadIt() throws Exception {
    // what ./trainer --resume does: the checkpoint read and checked once, that reading handed to the run. Damaged after
    // it (a meta.json without its step, a file beside the model that is no array), a second reading of the meta or
    // the array files before the trainer loads model.zip would fall back to latest.prev or refuse the resume
    Path run = copyOfFirst("once", "o1");
    Path latest = run.resolve("checkpoints/latest");
    Map<String, Object> options = new java.util.HashMap<>(Map.of("splinewatch.run.method", "supervised",
        "splinewatch.data.dir", tmp.resolve("idx").toString(), "splinewatch.run.batch-size", 32,
        "splinewatch.run.hidden", List.of(16), "splinewatch.run.probe-size", 50, "splinewatch.run.snapshot-every", 20,
        "splinewatch.metrics.port", 0, "splinewatch.run.monitoring", false, "splinewatch.run.max-steps", 60));
    options.put("splinewatch.run.resume", latest.toString());
    Config config = RunDirectory.resumedInPlace(TrainCommand.load(options, null)).config();
    RunSettings settings = RunSettings.fromConfig(config);
    Optional<Checkpoints.Resolved> checked = ResumeCheck.check(settings);
    assertEquals(latest, checked.orElseThrow().path());
    Files.writeString(latest.resolve("meta.json"), "{}");
    Files.write(latest.resolve("stray.bin"), new byte[0]);
    assertTrue(Checkpoints.problem(latest).isPresent(), "the damage would show in a second reading");
    Files.writeString(latest.resolve("meta.json"), "{\"step\": 40, \"method\": \"supervised\"}");
    assertTrue(Checkpoints.problem(latest).isPresent(), "the stray array file alone would show in a second reading");
    Files.writeString(latest.resolve("meta.json"), "{}");
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    EmbeddedRun.Result result = EmbeddedRun.run(settings, WiringSettings.fromConfig(config), config, Map.of(),
        new PrintStream(text, true, StandardCharsets.UTF_8), EmbeddedRun.defaultAnalyzers(config),
        new EmbeddedRun.Listener() { }, checked);
    String printed = text.toString(StandardCharsets.UTF_8);
    assertEquals(0, result.exitCode(), printed);
    assertTrue(printed.contains("resuming from " + latest + " at step 40"), printed);
    assertFalse(printed.contains("is not usable"), printed);
    assertEquals(60, Checkpoints.read(latest).step());
  }

  @Test
  void noUsableCheckpointIsOneLineAndChangesNothing() throws Exception {
    Path run = copyOfFirst("unusable", "u1");
    Path latest = run.resolve("checkpoints/latest");
    byte[] model = Files.readAllBytes(latest.resolve("model.zip"));
    Files.write(latest.resolve("model.zip"), Arrays.copyOf(model, 300));
    Files.write(run.resolve("checkpoints/latest.prev/model.zip"), new byte[0]);
    Map<String, Integer> before = files(run);
    String m = TestTools.cli(2, tiny("--max-steps", "60", "--resume", latest.toString()));
    assertTrue(firstLine(m).contains(latest.resolve("model.zip") + " (300 bytes) is not a readable model file (")
        && firstLine(m).contains("(its predecessor latest.prev is no usable checkpoint either)"), m);
    assertFalse(m.contains("resuming from"), m);
    assertEquals(before, files(run), "a resume from no usable checkpoint touched the run's files");
  }

  @Test
  void aCheckpointOutsideItsRunIsCheckedByItsArrays() throws Exception {
    // as a --monitor run's checkpoints are: no config.json beside them, the arrays say which network they hold
    Path copied = tmp.resolve("copied").resolve("latest");
    Files.createDirectories(copied.getParent());
    try (Stream<Path> s = Files.walk(first.resolve("checkpoints/latest"))) {
      for (Path p : s.toList()) {
        Files.copy(p, copied.resolve(first.resolve("checkpoints/latest").relativize(p).toString()));
      }
    }
    String m = TestTools.cli(2, tiny("--hidden", "32", "--max-steps", "60", "--out", tmp.resolve("fresh").toString(),
        "--run-id", "f1", "--resume", copied.toString()));
    assertTrue(firstLine(m).contains("--resume " + copied + " is from a run with --hidden 16, this run has --hidden 32;"
        + " expected --hidden 16"), m);
    assertFalse(Files.exists(tmp.resolve("fresh")), "a refused resume created its run directory");
  }
}
