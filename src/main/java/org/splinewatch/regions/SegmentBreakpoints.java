package org.splinewatch.regions;

import java.util.Arrays;
import java.util.List;

/**
 * The points inside a segment of a plane where a network's activation pattern changes: the one-dimensional
 * {@link Partition} (regions.md §3 on a line), used by {@link TiledRegionCount} on the seams between its tiles.
 *
 * <p>Layer by layer, the segment's points carry the layer's pre-activations. Between two neighbouring points every
 * earlier neuron keeps its sign, so the layer is affine there and neuron {@code j} crosses zero at
 * {@code u = z_j(a) / (z_j(a) − z_j(b))} of the way when its signs at the ends are strictly opposite; the layer's
 * values at the new points are interpolated, exactly as the plane engine does on an edge, with the same zero test
 * ({@code |z| ≤ τ·max(floor, max |z|)}, regions.md §3.4). Neurons crossing at the same point make one breakpoint, as
 * they make one vertex in the plane engine: a later neuron within its zero tolerance at an earlier one's crossing
 * joins it, whatever ulps their computed fractions differ by.
 *
 * <p>A boundary may also run along a segment (a neuron zero along a piece of it, of opposite signs on its two sides):
 * that piece is then no part of any region, and what is counted is the Euler characteristic of the segment's points
 * on boundaries ({@link #onBoundaries}), which is the number of breakpoints when no boundary runs along it.
 *
 * <p>A seam between tiles may take every layer's tolerances from the tiles beside it instead of its own values
 * ({@link TileScale}), so that it resolves what they resolve and merges what they merge.
 */
final class SegmentBreakpoints {
  private SegmentBreakpoints() {
  }

  /**
   * The number of breakpoints strictly inside the segment from {@code (s0,t0)} to {@code (s1,t1)}, after each hidden
   * block; where boundaries run along pieces of it, the Euler characteristic of its points on boundaries (each piece
   * counts 1, less 1 for each of its ends at an end of the segment: −1 for a boundary along the whole segment).
   * When a layer would hold more than {@code maxValues} values (raised to {@link #leastValues} when below), the
   * segment is counted in two halves (a breakpoint exactly at the middle, of probability zero, would be missed); the
   * last hidden layer holds none, only its breakpoints are counted.
   */
  static long[] count(PiecewiseLinearNet net, Plane plane, double s0, double t0, double s1, double t1,
      long maxValues) {
    return count(net, plane, s0, t0, s1, t1, maxValues, Double.NaN, null);
  }

  /**
   * As {@link #count(PiecewiseLinearNet, Plane, double, double, double, double, long)}, with a point at fraction
   * {@code corner} of the segment (NaN: none) that is not counted: the corner where another seam crosses it. Where the
   * pattern changes at that point after hidden block {@code l} (a neuron zero there, of strictly opposite signs at
   * its neighbouring points, or a boundary along the segment there), {@code changesAtCorner[l]} is set; the counts
   * are then those of the segment less that point (a piece along a boundary through it is two pieces).
   */
  static long[] count(PiecewiseLinearNet net, Plane plane, double s0, double t0, double s1, double t1,
      long maxValues, double corner, boolean[] changesAtCorner) {
    return count(net, plane, s0, t0, s1, t1, maxValues, corner, changesAtCorner, null);
  }

  /**
   * As {@link #count(PiecewiseLinearNet, Plane, double, double, double, double, long, double, boolean[])}, with the
   * hidden blocks' zero tolerances taken from {@code tileScale} along the segment (null, or a piece it has none for:
   * from the segment's own values, as the plane engine takes them from its domain's).
   */
  static long[] count(PiecewiseLinearNet net, Plane plane, double s0, double t0, double s1, double t1,
      long maxValues, double corner, boolean[] changesAtCorner, TileScale tileScale) {
    double c = corner > 0 && corner < 1 ? corner : Double.NaN;
    boolean[] changes = changesAtCorner != null ? changesAtCorner : new boolean[net.hiddenBlocks().size()];
    int layers = net.hiddenBlocks().size();
    return countIn(net, plane, s0, t0, s1, t1, Math.max(maxValues, leastValues(net)), c, changes, new boolean[layers],
        new boolean[layers], tileScale, 0, 1);
  }

