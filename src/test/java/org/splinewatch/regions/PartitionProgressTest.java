package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Partition.Progress}: told once per hidden neuron where the computation stands, and the result unchanged. */
class PartitionProgressTest {
  @Test
  void progressIsToldAfterEveryHiddenNeuronWithTheRegionsSoFar() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(3, new int[] {2, 12, 9, 7}, 3, 0.3);
    List<int[]> calls = new ArrayList<>();
    Partition p = Partition.compute(net, PartitionOracleTest.SQUARE, Partition.DEFAULT_MAX_REGIONS, null, 1,
        new Partition.Workspace(), (layer, layers, done, width, regions) -> calls.add(
            new int[] {layer, layers, done, width, regions}));
    int[] widths = {12, 9, 7};
    assertEquals(12 + 9 + 7, calls.size(), "one call per hidden neuron");
    int k = 0;
    int before = 1;
    for (int layer = 0; layer < widths.length; layer++) {
      for (int j = 1; j <= widths[layer]; j++) {
        int[] c = calls.get(k++);
        assertArrayEquals(new int[] {layer, 3, j, widths[layer]}, java.util.Arrays.copyOf(c, 4));
        assertTrue(c[4] >= before, "regions never decrease: " + c[4] + " after " + before);
        before = c[4];
      }
      // the last neuron of a layer: the count after that layer
      assertEquals(p.regionsAfterLayer()[layer], calls.get(k - 1)[4]);
    }
    assertEquals(p.regionCount(), calls.get(calls.size() - 1)[4]);
    // the same partition as without progress
    Partition plain = Partition.compute(net, PartitionOracleTest.SQUARE);
    assertEquals(plain.regionCount(), p.regionCount());
    assertEquals(plain.vertexCount(), p.vertexCount());
    assertArrayEquals(plain.regionsAfterLayer(), p.regionsAfterLayer());
  }

  @Test
  void progressStopsWhereAnOverflowStopsTheComputation() {
    PiecewiseLinearNet net = PartitionOracleTest.mlp(5, new int[] {2, 16, 16}, 1, 0.3);
    List<int[]> calls = new ArrayList<>();
    Partition p = Partition.compute(net, PartitionOracleTest.SQUARE, 20, null, 1, new Partition.Workspace(),
        (layer, layers, done, width, regions) -> calls.add(new int[] {layer, done, regions}));
    assertTrue(p.overflow());
    int[] last = calls.get(calls.size() - 1);
    assertTrue(last[2] > 20 && calls.stream().filter(c -> c[2] > 20).count() == 1, "no call after the overflow");
    assertTrue(calls.size() < 32, calls.size() + " calls");
  }
}
