package org.splinewatch.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Monitoring overhead: the same training (same seed, same data) with monitoring off and on, alternated in one
 * invocation, printing steps/s of each block, the ratio of medians and the median of the rounds' own ratios. Each
 * block is a fresh JVM running {@code train} with this JVM's options and classpath, as a user would run it, so that
 * one block's heap, JIT state or still-finishing analysis cannot slow the next.
 */
@Command(name = "bench-overhead", mixinStandardHelpOptions = true,
    description = "Measure monitoring overhead: training steps/s with analyzers off vs on, alternated.")
final class BenchOverheadCommand implements Callable<Integer> {
  private static final Pattern DONE = Pattern.compile("done: (\\d+) steps, ([0-9.]+) steps/s");

  @Option(names = "--method", description = "supervised, simclr, simsiam, byol or vicreg (default ${DEFAULT-VALUE})")
  String method = "simclr";
  @Option(names = "--steps", description = "steps per block (default ${DEFAULT-VALUE})")
  long steps = 600;
  @Option(names = "--rounds", description = "off/on pairs after a warm-up pair (default ${DEFAULT-VALUE})")
  int rounds = 3;
  @Option(names = "--snapshot-every", description = "default ${DEFAULT-VALUE}")
  int snapshotEvery = 100;
  @Option(names = "--data-dir", description = "IDX directory (else the npm-fetched cache)")
  Path dataDir;
  @Option(names = "--analyzers", description = "analyzers of the monitored blocks (default: all)")
  String analyzers;

  @Override
  public Integer call() throws IOException, InterruptedException {
    List<Double> off = new ArrayList<>();
    List<Double> on = new ArrayList<>();
    System.out.printf("bench-overhead: %s, %d steps per block, snapshot every %d, analyzers %s, %d cores%n", method,
        steps, snapshotEvery, analyzers == null ? "all" : analyzers, Runtime.getRuntime().availableProcessors());
    Path out = Files.createTempDirectory("splinewatch-bench");
    for (int r = 0; r <= rounds; r++) {
      for (boolean monitoring : new boolean[] {false, true}) {
        double rate = block(monitoring, out, "bench-" + r + (monitoring ? "-on" : "-off"));
        if (r == 0) {
          System.out.printf("warm-up  monitoring=%-5s %.2f steps/s%n", monitoring, rate);
          continue;
        }
        (monitoring ? on : off).add(rate);
        System.out.printf("round %d  monitoring=%-5s %.2f steps/s (%.2f ms/step)%n", r, monitoring, rate,
            1000 / rate);
      }
    }
    double mOff = median(off);
    double mOn = median(on);
    System.out.printf("median steps/s: off %.2f, on %.2f; ratio on/off = %.3f; added %.2f ms/step%n", mOff, mOn,
        mOn / mOff, 1000 / mOn - 1000 / mOff);
    // each round's two blocks run back to back, so their ratio is less exposed to the machine's drift
    List<Double> pairs = new ArrayList<>();
    for (int i = 0; i < on.size(); i++) {
      pairs.add(on.get(i) / off.get(i));
    }
    System.out.printf("ratio of each round: %s; median %.3f%n", pairs.stream().map(r -> String.format("%.3f", r))
        .reduce((a, b) -> a + ", " + b).orElse(""), median(pairs));
    return 0;
  }

  private double block(boolean monitoring, Path out, String runId) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
        "--method", method, "--max-steps", Long.toString(steps), "--snapshot-every", Integer.toString(snapshotEvery),
        "--metrics-port", "0", "--out", out.toString(), "--run-id", runId));
    if (!monitoring) {
      cmd.add("--no-monitoring");
    }
    if (dataDir != null) {
      cmd.addAll(List.of("--data-dir", dataDir.toString()));
    }
    if (analyzers != null) {
      cmd.addAll(List.of("--analyzers", analyzers));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    int code = p.waitFor();
    Matcher m = DONE.matcher(output);
    if (code != 0 || !m.find()) {
      throw new IllegalStateException("benchmark block " + runId + " failed (exit " + code + "): "
          + output.lines().reduce((a, b) -> b).orElse(""));
    }
    return Double.parseDouble(m.group(2));
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
