package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.List;

/**
 * Activation patterns {@code B(q) ∈ {0,1}^N} (strict {@code z > 0}) of a network at a fixed set of probe points, and
 * the predicted class when the network ends in a head with at least two outputs. Two pattern sets of the same
 * network shape on the same points are compared with {@link #changeFrom} (regions.md §5 (a), (c)): no exact geometry
 * is needed, and it is meaningful because neuron identity is fixed within a run.
 */
public final class ActivationPatterns {
  private final int rows;
  private final int[] widths;
  private final int words;
  private final long[] bits;
  private final int[] predicted; // null without a classifier head

  private ActivationPatterns(int rows, int[] widths, long[] bits, int[] predicted) {
    this.rows = rows;
    this.widths = widths;
    this.words = wordsFor(widths);
    this.bits = bits;
    this.predicted = predicted;
  }

  /**
   * The change between a reference and this pattern set.
   *
   * @param neuronFlipRate     {@code (1/(|Q|·N)) Σ_q popcount(B_t(q) XOR B_s(q))}
   * @param layerFlipRates     the same per hidden layer
   * @param regionChangeRate   {@code (1/|Q|) Σ_q [B_t(q) ≠ B_s(q)]}
   * @param decisionChangeRate fraction of points whose predicted class changed (NaN without a classifier head); on a
   *                           uniform grid it estimates {@code A_Δ / A_domain} of §5 (c)
   */
  public record Change(double neuronFlipRate, double[] layerFlipRates, double regionChangeRate,
      double decisionChangeRate) {
  }

  /**
   * Points per pass through the network. The points are independent, so patterns and classes are the same as from one
   * pass over all of them; what a pass holds is {@code CHUNK_ROWS ×} the widest layer instead of every point's values
   * (a 64 × 64 grid through the default CNN's first convolution, 6,272 neurons, was about 100 MB a layer, and with the
   * region analyzer's workspace it ran a 640 MiB heap out of memory).
   */
  static final int CHUNK_ROWS = 256;

  /**
   * The arrays of pattern passes, kept between them: the points of a chunk, the first block's values and every
   * operator's output per block ({@code CHUNK_ROWS ×} its width), so a caller that passes the same workspace each
   * snapshot (the boundary analyzer) allocates only the patterns it keeps. An array over {@link #KEEP_MAX_BYTES} (a
   * CNN's first convolution: 6,272 values a point, 12.8 MB a chunk) is new for each chunk instead, as
   * {@code ForwardBuffers} does. Not thread-safe: one per caller.
   */
  public static final class Workspace {
    static final long KEEP_MAX_BYTES = 8L << 20;
    private double[] points = new double[0];
    private final List<List<double[]>> opOutputs = new ArrayList<>(); // [block][op]; block 0 of a plane: its values

    /** At least {@code size} values, kept for block {@code block}'s operator {@code op} unless too large. */
    private double[] array(int block, int op, int size) {
      if (8L * size > KEEP_MAX_BYTES) {
        return new double[size];
      }
      while (opOutputs.size() <= block) {
        opOutputs.add(new ArrayList<>());
      }
      List<double[]> ops = opOutputs.get(block);
      while (ops.size() <= op) {
        ops.add(new double[0]);
      }
      if (ops.get(op).length < size) {
        ops.set(op, new double[size]);
      }
      return ops.get(op);
    }

    /** Points {@code first .. first + count} of {@code x} ({@code d} values each), copied into a kept array. */
    private double[] points(double[] x, int d, int first, int count) {
      int size = count * d;
      double[] into = 8L * size > KEEP_MAX_BYTES ? new double[size] : points.length >= size ? points : new double[size];
      if (8L * size <= KEEP_MAX_BYTES) {
        points = into;
      }
      System.arraycopy(x, first * d, into, 0, size);
      return into;
    }
  }

  /** The first block's values of {@code count} points from point {@code first} on. */
  private interface FirstBlock {
    double[] values(int first, int count);
  }

