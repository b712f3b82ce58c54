package org.splinewatch.serve;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.server.Directives;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.analysis.IdleGcThreads;
import org.splinewatch.cluster.AnalyzerWorker;
import org.splinewatch.cluster.ClusterNode;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.cluster.ReportChain;
import org.splinewatch.cluster.SeedProbe;
import org.splinewatch.cluster.StopDeadline;
import org.splinewatch.cluster.TlsEngineProvider;
import org.splinewatch.control.AlertWebhook;
import org.splinewatch.control.ControlRoutes;
import org.splinewatch.control.RunControl;
import org.splinewatch.ingest.HttpIngestion;
import org.splinewatch.metrics.BrowsableUrl;
import org.splinewatch.metrics.MemoryWatch;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.metrics.ProcessMetrics;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.trainer.BackgroundOutOfMemory;

/**
 * {@code ./monitor serve}: a cluster node with the analyzer and/or metrics roles. The metrics role serves
 * {@code /metrics}, the live page and the control endpoint for every run that streams here; the analyzer role runs
 * analyzers on the snapshots trainers send. {@link #close()} leaves the cluster.
 */
public final class MonitorServer implements AutoCloseable {
  /**
   * How long a stopping monitor waits for its actor system to terminate (leaving the cluster) beyond the stop's
   * deadline, which bounds the node's wait for its reports.
   */
  private static final Duration TERMINATION_MARGIN = Duration.ofSeconds(10);

  private final ActorSystem<Void> system;
  /**
   * How long a stopping monitor waits for the runs streamed over HTTP to record their end, and then for the reports
   * still being written: {@code splinewatch.cluster.finish-timeout}, what a trainer waits for its run's end.
   */
  private final Duration stopWait;
  /** The metrics role (null without it): told first that the monitor stops, so that it refuses new trainers. */
  private final ActorRef<MetricsNode.Command> metricsNode;
  /** The node's reports (null without the metrics role). */
  private final ReportChain reports;
  private final MetricsHttpServer http;
  private final Path sdFile;
  private final String sdWritten;
  private final MemoryWatch memory;
  private final HttpIngestion ingest;
  private final RunControl control;
  private final OutLock outLock;
  /** What this monitor records for this user's other monitors while it stops (they may want its ports). */
  private final StoppingMonitors.Record stoppingRecord;
  private final AutoCloseable backgroundOom;

  private MonitorServer(ActorSystem<Void> system, Duration stopWait, ActorRef<MetricsNode.Command> metricsNode,
      ReportChain reports, MetricsHttpServer http, Path sdFile, String sdWritten, MemoryWatch memory,
      HttpIngestion ingest, RunControl control, OutLock outLock, StoppingMonitors.Record stoppingRecord,
      AutoCloseable backgroundOom) {
    this.system = system;
    this.stoppingRecord = stoppingRecord;
    this.stopWait = stopWait;
    this.metricsNode = metricsNode;
    this.reports = reports;
    this.backgroundOom = backgroundOom;
    this.http = http;
    this.sdFile = sdFile;
    this.sdWritten = sdWritten;
    this.memory = memory;
    this.ingest = ingest;
    this.control = control;
    this.outLock = outLock;
  }

  /**
   * Starts the node. {@code metricsHost}/{@code metricsPort} are where the metrics role serves HTTP (port 0 picks a
   * free one); {@code out} holds the run directories.
   */
  public static MonitorServer start(Config config, ClusterSettings cluster, String metricsHost, int metricsPort,
      Path out, PrintStream console) {
    return start(config, ServeSettings.fromConfig(config), cluster, metricsHost, metricsPort, out, console);
  }

  /**
   * As above, with the settings read once by the caller; the control token an earlier monitor left on {@code out} is
   * read here (an {@link IllegalArgumentException} when it cannot be kept).
   */
  public static MonitorServer start(Config config, ServeSettings settings, ClusterSettings cluster,
      String metricsHost, int metricsPort, Path out, PrintStream console) {
    return start(config, settings, cluster, metricsHost, metricsPort, out, keptToken(settings, cluster, out), console);
  }

  /**
   * The control token a metrics node without a deployment token keeps from {@code <out>/control-token}
   * ({@link KeptToken#read}), empty when there is none or the node has no use for it: read once, by the caller that
   * checks it, and handed to {@link #start} as it was read (a second read could find another file).
   */
  public static Optional<String> keptToken(ServeSettings settings, ClusterSettings cluster, Path out) {
    return cluster.roles().contains("metrics") && !settings.control().shared() ? KeptToken.read(out)
        : Optional.empty();
  }

