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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.Idx;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.trainer.RunSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A soak run: a long supervised run on small generated data with a short snapshot interval, every analyzer on, in
 * this JVM, sampled every {@code --every} seconds for heap used (after a GC), open file descriptors, files and bytes
 * in the run directory and the size of {@code /metrics}. At the end it prints how much each grew over the second half
 * of the run against the first: a bounded run levels off (docs/durability.md).
 */
@Command(name = "bench-soak", mixinStandardHelpOptions = true,
    description = "Soak: a long run with a short snapshot interval, printing heap, file descriptors, run directory "
        + "and /metrics size over time.")
final class BenchSoakCommand implements Callable<Integer> {
  @Option(names = "--steps", description = "training steps (default ${DEFAULT-VALUE})")
  long steps = 20_000;
  @Option(names = "--snapshot-every", description = "steps between weight snapshots (default ${DEFAULT-VALUE})")
  int snapshotEvery = 10;
  @Option(names = "--every", description = "seconds between samples (default ${DEFAULT-VALUE})")
  int every = 10;
  @Option(names = "--out", description = "run directory parent (default: a new temporary directory)")
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
    if (steps < 100 || snapshotEvery < 1 || every < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "expected --steps >= 100,"
          + " --snapshot-every >= 1 and --every >= 1, got " + steps + ", " + snapshotEvery + " and " + every);
    }
    if (out != null && Files.exists(out) && !Files.isDirectory(out)) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--out " + out
          + " is a file; expected a directory (the parent of the soak run's files)");
    }
    try {
      TrainCommand.load(Map.of(), config); // a --config that cannot be read: exit 2 before anything is written
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    Path parent = out != null ? out : Files.createTempDirectory("splinewatch-soak");
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
    System.out.printf("bench-soak: %d steps, snapshot every %d, all analyzers, %d cores, max heap %d MiB; run "
        + "directory %s%n", steps, snapshotEvery, Runtime.getRuntime().availableProcessors(),
        Runtime.getRuntime().maxMemory() >> 20, runDir);
    System.out.printf("retention: %s%n", conf.getConfig("splinewatch.retention").root().render(
        ConfigRenderOptions.concise()));
    System.out.println("   time  heap MiB   fds  files  run-dir MiB  /metrics KiB");
    List<Point> points = new ArrayList<>();
    long t0 = System.nanoTime();
    HttpClient http = HttpClient.newHttpClient();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "soak-sampler");
      t.setDaemon(true);
      return t;
    });
    String url = BrowsableUrl.base(settings.metricsHost(), settings.metricsPort()) + "/metrics";
    Runnable sample = () -> {
      Point p = measure((System.nanoTime() - t0) / 1e9, runDir, http, url);
      synchronized (points) {
        points.add(p);
      }
      System.out.printf("%6.0fs %9.1f %5d %6d %12.2f %13.1f%n", p.seconds(), p.heapBytes() / 1048576.0, p.fds(),
          p.files(), p.bytes() / 1048576.0, p.metricsBytes() / 1024.0);
    };
    sampler.scheduleAtFixedRate(sample, every, every, TimeUnit.SECONDS);
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    CompletableFuture<EmbeddedRun.Result> run = CompletableFuture.supplyAsync(() -> EmbeddedRun.run(settings, conf, o,
        quiet, EmbeddedRun.defaultAnalyzers(conf), new EmbeddedRun.Listener() { }));
    EmbeddedRun.Result result = run.join();
    sampler.shutdownNow();
    if (result.finished() == null) { // a signal during the start-up: the run's own line went to the quiet stream
      System.out.println("interrupted before training started (exit code " + result.exitCode() + "): nothing was"
          + " written");
      return result.exitCode();
    }
    System.out.printf("run ended with exit code %d after %d steps (%.1f steps/s)%n", result.exitCode(),
        result.finished().steps(), result.finished().stepsPerSecond());
    List<Point> ps;
    synchronized (points) {
      ps = List.copyOf(points);
    }
    if (ps.size() < 4) {
      System.out.println("too few samples to judge growth; lower --every or raise --steps");
      return result.exitCode();
    }
    // growth per minute over the first and the second half of the samples
    Point a = ps.get(0);
    Point m = ps.get(ps.size() / 2);
    Point z = ps.get(ps.size() - 1);
    System.out.println("growth per minute      first half   second half");
    row("heap MiB", a, m, z, Point::heapBytes, 1048576.0);
    row("open fds", a, m, z, Point::fds, 1);
    row("files", a, m, z, Point::files, 1);
    row("run-dir MiB", a, m, z, Point::bytes, 1048576.0);
    row("/metrics KiB", a, m, z, Point::metricsBytes, 1024.0);
    return result.exitCode();
  }

  private static void row(String name, Point a, Point m, Point z, ToLongFunction<Point> f,
      double unit) {
    double first = (f.applyAsLong(m) - f.applyAsLong(a)) / unit / ((m.seconds() - a.seconds()) / 60);
    double second = (f.applyAsLong(z) - f.applyAsLong(m)) / unit / ((z.seconds() - m.seconds()) / 60);
    System.out.printf("%-20s %12.2f %13.2f%n", name, first, second);
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
