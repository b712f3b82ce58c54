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

  /**
   * Settings of a tiny supervised run on synthetic data in {@code tmp} (generated once): 640 training images, batch
   * 32, one hidden layer of 16, a snapshot every 20 steps, 50 probes, no HTTP endpoint. Tests override what they need.
   */
  public static java.util.Map<String, Object> tinyRun(Path tmp, String runId, long maxSteps) throws IOException {
    Path data = tmp.resolve("idx");
    if (!java.nio.file.Files.isDirectory(data)) {
      writeDir(data, 640, 200, 3);
    }
    java.util.Map<String, Object> o = new java.util.LinkedHashMap<>();
    o.put("splinewatch.run.method", "supervised");
    o.put("splinewatch.data.dir", data.toString());
    o.put("splinewatch.run.max-steps", maxSteps);
    o.put("splinewatch.run.batch-size", 32);
    o.put("splinewatch.run.hidden", java.util.List.of(16));
    o.put("splinewatch.run.snapshot-every", 20);
    o.put("splinewatch.run.probe-size", 50);
    o.put("splinewatch.run.run-id", runId);
    o.put("splinewatch.run.out", tmp.resolve("runs").toString());
    o.put("splinewatch.metrics.port", 0);
    return o;
  }
}
