package org.splinewatch.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.splinewatch.monitor.EmbeddedRun;
import org.splinewatch.trainer.RunSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Monitoring overhead: the same training (same seed, same data) with monitoring off and on, alternated in one
 * process, printing steps/s of each block and the ratio of medians.
 */
@Command(name = "bench-overhead", mixinStandardHelpOptions = true,
    description = "Measure monitoring overhead: training steps/s with analyzers off vs on, alternated.")
final class BenchOverheadCommand implements Callable<Integer> {
  @Option(names = "--method", description = "supervised | simclr (default ${DEFAULT-VALUE})")
  String method = "simclr";
  @Option(names = "--steps", description = "steps per block (default ${DEFAULT-VALUE})")
  long steps = 600;
  @Option(names = "--rounds", description = "off/on pairs (default ${DEFAULT-VALUE})")
  int rounds = 3;
  @Option(names = "--snapshot-every", description = "default ${DEFAULT-VALUE}")
  int snapshotEvery = 100;
  @Option(names = "--data-dir", description = "IDX directory (else the npm-fetched cache)")
  java.nio.file.Path dataDir;

  @Override
  public Integer call() {
    List<Double> off = new ArrayList<>();
    List<Double> on = new ArrayList<>();
    System.out.printf("bench-overhead: %s, %d steps per block, snapshot every %d, %d cores%n", method, steps,
        snapshotEvery, Runtime.getRuntime().availableProcessors());
    for (int r = 0; r <= rounds; r++) {
      for (boolean monitoring : new boolean[] {false, true}) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("splinewatch.run.method", method);
        o.put("splinewatch.run.max-steps", steps);
        o.put("splinewatch.run.snapshot-every", snapshotEvery);
        o.put("splinewatch.run.monitoring", monitoring);
        o.put("splinewatch.metrics.port", 0);
        o.put("splinewatch.run.out", System.getProperty("java.io.tmpdir") + "/splinewatch-bench");
        o.put("splinewatch.run.run-id", "bench-" + r + (monitoring ? "-on" : "-off"));
        if (dataDir != null) {
          o.put("splinewatch.data.dir", dataDir.toString());
        }
        var config = TrainCommand.load(o, null);
        var result = EmbeddedRun.run(RunSettings.fromConfig(config), config, o,
            new java.io.PrintStream(java.io.OutputStream.nullOutputStream()), EmbeddedRun.defaultAnalyzers(),
            new EmbeddedRun.Listener() { });
        double rate = result.finished().stepsPerSecond();
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
    return 0;
  }

  static double median(List<Double> xs) {
    List<Double> s = new ArrayList<>(xs);
    s.sort(Double::compare);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
