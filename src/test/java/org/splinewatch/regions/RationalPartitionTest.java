package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The exact oracle {@link RationalPartition} against closed forms and hand-counted networks (regions.md §7 oracles 1,
 * 2 and 9), against forward passes inside its faces, and against the engine where the engine resolves the plane.
 */
class RationalPartitionTest {
  private static final double[] ORIGIN = {0, 0};
  private static final double[] U = {1, 0};
  private static final double[] V = {0, 1};

  /** One hidden layer of lines {@code wx·x + wy·y + b = 0}, given as {@code {wx, wy, b}} rows. */
  static BruteForce.Mlp lines(float[]... rows) {
    int n = rows.length;
    float[] w = new float[2 * n];
    float[] b = new float[n];
    for (int j = 0; j < n; j++) {
      w[j] = rows[j][0];
      w[n + j] = rows[j][1];
      b[j] = rows[j][2];
    }
    return new BruteForce.Mlp(new int[] {2, n, 1}, new float[][] {w, new float[n]}, new float[][] {b, {0}});
  }

  private static long exact(BruteForce.Mlp mlp) {
    return RationalPartition.compute(mlp, ORIGIN, U, V).regionsAfterLayer()[0];
  }

  @Test
  void linesInGeneralPositionGiveOnePlusLinesPlusCrossings() {
    // x = 0.1, y = −0.2, x + y = 0.5: three lines, three crossings inside the square
    assertEquals(7, exact(lines(new float[] {1, 0, -0.1f}, new float[] {0, 1, 0.2f}, new float[] {1, 1, -0.5f})));
    // random lines: R = 1 + L + I, counted in doubles where every crossing is clear of the square's edges
    Random r = new Random(7);
    int checked = 0;
    for (int trial = 0; trial < 40; trial++) {
      int n = 2 + r.nextInt(7);
      float[][] rows = new float[n][];
      for (int j = 0; j < n; j++) {
        rows[j] = new float[] {(float) r.nextGaussian(), (float) r.nextGaussian(), (float) (0.7 * r.nextGaussian())};
      }
      long closedForm = onePlusLinesPlusCrossings(rows);
      if (closedForm < 0) {
        continue; // a crossing or a line too near the square's edges or corners to count in doubles
      }
      assertEquals(closedForm, exact(lines(rows)), "trial " + trial);
      checked++;
    }
    assertTrue(checked > 25, checked + " trials in general position");
  }

  /** {@code 1 + L + I} on {@code [−1,1]²}, or −1 where doubles cannot tell (within 1e-9 of an edge or a corner). */
  private static long onePlusLinesPlusCrossings(float[][] rows) {
    long count = 1;
    for (float[] l : rows) {
      double[] corner = new double[4];
      int k = 0;
      double min = Double.POSITIVE_INFINITY;
      double max = Double.NEGATIVE_INFINITY;
      for (int sx = -1; sx <= 1; sx += 2) {
        for (int sy = -1; sy <= 1; sy += 2) {
          corner[k] = l[0] * sx + l[1] * sy + l[2];
          min = Math.min(min, corner[k]);
          max = Math.max(max, corner[k]);
          if (Math.abs(corner[k++]) < 1e-9) {
            return -1;
          }
        }
      }
      count += min < 0 && max > 0 ? 1 : 0;
    }
    for (int i = 0; i < rows.length; i++) {
      for (int j = i + 1; j < rows.length; j++) {
        double det = rows[i][0] * (double) rows[j][1] - rows[i][1] * (double) rows[j][0];
        if (Math.abs(det) < 1e-9) {
          return -1;
        }
        double x = (-rows[i][2] * (double) rows[j][1] + rows[j][2] * (double) rows[i][1]) / det;
        double y = (-rows[i][0] * (double) rows[j][2] + rows[j][0] * (double) rows[i][2]) / det;
        double margin = Math.min(1 - Math.abs(x), 1 - Math.abs(y));
        if (Math.abs(margin) < 1e-9) {
          return -1;
        }
        count += margin > 0 ? 1 : 0;
      }
    }
    return count;
  }

  @Test
  void concurrentLinesGiveTwiceTheirNumber() {
    float[][] rows = new float[5][];
    for (int j = 0; j < 5; j++) { // five directions through the centre, no biases
      double angle = Math.PI * j / 5 + 0.1;
      rows[j] = new float[] {(float) Math.cos(angle), (float) Math.sin(angle), 0};
    }
    assertEquals(10, exact(lines(rows)));
    // five lines through (0.375, −0.25), exactly: integer directions, biases −w·c binary fractions
    float[][] through = {{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, -1, 0}, {1, 2, 0}};
    for (float[] row : through) {
      row[2] = -(row[0] * 0.375f + row[1] * -0.25f);
    }
    assertEquals(10, exact(lines(through)));
    through[4][2] += 0x1p-20f; // one of them moved by 2^-20: a triangle of three more regions (two crossings more)
    assertEquals(13, exact(lines(through)));
  }

