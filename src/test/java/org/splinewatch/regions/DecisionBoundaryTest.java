package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Class areas and the decision boundary length where logits tie (regions.md §3.3). */
class DecisionBoundaryTest {

  @Test
  void classesThatTieOnAWholeRegionDoNotEachTakeIt() {
    // hidden neurons relu(x) and relu(2x): off for x < 0, where the logits are the head's biases, all 0 (DL4J's
    // default): the three classes tie on the left half of [-1,1]², which argmax gives to class 0. On the right half
    // the logits are (0, 3x, -3x): class 1 wins. Before, each class also took the tied half: areas 2, 4, 2
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 2, new float[] {1, 2, 0, 0}, new float[2]), Layer.Activation.relu(),
        new Layer.Dense(2, 3, new float[] {0, 1, -1, 0, 1, -1}, new float[3])));
    Partition p = Partition.compute(net, PartitionOracleTest.SQUARE);
    PartitionStats s = PartitionStats.of(p, true);
    // (the tie-break shifts boundaries by 1e-9 of the largest logit over the gradient: here x = 0 moves by 1e-9)
    assertArrayEquals(new double[] {2, 2, 0}, s.classAreas(), 1e-8);
    // the only decision boundary is the line x = 0, of length 2 (L_dec counts it or not depending on which side of the
    // partition edge it falls); before, each tied cell added its perimeter: L_dec was 8
    assertTrue(s.decisionBoundaryLength() <= 2 + 1e-8, "L_dec " + s.decisionBoundaryLength());
    // a line at a slant: the vertices it makes on the boundary carry logits interpolated from logits up to 8, equal
    // to 0 only up to rounding (2e-16, 4e-16): still a tie, so the dead part goes to class 0 alone
    PiecewiseLinearNet slant = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 1, new float[] {2.88261f, -0.68027544f}, new float[] {0.3266256f}), Layer.Activation.relu(),
        new Layer.Dense(1, 3, new float[] {0.8197036f, 2.1774576f, -1.7962127f}, new float[3])));
    Partition sp = Partition.compute(slant, PartitionOracleTest.SQUARE);
    double[] areas = PartitionStats.of(sp, true).classAreas();
    assertEquals(2, sp.regionCount());
    assertEquals(4, areas[0] + areas[1] + areas[2], 1e-12, java.util.Arrays.toString(areas));
    assertEquals(0, areas[2], 0);
    // two equal head rows: the lower class takes their cells
    PiecewiseLinearNet twins = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 1, new float[] {1, 1}, new float[] {0.25f}), Layer.Activation.relu(),
        new Layer.Dense(1, 3, new float[] {1, 1, -1}, new float[] {0, 0, 0})));
    PartitionStats t = PartitionStats.of(Partition.compute(twins, PartitionOracleTest.SQUARE), true);
    assertEquals(4, java.util.Arrays.stream(t.classAreas()).sum(), 1e-12, java.util.Arrays.toString(t.classAreas()));
    assertEquals(0, t.classAreas()[1], 0, "class 1 equals class 0 everywhere");
  }

  @Test
  void aSingleLogitHeadsBoundaryIsTheZeroSetOfItsLogit() {
    // hidden neurons relu(x) and relu(-x), head y = relu(x) - relu(-x) - 1/4 = x - 1/4: the zero set is the line
    // x = 1/4 across [-1,1]², of length 2, inside the face x > 0; class 0 (y < 0) has area 1.25·2, class 1 0.75·2
    // (regions.md §3.3, the single-logit binary head). Before, such a head had no boundary: L_dec NaN, no areas
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 2, new float[] {1, -1, 0, 0}, new float[2]), Layer.Activation.relu(),
        new Layer.Dense(2, 1, new float[] {1, -1}, new float[] {-0.25f})));
    Partition p = Partition.compute(net, PartitionOracleTest.SQUARE);
    assertEquals(2, p.regionCount());
    PartitionStats s = PartitionStats.of(p, true);
    assertEquals(2, s.decisionBoundaryLength(), 1e-8);
    assertArrayEquals(new double[] {2.5, 1.5}, s.classAreas(), 1e-8);
    String svg = SvgRenderer.render(p, "binary", 200, SvgRenderer.MIN_FACE_PIXELS, true);
    // the boundary is drawn: one vertical segment at x = 1/4 of the 200-pixel square
    assertTrue(svg.matches("(?s).*stroke=\"#d00\"[^>]*d=\"M\\d+ \\d+l0 -?\\d+.*"), svg);
  }

  @Test
  void classAreasCoverTheDomainOnceOnDegenerateNetworks() {
    // zero head biases over dead regions, equal and negated neurons, scales from 1e-8 to 1e8 (DegenerateNets): the
    // class cells of each face must cover it once, with three or more classes tied or nearly tied as well
    for (long seed = 0; seed < 200; seed++) {
      DegenerateNets.Case c = DegenerateNets.random(seed);
      PartitionStats s = PartitionStats.of(Partition.compute(c.mlp().net(), c.plane(), 200_000), true);
      if (s.classAreas().length > 0) {
        assertEquals(s.domainArea(), java.util.Arrays.stream(s.classAreas()).sum(), 1e-6 * s.domainArea(),
            c.description() + ": " + java.util.Arrays.toString(s.classAreas()));
      }
    }
  }
}