  /**
   * The scale {@code max(floor, max |z|)} of each hidden neuron's zero test ({@code τ} times it) along a segment,
   * layer by layer and piece by piece: piece {@code k} from fraction {@code from[k]} of the segment to
   * {@code from[k + 1]} (the last to 1) has {@code scale[layer][k]} (null: the segment's own, from its values); a
   * point where two pieces meet takes the larger. {@link TiledRegionCount} gives a seam the scales of the tiles on
   * either side of each piece, as their partitions test zero.
   */
  record TileScale(double[] from, double[][][] scale) {
    /**
     * Hidden block {@code layer}'s tolerances along fractions {@code u0} to {@code u1} of the segment, where the
     * segment's own (from its values) are {@code own}.
     */
    Tolerance tolerance(int layer, double[] own, double u0, double u1) {
      double[][] pieces = layer < scale.length ? scale[layer] : null;
      if (pieces == null) {
        return w -> own;
      }
      double[][] eps = new double[pieces.length][]; // each piece's, made when first read
      return w -> {
        double u = u0 + w * (u1 - u0);
        int k = Arrays.binarySearch(from, u);
        if (k > 0) { // where two pieces meet: the coarser
          double[] before = pieceEps(eps, pieces, k - 1, own);
          double[] after = pieceEps(eps, pieces, k, own);
          double[] e = new double[after.length];
          for (int j = 0; j < e.length; j++) {
            e[j] = Math.max(before[j], after[j]);
          }
          return e;
        }
        return pieceEps(eps, pieces, k >= 0 ? k : Math.max(0, -k - 2), own);
      };
    }

    private static double[] pieceEps(double[][] eps, double[][] pieces, int k, double[] own) {
      if (eps[k] == null) {
        if (pieces[k] == null) {
          eps[k] = own;
        } else {
          eps[k] = new double[pieces[k].length];
          for (int j = 0; j < eps[k].length; j++) {
            eps[k][j] = Partition.TAU * pieces[k][j];
          }
        }
      }
      return eps[k];
    }
  }

  /** A layer's zero tolerance of each neuron at a fraction of the segment (an array not to be modified). */
  interface Tolerance {
    double[] at(double u);
  }

  /**
   * The least limit of values with which every breakpoint is counted: 3 points (a piece's two ends and one breakpoint)
   * of the widest hidden block's values, with two hidden blocks or more (with one, only the ends' values are held).
   * Under it, a piece around a breakpoint of a block that wide never fitted however short, and was halved until that
   * breakpoint read as zero at both ends: lost (a tiled count of 2 → 40 → 30 → 2 at a limit of 100 gave 1,611
   * regions after the first layer instead of 732). {@link #count} never uses less.
   */
  static long leastValues(PiecewiseLinearNet net) {
    List<PiecewiseLinearNet.Block> hidden = net.hiddenBlocks();
    if (hidden.size() < 2) {
      return 0;
    }
    long widest = 0;
    for (PiecewiseLinearNet.Block b : hidden) {
      widest = Math.max(widest, b.outDim());
    }
    return 3 * widest;
  }

  /** {@code startOn[l]}, {@code endOn[l]}: whether a boundary along the segment reaches its start, its end. */
  private static long[] countIn(PiecewiseLinearNet net, Plane plane, double s0, double t0, double s1, double t1,
      long maxValues, double corner, boolean[] changes, boolean[] startOn, boolean[] endOn, TileScale scale,
      double u0, double u1) {
    long[] out = new long[net.hiddenBlocks().size()];
    boolean[] here = new boolean[out.length];
    if (countInto(net, plane, s0, t0, s1, t1, maxValues, corner, out, here, startOn, endOn, scale, u0, u1)) {
      for (int l = 0; l < out.length; l++) {
        changes[l] |= here[l];
      }
    } else {
      // split a little off the middle, so that the split point of a symmetric seam is not a likely breakpoint
      double f = 0.5 + 1 / 64.0 / Math.PI;
      double sm = s0 + f * (s1 - s0);
      double tm = t0 + f * (t1 - t0);
      // the corner goes with the half it lies in (at the split point itself, of probability zero, it is not seen)
      boolean[] endA = new boolean[out.length];
      boolean[] startB = new boolean[out.length];
      double um = u0 + f * (u1 - u0);
      long[] a = countIn(net, plane, s0, t0, sm, tm, maxValues, corner < f ? corner / f : Double.NaN, changes,
          startOn, endA, scale, u0, um);
      long[] b = countIn(net, plane, sm, tm, s1, t1, maxValues, corner > f ? (corner - f) / (1 - f) : Double.NaN,
          changes, startB, endOn, scale, um, u1);
      for (int l = 0; l < out.length; l++) {
        // a boundary along the segment through the split point: each half counted its piece as open there
        out[l] = a[l] + b[l] + (endA[l] || startB[l] ? 1 : 0);
      }
    }
    return out;
  }

