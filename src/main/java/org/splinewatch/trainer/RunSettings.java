package org.splinewatch.trainer;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.splinewatch.data.Dataset;
import org.splinewatch.data.DatasetLoader;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.settings.ConfigBlock;

/**
 * Settings of one run, read from the {@code splinewatch} HOCON block (defaults in {@code reference.conf}; the
 * command line overrides individual keys).
 */
public record RunSettings(String method, String dataset, Path dataDir, Path cacheDir, String npmCommand, int epochs,
    long maxSteps, int batchSize, long seed, int snapshotEvery, int planes, String runId, Path out, String metricsHost,
    int metricsPort, double learningRate, double temperature, int[] hidden, int projectionDim, int probeSize,
    int hubBufferSize, Duration analysisTimeout, Duration drainTimeout, boolean monitoring, int trainSubset,
    boolean stopGradient, boolean predictor, int predictorHidden, double emaTau, double vicregInvCoeff,
    double vicregStdCoeff, double vicregCovCoeff, Path resume, int probeTrainSize, String encoder,
    int[] cnnChannels, long ablateFrom) {

  public static final List<String> METHODS = List.of("supervised", "simclr", "simsiam", "byol", "vicreg");
  /** The most {@code --planes}: every plane is analysed at every snapshot, on the one analysis thread of 2 cores. */
  public static final int MAX_PLANES = 64;

  public static RunSettings fromConfig(Config root) {
    RunSettings s = read(root);
    s.validate();
    return s;
  }

  private static RunSettings read(Config root) {
    Config c = root.getConfig("splinewatch");
    ConfigBlock b = new ConfigBlock(c, "splinewatch"); // numbers: whole where whole, durations positive
    String method = c.getString("run.method").toLowerCase(Locale.ROOT);
    if (!METHODS.contains(method)) {
      throw new IllegalArgumentException("unknown method '" + method + "'; expected one of: "
          + String.join(", ", METHODS));
    }
    String dataset = Dataset.parse(c.getString("run.dataset")).cliName();
    String dataDir = c.getString("data.dir");
    String cache = c.getString("data.cache-dir");
    return new RunSettings(method, dataset, dataDir.isEmpty() ? null : Path.of(dataDir),
        cache.isEmpty() ? DatasetLoader.defaultCacheDir() : Path.of(cache),
        c.getString("data.npm-command"), positive(b, "run.epochs", "--epochs"), b.longInteger("run.max-steps"),
        positive(b, "run.batch-size", "--batch-size"), b.longInteger("run.seed"),
        positive(b, "run.snapshot-every", "--snapshot-every"),
        b.integer("run.planes"), c.getString("run.run-id"), Path.of(c.getString("run.out")),
        c.getString("metrics.host"), b.integer("metrics.port"), c.getDouble("run.learning-rate"),
        c.getDouble("run.temperature"), ints(b.integers("run.hidden")),
        positive(b, "run.projection-dim", "--projection-dim"), positive(b, "run.probe-size", "--probe-size"),
        positive(b, "hub.buffer-size", null),
        b.positiveDuration("analysis.timeout"), b.positiveDuration("analysis.drain-timeout"),
        c.getBoolean("run.monitoring"), b.integer("data.train-subset"), c.getBoolean("ssl.stop-gradient"),
        c.getBoolean("ssl.predictor"), positive(b, "ssl.predictor-hidden", null), c.getDouble("ssl.ema-tau"),
        c.getDouble("ssl.vicreg-inv-coeff"), c.getDouble("ssl.vicreg-std-coeff"), c.getDouble("ssl.vicreg-cov-coeff"),
        c.getString("run.resume").isEmpty() ? null : Path.of(c.getString("run.resume")),
        positive(b, "run.probe-train-size", null), c.getString("run.encoder"),
        ints(b.integers("run.cnn-channels")), b.longInteger("ablation.from-step")).checkAblation();
  }

  private static int[] ints(List<Integer> values) {
    return values.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The healthy method's settings (reference.conf's defaults), which an ablation departs from. */
  private static Config healthy() {
    return ConfigFactory.defaultReference().getConfig("splinewatch.ssl");
  }

  /** The ablation options these settings set, e.g. "--no-stop-gradient"; empty for the healthy method. */
  public List<String> ablations() {
    Config h = healthy();
    List<String> a = new ArrayList<>();
    if (method.equals("simsiam") && !stopGradient) {
      a.add("--no-stop-gradient");
    }
    if ((method.equals("simsiam") || method.equals("byol")) && !predictor) {
      a.add("--no-predictor");
    }
    if (method.equals("byol") && emaTau != h.getDouble("ema-tau")) {
      a.add("--ema-tau");
    }
    if (method.equals("vicreg")) {
      if (vicregInvCoeff != h.getDouble("vicreg-inv-coeff")) {
        a.add("--vicreg-inv-coeff");
      }
      if (vicregStdCoeff != h.getDouble("vicreg-std-coeff")) {
        a.add("--vicreg-std-coeff");
      }
      if (vicregCovCoeff != h.getDouble("vicreg-cov-coeff")) {
        a.add("--vicreg-cov-coeff");
      }
    }
    return a;
  }

  private RunSettings checkAblation() {
    if (ablateFrom < 0) {
      throw new IllegalArgumentException("--ablate-from " + ablateFrom + " is negative; expected a step >= 0 (0: the"
          + " ablation from the start)");
    }
    if (ablateFrom > 0 && maxSteps > 0 && ablateFrom >= maxSteps) {
      throw new IllegalArgumentException(ablateFromBeyondEnd(maxSteps, "--max-steps " + maxSteps));
    }
    if (ablateFrom > 0 && ablations().isEmpty()) {
      throw new IllegalArgumentException("--ablate-from " + ablateFrom + " needs an ablation option of " + method
          + "; expected one of --no-stop-gradient, --no-predictor (simsiam, byol), --ema-tau (byol),"
          + " --vicreg-inv-coeff, --vicreg-std-coeff, --vicreg-cov-coeff (vicreg) set away from its default");
    }
    return this;
  }

  private String ablateFromBeyondEnd(long total, String length) {
    return "--ablate-from " + ablateFrom + " is not before the run's end (" + total + " steps); expected a step below "
        + total + " (" + length + ")";
  }

  /** The methods an ablation option applies to (the options of {@link #ablations()}). */
  public static List<String> ablationMethods(String option) {
    return switch (option) {
      case "--no-stop-gradient" -> List.of("simsiam");
      case "--no-predictor" -> List.of("simsiam", "byol");
      case "--ema-tau" -> List.of("byol");
      case "--vicreg-inv-coeff", "--vicreg-std-coeff", "--vicreg-cov-coeff" -> List.of("vicreg");
      default -> throw new IllegalArgumentException("not an ablation option: " + option);
    };
  }

  /**
   * A one-line error when {@code option} (given on the command line) does not apply to this run's method; otherwise
   * nothing.
   */
  public void checkAblationApplies(String option) {
    List<String> methods = ablationMethods(option);
    if (!methods.contains(method)) {
      throw new IllegalArgumentException(option + " applies to --method " + String.join(" or ", methods)
          + " only; expected it without --method " + method);
    }
  }

  /**
   * The checks that need the loaded data (before anything of the run is written): the probe batch fits in the test
   * set, and an {@code --ablate-from} within {@code --epochs} lies before the run's end.
   *
   * @throws DataBound a one-line error naming the option and the valid range
   */
  public void checkAgainstData(int trainImages, int testImages) {
    if (probeSize > testImages) {
      throw new DataBound("--probe-size " + probeSize + " is more than the " + testImages + " test images of "
          + dataset + "; expected 1-" + testImages);
    }
    if (ablateFrom > 0 && maxSteps == 0) {
      long total = totalSteps(trainImages);
      if (ablateFrom >= total) {
        throw new DataBound(ablateFromBeyondEnd(total, "--epochs " + epochs + " of " + stepsPerEpoch(trainImages)
            + " batches"));
      }
    }
  }

  /**
   * A {@code --batch-size} and a {@code --train-subset} the loaded training set holds: at most its {@code trainImages}
   * images (checked before the subset is taken, which would otherwise be the whole set without a word).
   *
   * @throws DataBound a one-line error naming the option and the valid range
   */
  public void checkTrainSubset(int trainImages) {
    if (batchSize > trainImages) { // a batch larger than the data set would fail in native allocation, without a word
      throw new DataBound("--batch-size " + batchSize + " is more than the " + trainImages + " training images of "
          + dataset + "; expected 1-" + trainImages);
    }
    if (trainSubset > trainImages) {
      throw new DataBound("--train-subset " + trainSubset + " is more than the " + trainImages + " training images of "
          + dataset + "; expected 0 (all) or " + batchSize + "-" + trainImages);
    }
  }

  /**
   * The network these settings build on images of {@code rows × cols} can be built and trained within {@code limits}
   * ({@link NetworkFootprint}): not more {@code --cnn-channels} stages than the images can be pooled, no layer larger
   * than a Java array, and the memory its training needs at the least within the run's limits, with that of the
   * analyzers that run in this JVM ({@code analyzersHere}, by name; none for a {@code --monitor} run).
   *
   * @throws DataBound a one-line error naming the option, its value and what is allowed
   */
  public void checkNetwork(int rows, int cols, NetworkFootprint.Limits limits, List<String> analyzersHere) {
    checkNetwork(rows, cols, limits, NetworkFootprint.Analysis.of(analyzersHere));
  }

  /** As above, with the hub's priority analyzers and the boundary analyzer's probes as configured. */
  public void checkNetwork(int rows, int cols, NetworkFootprint.Limits limits, NetworkFootprint.Analysis analysis) {
    List<String> analyzersHere = monitoring ? analysis.here() : List.of();
    int keep = hubBufferSize;
    for (String a : analyzersHere) {
      if (analysis.priority().contains(a)) {
        keep = Math.max(keep, analysis.priorityBuffer());
      }
    }
    long queued = NetworkFootprint.queuedSnapshots(analyzersHere.size(), keep);
    if (maxSteps > 0) { // nor more than the run takes: step 0's, one every snapshotEvery steps and the last step's
      queued = Math.min(queued, maxSteps / snapshotEvery + 2);
    }
    try {
      NetworkFootprint.check(this, rows, cols, limits, analyzersHere.contains("embedding") ? probeSize : 0,
          analyzersHere.stream().anyMatch(NetworkFootprint.COPYING_ANALYZERS::contains),
          analyzersHere.contains("regions"), analyzersHere.contains("probe")
          ? Math.min(probeTrainSize, trainSubset > 0 ? trainSubset : probeTrainSize) : 0,
          queued, analyzersHere.contains("boundary") ? analysis.grid() : 0, Math.min(analysis.dataProbes(), probeSize));
    } catch (IllegalArgumentException e) {
      throw new DataBound(e.getMessage());
    }
  }

  /** Batches of {@code batchSize} in an epoch of {@code trainImages} images, at least 1. */
  public long stepsPerEpoch(int trainImages) {
    return Math.max(1, trainImages / batchSize);
  }

  /** The run's total steps: {@code --max-steps} where given, else {@code --epochs} of {@link #stepsPerEpoch}. */
  public long totalSteps(int trainImages) {
    return maxSteps > 0 ? maxSteps : epochs * stepsPerEpoch(trainImages);
  }

  /** A setting out of the range the loaded data allows: exit code 2, like any other bad argument. */
  public static final class DataBound extends IllegalArgumentException {
    public DataBound(String message) {
      super(message);
    }
  }

  /**
   * Ranges the keys of {@code reference.conf} do not express: a one-line {@link IllegalArgumentException} naming the
   * option, the value and what is expected (the CLI turns it into exit code 2).
   */
  private void validate() {
    if (planes < 1 || planes > MAX_PLANES) { // each plane is analysed at every snapshot: thousands would never finish
      throw new IllegalArgumentException("--planes " + planes + ": expected 1-" + MAX_PLANES);
    }
    if (hidden.length == 0 || Arrays.stream(hidden).anyMatch(w -> w < 1)) {
      throw new IllegalArgumentException("--hidden " + Arrays.toString(hidden)
          + ": expected one or more widths of at least 1");
    }
    if (Arrays.stream(cnnChannels).anyMatch(w -> w < 1)) {
      throw new IllegalArgumentException("--cnn-channels " + Arrays.toString(cnnChannels)
          + ": expected channel counts of at least 1");
    }
    if (!method.equals("supervised") && batchSize < TwoViewTrainer.MIN_BATCH) {
      throw new IllegalArgumentException("--batch-size " + batchSize + ": " + method + " needs at least "
          + TwoViewTrainer.MIN_BATCH + " images per batch (batch statistics)");
    }
    finitePositive("--learning-rate", learningRate);
    finitePositive("--temperature", temperature);
    if (!(emaTau >= 0 && emaTau <= 1)) {
      throw new IllegalArgumentException("--ema-tau " + emaTau + ": expected a number in [0, 1]");
    }
    nonNegative("--vicreg-inv-coeff", vicregInvCoeff);
    nonNegative("--vicreg-std-coeff", vicregStdCoeff);
    nonNegative("--vicreg-cov-coeff", vicregCovCoeff);
    if (maxSteps < 0) {
      throw new IllegalArgumentException("--max-steps " + maxSteps + ": expected 0 (use --epochs) or more");
    }
    if (trainSubset < 0 || (trainSubset > 0 && trainSubset < batchSize)) {
      throw new IllegalArgumentException("--train-subset " + trainSubset + ": expected 0 (all) or at least the batch"
          + " size " + batchSize);
    }
    if (metricsPort < 0 || metricsPort > 65535) {
      throw new IllegalArgumentException("--metrics-port " + metricsPort + ": expected 0 (off) or 1-65535");
    }
  }

  private static void nonNegative(String option, double v) {
    if (!(Double.isFinite(v) && v >= 0)) {
      throw new IllegalArgumentException(option + " " + v + ": expected a finite number >= 0");
    }
  }

  private static void finitePositive(String option, double v) {
    if (!(Double.isFinite(v) && v > 0)) {
      throw new IllegalArgumentException(option + " " + v + ": expected a finite number > 0");
    }
  }

  /** A setting of at least 1, named by its command-line option where it has one (else its HOCON key). */
  private static int positive(ConfigBlock b, String key, String option) {
    int v = b.integer(key);
    if (v <= 0) {
      // in the words of the other options' ranges: --batch-size 0: expected at least 1
      throw new IllegalArgumentException((option != null ? option : b.name(key)) + " " + v + ": expected at least 1");
    }
    return v;
  }

  /** The SSL encoder of these settings. */
  public EncoderSpec encoderSpec() {
    return new EncoderSpec(encoder, cnnChannels, hidden);
  }

  /** Creates the trainer for these settings. */
  public Trainer createTrainer(LabeledImages train) {
    EncoderSpec enc = encoderSpec();
    return switch (method) {
      case "supervised" -> new SupervisedTrainer(train, enc, batchSize, learningRate, seed);
      case "simclr" -> new SimClrTrainer(train, enc, projectionDim, batchSize, learningRate, temperature, seed);
      case "simsiam" -> new SimSiamTrainer(train, enc, projectionDim, predictorHidden, batchSize, learningRate,
          stopGradient, predictor, seed, ablateFrom);
      case "byol" -> new ByolTrainer(train, enc, projectionDim, predictorHidden, batchSize, learningRate, emaTau,
          totalSteps(train.count()), predictor, seed,
          ablateFrom, ablateFrom > 0 ? healthy().getDouble("ema-tau") : emaTau);
      case "vicreg" -> new VicRegTrainer(train, enc, projectionDim, batchSize, learningRate, vicregInvCoeff,
          vicregStdCoeff, vicregCovCoeff, seed, ablateFrom, new double[] {healthy().getDouble("vicreg-inv-coeff"),
              healthy().getDouble("vicreg-std-coeff"), healthy().getDouble("vicreg-cov-coeff")});
      default -> throw new IllegalArgumentException("unknown method " + method);
    };
  }
}
