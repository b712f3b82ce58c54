package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.learning.config.Adam;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Shared machinery of the two-view self-supervised methods (SimCLR, SimSiam, BYOL, VICReg) in SameDiff: an MLP encoder
 * (ReLU) and a linear projector, placeholders {@code x1, x2} for two augmented views produced by a prefetch thread (so
 * augmentation does not stall steps), Adam, the loss evaluated every {@link #LOSS_EVERY} steps, and snapshots of
 * encoder + projector (the representation is the encoder output). Subclasses build the loss, may feed extra
 * placeholders computed before each step (stop-gradient targets) and may update state after it (BYOL's EMA).
 */
abstract class TwoViewTrainer implements Trainer {
  static final int LOSS_EVERY = 10;
  protected final SameDiff sd = SameDiff.create();
  protected final int batchSize;
  protected final int inputDim;
  protected final SDVariable x1;
  protected final SDVariable x2;
  /** Encoder layers then the projector: {@code {W, b}} each. */
  protected final List<SDVariable[]> backbone = new ArrayList<>();
  private final double learningRate;
  private final BlockingQueue<float[][]> prefetched = new ArrayBlockingQueue<>(2);
  // view buffers go back to the augmentation thread once copied, and the two input arrays are allocated once: a new
  // 800 KB ND4J buffer per view and step is freed only when the GC runs, and its fresh pages cost the training thread
  // page faults (perf: most of its system time), more of them the more the heap churns
  private final BlockingQueue<float[][]> recycled = new ArrayBlockingQueue<>(4);
  private INDArray view1;
  private INDArray view2;
  private RecyclingSession session;
  /** Off: {@code SameDiff.fit} on every step, the reference the kept session must reproduce (tests). */
  boolean reuseSession = true;
  private final LabeledImages train;
  private final long seed;
  private Thread augmentThread;
  private volatile Throwable augmentFailure;
  private WeightCopier copier;
  private String lossName;
  private String[] extraNames = new String[0];
  private volatile boolean closed;
  private long steps;
  private double lastLoss = Double.NaN;
  private boolean differentiated;
  /** {@code --ablate-from}: steps done before the ablation takes effect (0: from the start, no switch). */
  private long ablateFrom;
  private SDVariable ablationSwitch;
  private boolean ablatedNow;
  private int encoderLayers;
  private INDArray lastView;

  TwoViewTrainer(LabeledImages train, int batchSize, double learningRate, long seed) {
    this.train = train;
    this.batchSize = batchSize;
    this.inputDim = train.pixelsPerImage();
    this.learningRate = learningRate;
    this.seed = seed;
    Nd4j.getRandom().setSeed(seed);
    this.x1 = sd.placeHolder("x1", DataType.FLOAT, -1, inputDim);
    this.x2 = sd.placeHolder("x2", DataType.FLOAT, -1, inputDim);
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

  /** A dense layer's parameters, He-initialised, zero bias. */
  protected SDVariable[] dense(String name, int in, int out) {
    INDArray w0 = Nd4j.randn(DataType.FLOAT, in, out).muli(Math.sqrt(2.0 / in));
    return new SDVariable[] {sd.var(name + "_w", w0), sd.var(name + "_b", Nd4j.zeros(DataType.FLOAT, out))};
  }

  /** A convolution of the CNN encoder: 3×3, stride 1, zero padding 1, then ReLU and 2×2 average pooling. */
  private record ConvSpec(SDVariable w, SDVariable b, int inChannels, int size, int outChannels) {
  }

  private final List<ConvSpec> convs = new ArrayList<>();
  private String firstEmbedding;

  /**
   * The encoder of {@code --encoder}: {@code mlp} = dense {@code hidden} layers; {@code cnn} = for each of
   * {@code channels} a 3×3 convolution (padding 1) + ReLU + 2×2 average pooling (no max-pooling, so the region engine
   * can analyse it), then the dense {@code hidden} layers; then the linear projector.
   */
  protected void buildBackbone(String encoder, int[] channels, int[] hidden, int projectionDim) {
    if (!encoder.equals("cnn")) {
      buildBackbone(hidden, projectionDim);
      return;
    }
    int side = (int) Math.round(Math.sqrt(inputDim));
    if (side * side != inputDim) {
      throw new IllegalArgumentException("the CNN encoder needs square images; got " + inputDim + " pixels");
    }
    int c = 1;
    int size = side;
    for (int i = 0; i < channels.length; i++) {
      if (size < 2) {
        throw new IllegalArgumentException("too many pooling stages for " + side + "x" + side + " images");
      }
      // SameDiff's default weight layout [kH, kW, inC, outC]; snapshots permute it to [outC, inC, kH, kW]
      INDArray w0 = Nd4j.randn(DataType.FLOAT, 3, 3, c, channels[i]).muli(Math.sqrt(2.0 / (c * 9)));
      convs.add(new ConvSpec(sd.var("conv" + i + "_w", w0), sd.var("conv" + i + "_b",
          Nd4j.zeros(DataType.FLOAT, channels[i])), c, size, channels[i]));
      c = channels[i];
      size /= 2;
    }
    int in = c * size * size;
    for (int i = 0; i < hidden.length; i++) {
      backbone.add(dense("enc" + i, in, hidden[i]));
      in = hidden[i];
    }
    backbone.add(dense("proj", in, projectionDim));
    encoderLayers = convs.size() + hidden.length;
  }

  /** Builds the MLP encoder ({@code hidden} widths, ReLU) and the linear projector to {@code projectionDim}. */
  protected void buildBackbone(int[] hidden, int projectionDim) {
    int in = inputDim;
    for (int i = 0; i < hidden.length; i++) {
      backbone.add(dense("enc" + i, in, hidden[i]));
      in = hidden[i];
    }
    backbone.add(dense("proj", in, projectionDim));
    encoderLayers = hidden.length;
  }

  /** Applies layers {@code {W, b}}; ReLU after every layer but the last. */
  protected static SDVariable mlp(SameDiff sd, SDVariable x, List<SDVariable[]> layers) {
    SDVariable h = x;
    for (int i = 0; i < layers.size(); i++) {
      h = h.mmul(layers.get(i)[0]).add(layers.get(i)[1]);
      if (i < layers.size() - 1) {
        h = sd.nn.relu(h, 0);
      }
    }
    return h;
  }

  /** Predictor outputs {@code {h(z1), h(z2)}} of a shared MLP {@code d → hidden (ReLU) → d}, or {@code {z1, z2}}. */
  protected SDVariable[] predict(SDVariable z1, SDVariable z2, int projectionDim, int predictorHidden,
      boolean predictor) {
    return predict(z1, z2, projectionDim, predictorHidden, predictor, false);
  }

  /** As above; with {@code hiddenBatchNorm} the predictor's hidden layer is batch-standardised before its ReLU. */
  protected SDVariable[] predict(SDVariable z1, SDVariable z2, int projectionDim, int predictorHidden,
      boolean predictor, boolean hiddenBatchNorm) {
    if (!predictor) {
      return new SDVariable[] {z1, z2};
    }
    List<SDVariable[]> pred = List.of(dense("pred0", projectionDim, predictorHidden),
        dense("pred1", predictorHidden, projectionDim));
    if (!hiddenBatchNorm) {
      return new SDVariable[] {mlp(sd, z1, pred), mlp(sd, z2, pred)};
    }
    SDVariable[] out = new SDVariable[2];
    SDVariable[] in = {z1, z2};
    for (int v = 0; v < 2; v++) {
      SDVariable h = SslLosses.batchStandardize(sd, in[v].mmul(pred.get(0)[0]).add(pred.get(0)[1]));
      out[v] = sd.nn.relu(h, 0).mmul(pred.get(1)[0]).add(pred.get(1)[1]);
    }
    return out;
  }

  /** The projector output of the backbone for a view. */
  protected SDVariable embed(SDVariable x) {
    SDVariable h = x;
    if (!convs.isEmpty()) {
      int side = convs.get(0).size();
      h = h.reshape(-1, 1, side, side);
      Conv2DConfig conv = Conv2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
          .dataFormat("NCHW").build();
      Pooling2DConfig pool = Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).pH(0).pW(0)
          .isNHWC(false).build();
      for (ConvSpec c : convs) {
        h = sd.nn.relu(sd.cnn.conv2d(h, c.w(), c.b(), conv), 0);
        h = sd.cnn.avgPooling2d(h, pool);
      }
      ConvSpec last = convs.get(convs.size() - 1);
      int out = last.size() / 2;
      h = h.reshape(-1, last.outChannels() * out * out);
    }
    SDVariable z = mlp(sd, h, backbone);
    if (firstEmbedding == null) {
      firstEmbedding = z.name();
    }
    return z;
  }

  /** Projector output of the first embedded view for inputs {@code x} (tests). */
  INDArray projectorOutput(INDArray x) {
    return sd.output(Map.of("x1", x, "x2", x), firstEmbedding).get(firstEmbedding);
  }

  /** Subclasses call this once the loss is built; {@code extra} are placeholders fed by {@link #extraInputs}. */
  protected void finish(SDVariable loss, String... extra) {
    if (ablationSwitch != null) {
      extra = java.util.Arrays.copyOf(extra, extra.length + 1);
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
    List<WeightCopier.Recipe> recipes = new ArrayList<>();
    for (ConvSpec c : convs) {
      recipes.add(WeightCopier.conv(c.w().getArr().permute(3, 2, 0, 1), c.b().getArr(), c.inChannels(), c.size(),
          c.size(), 1, 1));
      recipes.add(WeightCopier.activation(Layer.Activation.relu()));
      recipes.add(WeightCopier.fixed(new Layer.AvgPool2D(c.outChannels(), c.size(), c.size(), 2, 2)));
    }
    if (!convs.isEmpty()) {
      ConvSpec last = convs.get(convs.size() - 1);
      int out = last.size() / 2;
      recipes.add(WeightCopier.fixed(new Layer.Flatten(last.outChannels() * out * out)));
    }
    for (int i = 0; i < backbone.size(); i++) {
      recipes.add(WeightCopier.dense(backbone.get(i)[0].getArr(), backbone.get(i)[1].getArr()));
      if (i < backbone.size() - 1) {
        recipes.add(WeightCopier.activation(Layer.Activation.relu()));
      }
    }
    recipes.addAll(projectorTail());
    this.copier = WeightCopier.of(recipes);
    this.augmentThread = new Thread(this::produce, "splinewatch-augment");
    augmentThread.setDaemon(true);
    augmentThread.start();
  }

  /** Layers the snapshot appends after the projector (SimSiam's batch normalisation); none by default. */
  protected List<WeightCopier.Recipe> projectorTail() {
    return List.of();
  }

  /** The first view of the latest training batch (for batch statistics at snapshot time), or null. */
  protected INDArray lastBatch() {
    return lastView;
  }

  /** Values of the extra placeholders for this batch (e.g. stop-gradient targets); none by default. */
  protected INDArray[] extraInputs(INDArray v1, INDArray v2) {
    return new INDArray[0];
  }

  /** Called after each optimisation step with the number of steps done. */
  protected void afterStep(long stepsDone) {
  }

  private void produce() {
    try {
      BatchSampler sampler = new BatchSampler(train, batchSize, seed ^ 0x5eed);
      SplittableRandom rnd = new SplittableRandom(seed ^ 0xa11a);
      Augmenter aug = new Augmenter(train.rows(), train.cols());
      float[] clean = new float[batchSize * inputDim];
      int[] labels = new int[batchSize];
      while (!closed) {
        sampler.next(clean, labels);
        float[][] pair = recycled.poll();
        float[] v1 = pair != null ? pair[0] : new float[clean.length];
        float[] v2 = pair != null ? pair[1] : new float[clean.length];
        for (int b = 0; b < batchSize; b++) {
          aug.augment(clean, b * inputDim, v1, b * inputDim, rnd);
          aug.augment(clean, b * inputDim, v2, b * inputDim, rnd);
        }
        prefetched.put(new float[][] {v1, v2});
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      // the training thread waits for views: it must learn that none will come (step() rethrows this)
      augmentFailure = e;
    }
  }

  @Override
  public double step() {
    float[][] views = null;
    try {
      while (views == null) {
        views = prefetched.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
        Throwable failed = augmentFailure;
        if (views == null && failed != null) {
          throw new IllegalStateException("the augmentation thread failed: " + (failed.getMessage() == null
              ? failed.toString() : failed.getMessage()), failed);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for augmented views", e);
    }
    if (view1 == null) {
      view1 = Nd4j.create(DataType.FLOAT, batchSize, inputDim);
      view2 = Nd4j.create(DataType.FLOAT, batchSize, inputDim);
    }
    view1.data().setData(views[0]);
    view2.data().setData(views[1]);
    recycled.offer(views);
    INDArray v1 = view1;
    INDArray v2 = view2;
    lastView = v1;
    // the step about to be taken is step number iterationCount() + 1 (the count survives --resume)
    ablatedNow = iterationCount() >= ablateFrom;
    INDArray[] extra = extraInputs(v1, v2);
    if (ablationSwitch != null) {
      extra = java.util.Arrays.copyOf(extra, extra.length + 1);
      extra[extra.length - 1] = Nd4j.scalar(DataType.FLOAT, ablatedNow ? 1f : 0f);
    }
    INDArray[] features = new INDArray[2 + extra.length];
    features[0] = v1;
    features[1] = v2;
    System.arraycopy(extra, 0, features, 2, extra.length);
    MultiDataSet batch = new MultiDataSet(features, new INDArray[0]);
    if (!differentiated) {
      // SameDiff prints one "Added differentiated op" line per op to stdout while building the gradient graph
      java.io.PrintStream stdout = System.out;
      System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
      try {
        sd.fit(batch);
      } finally {
        System.setOut(stdout);
      }
      differentiated = true;
    } else if (reuseSession) {
      trainingIteration(batch);
    } else {
      sd.fit(batch);
    }
    steps++;
    afterStep(steps);
    // sd.fit records no loss without listeners; evaluate it on the same batch every LOSS_EVERY steps
    if ((steps - 1) % LOSS_EVERY == 0) {
      lastLoss = loss(v1, v2, extra);
    }
    return lastLoss;
  }

  /**
   * One optimisation step through a training session kept for the whole run. {@code SameDiff.fit} builds a new
   * session, and with it an empty array cache, on every call: one call per step allocated every activation and
   * gradient afresh (a quarter of the training thread's time, in page faults and zeroing), and the buffers were
   * freed only when the GC ran. A session kept across steps reuses them, as {@code fit} does within one call over an
   * iterator; this is the body of that loop (SameDiff 1.0.0-M2.1 {@code fitHelper}) without listeners.
   */
  private void trainingIteration(MultiDataSet batch) {
    TrainingConfig config = sd.getTrainingConfig();
    if (session == null) {
      session = new RecyclingSession(sd);
    }
    List<String> names = config.getDataSetFeatureMapping();
    Map<String, INDArray> placeholders = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      placeholders.put(names.get(i), batch.getFeatures(i));
    }
    org.nd4j.autodiff.listeners.At at = org.nd4j.autodiff.listeners.At.builder().epoch(config.getEpochCount())
        .iteration(config.getIterationCount()).trainingThreadNum(0).javaThreadNum(Thread.currentThread().getId())
        .operation(org.nd4j.autodiff.listeners.Operation.TRAINING).build();
    session.trainingIteration(config, placeholders, session.trainable, sd.getUpdaterMap(), batch,
        sd.getLossVariables(), List.of(), at);
    session.recycleGradients();
    config.incrementIterationCount();
  }

  /**
   * A training session that gives each step's gradient arrays back to its array cache once the updater has applied
   * them. The session returns gradients as requested outputs and so never frees them itself; without this, every
   * step allocated them anew.
   */
  private static final class RecyclingSession extends org.nd4j.autodiff.samediff.internal.TrainingSession {
    /** The graph's trainable variables, in declaration order, and the names of their gradients. */
    final java.util.Set<String> trainable = new java.util.LinkedHashSet<>();
    private final java.util.Set<String> gradientNames = new java.util.HashSet<>();
    private final List<INDArray> applied = new ArrayList<>();

    /** A session over {@code sd}'s gradient function (which the first {@code fit} created). */
    RecyclingSession(SameDiff sd) {
      super(sd.getFunction("grad"));
      for (SDVariable v : sd.variables()) {
        if (v.getVariableType() == org.nd4j.autodiff.samediff.VariableType.VARIABLE) {
          trainable.add(v.name());
          if (v.getGradient() != null) {
            gradientNames.add(v.getGradient().name());
          }
        }
      }
    }

    @Override
    public org.nd4j.autodiff.samediff.config.ExecutionResult getOutputs(
        org.nd4j.common.primitives.Pair<org.nd4j.autodiff.samediff.internal.SameDiffOp,
            org.nd4j.linalg.api.ops.OpContext> opPair,
        org.nd4j.autodiff.samediff.internal.FrameIter frameIter,
        java.util.Set<VarId> opInputs, java.util.Set<VarId> allIterInputs, java.util.Set<String> constAndPhInputs,
        List<org.nd4j.autodiff.listeners.Listener> listeners, org.nd4j.autodiff.listeners.At at,
        org.nd4j.linalg.dataset.api.MultiDataSet batch, java.util.Set<String> allReqVariables,
        Map<String, org.nd4j.autodiff.samediff.config.SDValue> otherPlaceHolders) {
      // the parent applies the updater to a gradient as soon as the op computing it has run
      var out = super.getOutputs(opPair, frameIter, opInputs, allIterInputs, constAndPhInputs, listeners, at, batch,
          allReqVariables, otherPlaceHolders);
      List<String> names = opPair.getFirst().getOutputsOfOp();
      for (int i = 0; i < names.size(); i++) {
        if (gradientNames.contains(names.get(i)) && out.resultAt(i) != null) {
          applied.add(out.resultAt(i));
        }
      }
      return out;
    }

    void recycleGradients() {
      java.util.Set<Long> seen = new java.util.HashSet<>();
      for (INDArray a : applied) {
        if (seen.add(a.getId())) {
          getMmgr().release(a);
        }
      }
      applied.clear();
    }
  }

  /** The loss on given views (with the given extra placeholder values). */
  double loss(INDArray v1, INDArray v2, INDArray[] extra) {
    Map<String, INDArray> in = new HashMap<>();
    in.put("x1", v1);
    in.put("x2", v2);
    for (int i = 0; i < extra.length; i++) {
      in.put(extraNames[i], extra[i]);
    }
    return sd.output(in, lossName).get(lossName).getDouble(0);
  }

  /** The graphs whose variables a checkpoint holds (the trained one; BYOL adds its target network). */
  protected List<SameDiff> checkpointGraphs() {
    return List.of(sd);
  }

  /**
   * Every trainable variable of {@link #checkpointGraphs()}, one binary file each ({@code g<i>-<name>.bin}). Adam's
   * moments are not saved: a resumed run restarts the optimiser state (documented).
   */
  @Override
  public void saveCheckpoint(java.nio.file.Path dir) throws java.io.IOException {
    List<SameDiff> graphs = checkpointGraphs();
    for (int g = 0; g < graphs.size(); g++) {
      for (SDVariable v : graphs.get(g).variables()) {
        if (v.getVariableType() == org.nd4j.autodiff.samediff.VariableType.VARIABLE) {
          Nd4j.saveBinary(v.getArr(), dir.resolve("g" + g + "-" + v.name() + ".bin").toFile());
        }
      }
    }
    // Adam's moments and iteration count, so that --resume continues the optimiser exactly
    var updaters = sd.getUpdaterMap();
    if (updaters != null && !updaters.isEmpty()) {
      for (var e : updaters.entrySet()) {
        for (var st : stateOf(e.getValue()).entrySet()) {
          Nd4j.saveBinary(st.getValue(), dir.resolve("adam-" + e.getKey() + "-" + st.getKey() + ".bin").toFile());
        }
      }
      java.nio.file.Files.writeString(dir.resolve("adam-iteration.txt"),
          Integer.toString(sd.getTrainingConfig().getIterationCount()));
    }
  }

  /** Restores Adam's moments and iteration count saved by {@link #saveCheckpoint}, when the checkpoint has them. */
  private void loadOptimizerState(java.nio.file.Path dir) throws java.io.IOException {
    java.nio.file.Path iteration = dir.resolve("adam-iteration.txt");
    if (!java.nio.file.Files.isRegularFile(iteration)) {
      return; // a checkpoint written before any step
    }
    try {
      // SameDiff creates its updaters lazily on the first fit; create them now so their state can be set
      java.lang.reflect.Method init = SameDiff.class.getDeclaredMethod("initializeTraining");
      init.setAccessible(true);
      init.invoke(sd);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new java.io.IOException("cannot restore the optimiser state: " + e, e);
    }
    for (var e : sd.getUpdaterMap().entrySet()) {
      for (var st : stateOf(e.getValue()).entrySet()) {
        java.nio.file.Path f = dir.resolve("adam-" + e.getKey() + "-" + st.getKey() + ".bin");
        if (!java.nio.file.Files.isRegularFile(f)) {
          throw new java.io.IOException(f + " missing; the checkpoint's optimiser state is incomplete");
        }
        INDArray a = Nd4j.readBinary(f.toFile());
        if (!java.util.Arrays.equals(a.shape(), st.getValue().shape())) {
          throw new java.io.IOException(f + " has shape " + java.util.Arrays.toString(a.shape()) + "; expected "
              + java.util.Arrays.toString(st.getValue().shape()));
        }
        st.getValue().assign(a);
      }
    }
    sd.getTrainingConfig().setIterationCount(Integer.parseInt(java.nio.file.Files.readString(iteration).trim()));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, INDArray> stateOf(org.nd4j.linalg.learning.GradientUpdater<?> updater) {
    return (Map<String, INDArray>) updater.getState();
  }

  /** Adam's state arrays by variable and key (tests). */
  Map<String, Map<String, INDArray>> optimizerState() {
    Map<String, Map<String, INDArray>> out = new java.util.TreeMap<>();
    if (sd.getUpdaterMap() != null) {
      sd.getUpdaterMap().forEach((k, u) -> out.put(k, stateOf(u)));
    }
    return out;
  }

  int iterationCount() {
    return sd.getTrainingConfig().getIterationCount();
  }

  @Override
  public void loadCheckpoint(java.nio.file.Path dir) throws java.io.IOException {
    List<SameDiff> graphs = checkpointGraphs();
    for (int g = 0; g < graphs.size(); g++) {
      for (SDVariable v : graphs.get(g).variables()) {
        if (v.getVariableType() != org.nd4j.autodiff.samediff.VariableType.VARIABLE) {
          continue;
        }
        java.nio.file.Path f = dir.resolve("g" + g + "-" + v.name() + ".bin");
        if (!java.nio.file.Files.isRegularFile(f)) {
          throw new java.io.IOException(f + " missing; the checkpoint is from another method or network");
        }
        INDArray a = Nd4j.readBinary(f.toFile());
        if (!java.util.Arrays.equals(a.shape(), v.getArr().shape())) {
          throw new java.io.IOException(f + " has shape " + java.util.Arrays.toString(a.shape()) + "; expected "
              + java.util.Arrays.toString(v.getArr().shape()) + " (different --hidden or --projection-dim?)");
        }
        v.getArr().assign(a);
      }
    }
    loadOptimizerState(dir);
  }

  /** Gradients of the loss on given views with respect to the named variables (tests). */
  Map<String, INDArray> gradients(INDArray v1, INDArray v2, INDArray[] extra, String... variables) {
    Map<String, INDArray> in = new HashMap<>();
    in.put("x1", v1);
    in.put("x2", v2);
    for (int i = 0; i < extra.length; i++) {
      in.put(extraNames[i], extra[i]);
    }
    java.io.PrintStream stdout = System.out;
    System.setOut(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
    try {
      return sd.calculateGradients(in, variables);
    } finally {
      System.setOut(stdout);
    }
  }

  /** The SameDiff graph (tests). */
  SameDiff graph() {
    return sd;
  }

  @Override
  public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
    // blocks: encoder layers, then the projector; the representation is the last encoder block's output
    return new WeightSnapshot(runId, step, epoch, System.currentTimeMillis(), inputDim, copier.copy(),
        encoderLayers - 1, false, loss, learningRate, stepsPerSecond);
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
    closed = true;
    if (augmentThread != null) {
      augmentThread.interrupt();
    }
  }
}
