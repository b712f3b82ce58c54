package org.splinewatch.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.data.Dataset;
import org.splinewatch.report.Detection;
import org.splinewatch.report.RunData;
import org.splinewatch.settings.OptionValues;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code ./monitor detection RUN_DIR...}: when each collapse rule fired against the step at which kNN accuracy fell,
 * and false alarms on healthy runs, as a Markdown table.
 */
@Command(name = "detection", mixinStandardHelpOptions = true,
    description = "Detection lead time of finished runs: each rule's first alert against the first kNN accuracy drop;"
        + " ablation runs are induced collapses (onset: --ablate-from), as are HTTP runs of the PyTorch example with"
        + " --collapse-at S (onset: S), the others healthy; lead time against the onset"
        + " and against the kNN drop, and counts for the tuning and evaluation sets.")
final class DetectionCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "RUN_DIR", description = "run directories (runs/<run-id>), or directories"
      + " of runs (runs: each run directory in it)")
  List<Path> runs = new ArrayList<>();
  @Option(names = "--layer", description = "layer whose kNN accuracy is the reference (default ${DEFAULT-VALUE})")
  String layer = "repr";
  @Option(names = "--drop", description = "kNN accuracy drop below the best so far, a difference of accuracies"
      + " (fractions of 1): 0.05 is 5 points, as from 0.90 to 0.85 (default ${DEFAULT-VALUE})")
  double drop = 0.05;
  @Option(names = "--drop-reference", paramLabel = "best|onset", description = "what the drop is measured from:"
      + " best, the best accuracy so far, the untrained network's included (the goal's definition); onset, the best"
      + " from the onset snapshot on, so that accuracy lost before a mid-run onset does not count (default"
      + " ${DEFAULT-VALUE})")
  String dropReference = "best";
  // defaultValue, typed as on the command line, is what the help shows: ${DEFAULT-VALUE} of the list alone is [42, 7]
  @Option(names = "--tuning-seeds", split = ",", paramLabel = "SEED", defaultValue = "42,7", description = "seeds of"
      + " the tuning set (runs on --tuning-datasets); every other run is the evaluation set (default ${DEFAULT-VALUE})")
  List<Long> tuningSeeds = new ArrayList<>(List.of(42L, 7L));
  @Option(names = "--tuning-datasets", split = ",", paramLabel = "DATASET", defaultValue = "mnist",
      description = "data sets of the tuning set's runs (default ${DEFAULT-VALUE})")
  List<String> tuningDatasets = new ArrayList<>(List.of("mnist"));
  @Option(names = "--replay", description = "re-evaluate the collapse rules on the recorded metrics (reference.conf's"
      + " splinewatch.alerts with --alert changes) instead of reading the alerts the runs raised")
  boolean replay;
  @Option(names = "--alert", paramLabel = "KEY=VALUE", description = "with --replay: a collapse-rule setting of"
      + " splinewatch.alerts (repeatable)")
  List<String> alertSettings = new ArrayList<>();
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  /** What the command is doing, for the line a signal prints. */
  private volatile String doing = "reading its options";

  @Override
  public Integer call() throws Exception {
    // Ctrl-C or SIGTERM: one line, exit 128 + the signal (the JVM's default said nothing); detection writes no file
    try (AutoCloseable signals = org.splinewatch.run.SignalStop.exitWithLine(System.err, signal -> "interrupted by "
        + signal + " while " + doing + (doing.startsWith("printing") ? ": the table is cut short" : ": no table"
        + " printed") + "; detection writes no file")) {
      return detection();
    }
  }

  private Integer detection() {
    if (!(drop > 0 && drop < 1)) {
      // it said "a ratio", read as relative (5 % of the best); the drop is a difference of accuracies
      throw new ParameterException(spec.commandLine(), "--drop " + drop + " is out of range; expected a difference of"
          + " accuracies (fractions of 1) in (0, 1), e.g. 0.05 for 5 points");
    }
    Detection.DropReference reference = Detection.DropReference.byCliName(dropReference).orElse(null);
    if (reference == null) {
      throw new ParameterException(spec.commandLine(), OptionValues.named("--drop-reference", dropReference)
          + " is unknown;"
          + " expected " + Detection.DropReference.cliNames());
    }
    Set<String> datasets = new HashSet<>(tuningDatasets);
    List<String> known = Arrays.stream(Dataset.values()).map(Dataset::cliName).toList();
    if (!known.containsAll(datasets)) {
      throw new ParameterException(spec.commandLine(), "--tuning-datasets " + String.join(",", tuningDatasets)
          + " names an unknown data set; expected " + String.join(" and/or ", known));
    }
    if (!alertSettings.isEmpty() && !replay) {
      throw new ParameterException(spec.commandLine(), "--alert changes the rules only with --replay; expected"
          + " --replay --alert KEY=VALUE");
    }
    AlertSettings settings = null;
    if (replay) {
      Map<String, Object> overrides = new LinkedHashMap<>();
      Config alerts = ConfigFactory.defaultReference()
          .getConfig("splinewatch.alerts");
      for (String a : alertSettings) {
        TrainCommand.putAlertSetting(spec.commandLine(), overrides, alerts, a);
      }
      try {
        settings = AlertSettings.fromConfig(TrainCommand.load(overrides, null));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), Main.oneLine(e));
      }
    }
    Main.refuseEmptyPaths(spec.commandLine(), "RUN_DIR", runs, "a run directory (runs/<run-id>) or a directory of"
        + " runs");
    for (Path r : runs) { // every path checked before the first is read
      if (!Files.isDirectory(r)) { // a missing path is a bad argument; a directory that holds no run is skipped below
        throw new ParameterException(spec.commandLine(), RunData.notADirectory(r));
      }
    }
    List<Path> each = new ArrayList<>();
    for (Path r : runs) {
      List<Path> inside = RunData.runsIn(r);
      if (inside.isEmpty()) {
        each.add(r);
      } else { // runs/: each run in it, as runs/* would name them
        // an experiment's runs/ keeps each run it trained again beside it: superseded, not a run to count or skip
        List<Path> aside = inside.stream().filter(RunData::setAside).toList();
        List<Path> read = inside.stream().filter(d -> !aside.contains(d)).toList();
        System.err.println("note: " + r + " is a directory of runs; reading each of its " + read.size()
            + (read.size() == 1 ? " run" : " runs") + (aside.isEmpty() ? "" : " (left out: " + aside.size()
            + (aside.size() == 1 ? " directory" : " directories") + " <run-id>.incomplete-N that ./monitor experiment"
            + " set aside when it trained the run again; name one to read it)"));
        each.addAll(read);
      }
    }
    runs = RunData.distinct(each, System.err); // overlapping globs: each run counted once
    List<Detection.Row> rows = new ArrayList<>();
    List<Path> rowDirs = new ArrayList<>();
    List<Detection.Skipped> skipped = new ArrayList<>();
    List<String> unchecked = new ArrayList<>(); // counted runs whose metrics could not be checked for an early end
    List<String> losses = new ArrayList<>(); // counted runs' lines a known crash cut off (RunData.notes)
    java.util.TreeSet<String> knnLayers = new java.util.TreeSet<>(); // the layers the counted runs have kNN of
    for (int i = 0; i < runs.size(); i++) {
      Path r = runs.get(i);
      doing = "reading run " + (i + 1) + " of " + runs.size() + " (" + r + ")";
      Detection.Loaded loaded = Detection.load(r);
      if (loaded.skipped() != null) { // an interrupted or garbage directory counts neither as healthy nor collapsed
        skipped.add(new Detection.Skipped(r, UnfinishedRuns.said(loaded.skipped().reason(), r)));
        continue;
      }
      RunData data = loaded.run();
      Path copied = copyOf(r, data.runId(), rows, rowDirs);
      if (copied != null) { // a copied run directory: one run, counted once
        skipped.add(new Detection.Skipped(r, "a copy of " + copied + " (the same run_id " + data.runId()
            + " and metrics.jsonl); counted once"));
        continue;
      }
      rowDirs.add(r);
      data.notChecked().ifPresent(n -> unchecked.add(r + ": " + n));
      data.notes().forEach(n -> losses.add(r + ": " + n));
      data.series().values().stream()
          .filter(s -> s.name().equals(org.splinewatch.snapshot.MetricFamily.KNN_ACCURACY_RATIO.id()))
          .forEach(s -> knnLayers.add(String.valueOf(s.labels().get("layer"))));
      // MNIST and Fashion-MNIST both have 10 classes (the knn_chance rule's chance level)
      rows.add(Detection.of(replay ? Detection.replay(data, settings, 10) : data, layer, drop, reference));
    }
    if (!knnLayers.isEmpty() && !knnLayers.contains(layer)) { // a typo: every run would read as having no drop
      throw new ParameterException(spec.commandLine(), OptionValues.named("--layer", layer) + ": no run has a kNN"
          + " accuracy series for this layer; expected one of: " + String.join(", ", knnLayers));
    }
    if (rows.isEmpty()) { // a table of "0 of 0" would read as a result
      // every directory with its reason: the first three and "…" left the others' problems unsaid
      List<String> why = skipped.stream().map(s -> s.dir() + ": " + s.reason()).toList();
      String noRun = "no run to count: " + skipped.size() + " of " + runs.size() + " run director"
          + (runs.size() == 1 ? "y" : "ies") + " skipped (" + String.join("; ", why) + "); expected directories of"
          + " finished ./trainer runs (runs/<run-id> with metrics.jsonl)";
      if (skipped.stream().allMatch(Detection.Skipped::noRunDirectory)) {
        // no directory named holds a run's metrics: bad arguments, as report calls such a directory (exit 2)
        throw new ParameterException(spec.commandLine(), noRun);
      }
      // run directories whose data cannot be counted (interrupted, half-written, no sample): a failure, exit 1, as
      // report's "no usable sample" is
      System.err.println("error: " + noRun);
      return 1;
    }
    doing = "printing the table";
    System.out.print(Detection.markdown(distinctNames(rows, rowDirs), layer, drop, new HashSet<>(tuningSeeds),
        datasets, reference, skipped));
    if (!unchecked.isEmpty()) { // counted as they read: metrics cut at a line boundary would not show
      System.out.printf(java.util.Locale.ROOT, "%ncounted, but %s: %d run director%s%n",
          org.splinewatch.report.ReportWriter.NOT_CHECKED, unchecked.size(), unchecked.size() == 1 ? "y" : "ies");
      unchecked.forEach(System.out::println);
    }
    if (!losses.isEmpty()) {
      System.out.printf(java.util.Locale.ROOT, "%ncounted, with a line a known crash cut off: %d%n", losses.size());
      losses.forEach(System.out::println);
    }
    return 0;
  }

  /**
   * The directory of an earlier counted run that {@code dir} is a copy of (the same run_id and the same
   * metrics.jsonl), or null: a copy would count one run twice.
   */
  private static Path copyOf(Path dir, String runId, List<Detection.Row> rows, List<Path> rowDirs) {
    for (int i = 0; i < rows.size(); i++) {
      if (rows.get(i).runId().equals(runId)) {
        try {
          if (Files.mismatch(rowDirs.get(i).resolve("metrics.jsonl"), dir.resolve("metrics.jsonl")) == -1) {
            return rowDirs.get(i);
          }
        } catch (java.io.IOException e) {
          return null; // read before: it is there; unreadable now, it is not known to be a copy
        }
      }
    }
    return null;
  }

  /**
   * Rows whose run_id another counted run shares (different runs given the same --run-id) are named by run_id and
   * directory, so that the table tells them apart.
   */
  private static List<Detection.Row> distinctNames(List<Detection.Row> rows, List<Path> dirs) {
    Map<String, Long> counts = rows.stream().collect(java.util.stream.Collectors.groupingBy(Detection.Row::runId,
        java.util.stream.Collectors.counting()));
    List<Detection.Row> named = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      Detection.Row r = rows.get(i);
      named.add(counts.get(r.runId()) == 1 ? r : new Detection.Row(r.runId() + " (" + dirs.get(i) + ")", r.method(),
          r.ablation(), r.knn(), r.dropStep(), r.firstAlerts(), r.onsetStep(), r.snapshotIntervals(), r.seed(),
          r.dataset(), r.divergedStep()));
    }
    return named;
  }
}
