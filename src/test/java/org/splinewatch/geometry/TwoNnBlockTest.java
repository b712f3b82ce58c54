package org.splinewatch.geometry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The TwoNN block analysis, the scale check of metrics.md §5.1. */
class TwoNnBlockTest {
  private static final int[] BLOCKS = {1, 2, 4, 8, 16, 20};

  /**
   * The same points and split as {@code twonn_blocks_reference.py} (test resources; a 64-bit LCG both reproduce
   * exactly, uniform in a 3-d linear subspace of R^50, n = 600), against the values numpy printed: equal to 1e-9 at
   * every block count, and NaN for b = 40 (15 points a block, below the 20 TwoNN needs).
   */
  @Test
  void blocksMatchTheNumpyReference() {
    int n = 600;
    int dim = 50;
    Lcg r = new Lcg(42);
    double[] a = new double[n * 3];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextDouble();
    }
    double[] q = new double[dim * 3];
    for (int i = 0; i < q.length; i++) {
      q[i] = r.nextDouble() - 0.5;
    }
    double[] x = new double[n * dim];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < dim; j++) {
        double t = 0.0;
        for (int k = 0; k < 3; k++) {
          t += a[i * 3 + k] * q[j * 3 + k];
        }
        x[i * dim + j] = t;
      }
    }
    int[] blocks = {1, 2, 4, 8, 16, 20, 40};
    int[][] order = new int[blocks.length][];
    for (int i = 0; i < blocks.length; i++) {
      int[] p = new int[n];
      for (int j = 0; j < n; j++) {
        p[j] = j;
      }
      for (int j = n - 1; j > 0; j--) {
        int k = r.nextInt(j + 1);
        int t = p[j];
        p[j] = p[k];
        p[k] = t;
      }
      order[i] = p;
    }
    List<IntrinsicDimension.BlockDimension> got = IntrinsicDimension.twoNnBlocks(x, n, dim,
        new IntrinsicDimension.BlockSplit(n, blocks, order), new IntrinsicDimension.Scratch());
    double[][] numpy = {
        {1, 600, 2.6658603173180073, 0.0},
        {2, 300, 2.6333374087639543, 0.22522587350392986},
        {4, 150, 2.6276394064240116, 0.10281881958237674},
        {8, 75, 2.7577463687643324, 0.45908406870947116},
        {16, 37, 2.7938437473093742, 0.4428441006594248},
        {20, 30, 2.8517524198044333, 0.765014617949427},
        {40, 15, Double.NaN, Double.NaN}};
    assertEquals(numpy.length, got.size());
    for (int i = 0; i < numpy.length; i++) {
      IntrinsicDimension.BlockDimension g = got.get(i);
      assertEquals((int) numpy[i][0], g.blocks());
      assertEquals((int) numpy[i][1], g.blockSize());
      assertEquals(numpy[i][2], g.mean(), 1e-9, "mean, b = " + g.blocks());
      assertEquals(numpy[i][3], g.std(), 1e-9, "std, b = " + g.blocks());
    }
    // b = 1 is the full TwoNN: the order of the points does not change it, bit for bit (the analyzer reuses it)
    IntrinsicDimension.TwoNn whole = IntrinsicDimension.twoNn(x, n, dim);
    assertEquals(whole.dimension(), got.get(0).mean());
    assertEquals(got, IntrinsicDimension.twoNnBlocks(x, n, dim, new IntrinsicDimension.BlockSplit(n, blocks, order),
        new IntrinsicDimension.Scratch(), whole));
  }

  /**
   * Uniform in a 3-d linear subspace of R^50 (orthonormal basis), n = 2,000, the default size of metrics.md §5.1:
   * every block size's mean is 3 within 0.5. Why 0.5: the same protocol in numpy over 30 draws gave means of 2.86–2.91
   * per block size (a negative bias up to 0.14, the cube's faces: near a face the neighbours lie on one side) with a
   * spread of 0.07–0.11 between draws, so 0.5 is the bias plus more than 3 spreads. And a plateau: the means of the
   * block sizes 2,000 … 100 lie within 0.5 of each other, as a flat manifold without noise should.
   */
  @Test
  void aThreeDimensionalSubspaceGivesThreeAtEveryBlockSize() {
    int n = 2000;
    int dim = 50;
    double[] x = subspace(n, dim, 3, new Random(5));
    List<IntrinsicDimension.BlockDimension> got = IntrinsicDimension.twoNnBlocks(x, n, dim,
        IntrinsicDimension.BlockSplit.of(n, BLOCKS, 7), new IntrinsicDimension.Scratch());
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < BLOCKS.length; i++) {
      IntrinsicDimension.BlockDimension g = got.get(i);
      assertEquals(BLOCKS[i], g.blocks());
      assertEquals(n / BLOCKS[i], g.blockSize());
      assertEquals(3, g.mean(), 0.5, "block size " + g.blockSize());
      assertTrue(g.std() >= 0 && g.std() < 1, "std at block size " + g.blockSize() + ": " + g.std());
      lo = Math.min(lo, g.mean());
      hi = Math.max(hi, g.mean());
    }
    assertEquals(0, got.get(0).std());
    assertTrue(hi - lo < 0.5, "plateau: " + got);
  }

  /** The split is drawn from the seed alone: the same seed gives the same split and the same values, another not. */
  @Test
  void theSameSeedGivesTheSameSplitAndValues() {
    int n = 400;
    IntrinsicDimension.BlockSplit s1 = IntrinsicDimension.BlockSplit.of(n, BLOCKS, 11);
    IntrinsicDimension.BlockSplit s2 = IntrinsicDimension.BlockSplit.of(n, BLOCKS, 11);
    IntrinsicDimension.BlockSplit other = IntrinsicDimension.BlockSplit.of(n, BLOCKS, 12);
    for (int i = 0; i < BLOCKS.length; i++) {
      assertArrayEquals(s1.order()[i], s2.order()[i]);
      assertFalse(java.util.Arrays.equals(s1.order()[i], other.order()[i]));
      int[] sorted = s1.order()[i].clone();
      java.util.Arrays.sort(sorted);
      for (int j = 0; j < n; j++) {
        assertEquals(j, sorted[j], "a permutation");
      }
    }
    // b's permutation does not depend on the other block counts listed
    assertArrayEquals(s1.order()[2], IntrinsicDimension.BlockSplit.of(n, new int[] {4}, 11).order()[0]);
    double[] x = subspace(n, 20, 3, new Random(6));
    IntrinsicDimension.Scratch kept = new IntrinsicDimension.Scratch();
    List<IntrinsicDimension.BlockDimension> first = IntrinsicDimension.twoNnBlocks(x, n, 20, s1, kept);
    assertEquals(first, IntrinsicDimension.twoNnBlocks(x, n, 20, s2, kept), "same split, kept scratch");
    assertEquals(first, IntrinsicDimension.twoNnBlocks(x, n, 20, s2, new IntrinsicDimension.Scratch()));
    assertTrue(first.get(3).mean() != IntrinsicDimension.twoNnBlocks(x, n, 20, other,
        new IntrinsicDimension.Scratch()).get(3).mean(), "another split, other blocks");
  }

  /** b > n/20 leaves blocks under the 20 points TwoNN needs: NaN, as TwoNN itself below 20 good points. */
  @Test
  void blocksBelowTwentyPointsAreNaN() {
    int n = 300; // blocks of 300, 150, 75, 37, 18, 15
    double[] x = subspace(n, 10, 3, new Random(8));
    List<IntrinsicDimension.BlockDimension> got = IntrinsicDimension.twoNnBlocks(x, n, 10,
        IntrinsicDimension.BlockSplit.of(n, BLOCKS, 1), new IntrinsicDimension.Scratch());
    for (int i = 0; i < 4; i++) {
      assertTrue(Double.isFinite(got.get(i).mean()), got.get(i).toString());
    }
    for (int i = 4; i < 6; i++) {
      assertTrue(got.get(i).blockSize() < IntrinsicDimension.MIN_GOOD_POINTS);
      assertTrue(Double.isNaN(got.get(i).mean()) && Double.isNaN(got.get(i).std()), got.get(i).toString());
    }
    // more blocks than points: empty blocks, NaN, no exception
    IntrinsicDimension.BlockDimension many = IntrinsicDimension.twoNnBlocks(x, n, 10,
        IntrinsicDimension.BlockSplit.of(n, new int[] {301}, 1), new IntrinsicDimension.Scratch()).get(0);
    assertEquals(0, many.blockSize());
    assertTrue(Double.isNaN(many.mean()));
  }

  /**
   * Duplicates are dropped in each block as in TwoNN; a block left with fewer than 20 good points makes its block
   * count NaN (a mean is over all b blocks). A tenth of the points repeated once: every block size keeps enough, and
   * b = 1 is TwoNN of the whole set (its 20 % duplicates dropped). Every point a copy of one of 10: nothing is good
   * anywhere.
   */
  @Test
  void duplicatesAreDroppedPerBlock() {
    int n = 1000;
    int d = 10;
    double[] x = subspace(n, d, 3, new Random(9));
    for (int i = 900; i < n; i++) {
      System.arraycopy(x, (i - 900) * d, x, i * d, d);
    }
    List<IntrinsicDimension.BlockDimension> got = IntrinsicDimension.twoNnBlocks(x, n, d,
        IntrinsicDimension.BlockSplit.of(n, BLOCKS, 3), new IntrinsicDimension.Scratch());
    for (IntrinsicDimension.BlockDimension g : got) {
      assertEquals(3, g.mean(), 0.6, g.toString());
    }
    assertEquals(0.2, IntrinsicDimension.twoNn(x, n, d).duplicateFraction(), 1e-15);
    assertEquals(IntrinsicDimension.twoNn(x, n, d).dimension(), got.get(0).mean());
    assertEquals(got, IntrinsicDimension.twoNnBlocks(x, n, d, IntrinsicDimension.BlockSplit.of(n, BLOCKS, 3),
        new IntrinsicDimension.Scratch(), IntrinsicDimension.twoNn(x, n, d)), "b = 1 reused");
    double[] copies = new double[n * d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(x, (i % 10) * d, copies, i * d, d);
    }
    for (IntrinsicDimension.BlockDimension g : IntrinsicDimension.twoNnBlocks(copies, n, d,
        IntrinsicDimension.BlockSplit.of(n, BLOCKS, 3), new IntrinsicDimension.Scratch())) {
      assertTrue(Double.isNaN(g.mean()) && Double.isNaN(g.std()), g.toString());
    }
  }

  /** A NaN or infinite activation anywhere: every block count is NaN, as TwoNN of the whole layer. */
  @Test
  void nonFiniteInputGivesNaN() {
    int n = 400;
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
      double[] x = subspace(n, 10, 3, new Random(10));
      x[123 * 10 + 4] = bad;
      for (IntrinsicDimension.BlockDimension g : IntrinsicDimension.twoNnBlocks(x, n, 10,
          IntrinsicDimension.BlockSplit.of(n, BLOCKS, 3), new IntrinsicDimension.Scratch())) {
        assertTrue(Double.isNaN(g.mean()) && Double.isNaN(g.std()), bad + ": " + g);
      }
    }
  }

  /** {@code n} points uniform in the unit cube of a random {@code k}-dimensional subspace of R^dim. */
  private static double[] subspace(int n, int dim, int k, Random r) {
    double[][] basis = org.splinewatch.TestTools.orthonormal(r, k, dim); // Gram–Schmidt of Gaussian vectors
    double[] x = new double[n * dim];
    for (int i = 0; i < n; i++) {
      for (int a = 0; a < k; a++) {
        double c = r.nextDouble();
        for (int j = 0; j < dim; j++) {
          x[i * dim + j] += c * basis[a][j];
        }
      }
    }
    return x;
  }

  /** The 64-bit LCG of {@code twonn_blocks_reference.py}. */
  private static final class Lcg {
    private long s;

    Lcg(long seed) {
      s = seed;
    }

    private long step() {
      s = s * 6364136223846793005L + 1442695040888963407L;
      return s;
    }

    double nextDouble() {
      return (step() >>> 11) * 0x1.0p-53;
    }

    int nextInt(int bound) {
      return (int) ((step() >>> 33) % bound);
    }
  }
}
