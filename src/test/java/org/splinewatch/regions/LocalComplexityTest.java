package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Local complexity (regions.md §6) against cases whose answer is known. */
class LocalComplexityTest {
  private static float[] randn(Random r, int n, double scale) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * scale);
    }
    return a;
  }

  private static PiecewiseLinearNet mlp(long seed, int in, int... widths) {
    Random r = new Random(seed);
    java.util.ArrayList<Layer> layers = new java.util.ArrayList<>();
    int prev = in;
    for (int w : widths) {
      layers.add(new Layer.Dense(prev, w, randn(r, prev * w, 1 / Math.sqrt(prev)), randn(r, w, 0.1)));
      layers.add(Layer.Activation.relu());
      prev = w;
    }
    return new PiecewiseLinearNet(in, layers);
  }

  @Test
  void aSingleHyperplaneCountsOnlyWhenTheCrossPolytopeStraddlesIt() {
    // one neuron z = x1 − 0.5 in R²; directions e1, e2; radius 0.1: the neuron counts iff |x1 − 0.5| < 0.1
    PiecewiseLinearNet net = new PiecewiseLinearNet(2, List.of(
        new Layer.Dense(2, 1, new float[] {1, 0}, new float[] {-0.5f}), Layer.Activation.relu()));
    double[] dirs = {1, 0, 0, 1};
    double[] points = {0.45, 0.3, 0.3, 0.0, 0.65, -2.0, 0.55, 7.0, 0.5, 0.0};
    int[][] lc = LocalComplexity.perPoint(net, points, 5, dirs, 2, 0.1);
    assertArrayEquals(new int[] {1, 0, 0, 1, 1}, java.util.Arrays.stream(lc).mapToInt(a -> a[0]).toArray());
    // a direction orthogonal to the neuron's normal never reaches it
    int[][] orthogonal = LocalComplexity.perPoint(net, points, 5, new double[] {0, 1}, 1, 0.1);
    assertArrayEquals(new int[] {0, 0, 0, 0, 0}, java.util.Arrays.stream(orthogonal).mapToInt(a -> a[0]).toArray());
  }

  @Test
  void everyLayerEqualsTheCountOverExplicitVertices() {
    assertMatchesExplicitVertices(mlp(7, 12, 16, 9, 5), 4, 37, 0.3); // 37 points: more than one batch
  }

  @Test
  void convolutionalEncodersCountTheSameWay() {
    // conv 3x3 (2 channels) + ReLU, average pooling, dense + ReLU: the first block is not a dense layer
    Random r = new Random(11);
    PiecewiseLinearNet cnn = new PiecewiseLinearNet(36, List.of(
        new Layer.Conv2D(1, 6, 6, 2, 3, 3, 1, 0, randn(r, 18, 0.6), randn(r, 2, 0.2)), Layer.Activation.relu(),
        new Layer.AvgPool2D(2, 4, 4, 2, 2), new Layer.Flatten(8),
        new Layer.Dense(8, 6, randn(r, 48, 1), randn(r, 6, 0.1)), Layer.Activation.relu()));
    assertMatchesExplicitVertices(cnn, 5, 20, 0.4);
  }

  private static void assertMatchesExplicitVertices(PiecewiseLinearNet net, int k, int n, double radius) {
    int dim = net.inputDim();
    double[] dirs = LocalComplexity.directions(dim, k, 99);
    Random r = new Random(3);
    double[] points = new double[n * dim];
    for (int i = 0; i < points.length; i++) {
      points[i] = r.nextGaussian();
    }
    int[][] lc = LocalComplexity.perPoint(net, points, n, dirs, k, radius);
    int total = 0;
    for (int p = 0; p < n; p++) {
      double[] vertices = new double[2 * k * dim];
      for (int i = 0; i < k; i++) {
        for (int d = 0; d < dim; d++) {
          vertices[(2 * i) * dim + d] = points[p * dim + d] + radius * dirs[i * dim + d];
          vertices[(2 * i + 1) * dim + d] = points[p * dim + d] - radius * dirs[i * dim + d];
        }
      }
      List<double[]> pre = net.preActivations(vertices, 2 * k);
      for (int l = 0; l < pre.size(); l++) {
        int width = pre.get(l).length / (2 * k);
        int count = 0;
        for (int j = 0; j < width; j++) {
          boolean on = false;
          boolean off = false;
          for (int v = 0; v < 2 * k; v++) {
            if (pre.get(l)[v * width + j] > 0) {
              on = true;
            } else {
              off = true;
            }
          }
          count += on && off ? 1 : 0;
        }
        assertEquals(count, lc[p][l], "point " + p + ", layer " + l);
        total += count;
      }
    }
    assertTrue(total > 0, "the case must count something");
  }

  @Test
  void positiveRescalingOfALayerChangesNothing() {
    // ReLU is positively homogeneous: layer 1 times c > 0 and layer 2's weights times 1/c leave every sign unchanged
    PiecewiseLinearNet net = mlp(11, 6, 10, 8);
    List<Layer> layers = net.layers();
    Layer.Dense l0 = (Layer.Dense) layers.get(0);
    Layer.Dense l1 = (Layer.Dense) layers.get(2);
    PiecewiseLinearNet scaled = new PiecewiseLinearNet(6, List.of(
        new Layer.Dense(6, 10, times(l0.weights(), 4), times(l0.bias(), 4)), Layer.Activation.relu(),
        new Layer.Dense(10, 8, times(l1.weights(), 0.25f), l1.bias()), Layer.Activation.relu()));
    double[] dirs = LocalComplexity.directions(6, 3, 5);
    double[] points = new double[20 * 6];
    Random r = new Random(8);
    for (int i = 0; i < points.length; i++) {
      points[i] = r.nextGaussian();
    }
    int[][] a = LocalComplexity.perPoint(net, points, 20, dirs, 3, 0.5);
    int[][] b = LocalComplexity.perPoint(scaled, points, 20, dirs, 3, 0.5);
    for (int p = 0; p < 20; p++) {
      assertArrayEquals(a[p], b[p], "point " + p);
    }
    assertTrue(java.util.Arrays.stream(a).mapToInt(x -> x[0] + x[1]).sum() > 0, "the case must count something");
  }

  @Test
  void firstLayerCountGrowsWithTheRadius() {
    PiecewiseLinearNet net = mlp(2, 20, 64);
    double[] dirs = LocalComplexity.directions(20, 5, 1);
    double[] points = new double[30 * 20];
    Random r = new Random(4);
    for (int i = 0; i < points.length; i++) {
      points[i] = r.nextGaussian();
    }
    int[][] small = LocalComplexity.perPoint(net, points, 30, dirs, 5, 0.05);
    int[][] large = LocalComplexity.perPoint(net, points, 30, dirs, 5, 0.5);
    int sumSmall = 0;
    int sumLarge = 0;
    for (int p = 0; p < 30; p++) {
      assertTrue(small[p][0] <= large[p][0], "exact first-layer counts are monotone in r");
      sumSmall += small[p][0];
      sumLarge += large[p][0];
    }
    assertTrue(sumLarge > sumSmall, sumSmall + " vs " + sumLarge);
  }

  @Test
  void directionsAreOrthonormalAndReproducible() {
    double[] v = LocalComplexity.directions(30, 10, 42);
    for (int i = 0; i < 10; i++) {
      for (int j = 0; j <= i; j++) {
        double dot = 0;
        for (int d = 0; d < 30; d++) {
          dot += v[i * 30 + d] * v[j * 30 + d];
        }
        assertEquals(i == j ? 1 : 0, dot, 1e-12);
      }
    }
    assertArrayEquals(v, LocalComplexity.directions(30, 10, 42));
    assertThrows(IllegalArgumentException.class, () -> LocalComplexity.directions(3, 4, 1));
  }

  @Test
  void summaryGivesMeansRatiosAndQuantiles() {
    int[][] counts = {{1, 0}, {3, 2}, {5, 4}, {7, 6}};
    LocalComplexity.Summary s = LocalComplexity.summarise(counts, new int[] {10, 4});
    assertArrayEquals(new double[] {4, 3}, s.meanPerLayer(), 1e-12);
    assertArrayEquals(new double[] {0.4, 0.75}, s.ratioPerLayer(), 1e-12);
    assertEquals(7, s.meanTotal(), 1e-12);
    assertEquals(7, s.medianTotal(), 1e-12); // totals 1, 5, 9, 13
    assertEquals(9 + 0.7 * 4, s.p90Total(), 1e-12);
  }

  private static float[] times(float[] a, float c) {
    float[] out = a.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] *= c;
    }
    return out;
  }
}
