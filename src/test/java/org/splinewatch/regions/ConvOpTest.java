package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The convolution as a dense product equals the plain output-at-a-time loop bit for bit. */
class ConvOpTest {
  /** The definition, one output at a time: bias, then the terms in ascending (ci, ky, kx). */
  static double[] reference(AffineOp.ConvOp op, double[] in, int rows, boolean magnitude) {
    int oh = op.oh();
    int ow = op.ow();
    double[] out = new double[rows * op.outDim()];
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < op.oc(); o++) {
        for (int y = 0; y < oh; y++) {
          for (int x = 0; x < ow; x++) {
            double s = magnitude ? Math.abs(op.bias()[o]) : op.bias()[o];
            for (int ci = 0; ci < op.c(); ci++) {
              for (int ky = 0; ky < op.kh(); ky++) {
                int iy = y * op.stride() + ky - op.pad();
                if (iy < 0 || iy >= op.h()) {
                  continue;
                }
                for (int kx = 0; kx < op.kw(); kx++) {
                  int ix = x * op.stride() + kx - op.pad();
                  if (ix < 0 || ix >= op.w()) {
                    continue;
                  }
                  double wk = op.weights()[((o * op.c() + ci) * op.kh() + ky) * op.kw() + kx];
                  s += (magnitude ? Math.abs(wk) : wk) * in[r * op.inDim() + (ci * op.h() + iy) * op.w() + ix];
                }
              }
            }
            out[r * op.outDim() + (o * oh + y) * ow + x] = s;
          }
        }
      }
    }
    return out;
  }

  @Test
  void theProductEqualsTheDefinitionBitForBit() {
    Random rnd = new Random(5);
    int[][] shapes = { // c, h, w, oc, kh, kw, stride, pad
        {1, 28, 28, 8, 3, 3, 1, 1}, {8, 14, 14, 16, 3, 3, 1, 1}, {3, 9, 7, 4, 3, 3, 2, 1}, {2, 8, 8, 3, 5, 5, 1, 2},
        {2, 7, 9, 2, 2, 3, 2, 0}, {1, 5, 5, 2, 3, 3, 3, 2}, {2, 6, 6, 2, 1, 1, 1, 0}, {1, 4, 6, 1, 4, 2, 1, 3}};
    for (int[] s : shapes) {
      double[] w = new double[s[3] * s[0] * s[4] * s[5]];
      double[] b = new double[s[3]];
      for (int i = 0; i < w.length; i++) {
        w[i] = rnd.nextGaussian();
      }
      for (int i = 0; i < b.length; i++) {
        b[i] = rnd.nextGaussian();
      }
      AffineOp.ConvOp op = new AffineOp.ConvOp(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], w, b);
      int rows = 3;
      double[] in = new double[rows * op.inDim()];
      for (int i = 0; i < in.length; i++) {
        in[i] = rnd.nextDouble() < 0.3 ? 0 : rnd.nextGaussian();
      }
      double[] out = new double[rows * op.outDim()];
      op.apply(in, out, rows);
      assertArrayEquals(reference(op, in, rows, false), out, 0.0, java.util.Arrays.toString(s));
      double[] abs = new double[op.inDim()];
      for (int i = 0; i < abs.length; i++) {
        abs[i] = Math.abs(in[i]);
      }
      double[] mag = new double[op.outDim()];
      op.applyMagnitude(abs, mag);
      assertArrayEquals(reference(op, abs, 1, true), mag, 0.0, "magnitude " + java.util.Arrays.toString(s));
    }
  }
}