  /**
   * Fills {@code out} and {@code changes} (see {@link #count(PiecewiseLinearNet, Plane, double, double, double,
   * double, long, double, boolean[])}), {@code startOn} and {@code endOn} ({@link #countIn}); false, with all
   * unspecified, when a layer would exceed {@code maxValues}. The segment is fractions {@code u0} to {@code u1} of
   * the one {@code scale} describes.
   */
  private static boolean countInto(PiecewiseLinearNet net, Plane plane, double s0, double t0, double s1, double t1,
      long maxValues, double corner, long[] out, boolean[] changes, boolean[] startOn, boolean[] endOn,
      TileScale scale, double u0, double u1) {
    List<PiecewiseLinearNet.Block> blocks = net.blocks();
    if (out.length == 0) {
      return true;
    }
    PiecewiseLinearNet.Block b0 = blocks.get(0);
    double[][] f = plane.firstBlockCoefficients(b0);
    boolean hasCorner = !Double.isNaN(corner);
    int at = hasCorner ? 1 : -1; // the corner's point, which is no breakpoint
    int n = hasCorner ? 3 : 2; // points, u ascending in [0, 1]
    double[] u = hasCorner ? new double[] {0, corner, 1} : new double[] {0, 1};
    int width = b0.outDim();
    double[] ends = hasCorner ? new double[] {s0, t0, s0 + corner * (s1 - s0), t0 + corner * (t1 - t0), s1, t1}
        : new double[] {s0, t0, s1, t1};
    double[] z = Plane.firstBlockAffine(f, ends, n, null);
    boolean[] along = new boolean[n - 1]; // the intervals between the points that lie along a boundary
    Tolerance[] epsOf = new Tolerance[out.length]; // each layer's zero tolerances, for alongBoundary
    double[] floor = new double[width];
    for (int j = 0; j < width; j++) {
      double terms = Math.max(Math.abs(f[0][j]) + Math.abs(s0 * f[1][j]) + Math.abs(t0 * f[2][j]),
          Math.abs(f[0][j]) + Math.abs(s1 * f[1][j]) + Math.abs(t1 * f[2][j]));
      floor[j] = Partition.zeroFloor(terms);
    }
    for (int layer = 0; layer < out.length; layer++) {
      PiecewiseLinearNet.Block block = blocks.get(layer);
      boolean last = layer + 1 == out.length;
      // the segment's own tolerances, from its values (the tiles' where scale has them)
      double[] eps = new double[width];
      for (int p = 0; p < n; p++) {
        for (int j = 0; j < width; j++) {
          eps[j] = Math.max(eps[j], Math.abs(z[p * width + j]));
        }
      }
      for (int j = 0; j < width; j++) {
        eps[j] = Partition.TAU * Math.max(floor[j], eps[j]);
      }
      Tolerance tol = scale == null ? w -> eps : scale.tolerance(layer, eps, u0, u1);
      epsOf[layer] = tol;
      for (int p = 0; p + 1 < n; p++) {
        along[p] = along[p] || alongBoundary(net, f, s0, t0, s1, t1, u[p], u[p + 1], z, p * width,
            (p + 1) * width, layer, epsOf);
      }
      if (at >= 0) {
        changes[layer] = (layer > 0 && changes[layer - 1]) || changesAt(z, width, at, tol.at(u[at - 1]),
            tol.at(u[at]), tol.at(u[at + 1])) || along[at - 1] || along[at];
      }
      startOn[layer] = along[0];
      endOn[layer] = along[n - 2];
      // crossings of each interval, as (fraction, neuron) pairs sorted by fraction
      int added = 0;
      int[] addedIn = new int[n - 1];
      double[][] fractions = new double[n - 1][];
      int[][] neurons = new int[n - 1][];
      for (int p = 0; p + 1 < n; p++) {
        int a = p * width;
        int b = a + width;
        int c = 0;
        double[] fr = new double[8];
        int[] ne = new int[8];
        double[] ea = tol.at(u[p]);
        double[] eb = tol.at(u[p + 1]);
        for (int j = 0; j < width; j++) {
          double za = z[a + j];
          double zb = z[b + j];
          if ((za > ea[j] && zb < -eb[j]) || (za < -ea[j] && zb > eb[j])) {
            if (c == fr.length) {
              fr = Arrays.copyOf(fr, 2 * c);
              ne = Arrays.copyOf(ne, 2 * c);
            }
            fr[c] = za / (za - zb);
            ne[c++] = j;
          }
        }
        sortPairs(fr, ne, c);
        mergeConcurrent(fr, ne, c, z, a, b, tol, u[p], u[p + 1]);
        int distinct = 0;
        for (int k = 0; k < c; k++) {
          if (k == 0 || fr[k] != fr[k - 1]) {
            distinct++;
          }
        }
        if (!last) { // the last layer's crossings are only counted
          fractions[p] = Arrays.copyOf(fr, c);
          neurons[p] = Arrays.copyOf(ne, c);
        }
        added += distinct;
        addedIn[p] = distinct;
      }
      int m = n + added;
      out[layer] = onBoundaries(n, at, along, addedIn);
      if (last) {
        // the last hidden layer: its breakpoints are all that is read, so its values at the new points are not
        // made (on a wide network they were the largest array of the seam, and one over maxValues split it)
        return true;
      }
      if ((long) m * width > maxValues) {
        return false;
      }
      double[] nu = new double[m];
      double[] nz = new double[m * width];
      boolean[] nAlong = new boolean[m - 1]; // the pieces of an interval along a boundary are along it too
      int q = 0;
      int movedTo = -1;
      for (int p = 0; p < n; p++) {
        nu[q] = u[p];
        System.arraycopy(z, p * width, nz, q * width, width);
        movedTo = p == at ? q : movedTo;
        if (p + 1 == n) {
          break;
        }
        nAlong[q] = along[p];
        q++;
        double[] fr = fractions[p];
        int[] ne = neurons[p];
        for (int k = 0; k < fr.length; k++) {
          if (k > 0 && fr[k] == fr[k - 1]) {
            nz[(q - 1) * width + ne[k]] = 0; // a concurrent neuron: the same point
            continue;
          }
          double w = fr[k];
          nu[q] = u[p] + w * (u[p + 1] - u[p]);
          int a = p * width;
          int b = a + width;
          int o = q * width;
          for (int j = 0; j < width; j++) {
            nz[o + j] = z[a + j] + w * (z[b + j] - z[a + j]);
          }
          nz[o + ne[k]] = 0;
          nAlong[q] = along[p];
          q++;
        }
      }
      n = m;
      u = nu;
      z = nz;
      along = nAlong;
      at = movedTo;
      // the next hidden block's zero floors, as the plane engine's, and its pre-activations at every point
      double[] maxZ = new double[width];
      for (int p = 0; p < n; p++) {
        for (int j = 0; j < width; j++) {
          maxZ[j] = Math.max(maxZ[j], Math.abs(z[p * width + j]));
        }
      }
      PiecewiseLinearNet.Block next = blocks.get(layer + 1);
      if ((long) n * next.outDim() > maxValues) {
        return false;
      }
      floor = Partition.nextFloors(block, next, maxZ);
      block.activate(z);
      width = next.outDim();
      z = next.affine(z, n);
    }
    return true;
  }

