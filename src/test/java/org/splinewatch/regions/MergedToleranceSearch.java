package org.splinewatch.regions;

import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Test-scope tool, run by hand (not a test: 10 to 20 s): compares {@link Partition#mergedByTolerance()} with the
 * regions the whole partition misses ({@link RationalPartition}'s exact count less the engine's) on
 * {@link DegenerateNets#random(long)} seeds with the plane's {@code u} and {@code v} scaled by 1, 1e3, 1e6 and 1e8
 * (docs/regions-engine.md, "Checked against exact arithmetic").
 *
 * <pre>
 * java -cp target/classes:target/test-classes:&lt;dependencies&gt; org.splinewatch.regions.MergedToleranceSearch 1 1024
 * java ... org.splinewatch.regions.MergedToleranceSearch case 963 1e3
 * </pre>
 *
 * The first form prints, per scale, how many whole partitions differ from the exact count, how many report merged
 * regions, and how many of those report more than they miss, equal or fewer (with the seeds that report more). The
 * second prints one case's counts and the last layer's patterns that only one side has: the exact regions the engine
 * misses, and the engine's faces whose pattern no exact region has (or that two faces share).
 */
final class MergedToleranceSearch {
  private static final double[] SCALES = {1, 1e3, 1e6, 1e8};

  public static void main(String[] args) {
    if (args.length == 3 && args[0].equals("case")) {
      describe(Long.parseLong(args[1]), Double.parseDouble(args[2]));
      return;
    }
    if (args.length != 2) {
      throw new IllegalArgumentException("expected FIRST_SEED LAST_SEED, or case SEED SCALE; got "
          + Arrays.toString(args));
    }
    long from = Long.parseLong(args[0]);
    long to = Long.parseLong(args[1]);
    for (double scale : SCALES) {
      int differ = 0;
      int differSilently = 0;
      int reported = 0;
      int more = 0;
      int equal = 0;
      int fewer = 0;
      StringBuilder moreSeeds = new StringBuilder();
      for (long seed = from; seed <= to; seed++) {
        DegenerateNets.Case c = PartitionExactOracleTest.widened(DegenerateNets.random(seed), scale);
        RationalPartition.Result result = RationalPartition.compute(c.mlp(), c.origin(), c.u(), c.v());
        long[] exact = result.regionsAfterLayer();
        Partition p = Partition.compute(c.mlp().net(), c.plane(), 10_000);
        int[] engine = p.regionsAfterLayer();
        long missed = exact[exact.length - 1] - engine[engine.length - 1];
        int merged = p.mergedByTolerance();
        differ += missed != 0 ? 1 : 0;
        differSilently += missed != 0 && merged == 0 ? 1 : 0;
        if (merged == 0) {
          continue;
        }
        reported++;
        if (merged > missed) {
          more++;
          int[] unmatched = unmatched(result, p);
          moreSeeds.append(' ').append(seed).append(": ").append(merged).append(" for ").append(missed).append(" (")
              .append(unmatched[0]).append(" exact, ").append(unmatched[1]).append(" engine unmatched)");
        } else if (merged == missed) {
          equal++;
        } else {
          fewer++;
        }
      }
      System.out.printf("plane x%.0e: %d differ from the exact count (%d with nothing reported); %d report merged"
          + " regions: %d more than missed, %d equal, %d fewer;%s%n", scale, differ, differSilently, reported, more,
          equal, fewer, moreSeeds);
    }
  }

  /**
   * {exact regions whose pattern no engine face has, engine faces whose pattern no exact region has}: a region the
   * engine misses, and one it has that exact arithmetic has not (or has with another bit), each leave one.
   */
  static int[] unmatched(RationalPartition.Result exact, Partition p) {
    Set<BitSet> enginePatterns = new HashSet<>();
    for (int f = 0; f < p.regionCount(); f++) {
      enginePatterns.add(BitSet.valueOf(p.pattern(f)));
    }
    Set<BitSet> exactPatterns = new HashSet<>();
    int exactOnly = 0;
    for (RationalPartition.Face f : exact.faces()) {
      exactPatterns.add(f.pattern);
      exactOnly += enginePatterns.contains(f.pattern) ? 0 : 1;
    }
    int engineOnly = 0;
    for (int f = 0; f < p.regionCount(); f++) {
      engineOnly += exactPatterns.contains(BitSet.valueOf(p.pattern(f))) ? 0 : 1;
    }
    return new int[] {exactOnly, engineOnly};
  }

  /** One case: its counts, and the last layer's patterns that only the exact partition or only the engine has. */
  private static void describe(long seed, double scale) {
    DegenerateNets.Case c = PartitionExactOracleTest.widened(DegenerateNets.random(seed), scale);
    RationalPartition.Result exact = RationalPartition.compute(c.mlp(), c.origin(), c.u(), c.v());
    Partition p = Partition.compute(c.mlp().net(), c.plane(), 10_000);
    System.out.println(c.description());
    System.out.println("exact " + Arrays.toString(exact.regionsAfterLayer()) + ", engine "
        + Arrays.toString(p.regionsAfterLayer()) + ", merged " + p.mergedByTolerance() + " from hidden layer "
        + p.mergedLayer());
    Map<BitSet, Integer> engineFaces = new HashMap<>();
    for (int f = 0; f < p.regionCount(); f++) {
      engineFaces.merge(BitSet.valueOf(p.pattern(f)), 1, Integer::sum);
    }
    Set<BitSet> exactPatterns = new HashSet<>();
    for (RationalPartition.Face f : exact.faces()) {
      exactPatterns.add(f.pattern);
      if (!engineFaces.containsKey(f.pattern)) {
        System.out.println("  exact only " + f.pattern + ", width " + f.areaAndWidth()[1] / 2
            + " of the extent, corners (chart) " + Arrays.toString(f.approximateCorners()));
      }
    }
    for (int f = 0; f < p.regionCount(); f++) {
      BitSet pattern = BitSet.valueOf(p.pattern(f));
      if (!exactPatterns.contains(pattern) || engineFaces.get(pattern) > 1) {
        StringBuilder corners = new StringBuilder();
        for (int v : p.face(f)) {
          corners.append(String.format(" (%.10g, %.10g)", p.vertexX(v), p.vertexY(v)));
        }
        System.out.println("  engine face " + f + " " + pattern + (exactPatterns.contains(pattern) ? " (shared)"
            : " (no exact region)") + ", corners (plane)" + corners);
      }
    }
  }

  private MergedToleranceSearch() {
  }
}
