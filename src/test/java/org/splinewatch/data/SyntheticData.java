package org.splinewatch.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/** Small generated 28×28 data sets for tests: class c is a bright block at one of ten positions, plus noise. */
public final class SyntheticData {
  private SyntheticData() {
  }

  public static LabeledImages images(int n, long seed) {
    Random r = new Random(seed);
    byte[] px = new byte[n * 784];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      int c = i % 10;
      labels[i] = c;
      int y0 = 3 + (c / 5) * 12 + r.nextInt(3);
      int x0 = 1 + (c % 5) * 5 + r.nextInt(2);
      for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
          int v = r.nextInt(30);
          if (y >= y0 && y < y0 + 8 && x >= x0 && x < x0 + 5) {
            v = 180 + r.nextInt(75);
          }
          px[i * 784 + y * 28 + x] = (byte) v;
        }
      }
    }
    return new LabeledImages(28, 28, px, labels);
  }

  /** Writes train and test IDX files into {@code dir}. */
  public static void writeDir(Path dir, int train, int test, long seed) throws IOException {
    java.nio.file.Files.createDirectories(dir);
    Idx.write(images(train, seed), dir.resolve(DatasetLoader.TRAIN_IMAGES), dir.resolve(DatasetLoader.TRAIN_LABELS));
    Idx.write(images(test, seed + 1000), dir.resolve(DatasetLoader.TEST_IMAGES),
        dir.resolve(DatasetLoader.TEST_LABELS));
  }
}
