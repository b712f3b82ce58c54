package org.splinewatch.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.trainer.CheckpointFiles;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.RunSettings;

/**
 * What a {@code --resume} checkpoint allows, checked before anything is written: a usable checkpoint (its
 * {@code meta.json} and array files, {@link Checkpoints#open}, read once and handed on to the run), the same method
 * (its {@code meta.json}), the same data set and network shape (the {@code config.json} of the run the checkpoint lies
 * in, where it has one, and the shapes of the checkpoint's arrays), and a total beyond the checkpoint's step. A
 * mismatch is a one-line {@link Refused}, which the command line reports with exit code 2.
 */
public final class ResumeCheck {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A resume these settings cannot do; nothing has been written. */
  public static final class Refused extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  private ResumeCheck() {
  }

  /**
   * Checks the settings of a resumed run against its checkpoint ({@link Checkpoints#open}: a one-line error when it is
   * not one) and returns the checkpoint as read, for the run to start from; empty for a fresh run. An explicit
   * {@code --max-steps} must lie beyond the checkpoint's step; a total from {@code --epochs} is checked by
   * {@link #checkTotal} once the data set is loaded.
   */
  public static Optional<Checkpoints.Resolved> check(RunSettings s) {
    if (s.resume() == null) {
      return Optional.empty();
    }
    Checkpoints.Resolved from = Checkpoints.open(s.resume());
    Checkpoints.Meta meta = from.meta();
    if (!meta.method().equals(s.method())) {
      throw new Refused("--resume " + s.resume() + " is a " + meta.method() + " checkpoint, this run's --method is "
          + s.method() + "; expected --method " + meta.method() + " (or a checkpoint of a " + s.method() + " run)");
    }
    // what the checkpoint is comes before how long to train it: a resume keeps its run's --max-steps (RunDirectory)
    RunDirectory.ofCheckpoint(s.resume()).ifPresent(dir -> checkShape(s, dir.resolve("config.json")));
    checkArrays(s, from.network());
    if (s.maxSteps() > 0 && s.maxSteps() <= meta.step()) {
      throw new Refused("--max-steps " + s.maxSteps() + " is not beyond the checkpoint's step " + meta.step()
          + "; expected more than " + meta.step() + " (the total, counting the steps the checkpoint has trained)");
    }
    return Optional.of(from);
  }

  /**
   * The widths of the checkpoint's arrays must be this run's: the only check of a checkpoint without its run's
   * {@code config.json} (copied out of its run, or a {@code --monitor} run's, whose files are on the monitor).
   */
  private static void checkArrays(RunSettings s, CheckpointFiles.Network n) {
    if (!n.known()) {
      return; // no layer files of this project's trainers (a test's stand-in): the trainer's load checks them
    }
    same(s, "--encoder", n.cnnChannels().isEmpty() ? "mlp" : "cnn", s.encoder());
    same(s, "--hidden", join(n.hidden()), join(s.hidden()));
    if (n.projectionDim() > 0 && !s.method().equals("supervised")) {
      same(s, "--projection-dim", String.valueOf(n.projectionDim()), String.valueOf(s.projectionDim()));
    }
    if (s.encoder().equals("cnn")) {
      same(s, "--cnn-channels", join(n.cnnChannels()), join(s.cnnChannels()));
    }
    if (s.method().equals("simsiam") || s.method().equals("byol")) {
      // --no-predictor --ablate-from N builds the predictor and bypasses it from step N: its arrays are in every
      // checkpoint of such a run
      boolean arrays = s.predictor() || s.ablateFrom() > 0;
      if (n.predictor() != arrays) {
        throw new Refused("--resume " + s.resume() + " is from a run " + (n.predictor() ? "with" : "without")
            + " a predictor, this run " + (arrays ? "has one" : "has none") + "; expected "
            + (n.predictor() ? "no --no-predictor (or --no-predictor with its --ablate-from)" : "--no-predictor"
            + " without --ablate-from") + " (a checkpoint continues the same network on the same data)");
      }
    }
  }

  /**
   * A resumed run's total from {@code --epochs} (known once the training set is loaded) must lie beyond the
   * checkpoint's step, or the run would have nothing to train; {@code checkpoint} is what {@link #check} returned.
   */
  public static void checkTotal(RunSettings s, Optional<Checkpoints.Resolved> checkpoint, LabeledImages train) {
    if (checkpoint.isEmpty() || s.maxSteps() > 0) {
      return;
    }
    long step = checkpoint.get().meta().step();
    long total = s.totalSteps(train.count());
    if (total <= step) {
      throw new Refused("--epochs " + s.epochs() + " (" + total + " steps of " + s.stepsPerEpoch(train.count())
          + " each) ends at or before"
          + " the checkpoint's step " + step + "; expected more --epochs or --max-steps beyond " + step);
    }
  }

  /** The data set and network shape recorded in the checkpoint's run's {@code config.json} must be this run's. */
  private static void checkShape(RunSettings s, Path configJson) {
    JsonNode c;
    try {
      c = JSON.readTree(Files.readAllBytes(configJson));
    } catch (IOException e) {
      return; // the checkpoint itself was readable: a damaged config.json only costs these checks
    }
    if (c == null || !c.isObject()) {
      return;
    }
    JsonNode settings = c.path("settings");
    same(s, "--dataset", c.path("dataset"), s.dataset());
    same(s, "--encoder", settings.path("encoder"), s.encoder());
    same(s, "--hidden", settings.path("hidden"), join(s.hidden()));
    if (!s.method().equals("supervised")) {
      same(s, "--projection-dim", settings.path("projection_dim"), String.valueOf(s.projectionDim()));
    }
    if (s.encoder().equals("cnn")) {
      same(s, "--cnn-channels", settings.path("cnn_channels"), join(s.cnnChannels()));
    }
    if (s.method().equals("simsiam") || s.method().equals("byol")) {
      same(s, "predictor", settings.path("predictor"), String.valueOf(s.predictor()));
    }
  }

  /** A recorded value (absent: not checked) must equal this run's; {@code what} names it, e.g. "--dataset". */
  private static void same(RunSettings s, String what, JsonNode recorded, String value) {
    if (recorded.isMissingNode() || recorded.isNull()) {
      return;
    }
    same(s, what, recorded.isArray() ? join(recorded) : recorded.asText(), value);
  }

  /** The checkpoint's value {@code was} must equal this run's. */
  private static void same(RunSettings s, String what, String was, String value) {
    if (!was.equals(value)) {
      throw new Refused("--resume " + s.resume() + " is from a run with " + what + " " + was + ", this run has "
          + what + " " + value + "; expected " + what + " " + was + " (a checkpoint continues the same network on"
          + " the same data)");
    }
  }

  private static String join(int[] values) {
    return String.join(",", Arrays.stream(values).mapToObj(String::valueOf).toList());
  }

  private static String join(List<Integer> values) {
    return String.join(",", values.stream().map(String::valueOf).toList());
  }

  private static String join(JsonNode array) {
    StringBuilder b = new StringBuilder();
    for (JsonNode v : array) {
      b.append(b.length() == 0 ? "" : ",").append(v.asText());
    }
    return b.toString();
  }
}
