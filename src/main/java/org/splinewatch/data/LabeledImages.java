package org.splinewatch.data;

import java.util.Arrays;

/**
 * Grey-scale images with labels. Pixels stay bytes (0–255) to keep 60,000 images in 47 MB; {@link #image} scales
 * them to [0, 1].
 */
public record LabeledImages(int rows, int cols, byte[] pixels, int[] labels) {
  public LabeledImages {
    if (pixels.length != (long) labels.length * rows * cols) {
      throw new IllegalArgumentException("pixels hold " + pixels.length + " bytes for " + labels.length
          + " images of " + rows + "x" + cols);
    }
  }

  public int count() {
    return labels.length;
  }

  public int pixelsPerImage() {
    return rows * cols;
  }

  /** Writes image {@code i} scaled to [0, 1] into {@code dst} at {@code offset}. */
  public void image(int i, float[] dst, int offset) {
    int p = rows * cols;
    int base = i * p;
    for (int k = 0; k < p; k++) {
      dst[offset + k] = (pixels[base + k] & 0xff) / 255f;
    }
  }

  /** The first {@code n} images. */
  public LabeledImages head(int n) {
    int m = Math.min(n, count());
    byte[] px = Arrays.copyOf(pixels, m * rows * cols);
    return new LabeledImages(rows, cols, px, Arrays.copyOf(labels, m));
  }
}