  /**
   * Patterns at input-space points {@code x} ({@code rows × D}); predicted classes when {@code classifierHead}.
   */
  public static ActivationPatterns atInputs(PiecewiseLinearNet net, double[] x, int rows, boolean classifierHead) {
    return atInputs(net, x, rows, classifierHead, new Workspace());
  }

  /** {@link #atInputs(PiecewiseLinearNet, double[], int, boolean)} in {@code ws}'s arrays; the same patterns. */
  public static ActivationPatterns atInputs(PiecewiseLinearNet net, double[] x, int rows, boolean classifierHead,
      Workspace ws) {
    PiecewiseLinearNet.Block first = net.blocks().get(0);
    int d = net.inputDim();
    return from(net, rows, classifierHead, ws,
        (r0, n) -> first.affineInto(ws.points(x, d, r0, n), n, (op, size) -> ws.array(0, op, size)));
  }

  /** Patterns at plane points {@code (s_i, t_i)}; the first layer is pulled back through the chart exactly. */
  public static ActivationPatterns onPlane(PiecewiseLinearNet net, Plane plane, double[] st, int rows,
      boolean classifierHead) {
    return onPlane(net, plane, st, rows, classifierHead, new Workspace());
  }

  /** {@link #onPlane(PiecewiseLinearNet, Plane, double[], int, boolean)} in {@code ws}'s arrays; the same patterns. */
  public static ActivationPatterns onPlane(PiecewiseLinearNet net, Plane plane, double[] st, int rows,
      boolean classifierHead, Workspace ws) {
    if (net.inputDim() != plane.inputDim()) {
      throw new IllegalArgumentException("the plane lives in dimension " + plane.inputDim()
          + " but the network expects " + net.inputDim() + " inputs");
    }
    double[][] coefficients = plane.firstBlockCoefficients(net.blocks().get(0));
    int width = coefficients[0].length;
    // st is read from point r0 on in place of a copy of the chunk (firstBlockAffine reads st[2r], st[2r + 1])
    return from(net, rows, classifierHead, ws, (r0, n) -> Plane.firstBlockAffine(coefficients, st, 2 * r0, n,
        ws.array(0, 0, n * width)));
  }

  /**
   * Centres of a {@code g × g} grid over the bounding box of the plane's domain that fall inside the domain, as
   * {@code (s, t)} pairs: equal-area samples, so point fractions estimate area fractions.
   */
  public static double[] gridCentres(Plane plane, int g) {
    double[] dom = plane.domain();
    double[] bounds = plane.domainBounds();
    double minX = bounds[0];
    double minY = bounds[1];
    double maxX = bounds[2];
    double maxY = bounds[3];
    double[] out = new double[2 * g * g];
    int n = 0;
    for (int i = 0; i < g; i++) {
      for (int j = 0; j < g; j++) {
        double s = minX + (i + 0.5) * (maxX - minX) / g;
        double t = minY + (j + 0.5) * (maxY - minY) / g;
        if (insideConvex(dom, s, t)) {
          out[2 * n] = s;
          out[2 * n + 1] = t;
          n++;
        }
      }
    }
    return java.util.Arrays.copyOf(out, 2 * n);
  }

  private static boolean insideConvex(double[] ccw, double x, double y) {
    int m = ccw.length / 2;
    for (int k = 0; k < m; k++) {
      int n = (k + 1) % m;
      double cross = (ccw[2 * n] - ccw[2 * k]) * (y - ccw[2 * k + 1]) - (ccw[2 * n + 1] - ccw[2 * k + 1]) * (x - ccw[2 * k]);
      if (cross < 0) {
        return false;
      }
    }
    return true;
  }

