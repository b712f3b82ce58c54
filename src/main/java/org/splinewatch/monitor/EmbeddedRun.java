package org.splinewatch.monitor;

import com.typesafe.config.Config;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.analysis.BoundaryChangeAnalyzer;
import org.splinewatch.analysis.EmbeddingAnalyzer;
import org.splinewatch.analysis.LayerGeometryAnalyzer;
import org.splinewatch.analysis.RegionAnalyzer;
import org.splinewatch.analysis.RegionSettings;
import org.splinewatch.cluster.ClusterNode;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.data.Dataset;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.trainer.Augmenter;
import org.splinewatch.trainer.Backend;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.TrainingProgress;

/**
 * One run with the monitor embedded in the same process (the default of {@code ./trainer}): binds {@code /metrics}
 * first (so a taken port fails fast), loads data, fixes probes and planes, writes {@code config.json}, runs the actor
 * system until the trainer finishes, and returns the exit code (0 done, 3 stopped early, 1 failed).
 */
public final class EmbeddedRun {
  /** Outcome of a run. */
  public record Result(int exitCode, TrainerActor.Finished finished, Path runDir, int metricsPort) {
  }

  /** Called once the HTTP port is known (tests use it to scrape). */
  public interface Listener {
    default void started(Path runDir, int metricsPort, ActorRef<TrainerActor.Command> trainer) {
    }

    /** The trainer the run will drive (tests wrap it to inject faults). */
    default org.splinewatch.trainer.Trainer trainer(org.splinewatch.trainer.Trainer created) {
      return created;
    }
  }

  private EmbeddedRun() {
  }

