package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Local complexity (regions.md §6, Humayun, Balestriero and Baraniuk 2024): for a point {@code x}, the number of
 * hidden neurons whose pre-activation sign is not constant over the {@code P} vertices {@code x ± r·v_i} of a
 * cross-polytope of radius {@code r}, spanned by {@code P/2} fixed orthonormal directions {@code v_i}; per hidden
 * layer and in total. A proxy for the density of linear regions around {@code x} that needs no plane, so it works
 * for CNN encoders and wide layers where exact planes are capped.
 *
 * <p>For the first hidden layer the count is exact: an affine function changes sign on the convex hull of the
 * vertices iff it does among them, and {@code z(x ± r v_i) = z(x) ± r·A v_i} with {@code A} the layer's linear part,
 * so the first layer needs no vertex forward pass at all. Deeper layers are evaluated on the vertices (a
 * vertex-sampling approximation, as in the reference). A neuron's "sign" is the ReLU pattern bit {@code z > 0}.
 */
public final class LocalComplexity {
  /** Points processed together: bounds the vertex buffers to {@code BATCH·P × width} values. */
  private static final int BATCH = 16;

  private LocalComplexity() {
  }

  /**
   * {@code count} orthonormal directions in {@code R^dim} (rows of the returned {@code count × dim} array), drawn
   * from a Gaussian with {@code seed} and orthonormalised by modified Gram-Schmidt; the same seed gives the same
   * directions, so a run draws them once and reuses them for every snapshot.
   */
  public static double[] directions(int dim, int count, long seed) {
    if (count < 1 || count > dim) {
      throw new IllegalArgumentException("need 1 to " + dim + " directions in R^" + dim + ", got " + count);
    }
    Random random = new Random(seed);
    double[] v = new double[count * dim];
    for (int i = 0; i < count; i++) {
      double norm;
      do {
        for (int d = 0; d < dim; d++) {
          v[i * dim + d] = random.nextGaussian();
        }
        for (int j = 0; j < i; j++) {
          double dot = 0;
          for (int d = 0; d < dim; d++) {
            dot += v[i * dim + d] * v[j * dim + d];
          }
          for (int d = 0; d < dim; d++) {
            v[i * dim + d] -= dot * v[j * dim + d];
          }
        }
        norm = 0;
        for (int d = 0; d < dim; d++) {
          norm += v[i * dim + d] * v[i * dim + d];
        }
        norm = Math.sqrt(norm);
      } while (norm < 1e-8);
      for (int d = 0; d < dim; d++) {
        v[i * dim + d] /= norm;
      }
    }
    return v;
  }