  /**
   * The Euler characteristic (with compact support) of the points of the segment, less its corner point {@code at}
   * (−1: none), that lie on a boundary: {@code n} points, {@code addedIn[p]} crossings inside interval {@code p}, the
   * intervals {@code along} a boundary. A breakpoint off those intervals counts 1; a piece of boundary along the
   * segment (intervals in a row, cut at the corner, with the crossings and points in it) counts 1 less 1 for each of
   * its ends at an end of the segment or at the corner, where it is open: Euler's formula for a tiled region counts
   * the pieces of seam inside regions, and a piece along a boundary is inside none (docs/regions-engine.md).
   */
  static long onBoundaries(int n, int at, boolean[] along, int[] addedIn) {
    long count = 0;
    for (int p = 0; p + 1 < n; p++) {
      if (!along[p]) {
        count += addedIn[p];
      }
    }
    for (int q = 1; q + 1 < n; q++) {
      if (q != at && !along[q - 1] && !along[q]) {
        count++;
      }
    }
    for (int p = 0; p + 1 < n;) {
      if (!along[p]) {
        p++;
        continue;
      }
      int from = p;
      do {
        p++;
      } while (p + 1 < n && along[p] && p != at);
      count += 1 - (from == 0 || from == at ? 1 : 0) - (p == n - 1 || p == at ? 1 : 0);
    }
    return count;
  }

