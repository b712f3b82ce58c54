package org.splinewatch.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.metrics.CpuByRole;
import org.splinewatch.snapshot.MetricFamily;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Monitoring overhead: the same training (same seed, same data) with monitoring off and on, alternated in one
 * invocation, printing steps/s of each block, the ratio of medians and the median of the rounds' own ratios. Each
 * block is a fresh JVM running {@code train} with this JVM's options and classpath, as a user would run it, so that
 * one block's heap, JIT state or still-finishing analysis cannot slow the next.
 *
 * <p>Besides each block's overall rate it reports the rate after {@code --warmup-steps} (from the times of the
 * block's {@code splinewatch_training_step} samples in its metrics.jsonl, taken on the training thread): the first few
 * hundred steps of a fresh JVM run while the JIT compiles (its C2 thread uses about 15 s of CPU in a 900-step SimCLR
 * block, monitored or not), which a long run does not see.
 */
@Command(name = "bench-overhead", mixinStandardHelpOptions = true,
    description = "Measure monitoring overhead: training steps/s with analyzers off vs on, alternated.")
final class BenchOverheadCommand implements Callable<Integer> {
  private static final Pattern DONE = Pattern.compile("done: (\\d+) steps, ([0-9.]+) steps/s");

  @Option(names = "--method", description = "supervised, simclr, simsiam, byol or vicreg (default ${DEFAULT-VALUE})")
  String method = "simclr";
  @Option(names = "--steps", description = "steps per block, 1 to 1000000 (default ${DEFAULT-VALUE})")
  long steps = 600;
  @Option(names = "--rounds", description = "off/on pairs after a warm-up pair, 1 to 100 (default"
      + " ${DEFAULT-VALUE})")
  int rounds = 3;
  @Option(names = "--snapshot-every", description = "steps between weight snapshots, 1 to --steps (default"
      + " ${DEFAULT-VALUE})")
  int snapshotEvery = 100;
  @Option(names = "--data-dir", description = "IDX directory (else the npm-fetched cache)")
  Path dataDir;
  @Option(names = "--analyzers", description = "analyzers of the monitored blocks (default: the trainer's,"
      + " all but local-complexity)")
  String analyzers;
  @Option(names = "--warmup-steps", description = "steps excluded from the after-warm-up rate, 0 to --steps - 1"
      + " (default ${DEFAULT-VALUE})")
  long warmupSteps = 300;
  @Option(names = "--analysis-node", description = "monitored blocks stream their snapshots to a monitor serve node"
      + " that this benchmark starts in a JVM and scheduling group of its own (as ./trainer --monitor beside"
      + " ./monitor serve), instead of analysing in the trainer's JVM")
  boolean analysisNode;

  /**
   * Steps/s of one block: over the whole block, and from {@code warmupSteps} to its end; and the block's peak
   * resident memory in bytes (from its {@code run_finished} event; 0 where the platform has none), and where its CPU
   * went ({@code cpu_seconds}).
   */
  record Rate(double whole, double steady, double trainingCpuPerStep, long peakRss, String coverage,
      double leastCovered, CpuByRole cpu) {
  }

  /** The most steps a block takes (a trainer run each; the measurements in docs/performance.md use 900-3600). */
  static final long MAX_STEPS = 1_000_000;
  /** The most off/on pairs. */
  static final int MAX_ROUNDS = 100;