  @Test
  void degenerateLinesAddNothing() {
    float[] xAxis = {1, 0, 0};
    float[] negated = {-1, 0, 0};
    assertEquals(1, exact(lines(new float[] {0, 0, 0})), "a zero neuron");
    assertEquals(1, exact(lines(new float[] {0, 0, -1})), "a dead neuron");
    assertEquals(1, exact(lines(new float[] {1, 1, 3})), "a line missing the square");
    assertEquals(1, exact(lines(new float[] {1, 0, 1})), "a line along the edge x = −1");
    assertEquals(1, exact(lines(new float[] {1, 1, -2})), "a line through the corner (1, 1) only");
    assertEquals(2, exact(lines(new float[] {1, -1, 0})), "the diagonal through two corners");
    assertEquals(2, exact(lines(xAxis, xAxis, negated)), "a line, its duplicate and its negation");
    assertEquals(3, exact(lines(xAxis, new float[] {2, 0, 0.25f})), "a parallel line");
    assertEquals(4, exact(lines(xAxis, new float[] {0, 1, 0}, negated)), "two lines crossing, one negated twice");
  }

  @Test
  void secondLayerBendsAtTheFirstLayersLines() {
    // h = relu(x), relu(−x); the second layer's h0 + h1 − 0.5 = |x| − 0.5 is zero at x = ±0.5, and −|x| − 1 nowhere
    BruteForce.Mlp abs = new BruteForce.Mlp(new int[] {2, 2, 2, 1},
        new float[][] {{1, -1, 0, 0}, {1, -1, 1, -1}, {1, 1}}, new float[][] {{0, 0}, {-0.5f, -1}, {0}});
    assertArrayEquals(new long[] {2, 4}, RationalPartition.compute(abs, ORIGIN, U, V).regionsAfterLayer());
  }

  /**
   * Two networks whose exact counts earlier sessions found by rational arithmetic on their lines
   * ({@link TiledRegionCountTest}): seed 241's nine first-layer lines with a pair 1.04e-6 apart on a plane 2e6 wide
   * (35), and the seam network's 7 lines and two second-layer lines 2^-20 apart (29, then 43).
   */
  @Test
  void networksCountedByHandEarlierGiveTheirCounts() {
    assertArrayEquals(new long[] {35}, RationalPartition.regionsAfterLayer(DegenerateNets.random(241)));
    double ym = -1e6 + TiledRegionCount.SPLIT * 2e6;
    BruteForce.Mlp seam = TiledRegionCountTest.seamNetwork(ym);
    assertArrayEquals(new long[] {29, 43}, RationalPartition.compute(seam, new double[2], new double[] {1e6, 0},
        new double[] {0, 1e6}).regionsAfterLayer());
  }

  /**
   * {@link PartitionMergedByToleranceTest}'s diamond of radius 1e-11 around the first layer's crossing, which the
   * engine merges (4 regions, reported): exactly, it has the regions of the same network with a diamond of 1e-3.
   */
  @Test
  void aDiamondFinerThanTheEnginesToleranceIsCounted() {
    Plane plane = Plane.explicit(PartitionMergedByToleranceTest.ORIGIN, U, V);
    Partition merged = Partition.compute(PartitionMergedByToleranceTest.diamond(1e-11f).net(), plane);
    Partition resolved = Partition.compute(PartitionMergedByToleranceTest.diamond(1e-3f).net(), plane);
    long[] exactFine = RationalPartition.compute(PartitionMergedByToleranceTest.diamond(1e-11f),
        PartitionMergedByToleranceTest.ORIGIN, U, V).regionsAfterLayer();
    assertEquals(resolved.regionCount(), exactFine[1]);
    assertEquals(merged.regionCount() + merged.mergedByTolerance(), exactFine[1]);
  }

  /** A forward pass at an interior point of every face not too thin for doubles gives the face's pattern. */
  @Test
  void forwardPassesInsideTheFacesGiveTheirPatterns() {
    int checked = 0;
    for (long seed = 1; seed <= 30; seed++) {
      DegenerateNets.Case c = DegenerateNets.random(seed, false);
      RationalPartition.Result r = RationalPartition.compute(c.mlp(), c.origin(), c.u(), c.v());
      int n = c.mlp().hidden();
      double[] z = new double[n];
      double[] scale = new double[n];
      for (RationalPartition.Face f : r.faces()) {
        double[] ab = f.approximateCorners();
        int m = ab.length / 2;
        double a = 0;
        double b = 0;
        for (int k = 0; k < m; k++) {
          a += ab[2 * k] / m;
          b += ab[2 * k + 1] / m;
        }
        double[] x = new double[c.origin().length];
        for (int i = 0; i < x.length; i++) {
          x[i] = c.origin()[i] + a * c.u()[i] + b * c.v()[i];
        }
        c.mlp().pre(x, z, scale);
        if (f.areaAndWidth()[1] < 1e-9) {
          continue; // a sliver: its vertex mean in doubles may lie outside it
        }
        for (int j = 0; j < n; j++) {
          if (Math.abs(z[j]) > 1e-9 * scale[j]) { // clear of zero (a neuron zero on the face reads rounding noise)
            assertEquals(f.pattern.get(j), z[j] > 0, c.description() + ", neuron " + j);
            checked++;
          }
        }
      }
    }
    assertTrue(checked > 500, checked + " faces checked");
  }
}
