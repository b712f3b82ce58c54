package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;

/**
 * The SameDiff graph of a two-view trainer: the placeholders {@code x1, x2} of the two augmented views, the encoder of
 * {@code --encoder} (MLP, or CNN stages then MLP; ReLU), the linear projector and the optional predictor; and the
 * recipes that copy encoder + projector into the region engine's layers for a snapshot. The parameters are drawn
 * from ND4J's global random generator in the order the methods are called, so callers seed it first and keep the
 * order.
 */
final class EncoderGraph {
  /** A convolution of the CNN encoder: 3×3, stride 1, zero padding 1, then ReLU and 2×2 average pooling. */
  private record ConvSpec(SDVariable w, SDVariable b, int inChannels, int size, int outChannels) {
  }

  private final SameDiff sd = SameDiff.create();
  private final int inputDim;
  private final SDVariable x1;
  private final SDVariable x2;
  /** Encoder dense layers then the projector: {@code {W, b}} each. */
  private final List<SDVariable[]> backbone = new ArrayList<>();
  private final List<ConvSpec> convs = new ArrayList<>();
  private String firstEmbedding;
  private String secondEmbedding;
  private String firstRepresentation;
  private int encoderLayers;

  /** An empty graph with the two view placeholders for images of {@code inputDim} pixels. */
  EncoderGraph(int inputDim) {
    this.inputDim = inputDim;
    this.x1 = sd.placeHolder("x1", DataType.FLOAT, -1, inputDim);
    this.x2 = sd.placeHolder("x2", DataType.FLOAT, -1, inputDim);
  }

  SameDiff sd() {
    return sd;
  }

  int inputDim() {
    return inputDim;
  }

  /** The first view's placeholder. */
  SDVariable x1() {
    return x1;
  }

  /** The second view's placeholder. */
  SDVariable x2() {
    return x2;
  }

  /** Encoder dense layers then the projector: {@code {W, b}} each (the CNN stages are not in it). */
  List<SDVariable[]> backbone() {
    return backbone;
  }

  /** Encoder layers (convolution stages and dense layers, not the projector). */
  int encoderLayers() {
    return encoderLayers;
  }

  /** A dense layer's parameters, He-initialised, zero bias. */
  SDVariable[] dense(String name, int in, int out) {
    INDArray w0 = Nd4j.randn(DataType.FLOAT, in, out).muli(Math.sqrt(2.0 / in));
    return new SDVariable[] {sd.var(name + "_w", w0), sd.var(name + "_b", Nd4j.zeros(DataType.FLOAT, out))};
  }

  /**
   * The encoder of {@code --encoder}: {@code mlp} = dense {@code hidden} layers; {@code cnn} = for each of
   * {@code channels} a 3×3 convolution (padding 1) + ReLU + 2×2 average pooling (no max-pooling, so the region engine
   * can analyse it), then the dense {@code hidden} layers; then the linear projector to {@code projectionDim}.
   */
  void buildBackbone(EncoderSpec encoder, int projectionDim) {
    int[] hidden = encoder.hidden();
    int in = inputDim;
    if (encoder.kind().equals("cnn")) {
      in = buildConvolutions(encoder.channels());
    }
    for (int i = 0; i < hidden.length; i++) {
      backbone.add(dense("enc" + i, in, hidden[i]));
      in = hidden[i];
    }
    backbone.add(dense("proj", in, projectionDim));
    encoderLayers = convs.size() + hidden.length;
  }

  /** The convolution stages of the CNN encoder; returns the flattened width of their output. */
  private int buildConvolutions(int[] channels) {
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
    return c * size * size;
  }

  /** Applies layers {@code {W, b}} in graph {@code sd}; ReLU after every layer but the last. */
  static SDVariable mlp(SameDiff sd, SDVariable x, List<SDVariable[]> layers) {
    SDVariable h = x;
    for (int i = 0; i < layers.size(); i++) {
      h = h.mmul(layers.get(i)[0]).add(layers.get(i)[1]);
      if (i < layers.size() - 1) {
        h = sd.nn.relu(h, 0);
      }
    }
    return h;
  }

