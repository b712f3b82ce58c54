package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AugmenterTest {

  /**
   * The plain formulation the augmenter had before its per-pixel constants were hoisted: every view trained on,
   * recorded in the detection tables, came from it, so the augmenter must give the same floats bit for bit and draw
   * the same random numbers in the same order.
   */
  private static final class PlainAugmenter {
    private final int h;
    private final int w;

    PlainAugmenter(int h, int w) {
      this.h = h;
      this.w = w;
    }

    void augment(float[] src, int srcOffset, float[] dst, int offset, SplittableRandom rnd) {
      double area = 0.6 + 0.4 * rnd.nextDouble();
      double logRatio = Math.log(3.0 / 4) + rnd.nextDouble() * (Math.log(4.0 / 3) - Math.log(3.0 / 4));
      double ratio = Math.exp(logRatio);
      double cw = Math.min(1, Math.sqrt(area * ratio));
      double ch = Math.min(1, Math.sqrt(area / ratio));
      double cx = (1 - cw) * rnd.nextDouble() + cw / 2;
      double cy = (1 - ch) * rnd.nextDouble() + ch / 2;
      double angle = Math.toRadians(-15 + 30 * rnd.nextDouble());
      double cos = Math.cos(angle);
      double sin = Math.sin(angle);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double u = (x + 0.5) / w - 0.5;
          double v = (y + 0.5) / h - 0.5;
          double ru = cos * u - sin * v;
          double rv = sin * u + cos * v;
          double sx = (cx + ru * cw) * w - 0.5;
          double sy = (cy + rv * ch) * h - 0.5;
          double val = bilinear(src, srcOffset, sx, sy);
          val += 0.05 * rnd.nextGaussian();
          dst[offset + y * w + x] = (float) Math.max(0, Math.min(1, val));
        }
      }
      if (rnd.nextDouble() < 0.25) {
        double ea = (0.02 + 0.10 * rnd.nextDouble()) * h * w;
        double er = Math.exp(Math.log(0.3) + rnd.nextDouble() * (Math.log(3.3) - Math.log(0.3)));
        int eh = (int) Math.min(h, Math.round(Math.sqrt(ea * er)));
        int ew = (int) Math.min(w, Math.round(Math.sqrt(ea / er)));
        int y0 = rnd.nextInt(h - eh + 1);
        int x0 = rnd.nextInt(w - ew + 1);
        for (int y = y0; y < y0 + eh; y++) {
          for (int x = x0; x < x0 + ew; x++) {
            dst[offset + y * w + x] = 0;
          }
        }
      }
    }

    private double bilinear(float[] src, int off, double x, double y) {
      int x0 = (int) Math.floor(x);
      int y0 = (int) Math.floor(y);
      double fx = x - x0;
      double fy = y - y0;
      return (1 - fx) * (1 - fy) * px(src, off, x0, y0) + fx * (1 - fy) * px(src, off, x0 + 1, y0)
          + (1 - fx) * fy * px(src, off, x0, y0 + 1) + fx * fy * px(src, off, x0 + 1, y0 + 1);
    }

    private double px(float[] src, int off, int x, int y) {
      return x < 0 || y < 0 || x >= w || y >= h ? 0 : src[off + y * w + x];
    }
  }

  @Test
  void viewsEqualThePlainFormulationBitForBitAndDrawTheSameRandomNumbers() {
    // square and non-square images; pixel values beyond [0, 1] (clamped on both sides), edges not blank
    int[][] shapes = {{28, 28}, {20, 32}, {5, 7}, {1, 3}};
    for (int[] shape : shapes) {
      int h = shape[0];
      int w = shape[1];
      int d = h * w;
      int images = 64;
      float[] src = new float[images * d];
      SplittableRandom pixels = new SplittableRandom(h * 31L + w);
      for (int i = 0; i < src.length; i++) {
        src[i] = pixels.nextInt(4) == 0 ? 0f : (float) (-0.25 + 1.5 * pixels.nextDouble());
      }
      float[] expected = new float[src.length];
      float[] actual = new float[src.length];
      for (long seed : new long[] {1, 42, 2026}) {
        SplittableRandom plainRandom = new SplittableRandom(seed);
        SplittableRandom fastRandom = new SplittableRandom(seed);
        PlainAugmenter plain = new PlainAugmenter(h, w);
        Augmenter fast = new Augmenter(h, w);
        for (int view = 0; view < 4; view++) { // several views of each image, as the trainer takes two
          for (int i = 0; i < images; i++) {
            plain.augment(src, i * d, expected, i * d, plainRandom);
            fast.augment(src, i * d, actual, i * d, fastRandom);
          }
          for (int i = 0; i < src.length; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(actual[i]),
                () -> h + "x" + w + " seed " + seed + ": value differs");
          }
          assertEquals(plainRandom.nextLong(), fastRandom.nextLong(), "the same random numbers were drawn");
        }
      }
    }
  }

  @Test
  void viewsStayInTheUnitIntervalAndMoveThePixels() {
    int h = 28;
    int w = 28;
    float[] src = new float[h * w];
    for (int y = 10; y < 18; y++) {
      for (int x = 10; x < 18; x++) {
        src[y * w + x] = 1f; // a bright square in the middle
      }
    }
    float[] dst = new float[h * w];
    new Augmenter(h, w).augment(src, 0, dst, 0, new SplittableRandom(5));
    double changed = 0;
    for (int i = 0; i < dst.length; i++) {
      assertTrue(dst[i] >= 0f && dst[i] <= 1f, "pixel " + i + " = " + dst[i]);
      changed += Math.abs(dst[i] - src[i]);
    }
    assertTrue(changed > 1, "the view differs from the image (noise, crop, rotation): " + changed);
  }
}