  /**
   * Whether the interval between fractions {@code ua} and {@code ub} of the segment lies along a boundary of hidden
   * block {@code layer}: a neuron within its zero tolerance at both ends (values {@code z} from {@code a} and
   * {@code b}) is of strictly opposite signs on the segment's two sides. Those signs come from the neuron's
   * derivatives across the segment on either side, carried from the first layer at the interval's middle with each
   * side's activation pattern (exact for a piecewise-linear network: a side's pattern is constant along the
   * interval, whose ends include every point where a boundary meets the segment); a derivative within {@code τ} of
   * the magnitude of its terms is zero. Only intervals with such a neuron are carried, so a segment in general
   * position costs nothing more.
   */
  private static boolean alongBoundary(PiecewiseLinearNet net, double[][] f, double s0, double t0,
      double s1, double t1, double ua, double ub, double[] z, int a, int b, int layer, Tolerance[] epsOf) {
    double[] epsA = epsOf[layer].at(ua);
    double[] epsB = epsOf[layer].at(ub);
    boolean candidate = false;
    for (int j = 0; j < epsA.length && !candidate; j++) {
      candidate = Math.abs(z[a + j]) <= epsA[j] && Math.abs(z[b + j]) <= epsB[j];
    }
    if (!candidate) {
      return false;
    }
    double um = 0.5 * (ua + ub);
    double[] zm = Plane.firstBlockAffine(f, new double[] {s0 + um * (s1 - s0), t0 + um * (t1 - t0)}, 1, null);
    // across the segment (a normal of it; only the signs are read)
    double ns = -(t1 - t0);
    double nt = s1 - s0;
    int width = zm.length;
    double[] dPlus = new double[width];
    double[] dTermsPlus = new double[width];
    for (int j = 0; j < width; j++) {
      dPlus[j] = f[1][j] * ns + f[2][j] * nt;
      dTermsPlus[j] = Math.abs(f[1][j] * ns) + Math.abs(f[2][j] * nt);
    }
    double[] dMinus = dPlus.clone();
    double[] dTermsMinus = dTermsPlus.clone();
    List<PiecewiseLinearNet.Block> blocks = net.blocks();
    for (int k = 0; k < layer; k++) {
      PiecewiseLinearNet.Block block = blocks.get(k);
      PiecewiseLinearNet.Block next = blocks.get(k + 1);
      double slope = block.activation().negativeSlope();
      double[] e = epsOf[k].at(um);
      // each side's activations' derivatives, then the next block's linear part of them (its constants cancelled
      // by a zero row, as Plane.firstBlockCoefficients does)
      double[] rows = new double[3 * width];
      for (int i = 0; i < width; i++) {
        int plus = sideSign(zm[i], e[i], dPlus[i], dTermsPlus[i], 1);
        int minus = sideSign(zm[i], e[i], dMinus[i], dTermsMinus[i], -1);
        rows[i] = plus > 0 ? dPlus[i] : plus < 0 ? slope * dPlus[i] : 0;
        rows[width + i] = minus > 0 ? dMinus[i] : minus < 0 ? slope * dMinus[i] : 0;
      }
      block.activate(zm);
      zm = next.affine(zm, 1);
      int w = next.outDim();
      double[] y = next.affine(rows, 3);
      dPlus = new double[w];
      dMinus = new double[w];
      for (int j = 0; j < w; j++) {
        dPlus[j] = y[j] - y[2 * w + j];
        dMinus[j] = y[w + j] - y[2 * w + j];
      }
      dTermsPlus = magnitude(next, Arrays.copyOfRange(rows, 0, width));
      dTermsMinus = magnitude(next, Arrays.copyOfRange(rows, width, 2 * width));
      width = w;
    }
    for (int j = 0; j < width; j++) {
      if (Math.abs(z[a + j]) <= epsA[j] && Math.abs(z[b + j]) <= epsB[j]
          && sideSign(0, 0, dPlus[j], dTermsPlus[j], 1) * sideSign(0, 0, dMinus[j], dTermsMinus[j], -1) < 0) {
        return true;
      }
    }
    return false;
  }

