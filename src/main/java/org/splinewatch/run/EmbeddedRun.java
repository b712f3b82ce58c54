package org.splinewatch.run;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.server.Directives;
import org.splinewatch.alerts.EarlyStopPolicy;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.analysis.IdleGcThreads;
import org.splinewatch.cluster.ClusterNode;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.ResumeKey;
import org.splinewatch.cluster.StopDeadline;
import org.splinewatch.control.AlertWebhook;
import org.splinewatch.control.ControlRoutes;
import org.splinewatch.control.RunControl;
import org.splinewatch.data.Dataset;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.metrics.AnalysisCoverage;
import org.splinewatch.metrics.CpuByRole;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.metrics.MemoryWatch;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.ProcessMetrics;
import org.splinewatch.metrics.RunInfoMetric;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;
import org.splinewatch.serve.LivePage;
import org.splinewatch.serve.ServiceDiscovery;
import org.splinewatch.settings.ConfigErrors;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.trainer.Backend;
import org.splinewatch.trainer.BackgroundOutOfMemory;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.NetworkFootprint;
import org.splinewatch.trainer.RunSettings;
import org.splinewatch.trainer.Trainer;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.TrainingProgress;

/**
 * One run with the monitor embedded in the same process (the default of {@code ./trainer}): binds {@code /metrics}
 * first (so a taken port fails fast), loads data, fixes probes and planes ({@link ProbeSampler}), writes {@code
 * config.json} ({@link RunProvenance}), hands a {@link RunGuardian} its setup, waits until the trainer finishes, and
 * returns the exit code ({@link RunOutcome}: 0 done, 3 stopped early, 1 failed).
 */
public final class EmbeddedRun {
  /** Outcome of a run; {@code finished} is null when a signal ended the start-up before training (nothing written). */
  public record Result(int exitCode, TrainerActor.Finished finished, Path runDir, int metricsPort) {
  }

  /** Called once the HTTP port is known (tests use it to scrape), and when the run's work is over. */
  public interface Listener {
    default void started(Path runDir, int metricsPort, ActorRef<TrainerActor.Command> trainer) {
    }

    /**
     * Training ended and the analyses were drained (or abandoned) and flushed; what follows is the run's end record,
     * its report and the shutdown of its HTTP server and actor system (bench-soak stops sampling here).
     */
    default void ended() {
    }

    /** The trainer the run will drive (tests wrap it to inject faults). */
    default Trainer trainer(Trainer created) {
      return created;
    }
  }

  /** Where a resumed run starts: the checkpoint (null: a fresh run) and its step. */
  private record Resume(Path from, long step) {
  }

  private EmbeddedRun() {
  }

  /** A run whose settings are read from {@code config} here. */
  public static Result run(RunSettings s, Config config, Map<String, Object> options, PrintStream out,
      List<AnalyzerSpec> analyzers, Listener listener) {
    return run(s, WiringSettings.fromConfig(config), config, options, out, analyzers, listener);
  }

  /**
   * A run with settings read at start-up; {@code config} configures the actor system ({@code options}: what the
   * command line set, recorded in {@code config.json}).
   */
  public static Result run(RunSettings s, WiringSettings w, Config config, Map<String, Object> options,
      PrintStream out, List<AnalyzerSpec> analyzers, Listener listener) {
    return start(s, w, config, options, out, analyzers, listener, null);
  }

  /**
   * A run whose {@code --resume} checkpoint the command line has read and checked already: {@code checked} is what
   * {@link ResumeCheck#check} returned for {@code s}, and the run starts from that reading of it (the checkpoint's
   * files are not read again before the trainer loads them).
   */
  public static Result run(RunSettings s, WiringSettings w, Config config, Map<String, Object> options,
      PrintStream out, List<AnalyzerSpec> analyzers, Listener listener, Optional<Checkpoints.Resolved> checked) {
    return start(s, w, config, options, out, analyzers, listener, Objects.requireNonNull(checked));
  }

