package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

  /** The width ({@code 2·area / perimeter}) of the exact partition's thinnest region, as a share of the extent 2. */
  static double thinnest(RationalPartition.Result exact) {
    double thinnest = Double.POSITIVE_INFINITY;
    for (RationalPartition.Face f : exact.faces()) {
      thinnest = Math.min(thinnest, f.areaAndWidth()[1] / 2);
    }
    return thinnest;
  }
}
