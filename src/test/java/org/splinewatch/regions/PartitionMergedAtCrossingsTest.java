package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * {@link Partition#mergedByTolerance()} against exact arithmetic ({@link RationalPartition}) where the first layer's
 * lines are nearly concurrent on a plane far wider than their structure: a vertex the engine made on a chord drawn to a
 * crossing it read as on the line lies off that line by up to the tolerance, and a later line through the lines' real
 * crossing must not read it as a sliver.
 */
class PartitionMergedAtCrossingsTest {
  private static final double[] ORIGIN = {0, 0};
  private static final double[] U = {1e9, 0};
  private static final double[] V = {0, 1e9};

  /**
   * {@code DegenerateNets} seed 963's first six lines on its plane 2e9 wide (the tolerance about 0.1 there): a line
   * crossing {@code y = −1} at {@code x = −0.0047}, then {@code y = −1}, {@code x = 0} and three lines through the
   * origin ({@code y = 0} among them). {@code x = 0} reads that crossing as on it (a sliver, 1 region), so its chord
   * ends there and the next line through the origin crosses the chord 0.005 from the origin; the two after it then
   * read that vertex, 3e-13 to 3e-12 of their scale from zero (above rounding noise), as slivers they cut off, where
   * exact arithmetic has all three through the origin: 6 merged for 3 missed before the vertex was taken where its
   * two lines cross.
   */
  @Test
  void linesThroughTheCrossingOfTwoOthersCutNoSliverThere() {
    BruteForce.Mlp lines = RationalPartitionTest.lines(new float[] {-0.816883f, 0.25383237f, 0.25f},
        new float[] {0, 1, 1}, new float[] {1, 0, 0}, new float[] {0.34277377f, -0.5129921f, 0},
        new float[] {0, 1, 0}, new float[] {-0.34383056f, 0.44802254f, 0});
    long[] exact = RationalPartition.compute(lines, ORIGIN, U, V).regionsAfterLayer();
    Partition p = Partition.compute(lines.net(), Plane.explicit(ORIGIN, U, V), 10_000);
    assertArrayEquals(new long[] {18}, exact);
    assertArrayEquals(new int[] {15}, p.regionsAfterLayer());
    assertEquals(3, p.mergedByTolerance(), "the 3 regions missed");
  }

  /**
   * Seed 963 on a plane 1e3 times wider (its nine lines, seven through the origin): 7 regions missed, 18 merged
   * before, 9 now. The 2 still above are a chord's own displacement: a line read as passing through a crossing it
   * misses bounds a face there off its real place, and a later line that crosses that face only in the engine's
   * picture counts a sliver of it.
   */
  @Test
  void nineNearlyConcurrentLinesOnAPlaneTwoBillionWide() {
    DegenerateNets.Case c = PartitionExactOracleTest.widened(DegenerateNets.random(963), 1e3);
    assertArrayEquals(U, c.u(), c.description());
    assertArrayEquals(V, c.v(), c.description());
    Partition p = Partition.compute(c.mlp().net(), c.plane(), 10_000);
    assertArrayEquals(new long[] {29}, RationalPartition.regionsAfterLayer(c), c.description());
    assertArrayEquals(new int[] {22}, p.regionsAfterLayer());
    assertEquals(9, p.mergedByTolerance());
  }
}
