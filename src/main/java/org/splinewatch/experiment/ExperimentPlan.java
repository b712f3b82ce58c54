package org.splinewatch.experiment;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The runs of the findings experiment ({@code ./monitor experiment seeds}): every method on every data set per seed
 * (F1, F2, F4), the collapse ablations with a known onset (F3), and a long supervised run on a small training subset
 * (F5, F6). Every run has the same encoder, so region counts compare across methods.
 *
 * @param name        {@code quick} or {@code full}
 * @param steps       training steps of the method runs and ablations
 * @param snapshotEvery steps between snapshots of those runs
 * @param onset       the step from which the ablations switch on ({@code --ablate-from})
 * @param longSteps   steps of the long supervised runs (F5, F6)
 * @param longEvery   their snapshot interval
 * @param subset      training images of the long supervised runs
 * @param hidden      encoder widths of every run
 */
public record ExperimentPlan(String name, List<Integer> seeds, List<String> datasets, List<String> methods, int steps,
    int snapshotEvery, int onset, int longSteps, int longEvery, int subset, String hidden, int probeSize,
    List<Run> runs) {

  /** The self-supervised methods (F1, F2), in order. */
  public static final List<String> SSL = List.of("simclr", "vicreg", "byol", "simsiam");
  /** Contrastive methods: expected to expand regions (F2). */
  public static final List<String> CONTRASTIVE = List.of("simclr", "vicreg");
  /** Self-distillation methods: expected to merge regions (F2). */
  public static final List<String> DISTILLATION = List.of("byol", "simsiam");

  /** What a run is for. */
  public enum Role { METHOD, COLLAPSE, LONG }

  /**
   * One training run: its directory name under {@code DIR/runs}, its role, and the {@code ./trainer} arguments that
   * make it (without {@code --out}/{@code --run-id}, which the command adds).
   *
   * @param onset the known collapse onset step of a {@link Role#COLLAPSE} run, else -1
   */
  public record Run(String id, Role role, String method, String dataset, int seed, long onset, List<String> args) {
    public Run {
      args = List.copyOf(args);
    }
  }

  /**
   * The quick plan (stated in the output: fewer steps and seeds) or the full one. {@code datasets} and
   * {@code methods} restrict the matrix (the tests use one data set; a user may too).
   */
  public static ExperimentPlan of(boolean quick, List<Integer> seeds, List<String> datasets, List<String> methods) {
    return of(quick, seeds, datasets, methods, null);
  }

  /**
   * As {@link #of(boolean, List, List, List)} with the method and collapse runs' steps overridden ({@code --steps};
   * null: the plan's): the collapse onset moves to half the steps where it would otherwise lie at or beyond the end
   * ({@code ./trainer} refuses an {@code --ablate-from} that never takes effect).
   */
  public static ExperimentPlan of(boolean quick, List<Integer> seeds, List<String> datasets, List<String> methods,
      Integer stepsOverride) {
    return of(quick, seeds, datasets, methods, stepsOverride, null);
  }

  /**
   * As {@link #of(boolean, List, List, List, Integer)} with the long runs' steps overridden too ({@code --long-steps};
   * null: the plan's), so that the plan's description states the steps they train.
   */
  public static ExperimentPlan of(boolean quick, List<Integer> seeds, List<String> datasets, List<String> methods,
      Integer stepsOverride, Integer longStepsOverride) {
    String name = quick ? "quick" : "full";
    int steps = stepsOverride != null ? stepsOverride : quick ? 300 : 1500;
    int every = quick ? 25 : 100;
    int onset = Math.min(quick ? 150 : 750, steps / 2);
    int longSteps = longStepsOverride != null ? longStepsOverride : quick ? 2000 : 12000;
    int longEvery = quick ? 100 : 400;
    int subset = quick ? 256 : 1000;
    String hidden = quick ? "64,64" : "128,128";
    int probes = quick ? 512 : 1024;
    List<String> common = List.of("--hidden", hidden, "--probe-size", Integer.toString(probes), "--planes", "1",
        "--analyzers", "embedding,regions,boundary,geometry,probe,local-complexity", "--metrics-port", "0",
        "--no-svg");
    List<Run> runs = new ArrayList<>();
    for (int seed : seeds) {
      for (String dataset : datasets) {
        for (String method : methods) {
          runs.add(run(method + "-" + dataset + "-s" + seed, Role.METHOD, method, dataset, seed, -1, common,
              "--method", method, "--max-steps", Integer.toString(steps), "--snapshot-every", Integer.toString(every)));
        }
      }
      String first = datasets.get(0);
      if (methods.contains("simsiam")) {
        runs.add(run("collapse-simsiam-nostopgrad-" + first + "-s" + seed, Role.COLLAPSE, "simsiam", first, seed,
            onset, common, "--method", "simsiam", "--no-stop-gradient", "--ablate-from", Integer.toString(onset),
            "--max-steps", Integer.toString(steps), "--snapshot-every", Integer.toString(every)));
        runs.add(run("collapse-simsiam-nopredictor-" + first + "-s" + seed, Role.COLLAPSE, "simsiam", first, seed,
            onset, common, "--method", "simsiam", "--no-predictor", "--ablate-from", Integer.toString(onset),
            "--max-steps", Integer.toString(steps), "--snapshot-every", Integer.toString(every)));
      }
      if (methods.contains("byol")) {
        runs.add(run("collapse-byol-nopredictor-" + first + "-s" + seed, Role.COLLAPSE, "byol", first, seed, onset,
            common, "--method", "byol", "--no-predictor", "--ablate-from", Integer.toString(onset), "--max-steps",
            Integer.toString(steps), "--snapshot-every", Integer.toString(every)));
      }
      if (methods.contains("supervised")) {
        runs.add(run("long-supervised-" + first + "-s" + seed, Role.LONG, "supervised", first, seed, -1, common,
            "--method", "supervised", "--train-subset", Integer.toString(subset), "--batch-size", "64",
            "--max-steps", Integer.toString(longSteps), "--snapshot-every", Integer.toString(longEvery)));
      }
    }
    return new ExperimentPlan(name, List.copyOf(seeds), List.copyOf(datasets), List.copyOf(methods), steps, every,
        onset, longSteps, longEvery, subset, hidden, probes, List.copyOf(runs));
  }

  private static Run run(String id, Role role, String method, String dataset, int seed, long onset,
      List<String> common, String... specific) {
    List<String> args = new ArrayList<>(List.of(specific));
    args.addAll(List.of("--dataset", dataset, "--seed", Integer.toString(seed)));
    args.addAll(common);
    return new Run(id, role, method, dataset, seed, onset, args);
  }

  /** One line for the output: what this plan runs. */
  public String describe() {
    return String.format(Locale.ROOT, "%s plan: %d runs (seeds %s; %s; methods %s): %d steps, a snapshot"
        + " every %d, encoder %s, collapse ablations from step %d, long supervised runs of %d steps on %d images",
        name, runs.size(), seeds, String.join(", ", datasets), String.join(", ", methods), steps, snapshotEvery,
        hidden, onset, longSteps, subset);
  }
}
