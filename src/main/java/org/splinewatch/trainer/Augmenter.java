package org.splinewatch.trainer;

import java.util.SplittableRandom;

/**
 * Two-view augmentation for 28×28 grey images (SimCLR-style, scaled down for digits and clothing): a random resized
 * crop (area 60–100 %, aspect 3/4–4/3), a small rotation (±15°), Gaussian pixel noise (σ = 0.05), and random erasing
 * of one rectangle (probability 0.25, 2–12 % of the area). No flips: they change digit identity. Crop and rotation
 * are one inverse affine map with bilinear sampling; pixels outside the image are 0 (the background).
 *
 * <p>The per-pixel arithmetic is the plain formulation's, operation for operation, so the views are the same bit for
 * bit (AugmenterTest keeps that formulation as its oracle); only what does not change per pixel is computed once: the
 * centred coordinates of each column and row (two divisions per pixel before, half of the augmentation thread's time),
 * and the bounds checks of the four bilinear neighbours when all four lie inside the image. Each row is sampled, then
 * given its noise, then clamped, in three loops: the noise is drawn in the same order, and the clamp is
 * {@code Math.min}/{@code Math.max}, which compile without branches; the former {@code val <= 0 ? 0 : ...} branched
 * on the sign of the noise on every background pixel, a misprediction about every second pixel (docs/performance.md,
 * "The augmentation thread's CPU"). An instance keeps that row between its loops: one per thread.
 */
public final class Augmenter {
  private final int h;
  private final int w;
  /** Centred unit coordinate of each output column, {@code (x + 0.5) / w − 0.5}. */
  private final double[] columnU;
  /** Centred unit coordinate of each output row, {@code (y + 0.5) / h − 0.5}. */
  private final double[] rowV;
  /** One output row's values between its three loops. */
  private final double[] rowValues;

  public Augmenter(int h, int w) {
    this.h = h;
    this.w = w;
    this.columnU = new double[w];
    this.rowV = new double[h];
    this.rowValues = new double[w];
    for (int x = 0; x < w; x++) {
      columnU[x] = (x + 0.5) / w - 0.5;
    }
    for (int y = 0; y < h; y++) {
      rowV[y] = (y + 0.5) / h - 0.5;
    }
  }

  /** Writes an augmented copy of {@code src} (h·w values in [0, 1]) into {@code dst} at {@code offset}. */
  public void augment(float[] src, int srcOffset, float[] dst, int offset, SplittableRandom rnd) {
    double area = 0.6 + 0.4 * rnd.nextDouble();
    double logRatio = Math.log(3.0 / 4) + rnd.nextDouble() * (Math.log(4.0 / 3) - Math.log(3.0 / 4));
    double ratio = Math.exp(logRatio);
    double cw = Math.min(1, Math.sqrt(area * ratio));
    double ch = Math.min(1, Math.sqrt(area / ratio));
    double cx = (1 - cw) * rnd.nextDouble() + cw / 2; // crop centre, fraction of the image
    double cy = (1 - ch) * rnd.nextDouble() + ch / 2;
    double angle = Math.toRadians(-15 + 30 * rnd.nextDouble());
    double cos = Math.cos(angle);
    double sin = Math.sin(angle);
    double[] values = rowValues;
    for (int y = 0; y < h; y++) {
      double v = rowV[y];
      for (int x = 0; x < w; x++) {
        // output pixel -> centred unit coordinates -> rotate -> scale into the crop -> source pixel
        double u = columnU[x];
        double ru = cos * u - sin * v;
        double rv = sin * u + cos * v;
        double sx = (cx + ru * cw) * w - 0.5;
        double sy = (cy + rv * ch) * h - 0.5;
        values[x] = bilinear(src, srcOffset, sx, sy);
      }
      for (int x = 0; x < w; x++) {
        values[x] += 0.05 * rnd.nextGaussian();
      }
      int row = offset + y * w;
      for (int x = 0; x < w; x++) {
        dst[row + x] = (float) Math.max(0.0, Math.min(1.0, values[x]));
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
    // Math.floor for the coordinates here (finite, far inside the int range), without its call
    int x0 = (int) x;
    if (x0 > x) {
      x0--;
    }
    int y0 = (int) y;
    if (y0 > y) {
      y0--;
    }
    double fx = x - x0;
    double fy = y - y0;
    double p00;
    double p10;
    double p01;
    double p11;
    if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
      int i = off + y0 * w + x0;
      p00 = src[i];
      p10 = src[i + 1];
      p01 = src[i + w];
      p11 = src[i + w + 1];
    } else {
      p00 = px(src, off, x0, y0);
      p10 = px(src, off, x0 + 1, y0);
      p01 = px(src, off, x0, y0 + 1);
      p11 = px(src, off, x0 + 1, y0 + 1);
    }
    return (1 - fx) * (1 - fy) * p00 + fx * (1 - fy) * p10 + (1 - fx) * fy * p01 + fx * fy * p11;
  }

  private double px(float[] src, int off, int x, int y) {
    return x < 0 || y < 0 || x >= w || y >= h ? 0 : src[off + y * w + x];
  }
}
