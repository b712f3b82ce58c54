package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The engine against exact arithmetic ({@link RationalPartition}): on {@link DegenerateNets}' degenerate networks
 * (duplicated, negated and parallel neurons, lines through corners and along edges, dead layers, layers scaled by
 * 1e-8 to 1e8, planes 1e-6 to 1e6 wide), the whole partition and the tiled count give every layer's exact count,
 * except where the exact partition has regions thinner than the engine resolves (docs/regions-engine.md, "Checked
 * against exact arithmetic").
 */
class PartitionExactOracleTest {
  /**
   * Seeds 1–320 whose counts differ from the exact ones: their exact partitions have regions 3e-17 (25), 2.4e-10
   * (33, reported as merged), 4e-18 (84), 3e-17 (210) and 5e-13 (241, reported) of the chart's extent wide, which
   * the engine merges.
   */
  private static final long[] FINER_THAN_THE_TOLERANCE = {25, 33, 84, 210, 241};

  @Test
  void degenerateNetworksCountAsInExactArithmetic() {
    int compared = 0;
    int tiled = 0;
    for (long seed = 1; seed <= 320; seed++) {
      DegenerateNets.Case c = DegenerateNets.random(seed);
      RationalPartition.Result exact = RationalPartition.compute(c.mlp(), c.origin(), c.u(), c.v());
      double thinnest = thinnest(exact);
      if (Arrays.binarySearch(FINER_THAN_THE_TOLERANCE, seed) >= 0) {
        assertTrue(thinnest < 1e-9, c.description() + ": thinnest exact region " + thinnest + " of the extent");
        continue;
      }
      long[] counts = exact.regionsAfterLayer();
      int[] whole = Partition.compute(c.mlp().net(), c.plane(), 10_000).regionsAfterLayer();
      assertArrayEquals(counts, Arrays.stream(whole).asLongStream().toArray(), c.description() + ": whole partition");
      compared++;
      // in tiles (tens of milliseconds a count): where the caps split the plane
      boolean inTiles = seed <= 80 && counts[counts.length - 1] > 6;
      for (int cap : inTiles ? new int[] {6, 12, 25} : new int[0]) {
        try {
          TiledRegionCount.Result t = TiledRegionCount.count(c.mlp().net(), c.plane(), cap, new Partition.Workspace(),
              null);
          assertArrayEquals(counts, t.regionsAfterLayer(), c.description() + ", tile cap " + cap);
          tiled += t.tiles() > 1 ? 1 : 0;
        } catch (TiledRegionCount.TileOverflow e) {
          assertTrue(e.overCap(), c.description() + ": " + e.getMessage()); // more regions meet at a point
        }
      }
    }
    assertTrue(compared >= 300 && tiled >= 25, compared + " compared, " + tiled + " counted in tiles");
  }

  /**
   * The cases left undecided by session 57, decided: every count that differs from the exact one misses regions
   * thinner than 1e-12 of the plane's extent, which the engine cannot resolve there (its tolerance is about 1e-10 of
   * a neuron's largest value on the plane, tiles resolve finer in proportion to their size). Seed 726's whole
   * partition misses 2 and reports 2 merged (7 before session 59, when a sliver on a zero line that negated neurons
   * share was counted for each); seed 566's tiles resolve slivers that their seams merge, and the tiled count is 2
   * high with 12 merged: the number merged is no bound on what a tiled count misses.
   */
  @Test
  void countsThatDifferFromTheExactOnesMissRegionsFinerThanTheTolerance() {
    DegenerateNets.Case fine = DegenerateNets.random(566);
    RationalPartition.Result exact = RationalPartition.compute(fine.mlp(), fine.origin(), fine.u(), fine.v());
    assertArrayEquals(new long[] {7, 36}, exact.regionsAfterLayer(), fine.description());
    assertTrue(thinnest(exact) < 1e-15, "7 slivers 2e-16 to 7e-16 of the extent wide: " + thinnest(exact));
    Partition whole = Partition.compute(fine.mlp().net(), fine.plane(), 10_000);
    assertArrayEquals(new int[] {7, 29}, whole.regionsAfterLayer(), "all 7 merged");
    assertEquals(0, whole.mergedByTolerance(), "within rounding noise of the vertices: not seen");
    TiledRegionCount.Result tiled = TiledRegionCount.count(fine.mlp().net(), fine.plane(), 25,
        new Partition.Workspace(), null);
    assertArrayEquals(new long[] {7, 38}, tiled.regionsAfterLayer(), "the tiles miss 30 regions, the seams 32");
    assertEquals(12, tiled.mergedByTolerance());

    DegenerateNets.Case merged = DegenerateNets.random(726);
    Partition p = Partition.compute(merged.mlp().net(), merged.plane(), 10_000);
    assertArrayEquals(new long[] {16, 47, 62}, RationalPartition.regionsAfterLayer(merged), merged.description());
    assertArrayEquals(new int[] {16, 45, 60}, p.regionsAfterLayer());
    assertEquals(2, p.mergedByTolerance(), "the 2 missed (neurons 4 and 7, 1 and 6 share their lines)");

    // seeds 574 and 654 on planes a million times wider (u and v scaled): both counts low from the second layer on
    for (long seed : new long[] {574, 654}) {
      DegenerateNets.Case c = widened(DegenerateNets.random(seed), 1e6);
      RationalPartition.Result r = RationalPartition.compute(c.mlp(), c.origin(), c.u(), c.v());
      assertTrue(thinnest(r) < 1e-12, c.description() + ": " + thinnest(r));
      long[] w = Arrays.stream(Partition.compute(c.mlp().net(), c.plane(), 10_000).regionsAfterLayer())
          .asLongStream().toArray();
      long[] t = TiledRegionCount.count(c.mlp().net(), c.plane(), 25, new Partition.Workspace(), null)
          .regionsAfterLayer();
      long[][] expected = seed == 574
          ? new long[][] {{16, 30, 47}, {16, 21, 26}, {16, 24, 33}}
          : new long[][] {{15, 33, 45, 45}, {15, 25, 31, 31}, {15, 25, 37, 37}};
      assertArrayEquals(expected[0], r.regionsAfterLayer(), c.description() + ": exact");
      assertArrayEquals(expected[1], w, c.description() + ": whole");
      assertArrayEquals(expected[2], t, c.description() + ": tiled");
    }
  }

  /** {@code c} with its plane's directions scaled by {@code k}. */
  static DegenerateNets.Case widened(DegenerateNets.Case c, double k) {
    double[] u = c.u().clone();
    double[] v = c.v().clone();
    for (int i = 0; i < u.length; i++) {
      u[i] *= k;
      v[i] *= k;
    }
    return new DegenerateNets.Case(c.mlp(), c.origin(), u, v, c.description() + ", plane widened " + k + "x");
  }

  /** The width ({@code 2·area / perimeter}) of the exact partition's thinnest region, as a share of the extent 2. */
  static double thinnest(RationalPartition.Result exact) {
    double thinnest = Double.POSITIVE_INFINITY;
    for (RationalPartition.Face f : exact.faces()) {
      thinnest = Math.min(thinnest, f.areaAndWidth()[1] / 2);
    }
    return thinnest;
  }
}