  /**
   * Predictor outputs {@code {h(z1), h(z2)}} of a shared MLP {@code d → hidden (ReLU) → d}, or {@code {z1, z2}}
   * without a predictor; with {@code hiddenBatchNorm} the predictor's hidden layer is batch-standardised before its
   * ReLU.
   */
  SDVariable[] predict(SDVariable z1, SDVariable z2, int projectionDim, int predictorHidden, boolean predictor,
      boolean hiddenBatchNorm) {
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

  /** The convolution stages {@code stages} (graph {@code g}'s variables) on flat images {@code x}, flattened. */
  private static SDVariable convolve(SameDiff g, SDVariable x, List<ConvSpec> stages) {
    int side = stages.get(0).size();
    SDVariable h = x.reshape(-1, 1, side, side);
    Conv2DConfig conv = Conv2DConfig.builder().kH(3).kW(3).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
        .dataFormat("NCHW").build();
    Pooling2DConfig pool = Pooling2DConfig.builder().kH(2).kW(2).sH(2).sW(2).pH(0).pW(0)
        .isNHWC(false).build();
    for (ConvSpec c : stages) {
      h = g.nn.relu(g.cnn.conv2d(h, c.w(), c.b(), conv), 0);
      h = g.cnn.avgPooling2d(h, pool);
    }
    ConvSpec last = stages.get(stages.size() - 1);
    int out = last.size() / 2;
    return h.reshape(-1, last.outChannels() * out * out);
  }

  /**
   * A copy of the whole backbone (the CNN encoder's convolution stages, the dense layers, the projector) in graph
   * {@code target}, reading placeholder {@code input}: BYOL's target network. Each copied layer's online and copied
   * parameters are added to {@code online} and {@code copies} as {@code {W, b}}, in the same order (convolution
   * stages first). Returns the name of the copy's projector output. The dense layers are named {@code t<i>_w},
   * {@code t<i>_b} (as before CNN encoders were copied), the convolution stages {@code tconv<i>_w}, {@code tconv<i>_b}.
   */
  String copyInto(SameDiff target, SDVariable input, List<SDVariable[]> online, List<SDVariable[]> copies) {
    List<ConvSpec> copied = new ArrayList<>();
    for (int i = 0; i < convs.size(); i++) {
      ConvSpec c = convs.get(i);
      SDVariable w = target.var("tconv" + i + "_w", c.w().getArr().dup());
      SDVariable b = target.var("tconv" + i + "_b", c.b().getArr().dup());
      copied.add(new ConvSpec(w, b, c.inChannels(), c.size(), c.outChannels()));
      online.add(new SDVariable[] {c.w(), c.b()});
      copies.add(new SDVariable[] {w, b});
    }
    SDVariable h = copied.isEmpty() ? input : convolve(target, input, copied);
    List<SDVariable[]> layers = new ArrayList<>();
    for (int i = 0; i < backbone.size(); i++) {
      SDVariable[] l = {target.var("t" + i + "_w", backbone.get(i)[0].getArr().dup()),
          target.var("t" + i + "_b", backbone.get(i)[1].getArr().dup())};
      layers.add(l);
      online.add(backbone.get(i));
      copies.add(l);
    }
    return mlp(target, h, layers).name();
  }

  /** The projector output of the backbone for a view. */
  SDVariable embed(SDVariable x) {
    SDVariable h = x;
    if (!convs.isEmpty()) {
      h = convolve(sd, h, convs);
    }
    int projector = backbone.size() - 1;
    // the encoder's dense layers, each with its ReLU: the representation; then the linear projector
    h = sd.nn.relu(mlp(sd, h, backbone.subList(0, projector)), 0);
    if (firstRepresentation == null) {
      firstRepresentation = h.name();
    }
    SDVariable z = mlp(sd, h, backbone.subList(projector, projector + 1));
    if (firstEmbedding == null) {
      firstEmbedding = z.name();
    } else if (secondEmbedding == null) {
      secondEmbedding = z.name();
    }
    return z;
  }

  /** The variable of the projector output of the first embedded view (null before {@link #embed}). */
  String firstEmbeddingName() {
    return firstEmbedding;
  }

  /** The variable of the projector output of the second embedded view (null before it is embedded). */
  String secondEmbeddingName() {
    return secondEmbedding;
  }

  /** The variable of the encoder output (the representation) of the first embedded view (null before {@link #embed}). */
  String firstRepresentationName() {
    return firstRepresentation;
  }

  /** Projector output of the first embedded view for inputs {@code x}. */
  INDArray projectorOutput(INDArray x) {
    return sd.output(Map.of("x1", x, "x2", x), firstEmbedding).get(firstEmbedding);
  }

  /**
   * The snapshot recipe: the region-engine layers of encoder + projector read from the live parameters (convolution
   * stages with their ReLU, average pooling and flatten, then the dense layers with ReLU between them), followed by
   * {@code tail} (SimSiam's batch normalisation).
   */
  WeightCopier snapshotCopier(List<WeightCopier.Recipe> tail) {
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
    recipes.addAll(tail);
    return WeightCopier.of(recipes);
  }
}
