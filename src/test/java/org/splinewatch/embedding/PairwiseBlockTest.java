package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.splinewatch.geometry.IntrinsicDimension;

/**
 * The block-wise pairwise metrics (uniformity and kNN from {@link EmbeddingMetrics#BLOCK} rows of cosines at a time,
 * TwoNN from as many rows of distances) equal the full-matrix computation ({@link FullMatrixReference}) bit for bit:
 * n below, at and past one block and not a multiple of it or of the 4-row tiles, ties (values on a coarse grid),
 * duplicate points and zero rows.
 */
class PairwiseBlockTest {
  private static final int[] SIZES = {2, 3, 5, 255, 256, 257, 603};

  /** Rows of one of four kinds: Gaussian, on a coarse grid (exact ties), with duplicates, or with zero rows. */
  private static double[] points(Random r, int n, int d, int kind) {
    double[] x = new double[n * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = kind == 1 ? r.nextInt(3) - 1 : r.nextGaussian();
    }
    if (kind == 2) {
      for (int i = 1; i < n; i += 3) { // every third row repeats an earlier one
        System.arraycopy(x, r.nextInt(i) * d, x, i * d, d);
      }
    }
    if (kind == 3) {
      for (int i = 0; i < n; i += 4) {
        java.util.Arrays.fill(x, i * d, i * d + d, 0);
      }
    }
    return x;
  }

  private static int[] labels(Random r, int n, int classes) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(classes);
    }
    return y;
  }

  @Test
  void uniformityAndKnnEqualTheFullGramBitForBit() {
    Random r = new Random(41);
    EmbeddingMetrics.Scratch scratch = new EmbeddingMetrics.Scratch(); // kept across shapes: stale tails
    for (int n : SIZES) {
      for (int kind = 0; kind < 4; kind++) {
        int d = 1 + r.nextInt(24);
        double[] zh = EmbeddingMetrics.normalizeRows(points(r, n, d, kind), n, d);
        int[] y = labels(r, n, 4);
        String at = "n=" + n + " d=" + d + " kind=" + kind;
        for (double t : new double[] {2, 0.5}) {
          assertEquals(Double.doubleToLongBits(FullMatrixReference.uniformity(zh, n, d, t)),
              Double.doubleToLongBits(EmbeddingMetrics.uniformity(zh, n, d, t)), at + " t=" + t);
        }
        for (int k : new int[] {20, 5, 1}) {
          double full = FullMatrixReference.knnAccuracy(zh, n, d, y, 4, k, 0.07);
          assertEquals(Double.doubleToLongBits(full),
              Double.doubleToLongBits(EmbeddingMetrics.knnAccuracy(zh, n, d, y, 4, k, 0.07)), at + " k=" + k);
          double[] both = EmbeddingMetrics.uniformityAndKnn(zh, n, d, 2, y, 4, k, 0.07, scratch);
          assertEquals(Double.doubleToLongBits(full), Double.doubleToLongBits(both[1]), at + " k=" + k);
          assertEquals(Double.doubleToLongBits(FullMatrixReference.uniformity(zh, n, d, 2)),
              Double.doubleToLongBits(both[0]), at + " k=" + k);
        }
      }
    }
  }

  @Test
  void computeEqualsTheFullMatrixComputation() {
    Random r = new Random(43);
    EmbeddingMetrics.Scratch scratch = new EmbeddingMetrics.Scratch();
    for (int n : SIZES) {
      for (int kind = 0; kind < 4; kind++) {
        int d = 1 + r.nextInt(24);
        double[] z = points(r, n, d, kind);
        double[] pairs = kind == 1 ? null : points(r, n, d, (kind + 1) % 4);
        int[] y = kind == 2 ? null : labels(r, n, 3);
        assertEquals(FullMatrixReference.compute(z, pairs, n, d, y, 3),
            EmbeddingMetrics.compute(z, pairs, n, d, y, 3, scratch), "n=" + n + " d=" + d + " kind=" + kind);
      }
    }
  }

  /** A strip of rows, in a stale longer array, equals the same rows of the full Gram matrix bit for bit. */
  @Test
  void gramStripEqualsTheRowsOfTheGram() {
    Random r = new Random(47);
    int n = 75;
    int d = 9;
    double[] x = points(r, n, d, 0);
    double[] g = EmbeddingMetrics.gram(x, n, d);
    double[] strip = new double[n * n + 3];
    java.util.Arrays.fill(strip, Double.NaN);
    for (int[] rows : new int[][] {{0, 75}, {0, 8}, {8, 17}, {17, 75}, {72, 75}, {74, 75}}) {
      EmbeddingMetrics.gramStrip(x, d, rows[0], rows[1], n, strip);
      int w = n - rows[0];
      for (int i = rows[0]; i < rows[1]; i++) {
        for (int k = rows[0]; k < n; k++) {
          assertEquals(Double.doubleToLongBits(g[i * n + k]),
              Double.doubleToLongBits(strip[(i - rows[0]) * w + k - rows[0]]), "(" + i + "," + k + ")");
        }
      }
    }
  }

  @Test
  void twoNnEqualsTheFullDistanceMatrix() {
    Random r = new Random(53);
    IntrinsicDimension.Scratch scratch = new IntrinsicDimension.Scratch();
    for (int n : SIZES) {
      for (int kind = 0; kind < 4; kind++) {
        int d = 1 + r.nextInt(24);
        double[] x = points(r, n, d, kind);
        String at = "n=" + n + " d=" + d + " kind=" + kind;
        IntrinsicDimension.TwoNn full = FullMatrixReference.twoNn(x, n, d);
        assertEquals(full, IntrinsicDimension.twoNn(x, n, d), at); // records compare their doubles bit for bit
        assertEquals(full, IntrinsicDimension.twoNn(x, n, d, scratch), at);
      }
    }
  }
}
