package org.splinewatch.regions;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Measures one plane of the default {@code --encoder cnn} encoder (28×28 input, 3×3 convolutions to 8 and 16
 * channels with padding 1, each followed by ReLU and 2×2 average pooling, then dense 784→256→256 and a 128-wide
 * head) with He-initialised weights, small random biases and a plane through three random images: region count,
 * overflow, time and the peak heap of the JVM. Run by hand (docs/regions-engine.md), e.g.
 * {@code java -Xmx2g -cp target/classes:target/test-classes org.splinewatch.regions.CnnPlaneHarness [seed]}.
 */
public final class CnnPlaneHarness {
  private CnnPlaneHarness() {
  }

  /** The encoder described above, drawn from {@code seed}. */
  static PiecewiseLinearNet cnn(long seed) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    layers.add(conv(r, 1, 28, 8));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.AvgPool2D(8, 28, 28, 2, 2));
    layers.add(conv(r, 8, 14, 16));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.AvgPool2D(16, 14, 14, 2, 2));
    layers.add(new Layer.Flatten(16 * 7 * 7));
    layers.add(dense(r, 784, 256));
    layers.add(Layer.Activation.relu());
    layers.add(dense(r, 256, 256));
    layers.add(Layer.Activation.relu());
    layers.add(dense(r, 256, 128));
    return new PiecewiseLinearNet(784, layers);
  }

  /**
   * A plane (pad 1.5× as in the analyzers) through three MNIST images read from {@code idxImages} (an
   * {@code idx3-ubyte} file, pixels scaled to {@code [0,1]}, images {@code 3·seed .. 3·seed+2}) when given, else
   * through three random MNIST-like images (80 % background).
   */
  static Plane plane(long seed, java.nio.file.Path idxImages) throws java.io.IOException {
    double[][] a = new double[3][784];
    if (idxImages != null) {
      byte[] all = java.nio.file.Files.readAllBytes(idxImages);
      for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 784; k++) {
          a[i][k] = (all[16 + (int) (3 * seed + i) * 784 + k] & 0xff) / 255.0;
        }
      }
      return Plane.throughAnchors(a[0], a[1], a[2], 0);
    }
    Random r = new Random(seed + 1000);
    for (double[] img : a) {
      for (int i = 0; i < img.length; i++) {
        img[i] = r.nextDouble() < 0.8 ? 0 : r.nextDouble(); // MNIST-like: mostly background
      }
    }
    return Plane.throughAnchors(a[0], a[1], a[2], 0);
  }

  private static Layer.Conv2D conv(Random r, int c, int hw, int oc) {
    float[] w = new float[oc * c * 9];
    double sd = Math.sqrt(2.0 / (c * 9));
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() * sd);
    }
    float[] b = new float[oc];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (r.nextGaussian() * 0.01);
    }
    return new Layer.Conv2D(c, hw, hw, oc, 3, 3, 1, 1, w, b);
  }

  private static Layer.Dense dense(Random r, int in, int out) {
    float[] w = new float[in * out];
    double sd = Math.sqrt(2.0 / in);
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() * sd);
    }
    float[] b = new float[out];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (r.nextGaussian() * 0.01);
    }
    return new Layer.Dense(in, out, w, b);
  }

  /** Arguments: {@code [seed [cap [idx3-ubyte images]]]}. */
  public static void main(String[] args) throws java.io.IOException {
    long seed = args.length > 0 ? Long.parseLong(args[0]) : 1;
    int cap = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
    PiecewiseLinearNet net = cnn(seed);
    Plane plane = plane(seed, args.length > 2 ? java.nio.file.Path.of(args[2]) : null);
    long t0 = System.nanoTime();
    Partition p = Partition.compute(net, plane, cap);
    double s = (System.nanoTime() - t0) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf("cnn seed %d: %d regions%s, %d vertices, after layers %s, %.2f s, peak heap %d MiB (max %d MiB)%n",
        seed, p.regionCount(), p.overflow() ? " (OVERFLOW)" : "", p.vertexCount(),
        java.util.Arrays.toString(p.regionsAfterLayer()), s, peak >> 20, Runtime.getRuntime().maxMemory() >> 20);
  }
}
