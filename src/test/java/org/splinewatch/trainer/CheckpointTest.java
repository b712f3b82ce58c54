package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.regions.Layer;

/** Checkpoints restore the weights exactly, runs write latest/best, and --resume continues from the saved step. */
class CheckpointTest {
  @TempDir
  Path tmp;

  private static float[] firstWeights(Trainer t) {
    return ((Layer.Dense) t.snapshot("x", 0, 0, 0, 0).layers().get(0)).weights();
  }

  @Test
  void everyMethodRestoresItsWeights() throws Exception {
    var train = CollapseBehaviourTest.TRAIN;
    List<LongFunction<Trainer>> makers = List.of(
        seed -> new SupervisedTrainer(train, new int[] {16}, 32, 1e-3, seed),
        seed -> new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, seed),
        seed -> new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, seed),
        seed -> new ByolTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, 0.99, 100, true, seed),
        seed -> new VicRegTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 25, 25, 1, seed));
    int i = 0;
    for (var make : makers) {
      Path dir = Files.createDirectories(tmp.resolve("c" + i++));
      float[] saved;
      try (Trainer a = make.apply(1)) {
        a.step();
        a.step();
        a.saveCheckpoint(dir);
        saved = firstWeights(a);
      }
      boolean hasOptimizerState = Files.isRegularFile(dir.resolve("adam-iteration.txt"));
      try (Trainer b = make.apply(2)) {
        assertTrue(!Arrays.equals(saved, firstWeights(b)), "another seed starts elsewhere");
        b.loadCheckpoint(dir);
        assertArrayEquals(saved, firstWeights(b), b.getClass().getSimpleName());
        if (b instanceof TwoViewTrainer tv) {
          // the optimiser continues too: Adam's first and second moments and its step count
          assertTrue(hasOptimizerState, "SSL checkpoints hold the optimiser state");
          assertEquals(2, tv.iterationCount());
          Map<String, Map<String, INDArray>> state = tv.optimizerState();
          assertTrue(!state.isEmpty());
          for (var e : state.entrySet()) {
            for (var st : e.getValue().entrySet()) {
              var file = dir.resolve("adam-" + e.getKey() + "-" + st.getKey() + ".bin").toFile();
              assertEquals(Nd4j.readBinary(file), st.getValue(), e.getKey() + " " + st.getKey());
              assertTrue(st.getValue().amaxNumber().doubleValue() > 0, "moments are not fresh zeros");
            }
          }
          assertTrue(Double.isFinite(b.step()), "training goes on from the restored state");
          assertEquals(3, tv.iterationCount());
        }
      }
    }
  }

  @Test
  void aTruncatedWeightFileIsNamedWithItsSize() throws Exception {
    var train = CollapseBehaviourTest.TRAIN;
    Path dir = Files.createDirectories(tmp.resolve("truncated"));
    try (Trainer a = new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 1)) {
      a.step();
      a.saveCheckpoint(dir);
    }
    Path weights;
    try (var files = Files.list(dir)) {
      weights = files.filter(f -> f.getFileName().toString().matches("g0-.*\\.bin")).sorted().findFirst()
          .orElseThrow();
    }
    byte[] whole = Files.readAllBytes(weights);
    Files.write(weights, Arrays.copyOf(whole, 100));
    try (Trainer b = new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 2)) {
      var e = assertThrows(java.io.IOException.class, () -> b.loadCheckpoint(dir));
      assertTrue(e.getMessage().startsWith(weights + " (100 bytes) is not a readable ND4J array file (")
          && e.getMessage().endsWith("this checkpoint is damaged") && e.getMessage().lines().count() == 1,
          e.getMessage());
    }
  }

  @Test
  void runsWriteCheckpointsAndResumeFromThem() throws Exception {
    var o = SyntheticData.tinyRun(tmp, "first", 50); // 20 steps per epoch
    o.put("splinewatch.run.snapshot-every", 10);
    o.put("splinewatch.analysis.enabled", List.of("embedding"));
    var config = TrainCommand.load(o, null);
    var quiet = new PrintStream(OutputStream.nullOutputStream());
    EmbeddedRun.Result first = EmbeddedRun.run(RunSettings.fromConfig(config), config, Map.of(), quiet,
        EmbeddedRun.defaultAnalyzers(config), new EmbeddedRun.Listener() { });
    Path latest = first.runDir().resolve("checkpoints/latest");
    assertEquals(50, Checkpoints.read(latest).step());
    assertTrue(Checkpoints.read(first.runDir().resolve("checkpoints/best")).step() <= 40, "best at an epoch end");
    o.put("splinewatch.run.max-steps", 80);
    o.put("splinewatch.run.run-id", "second");
    o.put("splinewatch.run.resume", latest.toString());
    var config2 = TrainCommand.load(o, null);
    EmbeddedRun.Result second = EmbeddedRun.run(RunSettings.fromConfig(config2), config2, Map.of(), quiet,
        EmbeddedRun.defaultAnalyzers(config2), new EmbeddedRun.Listener() { });
    assertEquals(0, second.exitCode());
    assertEquals(80, second.finished().steps());
    String log = Files.readString(second.runDir().resolve("metrics.jsonl"));
    assertTrue(!log.contains("\"name\":\"splinewatch_training_loss\",\"labels\":{\"dataset\":\"mnist\","
        + "\"method\":\"supervised\",\"run\":\"second\"},\"step\":10,"), "the resumed run starts at step 50");
    assertEquals(80, Checkpoints.read(second.runDir().resolve("checkpoints/latest")).step());

    // resumed in its own directory: best is replaced only by a lower epoch-end loss than the one it holds (before,
    // the resumed segment's first epoch end replaced it whatever its loss) ...
    Path best = first.runDir().resolve("checkpoints/best");
    Files.writeString(best.resolve("meta.json"), "{\"step\":40,\"epoch\":2,\"loss\":1.0E-9,\"method\":"
        + "\"supervised\"}");
    o.put("splinewatch.run.run-id", "first");
    var again = TrainCommand.load(o, null);
    assertEquals(0, EmbeddedRun.run(RunSettings.fromConfig(again), again, Map.of(), quiet,
        EmbeddedRun.defaultAnalyzers(again), new EmbeddedRun.Listener() { }).exitCode());
    assertEquals(40, Checkpoints.read(best).step(), "no epoch end after the resume had a lower loss");
    // ... unless it is of steps the resumed run left behind (a resume from an earlier checkpoint)
    Files.writeString(best.resolve("meta.json"), "{\"step\":90,\"epoch\":4,\"loss\":1.0E-9,\"method\":"
        + "\"supervised\"}");
    o.put("splinewatch.run.max-steps", 100);
    var later = TrainCommand.load(o, null);
    assertEquals(0, EmbeddedRun.run(RunSettings.fromConfig(later), later, Map.of(), quiet,
        EmbeddedRun.defaultAnalyzers(later), new EmbeddedRun.Listener() { }).exitCode());
    assertEquals(100, Checkpoints.read(best).step(), "the left trajectory's best is replaced at the next epoch end");
    var notACheckpoint = assertThrows(IllegalArgumentException.class, () -> Checkpoints.read(tmp));
    assertTrue(notACheckpoint.getMessage().contains("not a checkpoint (no meta.json)"));
  }

  /**
   * A --resume of a path that is no checkpoint says what it is: missing, a run directory or its checkpoints/ (each
   * said "is not a checkpoint (no meta.json)"), and names the checkpoint meant where there is one.
   */
  @Test
  void aResumeOfTheWrongPathSaysWhatItIsAndWhichCheckpointWasMeant() throws Exception {
    Path run = Files.createDirectories(tmp.resolve("runs").resolve("r1"));
    Path latest = Files.createDirectories(run.resolve("checkpoints").resolve("latest"));
    Files.writeString(latest.resolve("meta.json"), "{\"step\":10,\"method\":\"simclr\"}");
    String expected = "; expected runs/<run-id>/checkpoints/latest or best";
    Path missing = run.resolve("checkpoints").resolve("lastest");
    assertEquals(missing + " does not exist" + expected, assertThrows(IllegalArgumentException.class,
        () -> Checkpoints.read(missing)).getMessage());
    assertEquals(run + " is a run directory, not a checkpoint" + expected + ", here " + latest,
        assertThrows(IllegalArgumentException.class, () -> Checkpoints.read(run)).getMessage());
    assertEquals(latest.getParent() + " is a run's checkpoints directory, not a checkpoint" + expected + ", here "
        + latest, assertThrows(IllegalArgumentException.class, () -> Checkpoints.read(latest.getParent()))
        .getMessage());
    Path other = Files.createDirectories(tmp.resolve("other"));
    assertEquals(other + " is not a checkpoint (no meta.json)" + expected, assertThrows(
        IllegalArgumentException.class, () -> Checkpoints.read(other)).getMessage());
  }
}
