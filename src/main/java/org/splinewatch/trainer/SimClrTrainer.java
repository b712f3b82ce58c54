package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.List;
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
import org.nd4j.linalg.learning.config.Adam;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * SimCLR (Chen et al. 2020) in SameDiff: an MLP encoder (ReLU) and a linear projection head, trained with NT-Xent on
 * two augmented views. With {@code 2B} embeddings {@code z}, normalised to {@code ẑ}, similarities
 * {@code s_ij = ⟨ẑ_i, ẑ_j⟩ / τ} with the diagonal masked out, the loss is
 * {@code −(1/2B) Σ_i log softmax_j(s_ij)[pos(i)]} where {@code pos(i)} is the other view of the same image.
 * Views are produced by a prefetch thread so augmentation does not stall steps.
 */
final class SimClrTrainer implements Trainer {
  private final SameDiff sd;
  private final int batchSize;
  private final int inputDim;
  private final double learningRate;
  private final BlockingQueue<float[][]> prefetched = new ArrayBlockingQueue<>(2);
  private final Thread augmentThread;
  private final WeightCopier copier;
  private final int layerCount;
  private volatile boolean closed;
  static final int LOSS_EVERY = 10;
  private final String lossName;
  private long steps;
  private double lastLoss = Double.NaN;
  private boolean differentiated;

  SimClrTrainer(LabeledImages train, int[] hidden, int projectionDim, int batchSize, double learningRate,
      double temperature, long seed) {
    this.batchSize = batchSize;
    this.inputDim = train.pixelsPerImage();
    this.learningRate = learningRate;
    this.sd = SameDiff.create();
    Nd4j.getRandom().setSeed(seed);
    SDVariable x1 = sd.placeHolder("x1", DataType.FLOAT, -1, inputDim);
    SDVariable x2 = sd.placeHolder("x2", DataType.FLOAT, -1, inputDim);
    List<SDVariable[]> params = new ArrayList<>();
    int in = inputDim;
    int k = 0;
    int[] widths = new int[hidden.length + 1];
    System.arraycopy(hidden, 0, widths, 0, hidden.length);
    widths[hidden.length] = projectionDim;
    for (int width : widths) {
      INDArray w0 = Nd4j.randn(DataType.FLOAT, in, width).muli(Math.sqrt(2.0 / in));
      SDVariable w = sd.var("w" + k, w0);
      SDVariable b = sd.var("b" + k, Nd4j.zeros(DataType.FLOAT, width));
      params.add(new SDVariable[] {w, b});
      in = width;
      k++;
    }
    this.layerCount = params.size();
    SDVariable z1 = encode(x1, params);
    SDVariable z2 = encode(x2, params);
    SDVariable z = sd.concat(0, z1, z2);
    SDVariable zn = z.div(z.norm2(true, 1).add(1e-8));
    int n2 = 2 * batchSize;
    INDArray diag = Nd4j.eye(n2).castTo(DataType.FLOAT).muli(1e9);
    INDArray pos = Nd4j.zeros(DataType.FLOAT, n2, n2);
    for (int i = 0; i < batchSize; i++) {
      pos.putScalar(i, i + batchSize, 1f);
      pos.putScalar(i + batchSize, i, 1f);
    }
    SDVariable sim = zn.mmul("gram", zn, org.nd4j.linalg.api.blas.params.MMulTranspose.builder().transposeB(true).build()).div(temperature).sub(sd.constant("diagMask", diag));
    // log-softmax over rows, shifted by the row maximum: logp = sim − m − log Σ_j exp(sim_j − m)
    SDVariable shifted = sim.sub(sim.max(true, 1));
    SDVariable logp = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
    SDVariable positiveLogProb = logp.mul(sd.constant("posMask", pos)).sum();
    SDVariable loss = positiveLogProb.neg().div(n2);
    sd.setLossVariables(loss);
    this.lossName = loss.name();
    sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(learningRate)).dataSetFeatureMapping("x1", "x2")
        .markLabelsUnused().build());
    List<WeightCopier.Recipe> recipes = new ArrayList<>();
    for (int i = 0; i < params.size(); i++) {
      recipes.add(WeightCopier.dense(params.get(i)[0].getArr(), params.get(i)[1].getArr()));
      if (i < params.size() - 1) {
        recipes.add(WeightCopier.activation(Layer.Activation.relu()));
      }
    }
    this.copier = WeightCopier.of(recipes);
    this.augmentThread = new Thread(() -> produce(train, seed), "splinewatch-augment");
    augmentThread.setDaemon(true);
    augmentThread.start();
  }

  private SDVariable encode(SDVariable x, List<SDVariable[]> params) {
    SDVariable h = x;
    for (int i = 0; i < params.size(); i++) {
      h = h.mmul(params.get(i)[0]).add(params.get(i)[1]);
      if (i < params.size() - 1) {
        h = sd.nn.relu(h, 0);
      }
    }
    return h;
  }

  private void produce(LabeledImages train, long seed) {
    BatchSampler sampler = new BatchSampler(train, batchSize, seed ^ 0x5eed);
    SplittableRandom rnd = new SplittableRandom(seed ^ 0xa11a);
    Augmenter aug = new Augmenter(train.rows(), train.cols());
    float[] clean = new float[batchSize * inputDim];
    int[] labels = new int[batchSize];
    try {
      while (!closed) {
        sampler.next(clean, labels);
        float[] v1 = new float[clean.length];
        float[] v2 = new float[clean.length];
        for (int b = 0; b < batchSize; b++) {
          aug.augment(clean, b * inputDim, v1, b * inputDim, rnd);
          aug.augment(clean, b * inputDim, v2, b * inputDim, rnd);
        }
        prefetched.put(new float[][] {v1, v2});
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public double step() {
    float[][] views;
    try {
      views = prefetched.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for augmented views", e);
    }
    long[] shape = {batchSize, inputDim};
    INDArray v1 = Nd4j.create(views[0], shape);
    INDArray v2 = Nd4j.create(views[1], shape);
    MultiDataSet batch = new MultiDataSet(new INDArray[] {v1, v2}, new INDArray[0]);
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
    } else {
      sd.fit(batch);
    }
    // sd.fit records no loss without listeners; evaluate it on the same batch every LOSS_EVERY steps
    if (steps++ % LOSS_EVERY == 0) {
      lastLoss = sd.output(java.util.Map.of("x1", v1, "x2", v2), lossName).get(lossName).getDouble(0);
    }
    return lastLoss;
  }


  @Override
  public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
    // blocks: hidden layers, then the projection head; the representation is the last hidden block's output
    return new WeightSnapshot(runId, step, epoch, System.currentTimeMillis(), inputDim, copier.copy(),
        layerCount - 2, false, loss, learningRate, stepsPerSecond);
  }

  @Override
  public int stepsPerEpoch() {
    return 60_000 / batchSize;
  }

  @Override
  public double learningRate() {
    return learningRate;
  }

  @Override
  public void close() {
    closed = true;
    augmentThread.interrupt();
  }
}