  /**
   * The local complexity of each of {@code rows} points (row vectors of {@code points}) at {@code radius}:
   * {@code result[row][l]} is the number of neurons of hidden layer {@code l} whose sign is not constant over the
   * point's {@code 2·directionCount} cross-polytope vertices. {@code directions} holds {@code directionCount} rows of
   * the network's input dimension (see {@link #directions}).
   */
  public static int[][] perPoint(PiecewiseLinearNet net, double[] points, int rows, double[] directions,
      int directionCount, double radius) {
    int dim = net.inputDim();
    if (points.length < rows * dim || directions.length != directionCount * dim) {
      throw new IllegalArgumentException("local complexity: points must be rows × " + dim + " and directions "
          + directionCount + " × " + dim);
    }
    if (!(radius > 0) || Double.isInfinite(radius)) {
      throw new IllegalArgumentException("local complexity: the radius must be a positive number, got " + radius);
    }
    List<PiecewiseLinearNet.Block> blocks = net.blocks();
    PiecewiseLinearNet.Block first = blocks.get(0);
    int n1 = first.outDim();
    // A·v_i, the first block's linear part applied to each direction: affine(v) − affine(0)
    double[] av = first.affine(directions, directionCount);
    double[] bias = first.affine(new double[dim], 1);
    for (int i = 0; i < directionCount; i++) {
      for (int j = 0; j < n1; j++) {
        av[i * n1 + j] -= bias[j];
      }
    }
    double[] reach = new double[n1]; // max_i |A v_i|_j: how far neuron j moves over the cross-polytope
    for (int i = 0; i < directionCount; i++) {
      for (int j = 0; j < n1; j++) {
        reach[j] = Math.max(reach[j], Math.abs(av[i * n1 + j]));
      }
    }
    int hiddenLayers = (int) blocks.stream().filter(PiecewiseLinearNet.Block::hidden).count();
    int[][] out = new int[rows][hiddenLayers];
    int vertices = 2 * directionCount;
    for (int start = 0; start < rows; start += BATCH) {
      int count = Math.min(BATCH, rows - start);
      double[] z1 = first.affine(Arrays.copyOfRange(points, start * dim, (start + count) * dim), count);
      if (!first.hidden()) {
        continue; // a network without hidden layers has no local complexity
      }
      for (int p = 0; p < count; p++) {
        int c = 0;
        for (int j = 0; j < n1; j++) {
          double z = z1[p * n1 + j];
          double delta = radius * reach[j];
          if (z + delta > 0 && z - delta <= 0) {
            c++;
          }
        }
        out[start + p][0] = c;
      }
      if (hiddenLayers == 1) {
        continue;
      }
      // the vertices' first-layer values, then the deeper blocks on every vertex
      double[] h = new double[count * vertices * n1];
      for (int p = 0; p < count; p++) {
        for (int i = 0; i < directionCount; i++) {
          for (int s = 0; s < 2; s++) {
            double sign = s == 0 ? radius : -radius;
            int row = (p * vertices + 2 * i + s) * n1;
            for (int j = 0; j < n1; j++) {
              h[row + j] = z1[p * n1 + j] + sign * av[i * n1 + j];
            }
          }
        }
      }
      first.activate(h);
      int layer = 1;
      for (int b = 1; b < blocks.size(); b++) {
        PiecewiseLinearNet.Block block = blocks.get(b);
        double[] z = block.affine(h, count * vertices);
        if (block.hidden()) {
          countSignChanges(z, count, vertices, block.outDim(), out, start, layer++);
          if (layer == hiddenLayers) {
            break;
          }
        }
        block.activate(z);
        h = z;
      }
    }
    return out;
  }

  private static void countSignChanges(double[] z, int points, int vertices, int width, int[][] out, int start,
      int layer) {
    for (int p = 0; p < points; p++) {
      int c = 0;
      int base = p * vertices * width;
      for (int j = 0; j < width; j++) {
        boolean anyOn = false;
        boolean anyOff = false;
        for (int v = 0; v < vertices && !(anyOn && anyOff); v++) {
          if (z[base + v * width + j] > 0) {
            anyOn = true;
          } else {
            anyOff = true;
          }
        }
        if (anyOn && anyOff) {
          c++;
        }
      }
      out[start + p][layer] = c;
    }
  }

  /** Mean, median and 90th percentile of the per-point total and per-layer counts, and the layers' widths. */
  public record Summary(double[] meanPerLayer, double[] ratioPerLayer, double meanTotal, double medianTotal,
      double p90Total, int points) {
  }

  /** Summarises {@link #perPoint} counts of a network whose hidden layers have the given widths. */
  public static Summary summarise(int[][] perPoint, int[] widths) {
    int layers = widths.length;
    double[] mean = new double[layers];
    double[] totals = new double[perPoint.length];
    for (int p = 0; p < perPoint.length; p++) {
      for (int l = 0; l < layers; l++) {
        mean[l] += perPoint[p][l];
        totals[p] += perPoint[p][l];
      }
    }
    double[] ratio = new double[layers];
    for (int l = 0; l < layers; l++) {
      mean[l] = perPoint.length == 0 ? Double.NaN : mean[l] / perPoint.length;
      ratio[l] = mean[l] / widths[l];
    }
    Arrays.sort(totals);
    double meanTotal = Arrays.stream(totals).average().orElse(Double.NaN);
    return new Summary(mean, ratio, meanTotal, quantile(totals, 0.5), quantile(totals, 0.9), perPoint.length);
  }

  /** The widths of the hidden layers of {@code net}, in order. */
  public static int[] hiddenWidths(PiecewiseLinearNet net) {
    List<Integer> widths = new ArrayList<>();
    for (PiecewiseLinearNet.Block b : net.blocks()) {
      if (b.hidden()) {
        widths.add(b.outDim());
      }
    }
    return widths.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Linear-interpolation quantile of sorted values (NaN when empty). */
  static double quantile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }
}
