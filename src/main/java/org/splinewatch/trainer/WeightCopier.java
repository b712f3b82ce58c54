package org.splinewatch.trainer;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Layer.Type;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;

/**
 * Copies network parameters into preallocated C-order buffers ({@code assign}, no {@code dup()}) and from there into
 * the region engine's {@link Layer}s. Also the DL4J {@code MultiLayerNetwork} → piecewise-linear converter: layers
 * that are not piecewise-linear, or not supported, are rejected with the layer index and the reason.
 */
final class WeightCopier {
  /** One parameter: its live array and its preallocated buffer. */
  private record Slot(INDArray live, INDArray buffer) {
    float[] copy() {
      buffer.assign(live);
      return buffer.data().asFloat();
    }
  }

  /** How to rebuild one region-engine layer from slots. */
  interface Recipe {
    Layer build();
  }

  private final List<Recipe> recipes;

  private WeightCopier(List<Recipe> recipes) {
    this.recipes = recipes;
  }

  List<Layer> copy() {
    List<Layer> out = new ArrayList<>(recipes.size());
    for (Recipe r : recipes) {
      out.add(r.build());
    }
    return out;
  }

  static Slot slot(INDArray live) {
    return new Slot(live, Nd4j.create(live.dataType(), live.shape(), 'c'));
  }

  /** Dense {@code [in, out]} weights and bias. */
  static Recipe dense(INDArray w, INDArray b) {
    Slot ws = slot(w);
    Slot bs = slot(b);
    int in = (int) w.size(0);
    int out = (int) w.size(1);
    return () -> new Layer.Dense(in, out, ws.copy(), bs.copy());
  }

  static Recipe activation(Layer.Activation a) {
    return () -> a;
  }

  /** A parameter-free layer (pooling, flatten). */
  static Recipe fixed(Layer l) {
    return () -> l;
  }

  /**
   * A convolution with weights {@code [oC, iC, kH, kW]} (a view is fine: the copy is C-ordered) on {@code inC × h × w}
   * inputs.
   */
  static Recipe conv(INDArray w, INDArray b, int inC, int h, int wd, int stride, int padding) {
    Slot ws = slot(w);
    Slot bs = slot(b);
    int outC = (int) w.size(0);
    int kh = (int) w.size(2);
    int kw = (int) w.size(3);
    return () -> new Layer.Conv2D(inC, h, wd, outC, kh, kw, stride, padding, ws.copy(), bs.copy());
  }

  /** Converter for a DL4J {@code MultiLayerNetwork} of dense layers (Dense, Output, BatchNorm, ReLU/LeakyReLU/identity). */
  static WeightCopier forNetwork(MultiLayerNetwork net) {
    return forNetwork(net, 0, 0, 0);
  }