  /** {@code checked}: null when the checkpoint is read and checked here. */
  private static Result start(RunSettings s, WiringSettings w, Config config, Map<String, Object> options,
      PrintStream out, List<AnalyzerSpec> analyzers, Listener listener, Optional<Checkpoints.Resolved> checked) {
    String runId = RunDirectory.runId(s);
    long startedMillis = System.currentTimeMillis() - 1_000; // file times may be rounded to the second
    boolean remote = w.remote();
    Path runDir = remote ? RunIds.runDirectory(s.out(), runId)
        : RunDirectory.check(s, runId, w.overwrite());
    // the checkpoint fits this run, read once (the command line checked it already, and hands its reading on)
    Optional<Checkpoints.Resolved> checkpoint = checked != null ? checked : ResumeCheck.check(s);
    // a --monitor run's files are the monitor's, which refuses a run id taken there
    RunLock lock = null;
    for (int attempt = 1; !remote && lock == null; attempt++) {
      try {
        lock = RunLock.acquire(runDir);
      } catch (RunLock.InUse e) {
        if (!s.runId().isEmpty() || attempt == 100) {
          throw e;
        }
        // a default run id taken by a run started in the same second: the next free one
        runId = RunDirectory.runId(s);
        runDir = RunDirectory.check(s, runId, w.overwrite());
      }
    }
    // a signal during the start-up (seconds: ND4J's backend, the actor system, the data set) ends it before the run
    // directory is touched, with one line, instead of the JVM's silent exit; once training is set up, it ends the run
    // after its current step (SignalStop)
    SignalStop signals = SignalStop.installBeforeStart(w.signalGrace(), out);
    try {
      return startWith(s, w, config, options, out, analyzers, listener, runId, startedMillis, runDir, checkpoint,
          signals);
    } finally {
      signals.close();
      if (lock != null) {
        lock.close(); // the run's files are written: the directory is free again
      }
    }
  }

