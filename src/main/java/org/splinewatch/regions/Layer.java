package org.splinewatch.regions;

import java.util.Arrays;

/**
 * One operator of a piecewise-linear network. Affine operators act on row vectors (the DL4J and numpy
 * convention {@code y = x·W + b}); images are flattened channel-major ({@code c, h, w}).
 */
public sealed interface Layer
    permits Layer.Dense, Layer.Conv2D, Layer.AvgPool2D, Layer.Flatten, Layer.BatchNorm, Layer.Activation {

  /** Float32 weights or inputs widened to float64, the precision of every computation on them. */
  static double[] widen(float[] a) {
    double[] d = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i];
    }
    return d;
  }

  /** Dense layer {@code y = x·W + b}; {@code weights} is row-major {@code [in][out]}. */
  record Dense(int in, int out, float[] weights, float[] bias) implements Layer {
    public Dense {
      if (in <= 0 || out <= 0) {
        throw new IllegalArgumentException("Dense layer needs positive sizes, got " + in + "x" + out);
      }
      if (weights.length != in * out) {
        throw new IllegalArgumentException(
            "Dense weights have " + weights.length + " values, expected " + in + "x" + out);
      }
      if (bias.length != out) {
        throw new IllegalArgumentException("Dense bias has " + bias.length + " values, expected " + out);
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Dense d && d.in == in && d.out == out && Arrays.equals(d.weights, weights)
          && Arrays.equals(d.bias, bias);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(weights) + Arrays.hashCode(bias);
    }

    @Override
    public String toString() {
      return "Dense[" + in + "->" + out + "]";
    }
  }

  /**
   * 2D convolution (cross-correlation, as in DL4J and PyTorch). {@code weights} is
   * {@code [outChannels][inChannels][kernelH][kernelW]}; zero padding {@code padding} on every side.
   */
  record Conv2D(int inChannels, int inHeight, int inWidth, int outChannels, int kernelH, int kernelW,
      int stride, int padding, float[] weights, float[] bias) implements Layer {
    public Conv2D {
      if (weights.length != outChannels * inChannels * kernelH * kernelW) {
        throw new IllegalArgumentException("Conv2D weights have " + weights.length + " values, expected "
            + outChannels + "x" + inChannels + "x" + kernelH + "x" + kernelW);
      }
      if (bias.length != outChannels) {
        throw new IllegalArgumentException("Conv2D bias has " + bias.length + " values, expected " + outChannels);
      }
      if (stride <= 0 || padding < 0) {
        throw new IllegalArgumentException("Conv2D stride " + stride + " and padding " + padding
            + "; expected a stride >= 1 and a padding >= 0");
      }
      // compared directly, not through the output size: (in + 2 pad - k) / stride + 1 rounds a negative
      // numerator toward zero, so with stride > 1 a kernel larger than its input gave a positive size
      long paddedH = inHeight + 2L * padding;
      long paddedW = inWidth + 2L * padding;
      if (kernelH > paddedH || kernelW > paddedW) {
        throw new IllegalArgumentException("Conv2D kernel " + kernelH + "x" + kernelW + " is larger than its "
            + inHeight + "x" + inWidth + " input (" + paddedH + "x" + paddedW + " with padding " + padding
            + "); expected a kernel of at most " + paddedH + "x" + paddedW + ", as PyTorch requires");
      }
    }

    public int outHeight() {
      return outHeight(inHeight, kernelH, stride, padding);
    }

    public int outWidth() {
      return outHeight(inWidth, kernelW, stride, padding);
    }

    static int outHeight(int in, int k, int stride, int pad) {
      return (in + 2 * pad - k) / stride + 1;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Conv2D c && c.inChannels == inChannels && c.inHeight == inHeight
          && c.inWidth == inWidth && c.outChannels == outChannels && c.kernelH == kernelH
          && c.kernelW == kernelW && c.stride == stride && c.padding == padding
          && Arrays.equals(c.weights, weights) && Arrays.equals(c.bias, bias);
    }

    @Override
    public int hashCode() {
      return 31 * Arrays.hashCode(weights) + Arrays.hashCode(bias);
    }

    @Override
    public String toString() {
      return "Conv2D[" + inChannels + "x" + inHeight + "x" + inWidth + " -> " + outChannels + "x" + outHeight()
          + "x" + outWidth() + "]";
    }
  }

  /** Average pooling with a square window (no padding). */
  record AvgPool2D(int channels, int inHeight, int inWidth, int kernel, int stride) implements Layer {
    public AvgPool2D {
      if (kernel <= 0 || stride <= 0 || inHeight < kernel || inWidth < kernel) {
        throw new IllegalArgumentException("AvgPool2D kernel " + kernel + " does not fit " + inHeight + "x" + inWidth);
      }
    }

    public int outHeight() {
      return (inHeight - kernel) / stride + 1;
    }

    public int outWidth() {
      return (inWidth - kernel) / stride + 1;
    }
  }

  /** Reshape to a vector; the identity on the channel-major flattened layout. */
  record Flatten(int size) implements Layer {
  }

  /**
   * Inference-mode batch normalisation {@code γ (u − μ) / sqrt(σ² + ε) + β}; folded into the neighbouring affine
   * operator when the network is built (regions.md §1.1).
   */
  record BatchNorm(float[] gamma, float[] beta, float[] mean, float[] variance, double epsilon) implements Layer {
    public BatchNorm {
      int n = gamma.length;
      if (beta.length != n || mean.length != n || variance.length != n) {
        throw new IllegalArgumentException("BatchNorm parameters differ in length: gamma " + n + ", beta "
            + beta.length + ", mean " + mean.length + ", variance " + variance.length);
      }
    }
  }

  /** A piecewise-linear activation. */
  record Activation(Kind kind, double alpha) implements Layer {
    public enum Kind { RELU, LEAKY_RELU, IDENTITY }

    public static Activation relu() {
      return new Activation(Kind.RELU, 0);
    }

    public static Activation leakyRelu(double alpha) {
      return new Activation(Kind.LEAKY_RELU, alpha);
    }

    public static Activation identity() {
      return new Activation(Kind.IDENTITY, 1);
    }

    /** Slope on the negative side: 0 for ReLU, alpha for LeakyReLU, 1 for identity. */
    public double negativeSlope() {
      switch (kind) {
        case RELU:
          return 0;
        case LEAKY_RELU:
          return alpha;
        default:
          return 1;
      }
    }
  }
}