  /**
   * Converter for a DL4J {@code MultiLayerNetwork} whose flat input is a {@code channels × height × width} image
   * (NCHW): convolutions (square stride, explicit padding, ReLU/LeakyReLU/identity) and average pooling become
   * {@code Conv2D}/{@code AvgPool2D}, DL4J's CNN-to-dense flattening (channel-major) a {@code Flatten}; then Dense,
   * Output and BatchNorm layers. {@code channels = 0}: a dense-only network.
   */
  static WeightCopier forNetwork(MultiLayerNetwork net, int channels, int height, int width) {
    List<Recipe> recipes = new ArrayList<>();
    int n = net.getnLayers();
    int c = channels;
    int h = height;
    int w = width;
    boolean spatial = channels > 0;
    for (int i = 0; i < n; i++) {
      var conf = net.getLayer(i).conf().getLayer();
      var layer = net.getLayer(i);
      String where = "layer " + i + " (" + conf.getClass().getSimpleName() + ")";
      if (spatial && (conf instanceof DenseLayer || conf instanceof OutputLayer)) {
        recipes.add(fixed(new Layer.Flatten(c * h * w)));
        spatial = false;
      }
      if (conf instanceof ConvolutionLayer cl && !(conf instanceof SubsamplingLayer)) {
        if (!spatial) {
          throw new IllegalArgumentException(where + ": a convolution needs the image shape of the network input");
        }
        int[] k = cl.getKernelSize();
        int[] st = cl.getStride();
        int[] pad = cl.getPadding();
        if (st[0] != st[1] || pad[0] != pad[1]) {
          throw new IllegalArgumentException(where + ": only equal strides and paddings in both directions are"
              + " supported");
        }
        INDArray weights = layer.getParam("W"); // [outC, inC, kH, kW]
        recipes.add(conv(weights, layer.getParam("b"), c, h, w, st[0], pad[0]));
        recipes.add(activation(toActivation(where, cl.getActivationFn())));
        c = (int) weights.size(0);
        h = (h + 2 * pad[0] - k[0]) / st[0] + 1;
        w = (w + 2 * pad[1] - k[1]) / st[1] + 1;
        continue;
      }
      if (conf instanceof SubsamplingLayer s && spatial && s.getPoolingType() != null
          && s.getPoolingType().toString().equals("AVG")) {
        int[] k = s.getKernelSize();
        int[] st = s.getStride();
        if (k[0] != k[1] || st[0] != st[1] || s.getPadding()[0] != 0 || s.getPadding()[1] != 0) {
          throw new IllegalArgumentException(where + ": only square, unpadded average pooling is supported");
        }
        Layer.AvgPool2D pool = new Layer.AvgPool2D(c, h, w, k[0], st[0]);
        recipes.add(fixed(pool));
        h = pool.outHeight();
        w = pool.outWidth();
        continue;
      }
      if (conf instanceof DenseLayer || conf instanceof OutputLayer) {
        recipes.add(dense(layer.getParam("W"), layer.getParam("b")));
        IActivation act = ((BaseLayer) conf).getActivationFn();
        boolean last = i == n - 1;
        if (act instanceof ActivationSoftmax && last) {
          continue; // softmax is monotone: the argmax, hence the decision boundary, is that of the logits
        }
        recipes.add(activation(toActivation(where, act)));
      } else if (conf instanceof BatchNormalization bn) {
        INDArray gamma = layer.getParam("gamma");
        INDArray beta = layer.getParam("beta");
        INDArray mean = layer.getParam("mean");
        boolean logStd = bn.isUseLogStd();
        INDArray varOrLog = layer.getParam(logStd ? "log10stdev" : "var");
        if (gamma == null || beta == null) {
          throw new IllegalArgumentException(where + " locks gamma/beta; not supported");
        }
        Slot g = slot(gamma);
        Slot b = slot(beta);
        Slot m = slot(mean);
        Slot v = slot(varOrLog);
        double eps = bn.getEps();
        recipes.add(() -> {
          float[] var = v.copy();
          if (logStd) {
            for (int k = 0; k < var.length; k++) {
              double std = Math.pow(10, var[k]);
              var[k] = (float) (std * std);
            }
          }
          return new Layer.BatchNorm(g.copy(), b.copy(), m.copy(), var, eps);
        });
      } else if (conf instanceof SubsamplingLayer s && s.getPoolingType() != null
          && s.getPoolingType().toString().equals("MAX")) {
        throw new IllegalArgumentException(where + ": max-pooling is not supported by the region engine; use "
            + "average pooling");
      } else {
        throw new IllegalArgumentException(where + " is not supported by the region engine; expected Dense, Output "
            + "or BatchNormalization layers with ReLU, LeakyReLU or identity activations");
      }
      if (layer.type() == Type.RECURRENT) {
        throw new IllegalArgumentException(where + " is recurrent; not piecewise-linear in the input");
      }
    }
    return new WeightCopier(recipes);
  }

  static Layer.Activation toActivation(String where, IActivation act) {
    if (act instanceof ActivationReLU) {
      return Layer.Activation.relu();
    }
    if (act instanceof ActivationLReLU l) {
      return Layer.Activation.leakyRelu(l.getAlpha());
    }
    if (act instanceof ActivationIdentity) {
      return Layer.Activation.identity();
    }
    throw new IllegalArgumentException(where + " uses activation " + act + ", which is not piecewise-linear; "
        + "expected ReLU, LeakyReLU or identity");
  }

  /** A copier over explicit recipes (SameDiff models). */
  static WeightCopier of(List<Recipe> recipes) {
    return new WeightCopier(List.copyOf(recipes));
  }
}