  /** The run once its checkpoint is read and {@code signals} are installed. */
  private static Result startWith(RunSettings s, WiringSettings w, Config config, Map<String, Object> options,
      PrintStream out, List<AnalyzerSpec> analyzers, Listener listener, String runId, long startedMillis, Path runDir,
      Optional<Checkpoints.Resolved> checkpoint, SignalStop signals) {
    boolean remote = w.remote();
    // before anything is started or written: a backend that cannot load is one line, not a dead dispatcher
    Backend.Info backend = Backend.start();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // with a seed (./trainer --monitor HOST:PORT) the run joins that cluster: metrics and analysis happen there
    if (remote) {
      // unknown names fail here, before joining (a command reads them with AnalyzerCatalogue.fromConfig first)
      AnalyzerCatalogue.check(w.analyzers(), ConfigErrors.setting(config, "splinewatch.analysis.enabled"));
    }
    ActorSystem<Object> system = remote ? ClusterNode.start(RunGuardian.root(), w.cluster(), List.of("trainer"), config)
        : ActorSystem.create(RunGuardian.root(), "splinewatch", config);
    MetricsHttpServer http = null;
    Path sdFile = null;
    String sdWritten = ""; // the file's identity as written: its end removes that file only
    // JVM, process and off-heap health beside the run's own series (not for --monitor: the run's /metrics is there)
    ProcessMetrics processMetrics = remote ? null : ProcessMetrics.bind(registry);
    RunControl control = new RunControl();
    String controlToken = w.control().resolveToken();
    // over its resident limit the run ends as failed, with its files and a checkpoint, rather than being killed
    CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef = new CompletableFuture<>();
    // G1's background threads at the analyzers' idle priority: their work never takes the trainer's core
    IdleGcThreads gcThreads = IdleGcThreads.startFromEnvironment(Duration.ofSeconds(2));
    MemoryWatch memory = MemoryWatch.start(w.memory(),
        reason -> trainerRef.thenAccept(ref -> ref.tell(new TrainerActor.Fail(reason))));
    // an OutOfMemoryError in a background thread (batch statistics, memory watch) ends the run the same way
    AutoCloseable backgroundOom = BackgroundOutOfMemory.install(
        reason -> trainerRef.thenAccept(ref -> ref.tell(new TrainerActor.Fail(reason))));
    try {
      if (signals.received() != null) {
        return interruptedBeforeTraining(signals, s, runDir, out);
      }
      if (s.metricsPort() > 0 && !remote) {
        http = startHttp(system, registry, s, w, runId, runDir, new AlertWebhook(controlToken, control,
            event -> out.println(("stop requested through the control endpoint: " + event.get("alertname") + " "
                + java.util.Objects.toString(event.get("summary"), "")).strip())));
      }
      DatasetLoader loader = new DatasetLoader(s.cacheDir(), s.npmCommand(), out::println);
      DatasetLoader.Split data = loader.load(Dataset.parse(s.dataset()), s.dataDir());
      s.checkTrainSubset(data.train().count()); // before the run directory is touched
      // the network on these images (a --data-dir's may have another size): one that cannot be trained is refused
      s.checkNetwork(data.train().rows(), data.train().cols(), NetworkFootprint.Limits.of(w.memory()),
          w.footprint(analyzers, config));
      LabeledImages train = s.trainSubset() > 0 ? data.train().head(s.trainSubset()) : data.train();
      ResumeCheck.checkTotal(s, checkpoint, train); // before the run directory is touched
      RunInfo run = ProbeSampler.runInfo(runId, s, data.test(), train);
      Map<String, Object> provenance = RunProvenance.of(runId, s, options,
          remote ? w.analyzers() : analyzers.stream().map(AnalyzerSpec::name).toList(), train, data.test(), backend,
          w.meta());
      Map<String, String> labels = Map.of("run", runId, "method", s.method(), "dataset", s.dataset());
      if (signals.received() != null) { // the last check before the run directory is touched
        return interruptedBeforeTraining(signals, s, runDir, out);
      }
      RunLog log = null;
      MonitorLink link = null;
      // read before config.json is written anew: the interval the run had until this segment
      OptionalLong everyBefore = s.resume() == null || remote ? OptionalLong.empty()
          : RunLog.recordedSnapshotEvery(runDir);
      if (remote) {
        // only the trainer that started a run on the monitor may resume it there: it keeps the run's key
        String resumeKey = s.resume() == null ? ResumeKey.newKey()
            : ResumeKey.saved(s.resume()).orElseGet(ResumeKey::newKey);
        link = MonitorLink.register(system, w.cluster(), runId, labels, provenance, run.classes(), w.alerts(),
            resumeKey);
        ResumeKey.save(runDir.resolve("checkpoints"), resumeKey);
        // its config.json is on the monitor: the options are kept here too, for a --resume of this directory alone
        RunDirectory.saveRemoteOptions(runDir.resolve("checkpoints"), options);
      } else {
        if (w.overwrite()) {
          RunDirectory.delete(runDir);
        }
        RunLog.writeConfig(runDir, provenance);
        log = new RunLog(runDir, w.retention());
        RunInfoMetric.register(registry, provenance);
      }
      TrainingProgress progress = new TrainingProgress();
      CompletableFuture<TrainerActor.Finished> result = new CompletableFuture<>();
      CompletableFuture<Boolean> flushed = new CompletableFuture<>();
      memory.bind(registry, Tags.of("run", runId, "method", s.method(), "dataset", s.dataset()));
      int port = http == null ? 0 : http.port();
      out.println("splinewatch run " + runId + ": " + s.method() + " on " + s.dataset() + " (" + train.count()
          + " training images)");
      // a --monitor run's files are on the monitor: here only its checkpoints
      out.println(remote ? "  checkpoints: " + runDir.resolve("checkpoints") + " (the run's files are on the monitor)"
          : "  run directory: " + runDir);
      out.println("  backend: " + backend.describe());
      if (remote) {
        out.println("  monitor: cluster at " + w.cluster().seed() + " (this trainer joined as "
            + ClusterNode.address(system) + "); metrics and run files on the monitor"
            + (link.metricsUrl().isEmpty() ? "" : ": " + link.metricsUrl()));
      } else {
        String base = BrowsableUrl.base(s.metricsHost(), w.discovery().advertiseHost(), port);
        out.println(port > 0 ? "  metrics: " + base + "/metrics (live page: " + base + "/)" : "  metrics: HTTP off");
        if (port > 0) {
          BrowsableUrl.listening(s.metricsHost(), w.discovery().advertiseHost(), port).ifPresent(out::println);
        }
      }
      if (port > 0) {
        sdFile = ServiceDiscovery.register(w.discovery(), s.out(), runId, s.metricsHost(), port);
        sdWritten = ServiceDiscovery.left(sdFile);
        announceControl(w, s, port, runDir, controlToken, out);
      }
      Resume resume = resume(s, checkpoint, out);
      if (resume.from() != null) {
        // the steps after the checkpoint that the earlier segment logged are superseded: the report drops them
        Map<String, Object> resumed = new java.util.LinkedHashMap<>(Map.of("type", "run_resumed", "step",
            resume.step(), "checkpoint", resume.from().getFileName().toString(), "time", System.currentTimeMillis(),
            "snapshot_every", s.snapshotEvery()));
        // each segment's interval: config.json keeps only the last one's (./monitor detection counts snapshots)
        everyBefore.ifPresent(e -> resumed.put("snapshot_every_before", e));
        if (remote) { // before this segment's first sample: the run's events are written on the monitor
          link.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedEvent(resumed, link.publishToken()));
        } else {
          RunLog.appendEvent(runDir, resumed);
        }
      }
      AtomicLong published = new AtomicLong(); // a remote run's coverage: of the snapshots taken here
      SnapshotSink.Starter sink = remote
          ? counting(published, ClusterPublisherSink.starter(run, new ClusterPublisherSink.Settings(link.metrics(),
              link.publishToken(), w.analyzers(), w.cluster(), s.hubBufferSize(), s.drainTimeout(),
              link::trainingEnded)))
          : LocalHubSink.starter(run, new LocalHubSink.Settings(registry, log, labels, s.monitoring(), analyzers,
              w.alerts(), s.hubBufferSize(), s.analysisTimeout(), w.priority(),
              resume.from() == null ? -1 : resume.step()));
      system.tell(new RunGuardian.Setup(run,
          new RunGuardian.Training(trainerFactory(s, train, resume, listener), s.epochs(), s.maxSteps(),
              s.snapshotEvery(), new TrainerActor.CheckpointPlan(runDir.resolve("checkpoints"), s.method(),
                  resume.step())),
          sink, EarlyStopPolicy.of(w.alerts()), new RunGuardian.Timeouts(s.drainTimeout(), w.abortDrain(),
              w.analyseAfterStop()),
          new RunGuardian.Observers(progress, result, trainerRef,
              alert -> ConsoleProgress.alert(alert, progress, out), flushed)));
      signals.training(interrupts(signals, system));
      trainerRef.thenAccept(ref -> {
        // through the guardian, which marks a run that stops for the alert (splinewatch_run_stopped_early)
        control.registerForAlerts(runId, w.alerts(), (rule, reason) -> {
              if (rule == null) {
                ref.tell(new TrainerActor.Stop(reason));
              } else {
                system.tell(new RunGuardian.AlertStop(rule, reason));
              }
            },
            () -> {
              TrainingProgress.State p = progress.get(); // one reading: finished and its step together
              return p.finished() ? "finished training at step " + p.step() : null;
            });
        listener.started(runDir, port, ref);
      });
      ConsoleProgress console = new ConsoleProgress(progress, out, System.console() != null);
      console.start();
      TrainerActor.Finished finished = result.join();
      listener.ended();
      control.unregister(runId);
      console.stop();
      RunOutcome outcome = RunOutcome.of(finished, signals.received(), signals.exitCode());
      MemoryWatch.Peaks peaks = memory.peaks();
      Map<String, Object> event = outcome.event(peaks);
      if (remote && signals.deadline().isPresent()) {
        // the flush and the run's end on the monitor share what is left of the grace, which then halts the process
        link.stopBy(signals.deadline().get(), "SIG" + signals.received(), w.signalGrace());
      }
      AnalysisCoverage coverage = remote ? remoteCoverage(link, runDir, published.get(), startedMillis, out)
          : AnalysisCoverage.of(registry);
      if (!coverage.byAnalyzer().isEmpty()) {
        event.put("analysed_snapshots", coverage.event());
      }
      // where the process's CPU went (the run on this machine, not the remote analysis of --monitor)
      CpuByRole cpu = CpuByRole.now();
      event.put("cpu_seconds", cpu.toEvent());
      if (remote) {
        finishRemote(link, event, runId, out);
      } else {
        writeRunEnd(runDir, event, flushed.getNow(false), graceSpent(signals, w.signalGrace()), out); // before result
      }
      out.println("  " + peaks.describe());
      out.println("  " + cpu.describe());
      if (!coverage.byAnalyzer().isEmpty()) {
        out.println("  " + coverage.describe());
      }
      outcome.print(out, runDir, remote, w.interruptedAdvice());
      if (http != null && awaitStoppedScrape(http, registry, w.discovery().stoppedScrapeWait(), signals, out)) {
        http.stopAfterInFlight(Duration.ofSeconds(2)); // the scrape's response is on its way: let it finish
      }
      return new Result(outcome.exitCode(), finished, runDir, port);
    } finally {
      signals.close();
      memory.close();
      try {
        backgroundOom.close();
      } catch (Exception e) {
        // restoring the default handler does not fail
      }
      if (gcThreads != null) {
        gcThreads.close();
      }
      ServiceDiscovery.unregister(sdFile, sdWritten);
      if (http != null) {
        http.stop();
      }
      if (processMetrics != null) {
        processMetrics.close();
      }
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(terminationWait(signals.deadline()).toMillis(),
            TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        // shutting down anyway
      }
    }
  }

  /**
   * Where a signal during training goes: to the guardian, with the signal's grace, which bounds the end's flush of the
   * metrics (less {@link MonitorLink#STOP_MARGIN}).
   */
  static Consumer<String> interrupts(SignalStop signals, ActorRef<? super RunGuardian.Interrupt> guardian) {
    // a local run's too: a hung disk (NFS) kept its flush 30 s, past the grace, and the watchdog's line named nothing
    return reason -> guardian.tell(new RunGuardian.Interrupt(reason, signals.deadline().orElse(null)));
  }

  /**
   * How long the run's end waits for its actor system to terminate: 30 s, and after a signal what is left of its grace
   * less {@link MonitorLink#STOP_MARGIN}. A --monitor run's node leaving the cluster waits for the monitor: one that
   * does not answer kept the process 10-30 s past the grace, and with all that was left (session 54) the JVM's exit
   * after it still ended the process about 0.4 s past the grace.
   */
  static Duration terminationWait(Optional<StopDeadline> signalDeadline) {
    return signalDeadline.map(d -> d.leftBefore(MonitorLink.STOP_MARGIN)).orElse(Duration.ofSeconds(30));
  }

  /**
   * A run stopped early by an alert ({@code splinewatch_run_stopped_early} is set) usually ends a second or two after
   * it, before Prometheus scrapes again: Prometheus would never see the stop, and Alertmanager never hear of it. When
   * the endpoint was scraped during the run (a Prometheus watches it), it and the discovery file stay up until one more
   * scrape has been served within half its scraper's timeout (a scrape Prometheus gave up on is dropped, the stop with
   * it), at most twice the observed interval after the stop or after a scrape that was too slow, and at most
   * {@code max}; a first signal ends the wait. A run nobody scraped does not wait. Whether such a scrape came.
   */
  static boolean awaitStoppedScrape(MetricsHttpServer http, PrometheusMeterRegistry registry, Duration max,
      SignalStop signals, PrintStream out) {
    var stopped = registry.find(MetricFamily.RUN_STOPPED_EARLY.meterName()).gauge();
    long seen = http.scrapes().count();
    if (stopped == null || seen == 0 || max.isZero() || signals.received() != null) {
      return false;
    }
    Duration wait = http.scrapes().waitFor(max);
    String rule = stopped.getId().getTag("rule");
    out.println("  waiting up to " + seconds(wait) + " for one more scrape of /metrics (scraped "
        + http.scrapes().interval().map(i -> "every " + seconds(i)).orElse("once")
        + " during the run), so that Prometheus sees splinewatch_run_stopped_early{rule=\"" + rule
        + "\"} and Alertmanager hears of the stop (splinewatch.metrics.stopped-scrape-wait; Ctrl-C ends the wait)");
    signals.waitingForScrape();
    http.scrapes().closeConnections();
    try {
      long seenInTime = http.scrapes().inTime();
      boolean scraped = http.scrapes().awaitAfter(seenInTime, wait, max, () -> signals.received() != null);
      if (!scraped && signals.received() == null) {
        long late = http.scrapes().count() - seen;
        out.println("  no scrape within " + seconds(wait) + (late == 0 ? "" : " that was served within half its"
            + " scraper's timeout (" + late + " took longer)") + ": Prometheus may not see the stop");
      }
      return scraped;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static String seconds(Duration d) {
    return String.format(java.util.Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
  }

  /** A signal during the start-up: one line, nothing of the run written, and the signal's exit code. */
  private static Result interruptedBeforeTraining(SignalStop signals, RunSettings s, Path runDir, PrintStream out) {
    out.println(SignalStop.beforeTraining(signals.received())
        + (s.resume() == null ? "" : "; " + s.resume() + " and its run are as they were"));
    return new Result(signals.exitCode(), null, runDir, 0);
  }

  /** The run's HTTP server: {@code /metrics}, the control endpoint, the planes, the embedding views, the live page. */
  private static MetricsHttpServer startHttp(ActorSystem<Object> system, PrometheusMeterRegistry registry,
      RunSettings s, WiringSettings w, String runId, Path runDir, AlertWebhook webhook) {
    var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    return MetricsHttpServer.start(system, registry, s.metricsHost(), s.metricsPort(),
        Directives.concat(ControlRoutes.route(webhook), ControlRoutes.planes(runDir.resolve("planes")),
            ControlRoutes.runPlanes(s.out()),
            LivePage.route(s.out(), runId::equals, blocking)),
        w.discovery().allowed(s.metricsHost()));
  }

  /** Writes the run's control token (unless the deployment's token file is used) and prints where to POST. */
  private static void announceControl(WiringSettings w, RunSettings s, int port, Path runDir, String token,
      PrintStream out) {
    Path tokenFile = w.control().publish(token, runDir.resolve(RunIds.CONTROL_TOKEN_FILE));
    out.println("  control: POST " + BrowsableUrl.base(s.metricsHost(), w.discovery().advertiseHost(), port)
        + "/api/v1/alerts (Alertmanager webhook;"
        + " bearer token in " + tokenFile + ")");
    if (!w.control().shared() && w.alerts() != null && "alertmanager".equals(w.alerts().earlyStop())) {
      // the shipped Alertmanager configuration and the relay send the deployment's token, which this run refuses
      out.println("  warning: --early-stop alertmanager, but this run's control token is its own random one: the"
          + " shipped Alertmanager configuration and ./monitor relay send the deployment token, so they cannot stop"
          + " it; set splinewatch.control.token-file (or SPLINEWATCH_CONTROL_TOKEN_FILE) to the deployment's token"
          + " file, or point Alertmanager's credentials_file at " + tokenFile);
    }
  }

  /**
   * Where {@code --resume} starts: latest, or latest.prev where a crash interrupted the swap of a checkpoint or latest
   * is damaged.
   */
  private static Resume resume(RunSettings s, Optional<Checkpoints.Resolved> checkpoint, PrintStream out) {
    if (checkpoint.isEmpty()) {
      return new Resume(null, 0);
    }
    Path from = checkpoint.get().path();
    checkpoint.get().skipped().ifPresent(problem -> out.println("  " + s.resume() + " is not usable (" + problem
        + "); resuming from its predecessor " + from));
    Checkpoints.Meta meta = checkpoint.get().meta();
    if (!meta.method().equals(s.method())) {
      throw new IllegalArgumentException("checkpoint " + from + " is from method " + meta.method()
          + "; this run is " + s.method());
    }
    out.println("  resuming from " + from + " at step " + meta.step() + " (weights and optimiser state;"
        + " the batch order restarts)");
    return new Resume(from, meta.step());
  }

  /** Creates the trainer on its own thread (resumed from the checkpoint, if any), as the listener sees it. */
  private static Supplier<Trainer> trainerFactory(RunSettings s, LabeledImages train, Resume resume,
      Listener listener) {
    return () -> {
      Trainer t = s.createTrainer(train);
      if (resume.from() != null) {
        try {
          t.loadCheckpoint(resume.from());
        } catch (IOException e) {
          t.close();
          throw new IllegalArgumentException("cannot resume: " + e.getMessage());
        }
      }
      return listener.trainer(t);
    };
  }

  /**
   * The coverage of a run analysed by a monitor on this machine that writes this run's directory (a {@code monitor
   * serve} with the trainer's {@code --out}): analyses recorded in its {@code metrics.jsonl} once the monitor has
   * flushed them, against the snapshots this trainer took. Empty for a monitor elsewhere, or when the directory here
   * is an older run's (written before this run started).
   */
  private static AnalysisCoverage remoteCoverage(MonitorLink link, Path runDir, long published, long startedMillis,
      PrintStream out) {
    try {
      if (!Files.isRegularFile(runDir.resolve("metrics.jsonl")) || !Files.isRegularFile(runDir.resolve("config.json"))
          || Files.getLastModifiedTime(runDir.resolve("config.json")).toMillis() < startedMillis) {
        return new AnalysisCoverage(Map.of());
      }
    } catch (IOException e) {
      return new AnalysisCoverage(Map.of());
    }
    if (link.monitorGone().isPresent()) {
      return new AnalysisCoverage(Map.of()); // nothing to flush: the run's end says once that the monitor is gone
    }
    try {
      link.flush();
      return AnalysisCoverage.fromAnalysisSteps(RunData.read(runDir).series().values().stream()
          .filter(series -> series.name().equals(MetricFamily.ANALYSIS_STEP.id()))
          .map(series -> Map.entry(series.labels().getOrDefault("analyzer", ""), (long) series.points().size()))
          .toList(), published);
    } catch (MonitorLink.OutOfGrace e) {
      return new AnalysisCoverage(Map.of()); // the run's end names the monitor, once, with what did not reach it
    } catch (RuntimeException e) {
      out.println("warning: cannot count the analysed snapshots: " + e.getMessage());
      return new AnalysisCoverage(Map.of());
    }
  }

  /** {@code starter}'s sink, counting the snapshots published to it. */
  private static SnapshotSink.Starter counting(AtomicLong published, SnapshotSink.Starter starter) {
    return ctx -> {
      SnapshotSink inner = starter.start(ctx);
      return new SnapshotSink() {
        @Override
        public ActorRef<MetricsActor.Command> metrics() {
          return inner.metrics();
        }

        @Override
        public void publish(WeightSnapshot snapshot) {
          published.incrementAndGet();
          inner.publish(snapshot);
        }

        @Override
        public void trainingEnded(long step) {
          inner.trainingEnded(step);
        }

        @Override
        public CompletionStage<Done> drain() {
          return inner.drain();
        }

        @Override
        public CompletionStage<Done> abandon() {
          return inner.abandon();
        }

        @Override
        public boolean stopsWithRun() {
          return inner.stopsWithRun();
        }

        @Override
        public java.util.Optional<String> metricsUnreachable() {
          return inner.metricsUnreachable();
        }
      };
    };
  }

  /** Records the end of a run that joined a cluster on its metrics node; a failure is a warning. */
  private static void finishRemote(MonitorLink link, Map<String, Object> event, String runId, PrintStream out) {
    try {
      link.finish(event);
      // the trainer does not know the monitor's --out: name the directory by the run id, not by a guessed parent
      out.println("  run files and report: on the monitor, in the directory " + runId + " under its --out (default"
          + " runs)");
    } catch (RuntimeException e) {
      out.println("warning: " + e.getMessage());
    }
  }

  /**
   * After a signal whose grace the end's flush used up (all but {@link MonitorLink#STOP_MARGIN}, and half a second
   * for the flush's own end): what the run's end calls it, "the 25 s signal-grace after SIGINT"; empty otherwise.
   */
  static Optional<String> graceSpent(SignalStop signals, Duration grace) {
    return signals.deadline().filter(d -> d.left().compareTo(MonitorLink.STOP_MARGIN.plusMillis(500)) <= 0)
        .map(d -> "the " + MonitorLink.seconds(grace) + " signal-grace after SIG" + signals.received());
  }

  /** As below, for an end without a signal's grace spent. */
  static void writeRunEnd(Path runDir, Map<String, Object> event, boolean flushed, PrintStream out) {
    writeRunEnd(runDir, event, flushed, Optional.empty(), out);
  }

  /**
   * The {@code run_finished} event and the HTML report of a run analysed here; failures are warnings. {@code flushed}:
   * whether the guardian's flush wrote the run's metrics before this ({@link RunGuardian.Observers#flushed}); where it
   * timed out, the event says so ({@link RunData#METRICS_FLUSHED}) and neither this report nor a later one checks the
   * metrics for an early end: the samples still being written may come after both, or never. {@code graceSpent}: the
   * signal's grace that cut the flush short ({@link #graceSpent}), which one line names first instead of the note.
   */
  static void writeRunEnd(Path runDir, Map<String, Object> event, boolean flushed, Optional<String> graceSpent,
      PrintStream out) {
    boolean cutByGrace = !flushed && graceSpent.isPresent();
    if (cutByGrace) {
      // said before run_finished and the report are written: the disk that held up the metrics may hold them up too,
      // until the grace halts the process
      out.println("warning: the run's metrics were not confirmed written within " + graceSpent.get() + " (a slow or"
          + " stuck disk? splinewatch.lifecycle.signal-grace raises it): " + runDir.resolve("metrics.jsonl") + " and"
          + " events.jsonl may lack what the run sent last; run_finished and the report are written without them"
          + " (./monitor report " + runDir + " reads what was written since)");
    }
    if (!flushed) {
      event.put(RunData.METRICS_FLUSHED, false);
    } else if ("done".equals(event.get("status"))) {
      // this process wrote the run's metrics: the trainer publishes a training-step sample at its last step, and the
      // guardian flushed the metrics before this event (RunData.endsBeforeLoggedStep checks it). Not for other ends
      // (a signal or an alert stops between the steps it logs) nor for --monitor runs (the monitor writes both)
      event.put(RunData.TRAINING_STEP_LOGGED, event.get("steps"));
    }
    try {
      RunLog.appendEvent(runDir, event);
    } catch (UncheckedIOException e) {
      out.println("warning: " + RunGuardian.describe(e));
    }
    try {
      ReportWriter.write(List.of(RunData.read(runDir)), runDir.resolve("report.html"));
      out.println("  report: " + runDir.resolve("report.html"));
      if (!flushed && !cutByGrace) {
        out.println("  note: the run's metrics were not all written within " + RunGuardian.Timeouts.FLUSH.toSeconds()
            + " s of its end (a slow or stuck disk?): run_finished and this report were written before them, and do"
            + " not check them for an early end; ./monitor report " + runDir + " reads what was written since");
      }
    } catch (RuntimeException e) {
      out.println("warning: could not write the report: " + e.getMessage());
    }
  }

  /** The analyzers of {@code splinewatch.analysis.enabled}; see {@link AnalyzerCatalogue}. */
  public static List<AnalyzerSpec> defaultAnalyzers(Config config) {
    return AnalyzerCatalogue.fromConfig(config).specs();
  }
}
