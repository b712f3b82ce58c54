package org.splinewatch.trainer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Shared training loop of the two-view self-supervised methods (SimCLR, SimSiam, BYOL, VICReg) in SameDiff. The parts
 * live in their own classes: the graph (encoder, projector, predictor, snapshot recipe) in {@link EncoderGraph}, the
 * augmentation thread in {@link ViewPrefetcher}, the kept training session in {@link RecyclingTrainingSession} and the
 * checkpoint files (weights and Adam's state) in {@link SameDiffCheckpoint}. This class owns the step: two prefetched
 * views, Adam, the loss evaluated every {@link #LOSS_EVERY} steps, the {@code --ablate-from} switch, and snapshots of
 * encoder + projector (the representation is the encoder output). Subclasses build the loss, may feed extra
 * placeholders computed before each step (stop-gradient targets) and may update state after it (BYOL's EMA).
 */
abstract class TwoViewTrainer implements Trainer {
  static final int LOSS_EVERY = 10;
  /** The label of the encoder output (the representation) in {@link #batchOutputs()}. */
  static final String ENCODER_OUTPUT = "encoder";
  /**
   * The smallest batch the two-view methods train on: their batch statistics (SimSiam's and BYOL's batch
   * normalisation, VICReg's variance and covariance over {@code n − 1}, SimCLR's negatives) need two samples; with one,
   * ND4J's reductions over the batch dimension fail (1.0.0-M2.1) and the statistics would be degenerate anyway.
   */
  static final int MIN_BATCH = 2;
  protected final EncoderGraph net;
  protected final SameDiff sd;
  protected final int batchSize;
  protected final int inputDim;
  protected final SDVariable x1;
  protected final SDVariable x2;
  /** Encoder dense layers then the projector: {@code {W, b}} each ({@link EncoderGraph#backbone()}). */
  protected final List<SDVariable[]> backbone;
  private final double learningRate;
  private final LabeledImages train;
  private final ViewPrefetcher views;
  private RecyclingTrainingSession session;
  /** Off: {@code SameDiff.fit} on every step, the reference the kept session must reproduce (tests). */
  boolean reuseSession = true;
  private WeightCopier copier;
  private String lossName;
  private String[] extraNames = new String[0];
  private long steps;
  private double lastLoss = Double.NaN;
  private boolean differentiated;
  /** {@code --ablate-from}: steps done before the ablation takes effect (0: from the start, no switch). */
  private long ablateFrom;
  private SDVariable ablationSwitch;
  private boolean ablatedNow;
  private INDArray lastView;
  /** {@link #batchOutputs()} of the latest loss evaluation, by output. */
  private Map<String, BatchOutput> batchOutputs = Map.of();

  TwoViewTrainer(LabeledImages train, int batchSize, double learningRate, long seed) {
    if (batchSize < MIN_BATCH) {
      throw new IllegalArgumentException("batch size " + batchSize + ": the self-supervised methods need at least "
          + MIN_BATCH + " images per batch");
    }
    this.train = train;
    this.batchSize = batchSize;
    this.inputDim = train.pixelsPerImage();
    this.learningRate = learningRate;
    RecyclingTrainingSession.uniqueIdsForInference();
    Nd4j.getRandom().setSeed(seed);
    this.net = new EncoderGraph(inputDim);
    this.sd = net.sd();
    this.x1 = net.x1();
    this.x2 = net.x2();
    this.backbone = net.backbone();
    this.views = new ViewPrefetcher(train, batchSize, seed);
  }

  /**
   * Makes the ablation switch on at {@code fromStep} steps done (before it the run trains the healthy method).
   * Subclasses call this first in their constructor and build a switched graph when {@link #switched()}.
   */
  protected void ablateFrom(long fromStep) {
    this.ablateFrom = Math.max(0, fromStep);
  }

  /** Whether the ablation starts mid-run, so the graph must hold both the healthy and the ablated method. */
  protected boolean switched() {
    return ablateFrom > 0;
  }

  /**
   * The scalar placeholder {@code s}: 0 while the run is healthy, 1 from {@code ablate-from} steps on. Ablations mix
   * the two methods as {@code healthy + s·(ablated − healthy)}: with {@code s = 0} the value is exactly the healthy one
   * and no gradient flows through the ablated branch; with {@code s = 1} it is the ablated one.
   */
  protected SDVariable ablationSwitch() {
    if (ablationSwitch == null) {
      ablationSwitch = sd.placeHolder("ablate", DataType.FLOAT);
    }
    return ablationSwitch;
  }

  /** Whether the step being taken (or the last one) runs the ablated method. */
  protected boolean ablated() {
    return ablatedNow;
  }

  /**
   * Subclasses call this once the loss is built; {@code extra} are placeholders fed by {@link #extraInputs}. Sets up
   * Adam and the snapshot recipe and starts the augmentation thread.
   */
  protected void finish(SDVariable loss, String... extra) {
    if (ablationSwitch != null) {
      extra = Arrays.copyOf(extra, extra.length + 1);
      extra[extra.length - 1] = ablationSwitch.name();
    }
    sd.setLossVariables(loss);
    this.lossName = loss.name();
    this.extraNames = extra;
    String[] mapping = new String[2 + extra.length];
    mapping[0] = "x1";
    mapping[1] = "x2";
    System.arraycopy(extra, 0, mapping, 2, extra.length);
    sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(learningRate)).dataSetFeatureMapping(mapping)
        .markLabelsUnused().build());
    this.copier = net.snapshotCopier(projectorTail());
    views.start();
  }

  /** Layers the snapshot appends after the projector (SimSiam's batch normalisation); none by default. */
  protected List<WeightCopier.Recipe> projectorTail() {
    return List.of();
  }

  /** The first view of the latest training batch (for batch statistics at snapshot time), or null. */
  protected INDArray lastBatch() {
    return lastView;
  }

  /**
   * The projector outputs whose batch statistics are published ({@link #batchOutputs()}), label to variable name: the
   * projector output of the first view by default (SimSiam adds its pre-normalisation output). The encoder output
   * ({@code encoder}, the representation) is always published too, with the O(n·d) statistics only.
   */
  protected Map<String, String> projectorOutputs() {
    return Map.of("projector", net.firstEmbeddingName());
  }

  /**
   * The second view's variables of {@link #projectorOutputs()}, by the same labels (a label without one publishes no
   * cross-view statistics): the projector output of the second view by default.
   */
  protected Map<String, String> secondViewOutputs() {
    String second = net.secondEmbeddingName();
    return second == null ? Map.of() : Map.of("projector", second);
  }

  /** Values of the extra placeholders for this batch (e.g. stop-gradient targets); none by default. */
  protected INDArray[] extraInputs(INDArray v1, INDArray v2) {
    return new INDArray[0];
  }

  /** Called after each optimisation step with the number of steps done. */
  protected void afterStep(long stepsDone) {
  }

  /** The graphs whose variables a checkpoint holds (the trained one; BYOL adds its target network). */
  protected List<SameDiff> checkpointGraphs() {
    return List.of(sd);
  }

  @Override
  public double step() {
    INDArray[] pair = views.next();
    INDArray v1 = pair[0];
    INDArray v2 = pair[1];
    lastView = v1;
    // the step about to be taken is step number iterationCount() + 1 (the count survives --resume)
    ablatedNow = iterationCount() >= ablateFrom;
    INDArray[] extra = extraInputs(v1, v2);
    if (ablationSwitch != null) {
      extra = Arrays.copyOf(extra, extra.length + 1);
      extra[extra.length - 1] = Nd4j.scalar(DataType.FLOAT, ablatedNow ? 1f : 0f);
    }
    INDArray[] features = new INDArray[2 + extra.length];
    features[0] = v1;
    features[1] = v2;
    System.arraycopy(extra, 0, features, 2, extra.length);
    fit(new MultiDataSet(features, new INDArray[0]));
    steps++;
    afterStep(steps);
    // sd.fit records no loss without listeners; evaluate it on the same batch on the first step and every
    // LOSS_EVERY steps (the steps the trainer actor publishes), with the batch outputs the same forward pass computes
    if (steps % LOSS_EVERY == 0 || steps == 1) {
      lastLoss = lossAndBatchStatistics(v1, v2, extra);
    }
    // this step's targets (SimSiam's, BYOL's) and switch value: made for it alone, so freed now, not by a GC
    closeUnshared(extra);
    return lastLoss;
  }

  /**
   * Closes each array that nothing else can hold, so that its native buffer is freed now instead of when a GC finds
   * it unreachable: one this step made ({@code sd.output}'s requested outputs, which its session never takes back)
   * and has used. Skipped (left to the collector) unless the array owns its buffer alone: not a view, not in a
   * workspace, its native buffer referenced once, and not the buffer of a graph variable or of an array in the kept
   * session's cache. A buffer closed while another array still used it would crash the JVM at that array's next use.
   */
  protected void closeUnshared(INDArray... arrays) {
    for (INDArray a : arrays) {
      if (a != null && a.closeable() && !a.isView() && Nd4j.getExecutioner().useCount(a.data()) == 1
          && !heldByGraph(a) && (session == null || !session.caches(a.data()))) {
        a.close();
      }
    }
  }

  /** Whether {@code a}'s buffer is that of a variable or constant of one of the {@link #checkpointGraphs()}. */
  private boolean heldByGraph(INDArray a) {
    for (SameDiff graph : checkpointGraphs()) {
      for (SDVariable v : graph.variables()) {
        VariableType type = v.getVariableType();
        INDArray held = type == VariableType.VARIABLE || type == VariableType.CONSTANT ? v.getArr() : null;
        if (held != null && held.data() == a.data()) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public Map<String, BatchOutput> batchOutputs() {
    return batchOutputs;
  }

  /**
   * The loss on the batch, and (kept for {@link #batchOutputs()}) the outputs of {@link #projectorOutputs()}, with
   * their second view's ({@link #secondViewOutputs()}), and the encoder output, copied to the host: one forward pass,
   * as for the loss alone.
   */
  private double lossAndBatchStatistics(INDArray v1, INDArray v2, INDArray[] extra) {
    Map<String, String> outputs = new TreeMap<>(projectorOutputs());
    outputs.put(ENCODER_OUTPUT, net.firstRepresentationName());
    Map<String, String> second = secondViewOutputs();
    Set<String> names = new LinkedHashSet<>();
    names.add(lossName);
    names.addAll(outputs.values());
    names.addAll(second.values());
    Map<String, INDArray> out = sd.output(inputs(v1, v2, extra), names.toArray(new String[0]));
    Map<String, BatchOutput> copies = new TreeMap<>();
    for (Map.Entry<String, String> o : outputs.entrySet()) {
      INDArray z = out.get(o.getValue());
      String other = second.get(o.getKey());
      copies.put(o.getKey(), new BatchOutput(z.ravel().toDoubleVector(), (int) z.size(0), (int) z.size(1),
          !o.getKey().equals(ENCODER_OUTPUT), other == null ? null : out.get(other).ravel().toDoubleVector()));
    }
    batchOutputs = Collections.unmodifiableMap(copies);
    double loss = out.get(lossName).getDouble(0);
    closeUnshared(out.values().toArray(new INDArray[0]));
    return loss;
  }

  /** One optimisation step: {@code SameDiff.fit} builds the gradient graph on the first, the kept session the rest. */
  private void fit(MultiDataSet batch) {
    if (!differentiated) {
      // SameDiff prints one "Added differentiated op" line per op to stdout while building the gradient graph
      withoutStdout(() -> sd.fit(batch));
      differentiated = true;
    } else if (reuseSession) {
      if (session == null) {
        session = new RecyclingTrainingSession(sd);
      }
      session.step(batch);
    } else {
      sd.fit(batch);
    }
  }

  /** Runs {@code action} with {@code System.out} discarded. */
  private static <T> T withoutStdout(Supplier<T> action) {
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(OutputStream.nullOutputStream()));
    try {
      return action.get();
    } finally {
      System.setOut(stdout);
    }
  }

  /** The placeholder values for views {@code v1, v2} and the given extra placeholder values. */
  private Map<String, INDArray> inputs(INDArray v1, INDArray v2, INDArray[] extra) {
    Map<String, INDArray> in = new HashMap<>();
    in.put("x1", v1);
    in.put("x2", v2);
    for (int i = 0; i < extra.length; i++) {
      in.put(extraNames[i], extra[i]);
    }
    return in;
  }

  /** The loss on given views (with the given extra placeholder values). */
  double loss(INDArray v1, INDArray v2, INDArray[] extra) {
    return sd.output(inputs(v1, v2, extra), lossName).get(lossName).getDouble(0);
  }

  /** Writes the weights of {@link #checkpointGraphs()}, Adam's moments and step count ({@link SameDiffCheckpoint}). */
  @Override
  public void saveCheckpoint(Path dir) throws IOException {
    SameDiffCheckpoint.save(dir, checkpointGraphs(), sd);
  }

  @Override
  public void loadCheckpoint(Path dir) throws IOException {
    SameDiffCheckpoint.load(dir, checkpointGraphs(), sd);
  }

  @Override
  public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
    // blocks: encoder layers, then the projector; the representation is the last encoder block's output
    return new WeightSnapshot(runId, step, epoch, System.currentTimeMillis(), inputDim, copier.copy(),
        net.encoderLayers() - 1, false, loss, learningRate, stepsPerSecond);
  }

  @Override
  public int stepsPerEpoch() {
    return Math.max(1, train.count() / batchSize);
  }

  @Override
  public double learningRate() {
    return learningRate;
  }

  @Override
  public void close() {
    views.close();
  }

  // test hooks

  int iterationCount() {
    return sd.getTrainingConfig().getIterationCount();
  }

  /** Adam's state arrays by variable and key (tests). */
  Map<String, Map<String, INDArray>> optimizerState() {
    return SameDiffCheckpoint.optimizerState(sd);
  }

  /** Projector output of the first embedded view for inputs {@code x} (tests). */
  INDArray projectorOutput(INDArray x) {
    return net.projectorOutput(x);
  }

  /** Gradients of the loss on given views with respect to the named variables (tests). */
  Map<String, INDArray> gradients(INDArray v1, INDArray v2, INDArray[] extra, String... variables) {
    Map<String, INDArray> in = inputs(v1, v2, extra);
    return withoutStdout(() -> sd.calculateGradients(in, variables));
  }

  /** The kept training session, null before the second step or with {@link #reuseSession} off (tests). */
  RecyclingTrainingSession session() {
    return session;
  }

  /** The SameDiff graph (tests). */
  SameDiff graph() {
    return sd;
  }
}
