package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.data.SyntheticData;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.Trainer;

/**
 * A checkpoint without its run's {@code config.json} beside it (a {@code --monitor} run's, whose files are on the
 * monitor, or one copied out of its run) is checked against the run's widths by its arrays.
 */
class ResumeCheckTest {
  @TempDir
  Path tmp;

  private static RunSettings settings(Map<String, Object> more) {
    Map<String, Object> o = new HashMap<>(Map.of("splinewatch.run.method", "simclr", "splinewatch.run.hidden",
        List.of(16), "splinewatch.run.projection-dim", 8, "splinewatch.run.batch-size", 32,
        "splinewatch.run.max-steps", 100));
    o.putAll(more);
    return RunSettings.fromConfig(TrainCommand.load(o, null));
  }

  @Test
  void aCheckpointWithoutItsRunsConfigIsCheckedByItsArrays() {
    Path checkpoints = tmp.resolve("r3").resolve("checkpoints");
    try (Trainer t = settings(Map.of()).createTrainer(SyntheticData.images(64, 1))) {
      t.step();
      Checkpoints.write(t, checkpoints, "latest", new Checkpoints.Meta(10, 0, 1.0, "simclr"));
    }
    Path latest = checkpoints.resolve("latest");
    String resume = latest.toString();
    assertDoesNotThrow(() -> ResumeCheck.check(settings(Map.of("splinewatch.run.resume", resume))));
    Map<String, String> refused = Map.of(
        "hidden", "--resume " + latest + " is from a run with --hidden 16, this run has --hidden 32,32; expected"
            + " --hidden 16",
        "projection-dim", "--resume " + latest + " is from a run with --projection-dim 8, this run has"
            + " --projection-dim 4; expected --projection-dim 8",
        "encoder", "--resume " + latest + " is from a run with --encoder mlp, this run has --encoder cnn; expected"
            + " --encoder mlp");
    Map<String, Object> values = Map.of("hidden", List.of(32, 32), "projection-dim", 4, "encoder", "cnn");
    for (var e : refused.entrySet()) {
      RunSettings s = settings(Map.of("splinewatch.run.resume", resume, "splinewatch.run." + e.getKey(),
          values.get(e.getKey())));
      String m = assertThrows(ResumeCheck.Refused.class, () -> ResumeCheck.check(s)).getMessage();
      assertTrue(m.startsWith(e.getValue()), m);
    }
  }

  @Test
  void aRunAblatedFromAStepKeepsItsPredictorArraysAndResumes() {
    // --no-predictor --ablate-from 50: the predictor is built and bypassed from step 50, so every checkpoint holds it
    Map<String, Object> ablated = Map.of("splinewatch.run.method", "byol", "splinewatch.ssl.predictor", false,
        "splinewatch.ablation.from-step", 50);
    Path checkpoints = tmp.resolve("r4").resolve("checkpoints");
    try (Trainer t = settings(ablated).createTrainer(SyntheticData.images(64, 1))) {
      t.step();
      Checkpoints.write(t, checkpoints, "latest", new Checkpoints.Meta(10, 0, 1.0, "byol"));
    }
    String resume = checkpoints.resolve("latest").toString();
    Map<String, Object> again = new HashMap<>(ablated);
    again.put("splinewatch.run.resume", resume);
    assertDoesNotThrow(() -> ResumeCheck.check(settings(again)));
    // without --ablate-from the run would have no predictor: refused, naming it
    again.put("splinewatch.ablation.from-step", 0);
    String m = assertThrows(ResumeCheck.Refused.class, () -> ResumeCheck.check(settings(again))).getMessage();
    assertTrue(m.startsWith("--resume " + resume + " is from a run with a predictor, this run has none"), m);
  }
}