  public static Result run(RunSettings s, Config config, Map<String, Object> options, PrintStream out,
      List<RunGuardian.AnalyzerSpec> analyzers, Listener listener) {
    String runId = runId(s);
    boolean overwrite = config.getBoolean("splinewatch.lifecycle.overwrite");
    Path runDir = config.getString("splinewatch.cluster.seed").isEmpty() ? runDirectory(s, runId, overwrite)
        : RunIds.runDirectory(s.out(), runId);
    org.splinewatch.metrics.MemorySettings memorySettings = org.splinewatch.metrics.MemorySettings.fromConfig(config);
    // before anything is started or written: a backend that cannot load is one line, not a dead dispatcher
    Backend.Info backend = Backend.start();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // with a seed (./trainer --monitor HOST:PORT) the run joins that cluster: metrics and analysis happen there
    boolean remote = !config.getString("splinewatch.cluster.seed").isEmpty();
    ClusterSettings cluster = remote ? ClusterSettings.fromConfig(config)
        .withPort(config.getInt("splinewatch.cluster.trainer-port")) : null;
    List<String> remoteAnalyzers = config.getStringList("splinewatch.analysis.enabled");
    if (remote) {
      analyzers(config, remoteAnalyzers); // unknown names fail here, before joining
    }
    ActorSystem<Object> system = remote ? ClusterNode.start(bootstrap(), cluster, List.of("trainer"), config)
        : ActorSystem.create(bootstrap(), "splinewatch", config);
    MetricsHttpServer http = null;
    Path sdFile = null;
    // JVM, process and off-heap health beside the run's own series (not for --monitor: the run's /metrics is there)
    org.splinewatch.metrics.ProcessMetrics processMetrics = remote ? null
        : org.splinewatch.metrics.ProcessMetrics.bind(registry);
    RunControl control = new RunControl();
    SignalStop signals = null;
    String controlToken = AlertWebhook.tokenFrom(config);
    // over its resident limit the run ends as failed, with its files and a checkpoint, rather than being killed
    CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef = new CompletableFuture<>();
    org.splinewatch.metrics.MemoryWatch memory = org.splinewatch.metrics.MemoryWatch.start(memorySettings,
        reason -> trainerRef.thenAccept(ref -> ref.tell(new TrainerActor.Fail(reason))));
    try {
      if (s.metricsPort() > 0 && !remote) {
        AlertWebhook webhook = new AlertWebhook(controlToken, control,
            event -> out.println("stop requested through the control endpoint: " + event.get("alertname") + " "
                + event.get("summary")));
        http = MetricsHttpServer.start(system, registry, s.metricsHost(), s.metricsPort(),
            org.apache.pekko.http.javadsl.server.Directives.concat(ControlRoutes.route(webhook),
                ControlRoutes.planes(runDir.resolve("planes")), ControlRoutes.runPlanes(s.out()),
                EmbeddingRoutes.route(s.out()), LivePage.route(s.out(), runId,
                    system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()))),
            MetricsHttpServer.AllowedHosts.fromConfig(config, s.metricsHost()));
      }
      DatasetLoader loader = new DatasetLoader(s.cacheDir(), s.npmCommand(), out::println);
      DatasetLoader.Split data = loader.load(Dataset.parse(s.dataset()), s.dataDir());
      LabeledImages train = s.trainSubset() > 0 ? data.train().head(s.trainSubset()) : data.train();
      RunInfo run = runInfo(runId, s, data.test(), train);
      Map<String, Object> provenance = provenance(runId, s, options, train, data.test(), backend);
      RunMeta runMeta = RunMeta.fromConfig(config);
      provenance.put("tags", new java.util.TreeMap<>(runMeta.tags()));
      provenance.put("notes", runMeta.notes());
      Map<String, String> labels = Map.of("run", runId, "method", s.method(), "dataset", s.dataset());
      RunLog log = null;
      MonitorLink link = null;
      if (remote) {
        link = MonitorLink.register(system, cluster, runId, labels, provenance, run.classes(),
            AlertSettings.fromConfig(config));
      } else {
        if (overwrite) {
          deleteRunDirectory(runDir);
        }
        RunLog.writeConfig(runDir, provenance);
        log = new RunLog(runDir, org.splinewatch.metrics.RetentionSettings.fromConfig(config));
        org.splinewatch.metrics.RunInfoMetric.register(registry, provenance);
      }
      TrainingProgress progress = new TrainingProgress();
      CompletableFuture<TrainerActor.Finished> result = new CompletableFuture<>();
      memory.bind(registry, io.micrometer.core.instrument.Tags.of("run", runId, "method", s.method(), "dataset",
          s.dataset()));
      int port = http == null ? 0 : http.port();
      out.println("splinewatch run " + runId + ": " + s.method() + " on " + s.dataset() + " (" + train.count()
          + " training images)");
      out.println("  run directory: " + runDir);
      out.println("  backend: " + backend.describe());
      if (remote) {
        out.println("  monitor: cluster at " + cluster.seed() + " (this trainer joined as "
            + ClusterNode.address(system) + "); metrics and run files on the monitor"
            + (link.metricsUrl().isEmpty() ? "" : ": " + link.metricsUrl()));
      } else {
        out.println(port > 0 ? "  metrics: http://" + s.metricsHost() + ":" + port + "/metrics (live page: http://"
            + s.metricsHost() + ":" + port + "/)" : "  metrics: HTTP off");
      }
      if (port > 0) {
        sdFile = ServiceDiscovery.register(config, s.out(), runId, s.metricsHost(), port);
        Path tokenFile = AlertWebhook.fromFile(config) ? Path.of(config.getString("splinewatch.control.token-file"))
            : runDir.resolve("control-token");
        if (!AlertWebhook.fromFile(config)) {
          writeToken(tokenFile, controlToken);
        }
        out.println("  control: POST http://" + s.metricsHost() + ":" + port + "/api/v1/alerts (Alertmanager webhook;"
            + " bearer token in " + tokenFile + ")");
      }
      long startStep = 0;
      // latest, or latest.prev where a crash interrupted the swap of a checkpoint
      Path resumeFrom = s.resume() == null ? null : org.splinewatch.trainer.Checkpoints.resolve(s.resume());
      if (resumeFrom != null) {
        if (!resumeFrom.equals(s.resume())) {
          out.println("  " + s.resume() + " is missing or incomplete; resuming from its predecessor " + resumeFrom);
        }
        org.splinewatch.trainer.Checkpoints.Meta meta = org.splinewatch.trainer.Checkpoints.read(resumeFrom);
        if (!meta.method().equals(s.method())) {
          throw new IllegalArgumentException("checkpoint " + resumeFrom + " is from method " + meta.method()
              + "; this run is " + s.method());
        }
        startStep = meta.step();
        out.println("  resuming from " + resumeFrom + " at step " + startStep + " (weights and optimiser state;"
            + " the batch order restarts)");
      }
      java.util.function.Supplier<org.splinewatch.trainer.Trainer> factory = () -> {
        org.splinewatch.trainer.Trainer t = s.createTrainer(train);
        if (resumeFrom != null) {
          try {
            t.loadCheckpoint(resumeFrom);
          } catch (java.io.IOException e) {
            t.close();
            throw new IllegalArgumentException("cannot resume: " + e.getMessage());
          }
        }
        return listener.trainer(t);
      };
      AlertSettings alertSettings = AlertSettings.fromConfig(config);
      system.tell(new RunGuardian.Setup(run, factory, s.epochs(), s.maxSteps(),
          s.snapshotEvery(), s.hubBufferSize(), s.analysisTimeout(), s.drainTimeout(), s.monitoring(), registry, log,
          labels, analyzers, progress, result, trainerRef, alertSettings, alert -> {
            String text = (alert.firing() ? "ALERT " : "resolved ") + alert.rule() + " at step " + alert.step();
            progress.alert(text);
            out.println((alert.firing() ? "ALERT [" + alert.severity() + "] " : "resolved: ") + alert.sentence());
          }, new TrainerActor.CheckpointPlan(runDir.resolve("checkpoints"), s.method(), startStep),
          remote ? new RunGuardian.Remote(link.metrics(), remoteAnalyzers, cluster) : null));
      signals = SignalStop.install(reason -> system.tell(new RunGuardian.Interrupt(reason)),
          config.getDuration("splinewatch.lifecycle.signal-grace"), out);
      trainerRef.thenAccept(ref -> {
        control.register(runId, alertSettings, reason -> ref.tell(new TrainerActor.Stop(reason)));
        listener.started(runDir, port, ref);
      });
      ConsoleProgress console = new ConsoleProgress(progress, out, System.console() != null);
      console.start();
      TrainerActor.Finished finished = result.join();
      control.unregister(runId);
      console.stop();
      boolean interrupted = signals.received() != null && finished.error() == null;
      int code = finished.error() != null ? 1 : interrupted ? signals.exitCode() : finished.stopped() ? 3 : 0;
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("type", "run_finished");
      event.put("status", finished.error() != null ? "failed" : interrupted ? "interrupted"
          : finished.stopped() ? "stopped" : "done");
      event.put("steps", finished.steps());
      event.put("exit_code", code);
      event.put("stopped", finished.stopped());
      event.put("reason", finished.reason());
      event.put("error", finished.error());
      org.splinewatch.metrics.MemoryWatch.Peaks peaks = memory.peaks();
      // flat fields: a nested object does not survive the cluster's CBOR messages to a monitor's events.jsonl
      event.putAll(peaks.toEvent());
      event.put("time", System.currentTimeMillis());
      if (remote) {
        try {
          link.finish(event);
          out.println("  run files and report: on the monitor, under its runs/" + runId);
        } catch (RuntimeException e) {
          out.println("warning: " + e.getMessage());
        }
      } else {
        try {
          RunLog.appendEvent(runDir, event);
        } catch (java.io.UncheckedIOException e) {
          out.println("warning: " + RunGuardian.describe(e));
        }
        try {
          org.splinewatch.report.ReportWriter.write(List.of(org.splinewatch.report.RunData.read(runDir)),
              runDir.resolve("report.html"));
          out.println("  report: " + runDir.resolve("report.html"));
        } catch (RuntimeException e) {
          out.println("warning: could not write the report: " + e.getMessage());
        }
      }
      out.println("  " + peaks.describe());
      if (finished.error() != null) {
        out.println("error: " + finished.error());
      } else if (interrupted) {
        out.println("interrupted at step " + finished.steps() + " (SIG" + signals.received() + "); resume with"
            + " --resume " + runDir.resolve("checkpoints").resolve("latest"));
      } else if (finished.stopped()) {
        out.println("stopped early at step " + finished.steps() + ": " + finished.reason());
      } else {
        out.printf("done: %d steps, %.2f steps/s; results in %s%n", finished.steps(), finished.stepsPerSecond(),
            runDir);
      }
      return new Result(code, finished, runDir, port);
    } finally {
      if (signals != null) {
        signals.close();
      }
      memory.close();
      ServiceDiscovery.unregister(sdFile);
      if (http != null) {
        http.stop();
      }
      if (processMetrics != null) {
        processMetrics.close();
      }
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        // shutting down anyway
      }
    }
  }

  /**
   * The run id: {@code --run-id} (checked by {@link RunIds}), or {@code <method>-<dataset>-<yyyyMMdd-HHmmss>} with
   * {@code -2}, {@code -3}, … appended while a directory of that name exists under {@code --out}.
   */
  public static String runId(RunSettings s) {
    if (!s.runId().isEmpty()) {
      return RunIds.require(s.runId());
    }
    String base = s.method() + "-" + s.dataset() + "-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    String id = base;
    for (int k = 2; Files.exists(s.out().resolve(id)); k++) {
      id = base + "-" + k;
    }
    return id;
  }

  /**
   * The run directory {@code --out/runId}, which must lie directly under {@code --out}. One that exists and is not
   * empty holds an earlier run: it is refused (a one-line {@link IllegalArgumentException}) unless the run resumes
   * ({@code --resume}, whose files it continues) or {@code overwrite} is set (its files are deleted before this run
   * writes any).
   */
  public static Path runDirectory(RunSettings s, String runId, boolean overwrite) {
    Path dir = RunIds.runDirectory(s.out(), runId);
    if (overwrite && s.resume() != null && s.resume().toAbsolutePath().normalize().startsWith(dir)) {
      throw new IllegalArgumentException("--overwrite would delete the checkpoint " + s.resume() + " this run resumes"
          + " from; give another --run-id or drop --overwrite");
    }
    if (Files.exists(dir)) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException("run directory " + dir + " exists and is not a directory");
      }
      // a run's record is its config and logs; a directory without them (e.g. prepared mount points) is free
      boolean holdsRun = RUN_FILES.stream().anyMatch(f -> Files.exists(dir.resolve(f), LinkOption.NOFOLLOW_LINKS));
      if (holdsRun && s.resume() == null && !overwrite) {
        throw new IllegalArgumentException("run directory " + dir + " already holds a run; give another --run-id,"
            + " --resume a checkpoint of it, or --overwrite to replace it");
      }
    }
    return dir;
  }

  /** The files whose presence means a run directory holds a run. */
  static final List<String> RUN_FILES = List.of("config.json", "metrics.jsonl", "events.jsonl");

  /** Deletes an earlier run's directory tree ({@code --overwrite}). */
  private static void deleteRunDirectory(Path dir) {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("--overwrite: cannot delete " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The control token, readable by the owner only (where the file system has POSIX permissions). */
  static void writeToken(Path file, String token) {
    try {
      Files.deleteIfExists(file);
      try {
        Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        Files.createFile(file);
      }
      Files.writeString(file, token + "\n");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot write the control token to " + file + ": " + e.getMessage(), e);
    }
  }

  /** The system guardian waits for the run's setup, then becomes the {@link RunGuardian}. */
  private static Behavior<Object> bootstrap() {
    return Behaviors.receive(Object.class)
        .onMessage(RunGuardian.Setup.class, RunGuardian::create)
        .build();
  }

  /** Every analyzer an embedded run can start, in order. */
  public static final List<String> ANALYZERS = List.of(EmbeddingAnalyzer.NAME, RegionAnalyzer.NAME,
      BoundaryChangeAnalyzer.NAME, LayerGeometryAnalyzer.NAME, org.splinewatch.analysis.ProbeAnalyzer.NAME,
      org.splinewatch.analysis.TrainingHealthAnalyzer.NAME, org.splinewatch.analysis.LocalComplexityAnalyzer.NAME);

  /**
   * The analyzers named in {@code splinewatch.analysis.enabled} (default: all of {@link #ANALYZERS}): embedding
   * metrics, exact regions, boundary changes, layer geometry. An unknown name is an error listing the valid ones.
   */
  public static List<RunGuardian.AnalyzerSpec> defaultAnalyzers(Config config) {
    return analyzers(config, config.getStringList("splinewatch.analysis.enabled"));
  }

  /** The named analyzers, with region settings from {@code config}; an unknown name is an error. */
  public static List<RunGuardian.AnalyzerSpec> analyzers(Config config, List<String> enabled) {
    RegionSettings regions = RegionSettings.fromConfig(config);
    for (String name : enabled) {
      if (!ANALYZERS.contains(name)) {
        throw new IllegalArgumentException("unknown analyzer '" + name + "'; expected some of: "
            + String.join(", ", ANALYZERS));
      }
    }
    List<RunGuardian.AnalyzerSpec> list = new ArrayList<>();
    if (enabled.contains(EmbeddingAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(EmbeddingAnalyzer.NAME, (run, metrics, dir) ->
          EmbeddingAnalyzer.create(run, metrics, dir)));
    }
    if (enabled.contains(RegionAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(RegionAnalyzer.NAME, (run, metrics, dir) ->
          RegionAnalyzer.create(run, metrics, regions, dir,
              org.splinewatch.metrics.RetentionSettings.fromConfig(config))));
    }
    if (enabled.contains(BoundaryChangeAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(BoundaryChangeAnalyzer.NAME, (run, metrics, dir) ->
          BoundaryChangeAnalyzer.create(run, metrics, regions)));
    }
    if (enabled.contains(org.splinewatch.analysis.ProbeAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(org.splinewatch.analysis.ProbeAnalyzer.NAME, (run, metrics, dir) ->
          org.splinewatch.analysis.ProbeAnalyzer.create(run, metrics)));
    }
    if (enabled.contains(org.splinewatch.analysis.TrainingHealthAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(org.splinewatch.analysis.TrainingHealthAnalyzer.NAME, (run, metrics, dir) ->
          org.splinewatch.analysis.TrainingHealthAnalyzer.create(metrics)));
    }
    if (enabled.contains(org.splinewatch.analysis.LocalComplexityAnalyzer.NAME)) {
      org.splinewatch.analysis.LocalComplexitySettings lc =
          org.splinewatch.analysis.LocalComplexitySettings.fromConfig(config);
      list.add(new RunGuardian.AnalyzerSpec(org.splinewatch.analysis.LocalComplexityAnalyzer.NAME,
          (run, metrics, dir) -> org.splinewatch.analysis.LocalComplexityAnalyzer.create(run, metrics, lc)));
    }
    if (enabled.contains(LayerGeometryAnalyzer.NAME)) {
      list.add(new RunGuardian.AnalyzerSpec(LayerGeometryAnalyzer.NAME, (run, metrics, dir) ->
          LayerGeometryAnalyzer.create(run, metrics)));
    }
    return list;
  }

  /** Probes: the first {@code probeSize} test images; a fixed augmented view each; plane anchors of distinct classes. */
  static RunInfo runInfo(String runId, RunSettings s, LabeledImages test, LabeledImages train) {
    int n = Math.min(s.probeSize(), test.count());
    int d = test.pixelsPerImage();
    float[] probes = new float[n * d];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      test.image(i, probes, i * d);
      labels[i] = test.labels()[i];
    }
    float[] pairs = new float[n * d];
    SplittableRandom rnd = new SplittableRandom(s.seed() ^ 0x9a1e5L);
    Augmenter aug = new Augmenter(test.rows(), test.cols());
    for (int i = 0; i < n; i++) {
      aug.augment(probes, i * d, pairs, i * d, rnd);
    }
    List<int[]> planes = planeAnchors(labels, s.planes(), rnd);
    // the linear probe's training subset: evenly spaced training images (deterministic, class-balanced in
    // expectation)
    int m = Math.min(s.probeTrainSize(), train.count());
    float[] fit = new float[m * d];
    int[] fitLabels = new int[m];
    for (int i = 0; i < m; i++) {
      int idx = (int) ((long) i * train.count() / m);
      train.image(idx, fit, i * d);
      fitLabels[i] = train.labels()[idx];
    }
    return new RunInfo(runId, s.method(), s.dataset(), d, n, probes, pairs, labels, 10, planes, fit, fitLabels);
  }

  /**
   * For each of {@code planes} planes, three probe indices of different classes drawn from {@code rnd} (a plane
   * whose three anchors are not found in {@code 10 n} draws is left out).
   */
  public static List<int[]> planeAnchors(int[] labels, int planes, SplittableRandom rnd) {
    int n = labels.length;
    List<int[]> out = new ArrayList<>();
    for (int p = 0; p < planes; p++) {
      int[] anchor = new int[3];
      int found = 0;
      for (int attempt = 0; attempt < 10 * n && found < 3; attempt++) {
        int i = rnd.nextInt(n);
        boolean distinct = true;
        for (int k = 0; k < found; k++) {
          distinct &= labels[anchor[k]] != labels[i];
        }
        if (distinct) {
          anchor[found++] = i;
        }
      }
      if (found == 3) {
        out.add(anchor);
      }
    }
    return out;
  }

  private static Map<String, Object> provenance(String runId, RunSettings s, Map<String, Object> options,
      LabeledImages train, LabeledImages test, Backend.Info backend) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("run_id", runId);
    c.put("method", s.method());
    c.put("dataset", s.dataset());
    c.put("seed", s.seed());
    c.put("options", options);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("epochs", s.epochs());
    settings.put("max_steps", s.maxSteps());
    settings.put("batch_size", s.batchSize());
    settings.put("snapshot_every", s.snapshotEvery());
    settings.put("planes", s.planes());
    settings.put("learning_rate", s.learningRate());
    settings.put("temperature", s.temperature());
    settings.put("hidden", s.hidden());
    settings.put("encoder", s.encoder());
    settings.put("projection_dim", s.projectionDim());
    settings.put("probe_size", s.probeSize());
    settings.put("stop_gradient", s.stopGradient());
    settings.put("predictor", s.predictor());
    settings.put("predictor_hidden", s.predictorHidden());
    settings.put("ema_tau", s.emaTau());
    settings.put("vicreg_coefficients", List.of(s.vicregInvCoeff(), s.vicregStdCoeff(), s.vicregCovCoeff()));
    settings.put("ablations", s.ablations());
    settings.put("ablate_from", s.ablateFrom());
    settings.put("hub_buffer_size", s.hubBufferSize());
    settings.put("monitoring", s.monitoring());
    settings.put("train_images", train.count());
    settings.put("test_images", test.count());
    c.put("settings", settings);
    Map<String, Object> versions = new LinkedHashMap<>();
    versions.put("splinewatch", Provenance.version());
    versions.put("java", System.getProperty("java.version"));
    versions.put("dl4j", "1.0.0-M2.1");
    versions.put("nd4j_backend", backend.describe());
    versions.put("pekko", org.apache.pekko.Version.current());
    versions.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    c.put("versions", versions);
    c.put("git_commit", Provenance.gitCommit());
    c.put("git_dirty", Provenance.gitDirty());
    c.put("threads", Map.of("OMP_NUM_THREADS", String.valueOf(System.getenv("OMP_NUM_THREADS")),
        "available_processors", Runtime.getRuntime().availableProcessors()));
    c.put("started", java.time.Instant.now().toString());
    return c;
  }
}