  /** The block's trainer JVM while one runs. */
  private volatile Process running;
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException, InterruptedException {
    // bad arguments: exit 2 before any block trains
    if (!List.of("supervised", "simclr", "simsiam", "byol", "vicreg").contains(method)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "unknown --method '" + method
          + "'; expected one of: supervised, simclr, simsiam, byol, vicreg");
    }
    Main.refuseEmptyPaths(spec.commandLine(), Main.emptyPath("--data-dir", dataDir, "a directory with the four IDX"
        + " files"));
    String outOfRange = OptionRange.first(
        OptionRange.outside("--steps", steps, 1, MAX_STEPS, "steps per block; each of the 2 x (--rounds + 1)"
            + " blocks is a trainer run that long"),
        OptionRange.outside("--rounds", rounds, 1, MAX_ROUNDS, "measured off/on pairs, each two trainer runs"),
        OptionRange.outside("--snapshot-every", snapshotEvery, 1, Math.max(1, steps), "--steps at most: a longer"
            + " interval takes no snapshot before a block's last step"),
        OptionRange.outside("--warmup-steps", warmupSteps, 0, Math.max(0, steps - 1), "steps each block's"
            + " steady rate leaves out, below --steps: at least one step is measured"));
    if (outOfRange != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), outOfRange);
    }
    try {
      TrainCommand.checkDataDir(dataDir); // before any block trains
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (analyzers != null) {
      try {
        AnalyzerCatalogue.check(List.of(analyzers.split(",", -1)), "--analyzers " + analyzers);
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
    }
    List<Rate> off = new ArrayList<>();
    List<Rate> on = new ArrayList<>();
    System.out.printf(Locale.ROOT,
        "bench-overhead: %s, %d steps per block, snapshot every %d, analyzers %s, %s, %d cores%n", method,
        steps, snapshotEvery, analyzers == null ? "the trainer's default (all but local-complexity)" : analyzers,
        analysisNode ? "analysed on a monitor serve node in its own JVM" : "analysed in the trainer's JVM",
        Runtime.getRuntime().availableProcessors());
    // the blocks' run directories are only read for their rates: removed at the end, and when this JVM is stopped
    // (SIGTERM/SIGINT/SIGHUP), after the running block's trainer JVM (it would go on training, orphaned) and the
    // analysis node
    try (TemporaryDirectory temporary = new TemporaryDirectory("splinewatch-bench", () -> {
      stopRunningBlock();
      stopNode();
      return true;
    })) {
      if (!analysisNode) {
        return measure(temporary.path(), off, on);
      }
      try (BenchAnalysisNode started = BenchAnalysisNode.start(javaAndOptions(), temporary.path())) {
        node = started;
        System.out.printf(Locale.ROOT, "analysis node: %s, %s%n", started.address(), started.scheduling());
        int code = measure(temporary.path(), off, on);
        // the node's memory comes on top of the trainer's peak RSS above
        long nodePeak = started.peakResident();
        System.out.println("analysis node: peak RSS " + (nodePeak < 0 ? "unknown (no /proc status)"
            : mib(nodePeak)) + " over all blocks, on top of the monitored trainer's");
        return code;
      }
    }
  }

  /** The analysis node of {@code --analysis-node} while it runs. */
  private volatile BenchAnalysisNode node;

  private void stopNode() {
    BenchAnalysisNode n = node;
    if (n != null) {
      try {
        n.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** This JVM's java command, options and classpath, and the main class: the blocks' and the node's JVMs. */
  private static List<String> javaAndOptions() {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    return cmd;
  }

  private void stopRunningBlock() {
    Process block = running;
    if (block != null && block.isAlive()) {
      block.destroy(); // SIGTERM: the trainer ends its run after the current step
      try {
        if (!block.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
          block.destroyForcibly();
        }
      } catch (InterruptedException e) {
        block.destroyForcibly();
      }
      System.out.println("bench-overhead: interrupted; the running block was stopped and its files removed");
    }
  }

  private int measure(Path out, List<Rate> off, List<Rate> on) throws IOException, InterruptedException {
    for (int r = 0; r <= rounds; r++) {
      for (boolean monitoring : new boolean[] {false, true}) {
        Rate rate = block(monitoring, out, "bench-" + r + (monitoring ? "-on" : "-off"));
        if (r == 0) {
          System.out.printf(Locale.ROOT,
              "warm-up  monitoring=%-5s %.2f steps/s, peak RSS %s%n", monitoring, rate.whole(),
              mib(rate.peakRss()));
          continue;
        }
        (monitoring ? on : off).add(rate);
        System.out.printf(Locale.ROOT,
            "round %d  monitoring=%-5s %.2f steps/s (%.2f ms/step); after step %d: %.2f steps/s,"
            + " training thread %.2f ms of CPU per step; peak RSS %s%s%n         %s%n", r, monitoring, rate.whole(),
            1000 / rate.whole(), warmupSteps, rate.steady(), rate.trainingCpuPerStep(), mib(rate.peakRss()),
            monitoring ? "; analysed " + rate.coverage() : "", rate.cpu().describe());
      }
    }
    report("whole blocks", off.stream().map(Rate::whole).toList(), on.stream().map(Rate::whole).toList());
    report("after step " + warmupSteps, off.stream().map(Rate::steady).toList(),
        on.stream().map(Rate::steady).toList());
    System.out.println(stepSplit(warmupSteps, off, on));
    System.out.printf(Locale.ROOT, "peak RSS: median off %s, on %s (max heap %s)%n",
        mib((long) median(off.stream().map(r -> (double) r.peakRss()).toList())),
        mib((long) median(on.stream().map(r -> (double) r.peakRss()).toList())), mib(Runtime.getRuntime().maxMemory()));
    // what monitoring adds that competes with training: the analysis threads run at idle priority, so a slower block
    // shows as more CPU in roles of normal priority (JIT compilers, GC, other) or as training threads waiting
    System.out.printf(Locale.ROOT, "CPU per block, median off -> on: %s%n", CpuByRole.ROLES.stream()
        .map(role -> String.format(Locale.ROOT, "%s %.1f -> %.1f s", role,
            median(off.stream().map(r -> r.cpu().get(role)).toList()),
            median(on.stream().map(r -> r.cpu().get(role)).toList())))
        .reduce((a, b) -> a + ", " + b).orElse(""));
    // the overhead counts only together with the analysis it paid for (every analyzer's share of the snapshots)
    System.out.printf(Locale.ROOT,
        "analysed: least-covered analyzer per monitored block %s; median %.0f %%%n", on.stream()
        .map(r -> String.format(Locale.ROOT, "%.0f %%", 100 * r.leastCovered())).reduce((a, b) -> a + ", " + b)
        .orElse(""), 100 * median(on.stream().map(Rate::leastCovered).toList()));
    return 0;
  }

  private static void report(String what, List<Double> off, List<Double> on) {
    double mOff = median(off);
    double mOn = median(on);
    System.out.printf(Locale.ROOT,
        "%s: median steps/s off %.2f, on %.2f; ratio on/off = %.3f; added %.2f ms/step%n", what, mOff,
        mOn, mOn / mOff, 1000 / mOn - 1000 / mOff);
    // each round's two blocks run back to back, so their ratio is less exposed to the machine's drift
    List<Double> pairs = new ArrayList<>();
    for (int i = 0; i < on.size(); i++) {
      pairs.add(on.get(i) / off.get(i));
    }
    System.out.printf(Locale.ROOT, "%s: ratio of each round: %s; median %.3f%n", what, pairs.stream()
        .map(r -> String.format(Locale.ROOT, "%.3f", r)).reduce((a, b) -> a + ", " + b).orElse(""), median(pairs));
  }

  private Rate block(boolean monitoring, Path out, String runId) throws IOException, InterruptedException {
    if (node != null && node.awaitQuiet() < 0) {
      System.out.println("warning: the analysis node was still busy " + BenchAnalysisNode.QUIET_WAIT_SECONDS
          + " s after the last block; block " + runId + " starts beside it");
    }
    List<String> cmd = javaAndOptions();
    cmd.addAll(List.of("train", "--method", method, "--max-steps", Long.toString(steps), "--snapshot-every",
        Integer.toString(snapshotEvery), "--metrics-port", "0", "--out", out.toString(), "--run-id", runId));
    if (!monitoring) {
      cmd.add("--no-monitoring");
    }
    if (dataDir != null) {
      cmd.addAll(List.of("--data-dir", dataDir.toString()));
    }
    if (monitoring && analyzers != null) {
      cmd.addAll(List.of("--analyzers", analyzers));
    }
    if (monitoring && node != null) {
      cmd.addAll(List.of("--monitor", node.address()));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    running = p;
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int code = p.waitFor();
    Matcher m = DONE.matcher(output);
    if (code != 0 || !m.find()) {
      // the block's own error line where it printed one, not the advice after it
      throw new IllegalStateException("benchmark block " + runId + " failed (exit " + code + "): "
          + output.lines().filter(l -> l.startsWith("error: ")).findFirst()
              .orElseGet(() -> output.lines().reduce((a, b) -> b).orElse("")));
    }
    Path events = out.resolve(runId).resolve("events.jsonl");
    JsonNode finished = runFinished(events); // read once: peak memory, coverage and CPU all come from it
    Path metricsJsonl = out.resolve(runId).resolve("metrics.jsonl");
    return new Rate(Double.parseDouble(m.group(2)), rateAfter(metricsJsonl, warmupSteps),
        trainingCpuPerStepAfter(metricsJsonl, warmupSteps), peakResident(finished, events), coverage(finished),
        leastCovered(finished), cpu(finished));
  }

  /** The last {@code run_finished} event of a run's events.jsonl. */
  static JsonNode runFinished(Path eventsJsonl) throws IOException {
    JsonNode last = null;
    try (var lines = Files.lines(eventsJsonl)) {
      for (String line : (Iterable<String>) lines::iterator) {
        JsonNode j = JSON.readTree(line);
        if ("run_finished".equals(j.path("type").asText())) {
          last = j;
        }
      }
    }
    if (last == null) {
      throw new IllegalStateException(eventsJsonl + ": no run_finished event");
    }
    return last;
  }

  /** "regions 8/9, embedding 9/9, ..." from a run_finished event ({@code analysed_snapshots}); empty when none. */
  static String coverage(JsonNode finished) {
    List<String> parts = new ArrayList<>();
    finished.path("analysed_snapshots").fields().forEachRemaining(e -> parts.add(e.getKey() + " "
        + e.getValue().path("analysed").asLong() + "/" + e.getValue().path("offered").asLong()));
    return String.join(", ", parts);
  }

  /** The smallest analysed/offered fraction over the analyzers of a run_finished event; 1 when none was offered. */
  static double leastCovered(JsonNode finished) {
    double least = 1;
    for (JsonNode v : (Iterable<JsonNode>) () -> finished.path("analysed_snapshots").elements()) {
      long offered = v.path("offered").asLong();
      if (offered > 0) {
        least = Math.min(least, v.path("analysed").asLong() / (double) offered);
      }
    }
    return least;
  }

  /** The {@code cpu_seconds} of a run_finished event (all 0 when it has none). */
  static CpuByRole cpu(JsonNode finished) {
    Map<String, Double> seconds = new HashMap<>();
    finished.path("cpu_seconds").fields().forEachRemaining(e -> seconds.put(e.getKey(), e.getValue().asDouble()));
    return CpuByRole.fromEvent(seconds);
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Steps/s between the first training-step sample at or after {@code from} and the last one of a run's log. */
  static double rateAfter(Path metricsJsonl, long from) throws IOException {
    double[] span = firstAndLast(metricsJsonl, MetricFamily.TRAINING_STEP, from, j -> j.get("time").asLong());
    if (span == null || span[2] <= span[0] || span[3] <= span[1]) {
      throw new IllegalStateException(metricsJsonl + ": no training-step samples after step " + from);
    }
    return (span[2] - span[0]) / ((span[3] - span[1]) / 1000.0);
  }

  /**
   * The first sample of {@code family} at or after step {@code from} and the last of a run's log, as {@code {first
   * step, its value, last step, its value}}, the value read by {@code value}; null when there is none.
   */
  private static double[] firstAndLast(Path metricsJsonl, MetricFamily family, long from,
      ToDoubleFunction<JsonNode> value) throws IOException {
    double[] span = null;
    try (var lines = Files.lines(metricsJsonl)) {
      for (String line : (Iterable<String>) lines::iterator) {
        JsonNode j = JSON.readTree(line);
        if (!family.id().equals(j.path("name").asText())) {
          continue;
        }
        long step = j.get("step").asLong();
        if (step >= from && span == null) {
          span = new double[] {step, value.applyAsDouble(j), step, value.applyAsDouble(j)};
        }
        if (span != null && step > span[2]) {
          span[2] = step;
          span[3] = value.applyAsDouble(j);
        }
      }
    }
    return span;
  }

  /**
   * A step after the warm-up, medians off -> on, split into the training thread's own CPU and the rest of the step's
   * wall time (the thread waiting for a core, or for the augmentation thread's next batch): a monitored step that
   * takes longer with the same CPU waited; one whose CPU grew was slower to compute (caches and memory bandwidth
   * shared with the analysis, less optimised code while the JIT is busy).
   */
  static String stepSplit(long warmupSteps, List<Rate> off, List<Rate> on) {
    double wallOff = 1000 / median(off.stream().map(Rate::steady).toList());
    double wallOn = 1000 / median(on.stream().map(Rate::steady).toList());
    double cpuOff = median(off.stream().map(Rate::trainingCpuPerStep).toList());
    double cpuOn = median(on.stream().map(Rate::trainingCpuPerStep).toList());
    return String.format(Locale.ROOT, "a step after step %d, medians off -> on: wall %.2f -> %.2f ms, the training"
        + " thread's CPU %.2f -> %.2f ms, the rest of the step %.2f -> %.2f ms", warmupSteps, wallOff, wallOn, cpuOff,
        cpuOn, wallOff - cpuOff, wallOn - cpuOn);
  }

  /**
   * The training thread's CPU in ms per step ({@code splinewatch_training_thread_cpu_seconds_total}) between the first
   * sample at or after {@code from} and the last of a run's log; NaN when the log has fewer than two such samples (a
   * JVM that cannot measure thread CPU publishes none).
   */
  static double trainingCpuPerStepAfter(Path metricsJsonl, long from) throws IOException {
    double[] span = firstAndLast(metricsJsonl, MetricFamily.TRAINING_THREAD_CPU_SECONDS_TOTAL, from,
        j -> j.get("value").asDouble());
    return span == null || span[2] <= span[0] ? Double.NaN : 1000 * (span[3] - span[1]) / (span[2] - span[0]);
  }

  /** {@code resident_peak_bytes} of the last {@code run_finished} event of a run's events.jsonl. */
  static long peakResident(Path eventsJsonl) throws IOException {
    return peakResident(runFinished(eventsJsonl), eventsJsonl);
  }

  /** {@code resident_peak_bytes} of a {@code run_finished} event read from {@code eventsJsonl}. */
  static long peakResident(JsonNode finished, Path eventsJsonl) {
    if (!finished.has("resident_peak_bytes")) {
      throw new IllegalStateException(eventsJsonl + ": no run_finished event with resident_peak_bytes");
    }
    return finished.get("resident_peak_bytes").asLong();
  }

  static String mib(long bytes) {
    return String.format(Locale.ROOT, "%d MiB", Math.round(bytes / 1048576.0));
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
