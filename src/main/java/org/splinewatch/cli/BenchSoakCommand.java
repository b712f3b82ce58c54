package org.splinewatch.cli;

import com.typesafe.config.ConfigRenderOptions;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.Idx;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.RunSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A soak run: a long supervised run on small generated data with a short snapshot interval, every analyzer on, in
 * this JVM, sampled every {@code --every} seconds for heap used (after a GC), open file descriptors, files and bytes
 * in the run directory and the size of {@code /metrics}, from the run's start to its end (training and analyses
 * over; not its report and shutdown). At the end it prints how much each grew over the second half of the run against
 * the first: a bounded run levels off (docs/durability.md).
 */
@Command(name = "bench-soak", mixinStandardHelpOptions = true,
    description = "Soak: a long run with a short snapshot interval, printing heap, file descriptors, run directory "
        + "and /metrics size over time.")
final class BenchSoakCommand implements Callable<Integer> {
  @Option(names = "--steps", description = "training steps, 100 to 10000000 (default ${DEFAULT-VALUE})")
  long steps = 20_000;
  @Option(names = "--snapshot-every", description = "steps between weight snapshots, 1 to half of --steps"
      + " (default ${DEFAULT-VALUE})")
  int snapshotEvery = 10;
  @Option(names = "--every", description = "seconds between samples, 1 to 3600 (default ${DEFAULT-VALUE})")
  int every = 10;
  @Option(names = "--out", description = "a new or empty directory for the data and the run (default: a temporary"
      + " directory, removed at the end)")
  Path out;
  @Option(names = "--config", description = "HOCON overriding splinewatch keys (e.g. splinewatch.retention)")
  File config;

