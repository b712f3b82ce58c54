package org.splinewatch.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.splinewatch.regions.DenseKernel;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Region-engine benchmark. For each workload: the first run in the process (cold: class loading and JIT compilation
 * included, reported on its own), then single-threaded runs until the time per plane is steady (the median of the
 * last {@value #WINDOW} runs differs by less than {@code --stable} from that of the {@value #WINDOW} before, after at
 * least {@code --min-warmup-seconds}; or {@code --max-warmup} runs or {@code --warmup-seconds} are spent, whichever
 * comes first; the table says which), then {@code --repeat}
 * timed runs per mode: one thread, two planes in parallel on two threads (the workload's plane and the same plane
 * with {@code u, v} swapped, which has the same partition mirrored), and one plane's vertex products split over two
 * threads. Medians, measured side by side in one process; region counts beside the times; the CPU model and core
 * count in the header. {@code --threads 1} measures the single-thread column only. {@code --scaling} times generated
 * networks of growing width and depth instead and fits the exponents of time and regions (docs/regions-engine.md).
 *
 * <p>Over 300 lines because it holds the warm-up rule, the cold and warm columns and the --scaling table of one
 * benchmark.
 */
@Command(name = "bench-regions", mixinStandardHelpOptions = true,
    description = "Time the exact region engine on benchmark workloads: first (cold) run, then warm steady state with"
        + " 1 thread, 2 planes on 2 threads, 1 plane on 2 threads.")
final class BenchRegionsCommand implements Callable<Integer> {
  /** Runs whose median is watched for steadiness. */
  static final int WINDOW = 5;
  /** The most timed runs of a mode: --repeat's bound, and where --measure-seconds stops repeating. */
  static final int MAX_RUNS = 1_000_000;
  /** The longest a seconds option may ask for: a day (Infinity used to be taken, lifting the time caps). */
  static final int MAX_SECONDS = 86_400;
  /** The widest hidden layer of --scaling: the default splinewatch.cluster.max-layer-width. */
  static final int MAX_WIDTH = 65_536;
  /** The deepest --scaling network: 63 dense layers and their ReLUs and the output layer fill 128 layers. */
  static final int MAX_DEPTH = 63;

  @Parameters(arity = "0..*", paramLabel = "MODEL.npz",
      description = "workloads: benchmark-format networks or region files, such as a run's"
          + " planes/plane-<k>-overflow.npz (default: every .npz in --dir, smallest first)")
  List<Path> models = new ArrayList<>();
  @Option(names = "--dir", description = "workload directory (default ${DEFAULT-VALUE}, from the working directory"
      + " or else from the repository's)")
  Path dir = Path.of("../shared/benchmarks/regions");
  @Option(names = "--repeat", description = "timed repetitions per mode after the warm-up, at least (default"
      + " ${DEFAULT-VALUE})")
  int repeat = 5;
  @Option(names = "--measure-seconds", description = "keep repeating a mode until this long has passed (short"
      + " workloads get more runs; default ${DEFAULT-VALUE})")
  double measureSeconds = 1;
  @Option(names = "--threads", description = "1: the single-thread column only; 2: also the two-thread columns"
      + " (default ${DEFAULT-VALUE})")
  int threads = 2;
  @Option(names = "--stable", description = "warm-up ends when the median of the last " + WINDOW + " runs differs by"
      + " less than this fraction from that of the " + WINDOW + " before (default ${DEFAULT-VALUE})")
  double stable = 0.02;
  @Option(names = "--max-warmup", description = "at most this many warm-up runs per workload (default ${DEFAULT-VALUE})")
  int maxWarmup = 1_000_000;
  @Option(names = "--warmup-seconds", description = "at most this long warming up per workload (default"
      + " ${DEFAULT-VALUE})")
  double warmupSeconds = 20;
  @Option(names = "--min-warmup-seconds", description = "warm up at least this long (default ${DEFAULT-VALUE})")
  double minWarmupSeconds = 2;
  @Option(names = "--scaling", description = "time generated networks (2 -> width^depth -> 10, one fixed plane)"
      + " across --widths and --depths and fit the exponents, instead of the workloads")
  boolean scaling;
  @Option(names = "--widths", split = ",", description = "widths for --scaling (default 32,64,128,256)")
  int[] widths = {32, 64, 128, 256};
  @Option(names = "--depths", split = ",", description = "depths for --scaling (default 1,2,3,4)")
  int[] depths = {1, 2, 3, 4};
  @Spec
  CommandSpec spec;

  /**
   * The first option out of range, with its value and what was expected; null when all are valid. (One line for all
   * of them, with exit code 1, named none; --widths and --depths of 0 failed in the middle of the table.)
   */
  String badOption() {
    String range = OptionRange.first(
        OptionRange.outside("--threads", threads, 1, 2, "1: the single-thread column only; 2: also the two-thread"
            + " columns"),
        OptionRange.outside("--repeat", repeat, 1, MAX_RUNS, "the fewest timed runs per mode; " + MAX_RUNS
            + " is the most a mode takes"),
        OptionRange.outside("--max-warmup", maxWarmup, WINDOW, MAX_RUNS, "warm-up runs per workload, at least the "
            + WINDOW + " whose median is watched"),
        OptionRange.above("--stable", stable, 0, 1, "the fraction by which two medians may differ"),
        OptionRange.above("--warmup-seconds", warmupSeconds, 0, MAX_SECONDS, "the longest warm-up, a day at most"),
        OptionRange.outside("--min-warmup-seconds", minWarmupSeconds, 0, MAX_SECONDS, "the shortest warm-up, a day"
            + " at most"),
        OptionRange.outside("--measure-seconds", measureSeconds, 0, MAX_SECONDS, "how long a mode is repeated, a"
            + " day at most"));
    if (range != null) {
      return range;
    }
    for (int w : widths) {
      String bad = OptionRange.outside("--widths", w, 1, MAX_WIDTH, "each a hidden width of the generated"
          + " network, no wider than the layers the analyzers take, splinewatch.cluster.max-layer-width");
      if (bad != null) {
        return bad.replaceFirst("^--widths " + w, "--widths " + list(widths) + ": width " + w);
      }
    }
    for (int d : depths) {
      String bad = OptionRange.outside("--depths", d, 1, MAX_DEPTH, "each a number of hidden layers, a dense layer"
          + " and a ReLU each: with the output layer at most a snapshot's 128 layers, splinewatch.ingest.max-layers");
      if (bad != null) {
        return bad.replaceFirst("^--depths " + d, "--depths " + list(depths) + ": depth " + d);
      }
    }
    if (widths.length == 0 || depths.length == 0) {
      return widths.length == 0 ? "--widths is empty; expected widths, e.g. 32,64" : "--depths is empty; expected"
          + " depths, e.g. 1,2";
    }
    return null;
  }

  /**
   * The first option that has no effect with the others, as the error line; null when none. The two forms of the
   * command (docs/regions-engine.md) take their own options: they were ignored without a word (--scaling with
   * MODEL.npz timed only generated networks; --dir with MODEL.npz did not find them in DIR).
   */
  String conflictingOption() {
    if (scaling) {
      if (!models.isEmpty()) {
        return "MODEL.npz " + models.get(0) + " is a workload, and --scaling times generated networks instead;"
            + " expected either --scaling or MODEL.npz files";
      }
      for (String name : List.of("--dir", "--threads")) {
        if (given(name)) {
          return name + " is for the workloads' table, which --scaling does not print (it times generated networks"
              + " on one thread); expected either --scaling or " + name;
        }
      }
    } else {
      for (String name : List.of("--widths", "--depths")) {
        if (given(name)) {
          return name + " sizes the generated networks of --scaling; expected --scaling " + name + " ..., or no "
              + name + " to time the workloads";
        }
      }
      if (given("--dir") && !models.isEmpty()) {
        return "--dir is where the workloads are found when no MODEL.npz is named, and MODEL.npz " + models.get(0)
            + " is named; expected either --dir DIR or MODEL.npz files (as paths, e.g. DIR/" + models.get(0)
            .getFileName() + ")";
      }
    }
    return null;
  }

  /** Whether {@code option} was on the command line (not only its default). */
  private boolean given(String option) {
    var parsed = spec.commandLine().getParseResult();
    return parsed != null && parsed.hasMatchedOption(option);
  }

  private static String list(int[] values) {
    return Arrays.toString(values).replaceAll("[\\[\\] ]", "");
  }

  @Override
  public Integer call() throws Exception {
    // Ctrl-C or SIGTERM: one line, exit 128 + the signal (the JVM's default said nothing); it writes no file
    try (AutoCloseable signals = org.splinewatch.run.SignalStop.exitWithLine(System.err, signal -> "interrupted by "
        + signal + " while " + doing + "; bench-regions writes no file")) {
      return bench();
    }
  }

  /** What {@link #doing} says while workload {@code k} (from 0) of {@code models} is timed. */
  private static String timing(List<Path> models, int k) {
    return "timing workload " + (k + 1) + " of " + models.size() + " (" + models.get(k) + "): the rows above are"
        + " complete, " + k + " of " + models.size();
  }

  /** What the benchmark is doing, and which of its rows are printed, for the line a signal prints. */
  private volatile String doing = "reading its options: no row printed";

  private Integer bench() throws Exception {
    // a path given as "" is the working directory: its .npz files were timed, or ": is a directory" named nothing
    Main.refuseEmptyPaths(spec.commandLine(), Main.emptyPath("--dir", dir, "a directory of .npz workloads"));
    Main.refuseEmptyPaths(spec.commandLine(), "MODEL.npz", models, "a .npz network file");
    String bad = badOption();
    if (bad == null) {
      bad = conflictingOption();
    }
    if (bad != null) { // bad arguments: exit 2 and the --help line, as everywhere (README: exit codes)
      throw new ParameterException(spec.commandLine(), bad);
    }
    if (scaling) {
      return scaling();
    }
    if (models.isEmpty()) {
      if (!given("--dir") && !Files.isDirectory(dir) && System.getProperty("splinewatch.root") != null) {
        // the default is the repository's sibling: from another working directory it named nothing there
        dir = Path.of(System.getProperty("splinewatch.root")).resolve(dir).normalize();
      }
      if (!Files.isDirectory(dir)) {
        throw new ParameterException(spec.commandLine(), "workload directory " + dir + (Files.exists(dir)
            ? " is a file; expected a directory of .npz workloads" : " not found") + "; pass --dir DIR or MODEL.npz"
            + " files");
      }
      try (Stream<Path> files = Files.list(dir)) {
        models = files.filter(f -> f.toString().endsWith(".npz")).sorted((a, b) -> Long.compare(size(a), size(b)))
            .toList();
      }
      if (models.isEmpty()) { // an empty table and exit 0 said nothing was wrong
        throw new ParameterException(spec.commandLine(), "workload directory " + dir + " holds no .npz files; pass"
            + " --dir DIR of .npz workloads or MODEL.npz files");
      }
    }
    for (Path model : models) { // every workload named before the first is timed
      String notAFile = MonitorCommand.Regions.modelFileProblem(model);
      if (notAFile != null) {
        throw new ParameterException(spec.commandLine(), notAFile);
      }
    }
    // every workload read before the header: a malformed file is one error line, not a table cut short
    List<MonitorCommand.Regions.Network> networks = new ArrayList<>();
    doing = "reading the workloads: no row printed";
    for (Path model : models) { // the benchmark format or a region file (a live plane's network)
      int code = MonitorCommand.Regions.Network.readInto(model, networks);
      if (code != 0) {
        return code;
      }
    }
    // from the header on the line names the first workload: a signal between the header and the loop read as
    // "reading the workloads" (MonitorInterruptTest waits for the header)
    doing = timing(models, 0);
    header();
    if (threads == 1) {
      System.out.printf(Locale.ROOT, "%-14s %8s %11s %11s %13s%n", "workload", "regions", "first run", "1 thread",
          "warm-up");
    } else {
      System.out.printf(Locale.ROOT, "%-14s %8s %11s %11s %13s %15s %15s %9s %9s%n", "workload", "regions",
          "first run", "1 thread", "warm-up", "2 planes/2 thr", "1 plane/2 thr", "speedup2p", "speedup1p");
    }
    ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(2) : null;
    try {
      for (int k = 0; k < models.size(); k++) {
        Path model = models.get(k);
        doing = timing(models, k);
        MonitorCommand.Regions.Network m = networks.get(k);
        String name = model.getFileName().toString().replace(".npz", "");
        HeapRoom room = HeapRoom.now();
        // the first run's arrays, counting all a plane holds (its result's copies too), may take what the heap has
        // free: a plane beyond it stops there (overflow), not in an OutOfMemoryError
        Partition.Workspace ws = Partition.Workspace.countingAll(room.forOnePlane());
        long t0 = System.nanoTime();
        int regions;
        String shown; // the count, marked as a lower bound when the partition stopped at its cap
        try {
          Partition p = Partition.compute(m.net(), m.plane(), Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
          regions = p.regionCount();
          shown = countColumn(p);
          if (p.overflow() && regions <= Partition.DEFAULT_MAX_REGIONS) { // the memory, not the region cap
            System.err.println(room.firstRunOverflow(model, m.description(), regions, p.overflowAtPatternArray()));
            return 1;
          }
          if (p.overflow()) {
            System.err.println("warning: " + model + ": stopped at " + regions + " regions (overflow: the region"
                + " cap or the memory budget); its count is a lower bound and its times are of the incomplete"
                + " partition; ./monitor regions --tiled counts it exactly");
          }
          String merged = m.mergedWarning(model, p.mergedByTolerance(), p.mergedLayer());
          if (merged != null) { // its count is low: timed all the same, as a plane the engine computes
            System.err.println("warning: " + merged);
          }
        } catch (OutOfMemoryError e) {
          // a workload too wide for the heap: one line, not a stack trace, and nothing to time
          System.err.println(MonitorCommand.Regions.outOfMemory(model, m.description(), "a workload that fits the heap"
              + " (SPLINEWATCH_HEAP)"));
          return 1;
        }
        double first = (System.nanoTime() - t0) / 1e9;
        String mode = "the single-thread runs"; // which timed runs ran out of memory, for the error line
        Warmup w = null;
        double single = Double.NaN;
        try {
          int firstCount = regions;
          Runnable one = () -> {
            // in the first run's workspace, whose budget it fitted (capacity kept from it is dropped where needed)
            if (Partition.compute(m.net(), m.plane(), Partition.DEFAULT_MAX_REGIONS, null, 1, ws).regionCount()
                != firstCount) {
              throw new IllegalStateException("a timed run counted other regions than the first run");
            }
          };
          w = warmUp(one);
          single = median(one);
          if (pool == null) {
            System.out.printf(Locale.ROOT, "%-14s %8s %8.3f ms %8.3f ms %13s%n", name, shown, first * 1e3,
                single * 1e3, w);
            continue;
          }
          mode = "two planes at once on two threads, each in its own workspace: one plane at a time fitted";
          // up front, by the single-thread runs' peak (a workspace's count grows a little from its first run: the
          // capacity it keeps), not by an OutOfMemoryError in the middle of them
          String two = room.refusal(model, m.description() + ", " + shown + " regions", "two planes at once on two"
              + " threads", 2, ws.peakBytes(), ", or --threads 1 (one plane at a time)");
          if (two != null) { // refused before it runs out of memory: the single-thread columns are kept
            printWithoutTwoThreads(name, shown, first, single, w);
            System.err.println(two);
            return 1;
          }
          Plane mirrored = m.plane().withAxesSwapped();
          Partition.Workspace ws2 = new Partition.Workspace();
          double twoPlanes = median(() -> {
            var a = CompletableFuture.supplyAsync(
                () -> Partition.compute(m.net(), m.plane(), Partition.DEFAULT_MAX_REGIONS, null, 1, ws), pool);
            var b = CompletableFuture.supplyAsync(() -> Partition.compute(m.net(), mirrored,
                Partition.DEFAULT_MAX_REGIONS, null, 1, ws2), pool);
            if (a.join().regionCount() != b.join().regionCount()) {
              throw new IllegalStateException("mirrored plane has a different region count");
            }
          }) / 2;
          mode = "one plane on two threads";
          double rowSplit = median(
              () -> Partition.compute(m.net(), m.plane(), Partition.DEFAULT_MAX_REGIONS, pool, 2, ws));
          System.out.printf(Locale.ROOT, "%-14s %8s %8.3f ms %8.3f ms %13s %12.3f ms %12.3f ms %8.2fx %8.2fx%n",
              name, shown, first * 1e3, single * 1e3, w, twoPlanes * 1e3, rowSplit * 1e3, single / twoPlanes,
              single / rowSplit);
        } catch (OutOfMemoryError | java.util.concurrent.CompletionException e) {
          // after the first run fitted: one line, not a stack trace (a pool thread's error comes wrapped; the table's
          // two-thread columns hold two planes' arrays at once)
          if (!(e instanceof OutOfMemoryError) && !(e.getCause() instanceof OutOfMemoryError)) {
            throw e;
          }
          if (w != null && !Double.isNaN(single)) { // what was measured is kept: the two-thread columns left empty
            printWithoutTwoThreads(name, shown, first, single, w);
          }
          System.err.println(MonitorCommand.Regions.outOfMemory(model, m.description() + ", " + shown + " regions, in "
              + mode, "a larger SPLINEWATCH_HEAP" + (w != null ? ", or --threads 1 (one plane at a time)" : "")
              + "; the rows above are complete"));
          return 1;
        }
      }
    } finally {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
    System.out.println("first run: the workload's first computation in this process (the first workload's includes"
        + " class loading and JIT compilation).");
    System.out.println("1 thread: median of ≥ " + repeat + " runs (≥ " + measureSeconds + " s) after the warm-up; warm-up: runs until the median of"
        + " the last " + WINDOW + " was within " + fmtPercent(stable) + " of the " + WINDOW + " before (steady), or"
        + " the cap (capped).");
    if (pool != null) {
      System.out.println("2 planes/2 thr: wall time of two planes computed at once, divided by two (time per plane).");
    }
    return 0;
  }

  /** A row whose two-thread columns were not measured (refused up front, or out of memory): "-" in each. */
  private static void printWithoutTwoThreads(String name, String shown, double first, double single, Warmup w) {
    System.out.printf(Locale.ROOT, "%-14s %8s %8.3f ms %8.3f ms %13s %15s %15s %9s %9s%n", name, shown, first * 1e3,
        single * 1e3, w, "-", "-", "-", "-");
  }

  /**
   * What the heap has room for, measured before a workload's first run: its maximum, what is in use (after a
   * collection: the workloads' networks, the JVM's own) and the working room G1 needs beside the live arrays, two of
   * its regions (32 MiB each with the launchers), at least 32 MiB. What one plane holds is the count of a workspace
   * that counts all ({@link Partition.Workspace#countingAll}: the engine's arrays, its result's copies, the edge map).
   * Measured with the launchers' G1 regions (session 57, docs/regions-engine.md): mlp-m-wide, 97.5 MiB a plane by that
   * count, ran one plane at a time in 190 MiB and not 188, two at once in 278 and not 275; this asks for about 200 and
   * 303 MiB.
   */
  record HeapRoom(long max, long inUse, long working) {
    static HeapRoom now() {
      Runtime rt = Runtime.getRuntime();
      System.gc(); // the previous workload's arrays
      long inUse = rt.totalMemory() - rt.freeMemory();
      long region = org.splinewatch.trainer.NetworkFootprint.Limits.g1Region();
      return new HeapRoom(rt.maxMemory(), inUse, Math.max(32L << 20, 2 * region));
    }

    /** The engine's arrays' budget for the first run: what is free less G1's working room (at least 1 MiB). */
    long forOnePlane() {
      return Math.max(1L << 20, max - inUse - working);
    }

    /** The heap {@code planes} planes of {@code planeBytes} at once need. */
    long needed(int planes, long planeBytes) {
      return inUse + planes * planeBytes + working;
    }

    /**
     * The one line refusing {@code mode} ({@code planes} planes at once) of a workload whose plane holds
     * {@code planeBytes} when the heap has no room for it; null when it has.
     */
    String refusal(Path model, String network, String mode, int planes, long planeBytes, String otherwise) {
      long needed = needed(planes, planeBytes);
      if (needed <= max) {
        return null;
      }
      long suggest = (needed + (32L << 20) - 1) / (32L << 20) * 32; // MiB, a multiple of the launchers' G1 regions
      return String.format(Locale.ROOT, "error: %s (%s): %s need about %d MiB of heap (%d planes of %.1f MiB"
          + " each, the engine's arrays and its result's copies; %d MiB in use before them; %d MiB of working room"
          + " for the collector), more than the %d MiB heap; expected SPLINEWATCH_HEAP=%dm or more (-Xmx with"
          + " java)%s; the rows above are complete", model, network, mode, needed >> 20, planes,
          planeBytes / 1048576.0, inUse >> 20, working >> 20, max >> 20, suggest, otherwise);
    }

    /** The one line for a first run that stopped at the memory it was given ({@link #forOnePlane}). */
    String firstRunOverflow(Path model, String network, int regions, boolean patternArray) {
      if (patternArray) {
        return String.format(Locale.ROOT, "error: %s (%s): its regions' patterns, one array of a bit per hidden neuron"
            + " for each region, outgrew the largest the engine takes in the %d MiB heap (a sixteenth of it) at %d"
            + " regions, where the partition stopped; expected a SPLINEWATCH_HEAP larger than %dm (-Xmx with java),"
            + " or ./monitor regions --tiled to count it in tiles; the rows above are complete", model, network,
            max >> 20, regions, max >> 20);
      }
      return String.format(Locale.ROOT, "error: %s (%s): the engine's arrays outgrew the %d MiB the heap has room for"
          + " (the %d MiB heap less %d MiB in use and %d MiB of working room for the collector) at %d regions, where"
          + " the partition stopped; expected a SPLINEWATCH_HEAP larger than %dm (-Xmx with java), or ./monitor"
          + " regions --tiled to count it in tiles; the rows above are complete", model, network,
          forOnePlane() >> 20, max >> 20, inUse >> 20, working >> 20, regions, max >> 20);
    }
  }

  private void header() {
    System.out.printf(Locale.ROOT, "bench-regions: %s, %d cores, max heap %d MiB, Java %s, dense product %s;"
        + " times are medians%n", cpuModel(), Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20, System.getProperty("java.version"), DenseKernel.selectedName());
  }

  /** Warm-up result: runs spent and whether the time was steady. */
  record Warmup(int runs, boolean steady) {
    @Override
    public String toString() {
      return runs + (steady ? " steady" : " capped");
    }
  }

  /**
   * Runs {@code r} until the median of the last {@link #WINDOW} run times differs by less than {@link #stable}
   * (relative) from the median of the {@link #WINDOW} runs before them, and at least {@code --min-warmup-seconds}
   * have passed (JIT compilation of the hot loops takes a while even when each run is short), or until the run or
   * time cap.
   */
  Warmup warmUp(Runnable r) {
    List<Double> times = new ArrayList<>();
    long start = System.nanoTime();
    while (times.size() < maxWarmup) {
      long t0 = System.nanoTime();
      r.run();
      times.add((System.nanoTime() - t0) / 1e9);
      int n = times.size();
      double elapsed = (System.nanoTime() - start) / 1e9;
      if (n >= 2 * WINDOW && elapsed >= Math.min(minWarmupSeconds, warmupSeconds)) {
        double last = medianOf(times.subList(n - WINDOW, n));
        double before = medianOf(times.subList(n - 2 * WINDOW, n - WINDOW));
        if (Math.abs(last - before) < stable * before) {
          return new Warmup(n, true);
        }
      }
      if (elapsed > warmupSeconds && n >= WINDOW) {
        break;
      }
    }
    return new Warmup(times.size(), false);
  }

  private double median(Runnable r) {
    List<Double> t = new ArrayList<>();
    long start = System.nanoTime();
    while (t.size() < repeat || ((System.nanoTime() - start) / 1e9 < measureSeconds && t.size() < MAX_RUNS)) {
      long t0 = System.nanoTime();
      r.run();
      t.add((System.nanoTime() - t0) / 1e9);
    }
    return medianOf(t);
  }

  static double medianOf(List<Double> values) {
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  /**
   * Time per plane of generated networks {@code 2 → width × depth → 10} (He weights, biases N(0, 0.01), fixed seed)
   * on the plane {@code [−1,1]²}, and least-squares exponents of time and regions against width (at each depth) and
   * against depth (at each width).
   */
  private int scaling() {
    header();
    System.out.printf(Locale.ROOT, "%-7s %-7s %9s %12s %13s%n", "width", "depth", "regions", "1 thread", "warm-up");
    double[][] time = new double[widths.length][depths.length];
    double[][] regs = new double[widths.length][depths.length];
    for (int wi = 0; wi < widths.length; wi++) {
      for (int di = 0; di < depths.length; di++) {
        int row = wi * depths.length + di;
        doing = "timing width " + widths[wi] + " at depth " + depths[di] + ": the rows above are complete, " + row
            + " of " + widths.length * depths.length;
        Warmup w;
        try {
          PiecewiseLinearNet net = generated(widths[wi], depths[di], 7L * widths[wi] + depths[di]);
          Plane plane = Plane.explicit(new double[] {0, 0}, new double[] {1, 0}, new double[] {0, 1});
          Partition.Workspace ws = new Partition.Workspace();
          regs[wi][di] = Partition.compute(net, plane).regionCount();
          Runnable one = () -> Partition.compute(net, plane, Partition.DEFAULT_MAX_REGIONS, null, 1, ws);
          w = warmUp(one);
          time[wi][di] = median(one);
        } catch (OutOfMemoryError e) {
          // a generated network too wide for the heap: one line, not a stack trace
          System.err.println("error: bench-regions --scaling: width " + widths[wi] + " at depth " + depths[di]
              + " does not fit the heap (" + e.getMessage() + "); expected widths that fit it, or a larger"
              + " SPLINEWATCH_HEAP");
          return 1;
        }
        System.out.printf(Locale.ROOT, "%-7d %-7d %9d %9.3f ms %13s%n", widths[wi], depths[di], (int) regs[wi][di],
            time[wi][di] * 1e3, w);
      }
    }
    System.out.println("fitted exponents (least squares on logs):");
    for (int di = 0; di < depths.length && widths.length > 1; di++) {
      int d = di;
      System.out.printf(Locale.ROOT, "  depth %d: time ∝ width^%.2f, regions ∝ width^%.2f%n", depths[di],
          slope(widths, wi -> time[wi][d]), slope(widths, wi -> regs[wi][d]));
    }
    for (int wi = 0; wi < widths.length && depths.length > 1; wi++) {
      double[] t = time[wi];
      double[] r = regs[wi];
      System.out.printf(Locale.ROOT, "  width %d: time ∝ depth^%.2f, regions ∝ depth^%.2f%n", widths[wi],
          slope(depths, di -> t[di]), slope(depths, di -> r[di]));
    }
    System.out.println("expected for a fixed input plane: regions ∝ neurons² (width² at fixed depth, depth² at fixed"
        + " width); time ∝ regions × width (split passes) plus regions × width² (vertex products).");
    return 0;
  }

  /** Least-squares slope of {@code log y} against {@code log x}. */
  static double slope(int[] x, IntFunction<Double> y) {
    int n = x.length;
    double sx = 0;
    double sy = 0;
    double sxx = 0;
    double sxy = 0;
    for (int i = 0; i < n; i++) {
      double lx = Math.log(x[i]);
      double ly = Math.log(Math.max(1e-12, y.apply(i)));
      sx += lx;
      sy += ly;
      sxx += lx * lx;
      sxy += lx * ly;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }

  /** {@code 2 → width × depth → 10} with He-normal weights and N(0, 0.01) biases drawn from {@code seed}. */
  static PiecewiseLinearNet generated(int width, int depth, long seed) {
    java.util.Random r = new java.util.Random(seed);
    List<Layer> layers = new ArrayList<>();
    int in = 2;
    for (int l = 0; l <= depth; l++) {
      int out = l == depth ? 10 : width;
      float[] w = new float[in * out];
      float[] b = new float[out];
      double sd = Math.sqrt(2.0 / in);
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (r.nextGaussian() * sd);
      }
      for (int i = 0; i < b.length; i++) {
        b[i] = (float) (r.nextGaussian() * 0.01);
      }
      layers.add(new Layer.Dense(in, out, w, b));
      if (l < depth) {
        layers.add(Layer.Activation.relu());
      }
      in = out;
    }
    return new PiecewiseLinearNet(2, layers);
  }

  /** The CPU model from {@code /proc/cpuinfo}, else the architecture. */
  static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
          .findFirst().orElse(System.getProperty("os.arch"));
    } catch (IOException | RuntimeException e) {
      return System.getProperty("os.arch");
    }
  }

  private static String fmtPercent(double f) {
    return String.format(Locale.ROOT, "%.3g %%", f * 100);
  }

  private static long size(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The regions column of a workload: its count, as {@code >=N} when the partition stopped (overflow) at N. */
  static String countColumn(Partition p) {
    return (p.overflow() ? ">=" : "") + p.regionCount();
  }
}