  private static ActivationPatterns from(PiecewiseLinearNet net, int rows, boolean classifierHead, Workspace ws,
      FirstBlock firstBlock) {
    List<PiecewiseLinearNet.Block> blocks = net.blocks();
    int[] widths = blocks.stream().filter(PiecewiseLinearNet.Block::hidden)
        .mapToInt(PiecewiseLinearNet.Block::outDim).toArray();
    int words = wordsFor(widths);
    long[] bits = new long[rows * words];
    boolean predicts = classifierHead && blocks.stream().anyMatch(b -> !b.hidden() && b.outDim() >= 2);
    int[] predicted = predicts ? new int[rows] : null;
    for (int r0 = 0; r0 < rows; r0 += CHUNK_ROWS) {
      int m = Math.min(CHUNK_ROWS, rows - r0);
      double[] cur = firstBlock.values(r0, m);
      int bitBase = 0;
      for (int b = 0; b < blocks.size(); b++) {
        PiecewiseLinearNet.Block block = blocks.get(b);
        int blockIndex = b;
        double[] z = b == 0 ? cur : block.affineInto(cur, m, (op, size) -> ws.array(blockIndex, op, size));
        int n = block.outDim();
        if (block.hidden()) {
          for (int r = 0; r < m; r++) {
            int o = r * n;
            int w0 = (r0 + r) * words;
            for (int j = 0; j < n; j++) {
              if (z[o + j] > 0) {
                int bit = bitBase + j;
                bits[w0 + (bit >>> 6)] |= 1L << (bit & 63);
              }
            }
          }
          block.activate(z, m * n); // a kept array may be longer than this chunk's values
          bitBase += n;
        } else if (predicts && n >= 2) {
          for (int r = 0; r < m; r++) {
            int best = 0;
            for (int j = 1; j < n; j++) {
              if (z[r * n + j] > z[r * n + best]) {
                best = j;
              }
            }
            predicted[r0 + r] = best;
          }
        }
        cur = z;
      }
    }
    return new ActivationPatterns(rows, widths, bits, predicted);
  }

  private static int wordsFor(int[] widths) {
    int total = 0;
    for (int w : widths) {
      total += w;
    }
    return Math.max(1, (total + 63) / 64);
  }

  public int rows() {
    return rows;
  }

  /** Active neurons of row {@code r} (tests). */
  public boolean active(int r, int bit) {
    return (bits[r * words + (bit >>> 6)] & (1L << (bit & 63))) != 0;
  }

  /** The predicted class of row {@code r}, or -1 without a classifier head. */
  public int predicted(int r) {
    return predicted == null ? -1 : predicted[r];
  }

  /** Compares this (current) pattern set with {@code reference}; both must come from the same shape and points. */
  public Change changeFrom(ActivationPatterns reference) {
    if (reference.rows != rows || !java.util.Arrays.equals(reference.widths, widths)) {
      throw new IllegalArgumentException("pattern sets differ in shape: " + reference.rows + " points, widths "
          + java.util.Arrays.toString(reference.widths) + " vs " + rows + " points, widths "
          + java.util.Arrays.toString(widths));
    }
    int layers = widths.length;
    long[] layerFlips = new long[layers];
    long totalFlips = 0;
    long changedRows = 0;
    long changedClass = 0;
    for (int r = 0; r < rows; r++) {
      int w0 = r * words;
      boolean any = false;
      int bitBase = 0;
      for (int l = 0; l < layers; l++) {
        long flips = 0;
        for (int bit = bitBase; bit < bitBase + widths[l]; bit++) {
          long x = (bits[w0 + (bit >>> 6)] ^ reference.bits[w0 + (bit >>> 6)]) & (1L << (bit & 63));
          if (x != 0) {
            flips++;
          }
        }
        layerFlips[l] += flips;
        totalFlips += flips;
        any |= flips > 0;
        bitBase += widths[l];
      }
      if (any) {
        changedRows++;
      }
      if (predicted != null && reference.predicted != null && predicted[r] != reference.predicted[r]) {
        changedClass++;
      }
    }
    int neurons = 0;
    double[] layerRates = new double[layers];
    for (int l = 0; l < layers; l++) {
      neurons += widths[l];
      layerRates[l] = rows == 0 ? 0 : (double) layerFlips[l] / ((double) rows * widths[l]);
    }
    double rate = rows == 0 || neurons == 0 ? 0 : (double) totalFlips / ((double) rows * neurons);
    double decision = predicted == null || reference.predicted == null ? Double.NaN
        : rows == 0 ? 0 : (double) changedClass / rows;
    return new Change(rate, layerRates, rows == 0 ? 0 : (double) changedRows / rows, decision);
  }
}