  /**
   * As above, with {@code kept}, the token {@link #keptToken} read (the file is not read again): used unless the
   * settings give a deployment token.
   */
  public static MonitorServer start(Config config, ServeSettings settings, ClusterSettings cluster,
      String metricsHost, int metricsPort, Path out, Optional<String> kept, PrintStream console) {
    return start(config, settings, cluster, metricsHost, metricsPort, out, kept, console, ReportChain.REPORT);
  }

  /**
   * Test hook ({@code ServeStopTest}): as {@link #start(Config, ClusterSettings, String, int, Path, PrintStream)},
   * the node's reports written by {@code reportWriter} instead of {@link ReportChain#REPORT}.
   */
  public static MonitorServer start(Config config, ClusterSettings cluster, String metricsHost, int metricsPort,
      Path out, PrintStream console, Consumer<Path> reportWriter) {
    ServeSettings settings = ServeSettings.fromConfig(config);
    return start(config, settings, cluster, metricsHost, metricsPort, out, keptToken(settings, cluster, out), console,
        reportWriter);
  }

  private static MonitorServer start(Config config, ServeSettings settings, ClusterSettings cluster,
      String metricsHost, int metricsPort, Path out, Optional<String> kept, PrintStream console,
      Consumer<Path> reportWriter) {
    if (cluster.roles().isEmpty()) {
      throw new IllegalArgumentException("a monitor node needs at least one role: analyzer, metrics");
    }
    // before anything is written: a second metrics node on the same --out would replace the first one's token. And
    // before the cluster port is bound: a monitor restarted on the same --out waits here for the previous one to stop,
    // whose cluster port is free once it has
    cluster.checkAddress(); // a host not of this machine is refused before --out is created
    OutLock outLock = cluster.roles().contains("metrics") ? OutLock.acquire(out, console::println) : null;
    ActorSystem<Void> system;
    try {
      // a monitor of another --out that is stopping (its .monitor-stopping is there) may still hold these ports: it
      // failed at once with "cluster port ... in use"
      StoppingMonitors.forUser().awaitPorts(List.of(new StoppingMonitors.Port("cluster port", cluster.host(),
          cluster.port()), new StoppingMonitors.Port("metrics port", metricsHost,
          cluster.roles().contains("metrics") ? metricsPort : 0)), console::println);
      system = ClusterNode.start(Behaviors.empty(), cluster, cluster.roles(), config);
    } catch (RuntimeException e) {
      if (outLock != null) {
        outLock.abandon(); // a failed start writes nothing
      }
      throw e;
    }
    // G1's background threads at idle priority for the node's lifetime: a trainer on the same machine keeps its cores
    IdleGcThreads.startFromEnvironment(Duration.ofSeconds(2));
    // a node serves many runs: over its resident limit it warns (it cannot stop them); /metrics shows its peaks
    MemoryWatch memory = MemoryWatch.start(settings.memory(),
        reason -> console.println("warning: " + reason));
    // an OutOfMemoryError in one of its own threads (the memory watch's, ...): the trainer's one line, as a warning
    AutoCloseable backgroundOom = BackgroundOutOfMemory.install(reason -> console.println("warning: " + reason),
        BackgroundOutOfMemory.SERVE);
    MetricsHttpServer http = null;
    Path sdFile = null;
    String sdWritten = "";
    HttpIngestion ingestion = null;
    RunControl runControl = null;
    ActorRef<MetricsNode.Command> metricsNodeRef = null;
    ReportChain reportChain = null;
    // refused cluster messages of both roles count on this node's /metrics (logged only on analyzer-only nodes)
    Rejections rejections = Rejections.unexported();
    try {
      console.println("splinewatch monitor: cluster node " + ClusterNode.address(system) + " (roles "
          + String.join(", ", cluster.roles()) + (cluster.seed().isEmpty() ? "; first node" : "; joining "
          + cluster.seed() + ", waiting up to " + MonitorLink.seconds(cluster.joinTimeout())) + ")");
      // a seed that never answers: one line of our own and a bounded wait, not Pekko's retries every 5 s forever
      SeedProbe probe = new SeedProbe(system, cluster, false);
      if (!cluster.seed().isEmpty() && !ClusterNode.awaitUp(system, cluster.joinTimeout(), probe::hopeless)) {
        if (probe.mismatch().isPresent()) { // TLS on one side only, or an HTTP port: one line that says so, in seconds
          throw new IllegalStateException(probe.mismatch().get());
        }
        Optional<String> refusal = ClusterNode.tlsRefusal(system);
        throw new IllegalStateException("cannot reach the cluster seed " + cluster.seed() + ": no splinewatch node"
            + " let this one join" + (refusal.isPresent() ? "" : " within "
            + MonitorLink.seconds(cluster.joinTimeout())) + "; expected a running"
            + " ./monitor serve there: check --seed HOST:PORT (its --host and cluster --port, default 25520), that"
            + " it is reachable from here, and that both nodes use the same TLS settings"
            + " (splinewatch.cluster.join-timeout sets the wait)"
            + refusal.map(r -> "; " + r).orElse(MonitorLink.STARVED_MONITOR));
      }
      if (cluster.roles().contains("metrics")) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        rejections = new Rejections(registry);
        org.apache.pekko.actor.ActorSystem classic = Adapter.toClassic(system);
        FunctionCounter.builder(MetricFamily.CLUSTER_TLS_REFUSED_TOTAL.meterName(),
            classic, TlsEngineProvider::refused).description(MetricFamily.CLUSTER_TLS_REFUSED_TOTAL.help())
            .register(registry);
        ProcessMetrics.bind(registry); // JVM/process health; lives as long as the node
        memory.bind(registry, Tags.of("node", ClusterNode.address(system)));
        RunControl control = new RunControl();
        runControl = control;
        // no deployment token: the one an earlier monitor on this --out wrote (kept), so its clients follow a restart
        Optional<String> keptToken = settings.control().shared() ? Optional.<String>empty() : kept;
        String controlToken = keptToken.orElseGet(settings.control()::resolveToken);
        AlertWebhook webhook = new AlertWebhook(controlToken, control,
            event -> console.println("stop requested through the control endpoint: run '" + event.get("run") + "': "
                + event.get("alertname") + " " + event.get("summary")));
        // HTTP ingestion (issue 25): its routes need the metrics node, whose URL needs the bound port
        var ingest = HttpIngestion.prepare(system, config, cluster, controlToken, registry);
        ingestion = ingest;
        var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
        http = MetricsHttpServer.start(system, registry, metricsHost, metricsPort,
            Directives.concat(ControlRoutes.route(webhook), ingest.route(), ControlRoutes.runPlanes(out),
                LivePage.route(out, control::isLive, control::trainingEnded, blocking)),
            settings.discovery().allowed(metricsHost));
        // what a browser here opens (loopback for a wildcard bind host), and what trainers and HTTP clients elsewhere
        // are told: the advertised host, else this node's cluster host, which they reached
        String base = BrowsableUrl.base(metricsHost, settings.discovery().advertiseHost(), http.port());
        String told = BrowsableUrl.wildcard(metricsHost) && settings.discovery().advertiseHost().isBlank()
            && !BrowsableUrl.wildcard(cluster.host()) ? BrowsableUrl.base(cluster.host(), http.port()) : base;
        String url = told + "/metrics";
        // a deployment token from a file is read there; a copy under --out would spread the deployment's secret
        Path tokenFile = settings.control().publish(controlToken, out.resolve(RunIds.CONTROL_TOKEN_FILE));
        sdFile = ServiceDiscovery.register(settings.discovery(), out, "monitor-" + http.port(), metricsHost,
            http.port());
        // the target a killed monitor on this --out left (another port) would stay down in Prometheus for good
        Path stale = ServiceDiscovery.removeLeft(outLock.previous(), sdFile);
        // a monitor of a release that recorded nothing may have left its file in the --out's own directory: looked at
        // at each start until it is gone (a shared sd-dir holds other --outs' monitors' files: left alone)
        ServiceDiscovery.Unrecorded unrecorded = settings.discovery().sdDir() == null
            ? ServiceDiscovery.removeUnrecorded(sdFile.getParent(), sdFile, out,
            BrowsableUrl.host(settings.discovery().host(metricsHost), ""))
            : new ServiceDiscovery.Unrecorded(List.of(), List.of());
        sdWritten = ServiceDiscovery.left(sdFile);
        outLock.record(sdWritten);
        // one chain for the node's reports (runs ending here, runs marked interrupted now): one in memory at a time
        ReportChain reports = new ReportChain(reportWriter);
        reportChain = reports;
        var metricsNode = system.systemActorOf(MetricsNode.create(registry, out, control, url, rejections,
            cluster.maxOpenRuns(), settings.finishedRunMetersGrace(),
            settings.retention(), reports, cluster.finishTimeout()), "metrics-node", Props.empty());
        metricsNodeRef = metricsNode;
        HttpIngestion.Left left = ingest.start(metricsNode, out, told, reports,
            w -> console.println("warning: " + w));
        console.println("  metrics: " + base + "/metrics (live page: " + base + "/)");
        BrowsableUrl.listening(metricsHost, settings.discovery().advertiseHost(), http.port())
            .ifPresent(console::println);
        console.println("  control: POST " + base + "/api/v1/alerts (bearer token in " + tokenFile
            + (keptToken.isPresent() ? ", kept from the earlier monitor on " + out : "") + ")");
        if (ingest.enabled()) {
          console.println("  ingestion: POST " + base + "/api/v1/runs (any training"
              + " loop, e.g. the PyTorch client in clients/python; same bearer token)");
        }
        console.println("  run directories: " + out);
        if (!left.runs().isEmpty()) {
          console.println("  marked " + left.runs().size() + " HTTP run(s) that an earlier monitor on " + out
              + " left without an end as interrupted (run_finished in events.jsonl, report.html): " + String.join(", ",
              left.runs()) + "; a client still sending resumes its run");
        }
        if (stale != null) {
          console.println("  removed " + stale + ", the Prometheus target of the earlier monitor on " + out
              + " (stopped without removing it)");
        }
        unrecorded.removed().forEach(f -> console.println("  removed " + f + ", the Prometheus target of a monitor"
            + " that ran on " + out + " before monitors recorded theirs (nothing answers on its port)"));
        unrecorded.warnings().forEach(w -> console.println("warning: " + w));
        left.unanalysed().forEach(p -> console.println("warning: " + p));
        left.problems().forEach(p -> console.println("warning: " + p));
      }
      if (cluster.roles().contains("analyzer")) {
        Duration timeout = settings.analysisTimeout();
        List<String> known = AnalyzerCatalogue.NAMES;
        system.systemActorOf(AnalyzerWorker.create(settings.analyzers()::specs, out, timeout,
            cluster, rejections),
            "analyzer-node", Props.empty());
        console.println("  analyzers: " + String.join(", ", known) + " (as each run asks)");
      }
      console.println("  trainers join with: ./trainer --monitor " + ClusterNode.address(system)
          + tlsFlags(cluster.tls()) + "   (" + (cluster.tls().enabled() ? "NAME.p12 a certificate of this"
          + " cluster's CA; " : "") + "Ctrl-C leaves the cluster and stops)");
      StoppingMonitors.Record stoppingRecord = StoppingMonitors.forUser().record(ClusterNode.port(system),
          http == null ? 0 : http.port(), out);
      return new MonitorServer(system, cluster.finishTimeout(), metricsNodeRef, reportChain, http, sdFile, sdWritten,
          memory, ingestion, runControl, outLock, stoppingRecord, backgroundOom);
    } catch (RuntimeException e) {
      if (http != null) {
        http.stop();
      }
      ServiceDiscovery.unregister(sdFile, sdWritten);
      memory.close();
      closeQuietly(backgroundOom);
      system.terminate();
      if (outLock != null) {
        outLock.close();
      }
      throw e;
    }
  }

  /**
   * The TLS flags a trainer needs to join a node with {@code tls} (empty without TLS): {@code --tls-dir} where the
   * trust store and password are those of a {@code ./monitor certs} directory, else the files one by one.
   */
  static String tlsFlags(ClusterSettings.Tls tls) {
    if (!tls.enabled()) {
      return "";
    }
    Path trust = Path.of(tls.trustStore());
    Path dir = trust.getParent() == null ? Path.of(".") : trust.getParent();
    if (trust.getFileName().toString().equals("truststore.p12")
        && Path.of(tls.passwordFile()).equals(dir.resolve("password"))) {
      return " --tls-dir " + dir + " --tls-name NAME";
    }
    return " --tls-key-store NAME.p12 --tls-trust-store " + trust + " --tls-password-file " + tls.passwordFile();
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The runs streaming here that the control endpoint may stop (null without the metrics role); for tests. */
  RunControl runControl() {
    return control;
  }

  /**
   * Done once every report the node added so far is written (or failed). A {@link #close} that ran out of time
   * returns while some are still being written, into run directories that a test then deletes: it waits for them.
   */
  public CompletableFuture<Void> reportsWritten() {
    return reports == null ? CompletableFuture.completedFuture(null) : reports.last();
  }

  /** The HTTP port of the metrics role (0 without it). */
  public int metricsPort() {
    return http == null ? 0 : http.port();
  }

  /** Blocks until the node's actor system has terminated. */
  public void awaitTermination() {
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** This node's peak heap, off-heap and resident memory so far. */
  public MemoryWatch.Peaks memoryPeaks() {
    return memory.peaks();
  }

  @Override
  public void close() {
    close(null, null);
  }

  /**
   * Stops the node. Its metrics role refuses trainers from now on ({@link MetricsNode.Stopping}). With a
   * {@code reason} (a signal), the runs streamed over HTTP are first finished as {@code interrupted} (run_finished
   * and report written), but those already ending (their clients had finished them), which end as they were, and
   * {@code console} names both apart, and the trainers' runs that are left without their end.
   * Returns once the node writes nothing more into the run directories. All its waits (the HTTP runs' ends, the
   * reports still being written, the metrics node's last reports) share one deadline,
   * {@code splinewatch.cluster.finish-timeout} from now, so that the stop takes about that long at most (and
   * {@link #TERMINATION_MARGIN} for the node to leave the cluster); when it passes, {@code console} says in one line
   * which runs did not record their end and which reports were not written.
   */
  public void close(String reason, PrintStream console) {
    StopDeadline deadline = StopDeadline.in(stopWait);
    // a monitor started meanwhile on another --out that wants this one's ports waits for this stop to end (recorded
    // before .monitor-stopping: a test waits for that file)
    stoppingRecord.stopping(stopWait.plus(TERMINATION_MARGIN));
    if (outLock != null) { // and one restarted on this --out
      outLock.stopping(stopWait.plus(TERMINATION_MARGIN));
    }
    if (metricsNode != null) {
      metricsNode.tell(new MetricsNode.Stopping(deadline));
    }
    List<String> unended = List.of();
    if (reason != null && console != null) {
      if (ingest != null) {
        HttpIngestion.Cut cut = ingest.finishAll(reason, deadline.left());
        unended = cut.unended();
        if (!cut.runs().isEmpty()) {
          console.println("  finished " + cut.runs().size() + " run(s) streamed over HTTP as interrupted: "
              + String.join(", ", cut.runs()));
        }
        if (!cut.ending().isEmpty()) {
          // their clients had finished them (or their idle timeout had): they end as they were ending
          console.println("  " + cut.ending().size() + " run(s) streamed over HTTP were already ending before the"
              + " stop (finished by their clients, or their idle timeout), not interrupted: "
              + String.join(", ", cut.ending()));
        }
      }
      if (control != null && !control.runIds().isEmpty()) {
        // a trainer owns its run's end; its run directory here stays without run_finished
        console.println("  left while streaming here (their trainers go on; no run_finished here): "
            + String.join(", ", control.runIds()));
      }
    }
    memory.close();
    ServiceDiscovery.unregister(sdFile, sdWritten);
    if (http != null) {
      http.stop();
    }
    // those of the runs marked interrupted at the start, and of the runs that just ended
    List<String> unwritten = reports == null ? List.of() : reports.awaitWritten(deadline.left());
    if ((!unended.isEmpty() || !unwritten.isEmpty()) && console != null) {
      console.println("  " + unfinished(unended, unwritten, stopWait));
    }
    system.terminate();
    try {
      // the metrics node waits for reports added meanwhile (until the deadline) before it stops
      system.getWhenTerminated().toCompletableFuture().get(deadline.left().plus(TERMINATION_MARGIN).toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      // leaving anyway
    }
    stoppingRecord.close(); // its ports are free
    if (outLock != null) {
      outLock.close();
    }
    closeQuietly(backgroundOom);
  }

  /**
   * The one line of a stop whose {@code wait} ran out: the HTTP runs that did not record their end ({@code unended})
   * and the runs whose report was still being written ({@code unwritten}), and the setting that raises it.
   */
  static String unfinished(List<String> unended, List<String> unwritten, Duration wait) {
    List<String> parts = new java.util.ArrayList<>();
    if (!unended.isEmpty()) {
      parts.add("run(s) " + String.join(", ", unended) + " streamed over HTTP did not record their end (no"
          + " run_finished)");
    }
    if (!unwritten.isEmpty()) {
      parts.add("the report of run(s) " + String.join(", ", unwritten) + " was still being written (report.html may"
          + " be missing or incomplete; ./monitor report RUN_DIR writes it)");
    }
    return "the stop ran out of time after " + MonitorLink.seconds(wait)
        + " (splinewatch.cluster.finish-timeout raises it): " + String.join("; ", parts);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // restoring the handler before does not fail
    }
  }
}