  /**
   * The sign of a neuron on one side ({@code side} 1 or −1) of the segment next to a point where it is {@code z}:
   * that of {@code z} beyond its tolerance, else that of its derivative {@code d} across the segment times
   * {@code side} (0 within {@code τ} of the derivative's {@code terms}: the neuron is zero on that side too).
   */
  private static int sideSign(double z, double eps, double d, double terms, int side) {
    if (Math.abs(z) > eps) {
      return z > 0 ? 1 : -1;
    }
    if (Math.abs(d) <= Partition.TAU * terms) {
      return 0;
    }
    return d > 0 ? side : -side;
  }

  /** The magnitude of the terms of {@code block}'s chain applied to {@code v} ({@link AffineOp#applyMagnitude}). */
  private static double[] magnitude(PiecewiseLinearNet.Block block, double[] v) {
    double[] cur = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      cur[i] = Math.abs(v[i]);
    }
    for (AffineOp op : block.ops()) {
      double[] out = new double[op.outDim()];
      op.applyMagnitude(cur, out);
      cur = out;
    }
    return cur;
  }

  /**
   * Gives neighbouring crossings that the plane engine makes one vertex the same fraction (so that they count once):
   * the engine splits by the layer's neurons in order, and a later neuron whose interpolated value at an earlier one's
   * new vertex is within its zero tolerance is zero there and makes no vertex (regions.md §3.4 rules 2 and 5). Lines
   * through one point of a seam cross it at fractions a few ulps apart, which were counted as one breakpoint each.
   * {@code fr} stays sorted: a fraction only moves down to its predecessor's. The interval is fractions {@code ua}
   * to {@code ub} of the segment, where {@code tol} gives the tolerances.
   */
  private static void mergeConcurrent(double[] fr, int[] ne, int c, double[] z, int a, int b, Tolerance tol,
      double ua, double ub) {
    for (int k = 1; k < c; k++) {
      if (fr[k] == fr[k - 1]) {
        continue;
      }
      // the later neuron read at the earlier one's point (the point of the group k - 1 joined, if any)
      int later = Math.max(ne[k], ne[k - 1]);
      double at = ne[k] > ne[k - 1] ? fr[k - 1] : fr[k];
      double value = z[a + later] + at * (z[b + later] - z[a + later]);
      if (Math.abs(value) <= tol.at(ua + at * (ub - ua))[later]) {
        fr[k] = fr[k - 1];
      }
    }
  }

  /**
   * Whether some neuron is zero at point {@code at} (within its tolerance {@code eps} there) with strictly opposite
   * signs at the points either side (their tolerances {@code epsBefore}, {@code epsAfter}): a boundary crosses the
   * segment there.
   */
  private static boolean changesAt(double[] z, int width, int at, double[] epsBefore, double[] eps,
      double[] epsAfter) {
    int o = at * width;
    for (int j = 0; j < width; j++) {
      double before = z[o - width + j];
      double after = z[o + width + j];
      if (Math.abs(z[o + j]) <= eps[j] && ((before > epsBefore[j] && after < -epsAfter[j])
          || (before < -epsBefore[j] && after > epsAfter[j]))) {
        return true;
      }
    }
    return false;
  }

  /** Insertion sort of {@code c} (fraction, neuron) pairs by fraction; a seam interval has few crossings. */
  private static void sortPairs(double[] fr, int[] ne, int c) {
    if (c > 32) {
      Integer[] idx = new Integer[c];
      for (int i = 0; i < c; i++) {
        idx[i] = i;
      }
      Arrays.sort(idx, (x, y) -> Double.compare(fr[x], fr[y]));
      double[] f2 = new double[c];
      int[] n2 = new int[c];
      for (int i = 0; i < c; i++) {
        f2[i] = fr[idx[i]];
        n2[i] = ne[idx[i]];
      }
      System.arraycopy(f2, 0, fr, 0, c);
      System.arraycopy(n2, 0, ne, 0, c);
      return;
    }
    for (int i = 1; i < c; i++) {
      double f = fr[i];
      int j0 = ne[i];
      int k = i - 1;
      while (k >= 0 && fr[k] > f) {
        fr[k + 1] = fr[k];
        ne[k + 1] = ne[k];
        k--;
      }
      fr[k + 1] = f;
      ne[k + 1] = j0;
    }
  }
}