  /** One sample of the process and its run directory. */
  record Point(double seconds, long heapBytes, long fds, long files, long bytes, long metricsBytes) {
  }

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    // "" is the working directory: --out was refused as not empty, --config as "config file  not found"
    Main.refuseEmptyPaths(spec.commandLine(),
        Main.emptyPath("--out", out, "a new or empty directory for the soak's data and run, e.g. soak"),
        Main.emptyPath("--config", config, "a HOCON file"));
    String outOfRange = outOfRange();
    if (outOfRange != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), outOfRange);
    }
    if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + out
          + " is a file; expected a directory (the parent of the soak run's files)");
    }
    String unmakeable = out == null ? null : Main.directoryToMakeProblem(out);
    if (unmakeable != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + unmakeable + "; expected a new"
          + " or empty directory (made when missing)");
    }
    if (out != null && Files.isDirectory(out) && !empty(out)) {
      // an earlier soak's run directory would be refused only after the data set is written
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + out + " exists and is not"
          + " empty; expected a new or empty directory (the soak writes soak-data/ and runs/soak/ there)");
    }
    try {
      TrainCommand.load(Map.of(), config); // a --config that cannot be read: exit 2 before anything is written
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    String setBySoak = setBySoak(config, System.getProperties());
    if (setBySoak != null) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), setBySoak);
    }
    if (out == null) { // nothing to look at after the printed table: the temporary directory goes
      try (TemporaryDirectory temporary = new TemporaryDirectory("splinewatch-soak")) {
        return soak(temporary.path());
      } finally {
        System.out.println("the soak's files were in a temporary directory, now removed (give --out DIR to keep"
            + " them)");
      }
    }
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + out + ": cannot make the"
          + " directory (" + IoErrors.reason(e) + "); expected a directory this user can write");
    }
    if (!Files.isWritable(out)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + out + ": cannot write in it"
          + " (read-only or not this user's); expected a directory this user can write");
    }
    return soak(out);
  }

  /**
   * The settings the soak makes itself (its run, data and port), which win over a --config file's: a file that set
   * one, e.g. {@code splinewatch.run.hidden} for a larger network, was ignored without a word. {@code epochs} too: the
   * soak's max-steps wins over it.
   */
  static final List<String> SET_BY_SOAK = List.of("splinewatch.run.method", "splinewatch.run.dataset",
      "splinewatch.data.dir", "splinewatch.run.max-steps", "splinewatch.run.epochs", "splinewatch.run.batch-size",
      "splinewatch.run.hidden", "splinewatch.run.snapshot-every", "splinewatch.run.probe-size",
      "splinewatch.run.run-id", "splinewatch.run.out", "splinewatch.metrics.port");

  /**
   * Why {@code config}, the {@code -Dconfig.file} of {@code properties} or a {@code -Dsplinewatch.KEY} property in
   * them cannot be used because it sets one of {@link #SET_BY_SOAK} (they lost to the soak's values without a word
   * too), as the error line; or null.
   */
  static String setBySoak(File config, java.util.Properties properties) {
    java.util.Map<String, File> files = new java.util.LinkedHashMap<>();
    if (config != null) {
      files.put("config file " + config, config);
    }
    File property = TrainCommand.configFileProperty(properties);
    if (property != null) {
      files.put("config file " + property + " (-Dconfig.file)", property);
    }
    for (String key : SET_BY_SOAK) {
      for (var f : files.entrySet()) {
        if (com.typesafe.config.ConfigFactory.parseFile(f.getValue()).hasPath(key)) {
          return f.getKey() + " sets " + key + SOAK_SETS;
        }
      }
      if (properties.getProperty(key) != null) {
        return "the system property -D" + key + " (JAVA_OPTS) sets " + key + SOAK_SETS;
      }
    }
    return null;
  }

  private static final String SOAK_SETS = ", which bench-soak sets itself (a supervised 784-32-32-10 MLP, batch 32, on"
      + " generated data; --steps and --snapshot-every for the run's length and snapshot interval); expected other"
      + " keys, e.g. splinewatch.retention";

  /** The most steps a soak takes: days at the 20 to 200 steps/s measured (docs/durability.md). */
  static final long MAX_STEPS = 10_000_000;
  /** The longest sampling interval, in seconds. */
  static final int MAX_EVERY = 3600;

  /** The first option out of its range, with its value and the range; null when all are in range. */
  String outOfRange() {
    return OptionRange.first(
        OptionRange.outside("--steps", steps, 100, MAX_STEPS, "the soak's training steps; " + MAX_STEPS
            + " take days at the rates measured"),
        OptionRange.outside("--snapshot-every", snapshotEvery, 1, Math.max(1, steps / 2), "half of --steps at most:"
            + " a snapshot in each half of the run"),
        OptionRange.outside("--every", every, 1, MAX_EVERY, "seconds between samples, an hour at most"));
  }

  private int soak(Path parent) throws IOException {
    Path data = parent.resolve("soak-data");
    writeData(data);
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("splinewatch.run.method", "supervised");
    o.put("splinewatch.data.dir", data.toString());
    o.put("splinewatch.run.max-steps", steps);
    o.put("splinewatch.run.batch-size", 32);
    o.put("splinewatch.run.hidden", List.of(32, 32));
    o.put("splinewatch.run.snapshot-every", snapshotEvery);
    o.put("splinewatch.run.probe-size", 200);
    o.put("splinewatch.run.run-id", "soak");
    o.put("splinewatch.run.out", parent.resolve("runs").toString());
    o.put("splinewatch.metrics.port", freePort()); // the soak measures /metrics
    var conf = TrainCommand.load(o, config);
    RunSettings settings = RunSettings.fromConfig(conf);
    Path runDir = settings.out().resolve("soak");
    System.out.printf(Locale.ROOT,
        "bench-soak: %d steps, snapshot every %d, all analyzers, %d cores, max heap %d MiB; run "
        + "directory %s%n", steps, snapshotEvery, Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20, runDir);
    System.out.printf(Locale.ROOT, "retention: %s%n", conf.getConfig("splinewatch.retention").root().render(
        ConfigRenderOptions.concise()));
    System.out.println("   time  heap MiB   fds  files  run-dir MiB  /metrics KiB   (time from the run's start; -:"
        + " not measured)");
    Samples points = new Samples();
    HttpClient http = HttpClient.newHttpClient();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "soak-sampler");
      t.setDaemon(true);
      return t;
    });
    String url = BrowsableUrl.base(settings.metricsHost(), settings.metricsPort()) + "/metrics";
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    long[] t0 = {System.nanoTime()};
    // sampled from the run's start (its first sample is the baseline), not from this JVM's: the start-up before it
    // (data set, actor system) counted as growth in the first half; and up to the run's end, not the report and
    // shutdown after it: a sample taken then measured a finished run (its /metrics gone, its files closed)
    EmbeddedRun.Listener sampling = new EmbeddedRun.Listener() {
      @Override
      public void started(Path dir, int metricsPort, ActorRef<TrainerActor.Command> trainer) {
        t0[0] = System.nanoTime();
        sampler.scheduleAtFixedRate(() -> {
          Point p = measure((System.nanoTime() - t0[0]) / 1e9, runDir, http, url);
          points.add(p, () -> System.out.println(sampleLine(p)));
        }, 0, every, TimeUnit.SECONDS);
      }

      @Override
      public void ended() {
        double at = (System.nanoTime() - t0[0]) / 1e9;
        points.end(() -> System.out.printf(Locale.ROOT, "%6.0fs  the run ended (its training and analyses): no"
            + " samples of its report and shutdown%n", at));
        sampler.shutdown();
      }
    };
    CompletableFuture<EmbeddedRun.Result> run = CompletableFuture.supplyAsync(() -> EmbeddedRun.run(settings, conf, o,
        quiet, EmbeddedRun.defaultAnalyzers(conf), sampling));
    EmbeddedRun.Result result = run.join();
    sampler.shutdownNow();
    if (result.finished() == null) { // a signal during the start-up: the run's own line went to the quiet stream
      System.out.println("interrupted before training started (exit code " + result.exitCode() + "): nothing was"
          + " written");
      return result.exitCode();
    }
    boolean partial = result.finished().steps() < steps;
    int code = result.exitCode();
    System.out.printf(Locale.ROOT,
        "run ended with exit code %d%s after %d of %d steps (%.1f steps/s)%n", code, how(code),
        result.finished().steps(), steps, result.finished().stepsPerSecond());
    List<Point> ps = points.all();
    if (ps.size() < 4) {
      System.out.println("too few samples to judge growth; lower --every or raise --steps");
      return result.exitCode();
    }
    System.out.print(growth(ps, partial ? "partial: the run ended at step " + result.finished().steps() + " of "
        + steps : null));
    return result.exitCode();
  }

  /** What an exit code of the run means, for its end line: " (interrupted: SIGINT)"; "" for 0. */
  static String how(int code) {
    return switch (code) {
      case 3 -> " (stopped early)";
      case 1 -> " (failed)";
      default -> org.splinewatch.run.SignalStop.signalOf(code).map(s -> " (interrupted: " + s + ")").orElse("");
    };
  }

  /**
   * The samples of a run while it is active: none once it has {@link #end ended}, also none whose measurement was
   * still under way then (it measured part of a finished run). Thread-safe.
   */
  static final class Samples {
    private final List<Point> points = new ArrayList<>();
    private boolean ended;

    /** Keeps {@code p} and runs {@code then} (its table row), unless the run has ended; whether it was kept. */
    synchronized boolean add(Point p, Runnable then) {
      if (ended) {
        return false;
      }
      points.add(p);
      then.run();
      return true;
    }

    /** The run ended: no sample is kept after this; {@code then} runs once, in order with the rows. */
    synchronized void end(Runnable then) {
      if (!ended) {
        ended = true;
        then.run();
      }
    }

    synchronized List<Point> all() {
      return List.copyOf(points);
    }
  }

  /** One row of the sample table; a quantity that could not be measured (-1) is {@code -}. */
  static String sampleLine(Point p) {
    return String.format(Locale.ROOT, "%6.0fs %9.1f %5s %6d %12.2f %13s", p.seconds(), p.heapBytes() / 1048576.0,
        p.fds() < 0 ? "-" : Long.toString(p.fds()), p.files(), p.bytes() / 1048576.0,
        p.metricsBytes() < 0 ? "-" : String.format(Locale.ROOT, "%.1f", p.metricsBytes() / 1024.0));
  }

  /**
   * The growth table: per quantity, its growth per minute over the first and the second half of the samples where it
   * was measured ({@code -} with fewer than 3 of them). {@code partial}: why the run is not whole (null: it is).
   */
  static String growth(List<Point> ps, String partial) {
    StringBuilder sb = new StringBuilder(partial == null ? "" : "growth over a partial run (" + partial
        + "): the halves are of the part that ran\n");
    sb.append("growth per minute      first half   second half\n");
    sb.append(row("heap MiB", ps, Point::heapBytes, 1048576.0));
    sb.append(row("open fds", ps, Point::fds, 1));
    sb.append(row("files", ps, Point::files, 1));
    sb.append(row("run-dir MiB", ps, Point::bytes, 1048576.0));
    sb.append(row("/metrics KiB", ps, Point::metricsBytes, 1024.0));
    return sb.toString();
  }

  private static String row(String name, List<Point> all, ToLongFunction<Point> f, double unit) {
    List<Point> ps = all.stream().filter(p -> f.applyAsLong(p) >= 0).toList();
    if (ps.size() < 3) {
      return String.format(Locale.ROOT, "%-20s %12s %13s%n", name, "-", "-");
    }
    Point a = ps.get(0);
    Point m = ps.get(ps.size() / 2);
    Point z = ps.get(ps.size() - 1);
    return String.format(Locale.ROOT, "%-20s %12s %13s%n", name, perMinute(a, m, f, unit), perMinute(m, z, f, unit));
  }

  /** Growth per minute from {@code a} to {@code b}, to two decimals; a value that rounds to zero is 0.00, not -0.00. */
  private static String perMinute(Point a, Point b, ToLongFunction<Point> f, double unit) {
    double minutes = (b.seconds() - a.seconds()) / 60;
    if (minutes <= 0) {
      return "-";
    }
    double v = (f.applyAsLong(b) - f.applyAsLong(a)) / unit / minutes;
    String s = String.format(Locale.ROOT, "%.2f", v);
    return s.equals("-0.00") ? "0.00" : s;
  }

  private static boolean empty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

  private static Point measure(double seconds, Path runDir, HttpClient http, String url) {
    System.gc();
    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long fds = -1;
    try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
      fds = s.count();
    } catch (IOException | RuntimeException e) {
      // not Linux: reported as -1
    }
    long files = 0;
    long bytes = 0;
    if (Files.isDirectory(runDir)) {
      try (Stream<Path> s = Files.walk(runDir)) {
        for (Path p : s.filter(Files::isRegularFile).toList()) {
          files++;
          try {
            bytes += Files.size(p);
          } catch (IOException e) {
            // deleted while walking (retention)
          }
        }
      } catch (IOException | UncheckedIOException e) {
        // a file vanished under the walk: counted next time
      }
    }
    long metrics = -1;
    try {
      metrics = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofByteArray())
          .body().length;
    } catch (IOException e) {
      // endpoint not up yet
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return new Point(seconds, heap, fds, files, bytes, metrics);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * 2,000 training and 500 test images: class {@code c} draws a bright diagonal band at offset {@code 2c} over dim
   * noise, so the classifier learns and its planes keep changing.
   */
  private static void writeData(Path dir) throws IOException {
    Files.createDirectories(dir);
    Random r = new Random(7);
    for (boolean train : new boolean[] {true, false}) {
      int n = train ? 2000 : 500;
      byte[] px = new byte[n * 784];
      int[] labels = new int[n];
      for (int i = 0; i < n; i++) {
        int c = r.nextInt(10);
        labels[i] = c;
        for (int y = 0; y < 28; y++) {
          for (int x = 0; x < 28; x++) {
            int d = Math.abs(x - y - 2 * c + 9);
            px[i * 784 + y * 28 + x] = (byte) (d < 2 ? 160 + r.nextInt(90) : r.nextInt(40));
          }
        }
      }
      LabeledImages images = new LabeledImages(28, 28, px, labels);
      if (train) {
        Idx.write(images, dir.resolve(DatasetLoader.TRAIN_IMAGES), dir.resolve(DatasetLoader.TRAIN_LABELS));
      } else {
        Idx.write(images, dir.resolve(DatasetLoader.TEST_IMAGES), dir.resolve(DatasetLoader.TEST_LABELS));
      }
    }
  }
}
