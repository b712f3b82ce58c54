package org.splinewatch.trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Supervised classifier: an MLP ({@code in → hidden… → classes}) or, with a {@code cnn} encoder, per channel entry a
 * 3×3 convolution (padding 1) + ReLU + 2×2 average pooling before the hidden dense layers; ReLU, softmax +
 * cross-entropy, Adam.
 */
final class SupervisedTrainer implements Trainer {
  private final MultiLayerNetwork net;
  private final BatchSampler sampler;
  private final int batchSize;
  private final int inputDim;
  private final int classes;
  private final double learningRate;
  private final float[] features;
  private final int[] labels;
  private final WeightCopier copier;
  /** The last hidden block (one per convolution stage and per hidden dense layer). */
  private final int reprBlock;

  SupervisedTrainer(LabeledImages train, int[] hidden, int batchSize, double learningRate, long seed) {
    this(train, EncoderSpec.mlp(hidden), batchSize, learningRate, seed);
  }

  SupervisedTrainer(LabeledImages train, EncoderSpec encoder, int batchSize, double learningRate, long seed) {
    int[] hidden = encoder.hidden();
    boolean cnn = encoder.kind().equals("cnn");
    this.reprBlock = (cnn ? encoder.channels().length : 0) + hidden.length - 1;
    this.inputDim = train.pixelsPerImage();
    this.classes = 10;
    this.batchSize = batchSize;
    this.learningRate = learningRate;
    var list = new NeuralNetConfiguration.Builder().seed(seed).updater(new Adam(learningRate))
        .weightInit(WeightInit.RELU).dataType(DataType.FLOAT).list();
    int in = inputDim;
    if (cnn) {
      int c = 1;
      for (int channels : encoder.channels()) {
        list.layer(new ConvolutionLayer.Builder(3, 3).stride(1, 1).padding(1, 1).nIn(c).nOut(channels)
            .activation(Activation.RELU).build());
        list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.AVG).kernelSize(2, 2).stride(2, 2)
            .build());
        c = channels;
      }
      list.setInputType(InputType.convolutionalFlat(train.rows(), train.cols(), 1));
      in = -1; // set by the input type
    }
    for (int width : hidden) {
      DenseLayer.Builder dense = new DenseLayer.Builder().nOut(width).activation(Activation.RELU);
      list.layer((in > 0 ? dense.nIn(in) : dense).build());
      in = width;
    }
    OutputLayer.Builder output = new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes)
        .activation(Activation.SOFTMAX);
    list.layer((in > 0 ? output.nIn(in) : output).build());
    MultiLayerConfiguration conf = list.build();
    this.net = new MultiLayerNetwork(conf);
    net.init();
    this.sampler = new BatchSampler(train, batchSize, seed);
    this.features = new float[batchSize * inputDim];
    this.labels = new int[batchSize];
    this.copier = cnn ? WeightCopier.forNetwork(net, 1, train.rows(), train.cols()) : WeightCopier.forNetwork(net);
  }

  @Override
  public double step() {
    sampler.next(features, labels);
    INDArray x = Nd4j.create(features, new long[] {batchSize, inputDim});
    INDArray y = Nd4j.zeros(DataType.FLOAT, batchSize, classes);
    for (int b = 0; b < batchSize; b++) {
      y.putScalar(b, labels[b], 1f);
    }
    net.fit(new DataSet(x, y));
    return net.score();
  }

  @Override
  public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
    return new WeightSnapshot(runId, step, epoch, System.currentTimeMillis(), inputDim, copier.copy(),
        reprBlock, true, loss, learningRate, stepsPerSecond);
  }

  @Override
  public int stepsPerEpoch() {
    return sampler.stepsPerEpoch();
  }

  @Override
  public double learningRate() {
    return learningRate;
  }

  @Override
  public void saveCheckpoint(Path dir) throws IOException {
    ModelSerializer.writeModel(net, dir.resolve("model.zip").toFile(), true);
  }

  @Override
  public void loadCheckpoint(Path dir) throws IOException {
    Path file = dir.resolve("model.zip");
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + " missing; expected a supervised checkpoint");
    }
    MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file.toFile(), true);
    if (restored.params().length() != net.params().length()) {
      throw new IOException(file + " holds " + restored.params().length() + " parameters; this network has "
          + net.params().length() + " (different --hidden?)");
    }
    net.setParams(restored.params());
    if (restored.getUpdater() != null && restored.getUpdater().getStateViewArray() != null
        && net.getUpdater().getStateViewArray() != null) {
      net.getUpdater().getStateViewArray().assign(restored.getUpdater().getStateViewArray());
    }
  }

  MultiLayerNetwork network() {
    return net;
  }

  @Override
  public void close() {
    net.close();
  }

  static List<Integer> widths(int[] hidden) {
    return Arrays.stream(hidden).boxed().toList();
  }
}
