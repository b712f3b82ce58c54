package org.splinewatch.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.regions.Partition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Region-engine benchmark: for each workload, the time per plane single-threaded, with two planes in parallel on two
 * threads (the workload's plane and the same plane with {@code u, v} swapped, which has the same partition mirrored),
 * and with one plane's vertex products split over two threads. Medians of {@code --repeat} runs after one warm-up,
 * measured side by side in one process; region counts printed beside the times.
 */
@Command(name = "bench-regions", mixinStandardHelpOptions = true,
    description = "Time the exact region engine on benchmark workloads: 1 thread, 2 planes on 2 threads, 1 plane on 2"
        + " threads.")
final class BenchRegionsCommand implements Callable<Integer> {
  @Parameters(arity = "0..*", paramLabel = "MODEL.npz",
      description = "workloads (default: every .npz in --dir, smallest first)")
  List<Path> models = new ArrayList<>();
  @Option(names = "--dir", description = "workload directory (default ${DEFAULT-VALUE})")
  Path dir = Path.of("../shared/benchmarks/regions");
  @Option(names = "--repeat", description = "timed repetitions per mode (default ${DEFAULT-VALUE})")
  int repeat = 3;

  @Override
  public Integer call() throws Exception {
    if (models.isEmpty()) {
      if (!Files.isDirectory(dir)) {
        System.err.println("error: workload directory " + dir + " not found; pass --dir DIR or MODEL.npz files");
        return 1;
      }
      try (Stream<Path> files = Files.list(dir)) {
        models = files.filter(f -> f.toString().endsWith(".npz")).sorted((a, b) -> Long.compare(size(a), size(b)))
            .toList();
      }
    }
    System.out.printf("bench-regions: %d cores, max heap %d MiB, median of %d after a warm-up%n",
        Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, repeat);
    System.out.printf("%-14s %8s %10s %16s %16s %9s %9s%n", "workload", "regions", "1 thread", "2 planes/2 thr",
        "1 plane/2 thr", "speedup2p", "speedup1p");
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (Path model : models) {
        NpzModel m;
        try {
          m = NpzModel.read(model);
        } catch (NpzModel.ModelFileException e) {
          System.err.println("error: " + e.getMessage());
          return 1;
        }
        NpzModel mirrored = m.withPlaneAxesSwapped();
        int regions = Partition.compute(m.net(), m.plane()).regionCount(); // warm-up
        double single = median(() -> Partition.compute(m.net(), m.plane()));
        double twoPlanes = median(() -> {
          var a = CompletableFuture.supplyAsync(() -> Partition.compute(m.net(), m.plane()), pool);
          var b = CompletableFuture.supplyAsync(() -> Partition.compute(mirrored.net(), mirrored.plane()), pool);
          if (a.join().regionCount() != b.join().regionCount()) {
            throw new IllegalStateException("mirrored plane has a different region count");
          }
        }) / 2;
        double rowSplit = median(() -> Partition.compute(m.net(), m.plane(), Partition.DEFAULT_MAX_REGIONS, pool, 2));
        System.out.printf("%-14s %8d %8.1f ms %13.1f ms %13.1f ms %8.2fx %8.2fx%n",
            model.getFileName().toString().replace(".npz", ""), regions, single * 1e3, twoPlanes * 1e3,
            rowSplit * 1e3, single / twoPlanes, single / rowSplit);
      }
    } finally {
      pool.shutdownNow();
    }
    System.out.println("2 planes/2 thr: wall time of two planes computed at once, divided by two (time per plane).");
    return 0;
  }

  private double median(Runnable r) {
    double[] t = new double[repeat];
    for (int i = 0; i < repeat; i++) {
      long t0 = System.nanoTime();
      r.run();
      t[i] = (System.nanoTime() - t0) / 1e9;
    }
    Arrays.sort(t);
    return t[repeat / 2];
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (java.io.IOException e) {
      return Long.MAX_VALUE;
    }
  }
}
