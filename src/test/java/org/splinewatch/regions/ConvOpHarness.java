package org.splinewatch.regions;

import java.util.Random;

/**
 * The CNN encoder's second convolution (8×14×14 → 16 channels, 3×3, padding 1) on 2,000 rows, half of the inputs
 * zero as after a ReLU: the dense-product convolution against the output-at-a-time definition
 * ({@code ConvOpTest.reference}), alternated in one run, median times and their ratio. Run by hand
 * (docs/regions-engine.md), with or without {@code --add-modules jdk.incubator.vector}.
 */
public final class ConvOpHarness {
  private ConvOpHarness() {
  }

  public static void main(String[] args) {
    Random r = new Random(1);
    double[] w = new double[16 * 8 * 9];
    double[] b = new double[16];
    for (int i = 0; i < w.length; i++) {
      w[i] = r.nextGaussian();
    }
    AffineOp.ConvOp op = new AffineOp.ConvOp(8, 14, 14, 16, 3, 3, 1, 1, w, b);
    int rows = 2000;
    double[] in = new double[rows * op.inDim()];
    for (int i = 0; i < in.length; i++) {
      in[i] = r.nextDouble() < 0.5 ? 0 : r.nextDouble();
    }
    double[] out = new double[rows * op.outDim()];
    int rounds = 9;
    double[] product = new double[rounds];
    double[] definition = new double[rounds];
    for (int k = 0; k < rounds; k++) {
      long t0 = System.nanoTime();
      op.apply(in, out, rows);
      long t1 = System.nanoTime();
      ConvOpTest.reference(op, in, rows, false);
      long t2 = System.nanoTime();
      product[k] = (t1 - t0) / 1e6;
      definition[k] = (t2 - t1) / 1e6;
    }
    java.util.Arrays.sort(product);
    java.util.Arrays.sort(definition);
    System.out.printf("conv 8x14x14 -> 16 (3x3), %d rows, kernel %s, %d cores: product %.0f ms, definition %.0f ms"
        + " (medians of %d), ratio %.2f%n", rows, DenseKernel.selectedName(),
        Runtime.getRuntime().availableProcessors(), product[rounds / 2], definition[rounds / 2], rounds,
        definition[rounds / 2] / product[rounds / 2]);
  }
}
