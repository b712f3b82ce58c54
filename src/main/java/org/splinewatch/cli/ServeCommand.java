package org.splinewatch.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.splinewatch.analysis.IdleGcThreads;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.ingest.IngestSettings;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.run.SignalStop;
import org.splinewatch.serve.MonitorServer;
import org.splinewatch.serve.SchedulingGroup;
import org.splinewatch.serve.ServeSettings;
import org.splinewatch.serve.StoppingMonitors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code ./monitor serve}: an analyzer and/or metrics node that trainers join with {@code --monitor}. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Start a cluster node with the analyzer and/or metrics roles; trainers join it with"
        + " ./trainer --monitor HOST:PORT.")
final class ServeCommand implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;
  @Option(names = "--host", description = "cluster address to bind and advertise (default 127.0.0.1)")
  String host;
  @Option(names = "--port", description = "cluster port (default 25520; 0 picks a free one)")
  Integer port;
  @Option(names = "--seed", paramLabel = "HOST:PORT", description = "join the cluster of this node (default: start"
      + " a new cluster)")
  String seed;
  @Option(names = "--roles", split = ",", description = "analyzer and/or metrics (default both)")
  List<String> roles;
  @Option(names = "--metrics-port", description = "HTTP port of /metrics and the live page (default 9464; 0 picks"
      + " a free one)")
  Integer metricsPort;
  @Option(names = "--metrics-host", description = "bind address of /metrics (default 127.0.0.1)")
  String metricsHost;
  @Option(names = "--out", description = "directory of run directories (default runs)")
  Path out;
  @Option(names = "--analysis-threads", description = "threads of this node's analyzers, 1 to 256 (default 1)")
  Integer analysisThreads;
  @Option(names = "--config", description = "HOCON file overriding reference.conf")
  File configFile;
  @CommandLine.Mixin
  ClusterSecurityOptions security = new ClusterSecurityOptions();

  @Override
  public Integer call() {
    Main.refuseEmptyPaths(spec.commandLine(),
        Main.emptyPath("--out", out, "a directory of run directories, e.g. runs"),
        Main.emptyPath("--config", configFile, "a HOCON file"));
    Map<String, Object> overrides = new LinkedHashMap<>();
    TrainCommand.put(overrides, "splinewatch.cluster.host", host);
    TrainCommand.put(overrides, "splinewatch.cluster.port", port);
    TrainCommand.put(overrides, "splinewatch.cluster.seed", seed);
    TrainCommand.put(overrides, "splinewatch.cluster.roles", roles);
    security.apply(overrides);
    if (analysisThreads != null) {
      String outside = OptionRange.outside("--analysis-threads", analysisThreads, 1, MonitorCommand.Regions.MAX_THREADS,
          "threads of this node's analyzers");
      if (outside != null) {
        throw new CommandLine.ParameterException(spec.commandLine(), outside);
      }
      overrides.put(TrainCommand.ANALYSIS_THREADS, analysisThreads);
    }
    Config config = null;
    ClusterSettings cluster;
    ServeSettings settings;
    try {
      config = TrainCommand.load(overrides, configFile);
      // a well-typed pekko key the cluster node sets itself: not used, which the user would not otherwise learn
      org.splinewatch.settings.ConfigErrors.unusedPekkoKeys(config).forEach(w -> System.err.println("warning: " + w));
      cluster = ClusterSettings.fromConfig(config);
      cluster.checkTransport();
      settings = ServeSettings.fromConfig(config);
      IngestSettings.fromConfig(config); // read again at start; a bad value is exit 2 here, not exit 1 there
      IdleGcThreads.normalPriority(System.getenv("SPLINEWATCH_GC_PRIORITY")); // a value other than normal: exit 2
      // a directory that cannot hold the records of stopping monitors: exit 2 here, not exit 1 at the start
      StoppingMonitors.checkOverride(System.getenv(StoppingMonitors.DIR_VARIABLE));
    } catch (com.typesafe.config.ConfigException e) { // a value of the wrong type: the file, the full key, ...
      throw new CommandLine.ParameterException(spec.commandLine(),
          org.splinewatch.settings.ConfigErrors.describe(e, config));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    int httpPort = metricsPort != null ? metricsPort : settings.metricsPort();
    String httpHost = metricsHost != null ? metricsHost : settings.metricsHost();
    Path runs = out != null ? out : settings.out();
    if (httpPort < 0 || httpPort > 65535) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--metrics-port " + httpPort
          + " is not a port; expected 0 (a free one) or 1-65535");
    }
    if (Files.exists(runs) && !Files.isDirectory(runs)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--out " + runs
          + " is a file; expected a directory of run directories");
    }
    MetricsHttpServer.notAnAddressHere(httpHost).ifPresent(why -> { // before --out and its lock are written
      throw new CommandLine.ParameterException(spec.commandLine(), why);
    });
    // the control token an earlier monitor left there is kept: one that cannot be is refused before anything runs.
    // Read once: the node takes this value, not the file again (changed meanwhile, it would give another token)
    Optional<String> kept;
    try {
      kept = MonitorServer.keptToken(settings, cluster, runs);
      if (settings.control().fromFile() && cluster.roles().contains("metrics")) {
        // a deployment token file that cannot be used (missing, short, open to others): it failed once the node had
        // started, exit 1 with --out created
        settings.control().resolveToken();
      }
    } catch (IllegalArgumentException e) { // a file's contents, not an option: no "--help lists the options" line
      System.err.println("error: " + e.getMessage());
      return 2;
    }
    // this command's JVM hook (below) finishes the HTTP runs, leaves the cluster and terminates the node, which stops
    // Artery in its turn. Artery's own JVM hook waited for it only as long as CoordinatedShutdown's phase timeouts
    // add up to (35 s), then stopped the transport under it (the leave no longer reached the cluster) and, on a loaded
    // machine, printed a TimeoutException stack trace when that took more than 23 s: without Pekko's JVM hooks
    config = config.withValue("pekko.jvm-shutdown-hooks", ConfigValueFactory.fromAnyRef(false));
    MonitorServer server;
    try {
      server = MonitorServer.start(config, settings, cluster, httpHost, httpPort, runs, kept, System.out);
    } catch (MetricsHttpServer.PortInUseException e) {
      System.err.println("error: " + Main.oneLine(e) + " (0 picks a free one)");
      return 1;
    } catch (MetricsHttpServer.NotAnAddressHereException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (IllegalArgumentException | IllegalStateException e) {
      System.err.println("error: " + Main.oneLine(e));
      return 1;
    }
    // only once the node has started (no analysis runs before a run registers): the group's nice applies to all of
    // this session's threads at once, and lowered before the start it made the start itself wait for every other
    // session's CPU (not ready after 8 min at a load average of 40, 7 s of CPU)
    String scheduling = SchedulingGroup.yieldToOtherSessions(settings.schedulingGroupNice());
    // through CoordinatedShutdown, which adds it with Pekko's JVM hooks off as well. (With a plain JVM hook and
    // Artery's hook on, the transport went down first: the leave timed out after 10 s and the other nodes downed this
    // one as unreachable.)
    CoordinatedShutdown.get(server.system()).addJvmShutdownHook(() -> {
      // first: what is left to do (the runs' ends and reports, the cluster's leave, freeing the ports for a restart)
      // gets an equal share of the CPU, not nice 19's 15/1024 of a busy machine
      SchedulingGroup.equalShareToStop();
      server.close("the monitor was stopped while the run streamed (SIGTERM, SIGINT or SIGHUP)", System.out);
      System.out.println("  " + server.memoryPeaks().describe());
    });
    if (scheduling != null) {
      System.out.println("  " + scheduling);
    }
    // in the signal's handler, before the JVM's exit starts the hook above (which does it too, for an exit without one)
    SignalStop.serving(SchedulingGroup::equalShareToStop);
    server.awaitTermination();
    return 0;
  }
}
