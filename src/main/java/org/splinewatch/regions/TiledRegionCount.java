package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The exact number of regions of a plane too large for one {@link Partition}: the domain is cut into tiles (a
 * quadtree of boxes, split where a tile overflows {@code tileCap}), each tile's partition is computed and dropped, and
 * the regions cut by the seams are counted once by Euler's formula.
 *
 * <p>Why it is exact (docs/regions-engine.md, "Tiled count"): every region is convex (a fixed activation pattern is
 * an intersection of half-planes), so a region that the seams cut into {@code k} pieces satisfies
 * {@code k = 1 + E − V}, with {@code E} the pieces of seam inside it and {@code V} the tile corners inside it (Euler's
 * formula for a disk). Summed over the regions, with the domain's own Euler relation {@code V − E + T = 1} for
 * {@code T} tiles, this gives {@code regions = Σ_t R_t − B − T + 1}, where {@code R_t} is tile {@code t}'s count and
 * {@code B} the number of points on the seams where the pattern changes ({@link SegmentBreakpoints}). It holds after
 * every layer, also where boundaries meet on a seam or pass through the corner where a split's seams cross (counted
 * once there), and where a boundary runs along a seam ({@code B} is then the Euler characteristic of the seam's
 * points on boundaries); the tests compare it with one partition of the whole plane. The seams are counted once
 * every tile is: each piece of a seam takes every layer's zero tolerance of the coarser of the two tiles beside it,
 * as their partitions test zero, not that of the larger tile that was split nor the seam's own
 * (docs/regions-engine.md).
 *
 * <p>Memory is that of one tile: nothing per region is kept across tiles, only each tile's zero-test scales of the
 * layers after the first (a float per neuron; the first layer's follow from the tile's corners). Area and shape
 * statistics need the regions themselves and are not computed.
 */
public final class TiledRegionCount {
  private TiledRegionCount() {
  }

  /**
   * A tile that still overflows however small it is made: over the region cap ({@link #overCap}: a cap below the
   * regions that meet at a point of the partition) or over its workspace budget (the layers too wide for it); or,
   * before any tile, a workspace too small for the values a seam holds of the widest layer ({@link #regions} 0).
   */
  public static final class TileOverflow extends IllegalStateException {
    private final boolean overCap;
    private final int regions;

    TileOverflow(String message, boolean overCap, int regions) {
      super(message);
      this.overCap = overCap;
      this.regions = regions;
    }

    /** Whether the tile's regions, not its memory, exceeded what it may hold. */
    public boolean overCap() {
      return overCap;
    }

    /** The regions of the smallest tile (where it stopped, for one over its budget). */
    public int regions() {
      return regions;
    }
  }

  /**
   * Where a count stands, for a progress bar: called after every tile counted ({@code tiles}) or split
   * ({@code splitTiles}), so also while the first tiles are still too large (a wide network's take minutes each);
   * then, once every tile is counted, after the seams of each split tile ({@link #seams}).
   */
  public interface Progress {
    void update(double areaDone, double areaTotal, int tiles, int splitTiles, long regionsSoFar);

    /** The seams of {@code counted} of the {@code splitTiles} split tiles are counted (all tiles are). */
    default void seams(int counted, int splitTiles) {
    }
  }

  /**
   * The result: the exact counts after each hidden layer, the number of tiles computed, the seam breakpoints after
   * the last layer, the largest tile's count and the tiles that overflowed and were split; the regions the tiles'
   * zero tolerance merged ({@link Partition#mergedByTolerance()}, summed) and the first hidden layer where (−1: none).
   */
  public record Result(long regions, long[] regionsAfterLayer, int tiles, long seamBreakpoints, int largestTile,
      int splitTiles, long mergedByTolerance, int mergedLayer) {
  }

  /**
   * Counts the regions of {@code net} on {@code plane}, computing no tile with more than {@code tileCap} regions in
   * {@code workspace} (whose budget also ends a tile as an overflow, which is then split).
   *
   * @throws TileOverflow when a tile of a few vertices, or a millionth of the domain's width, still overflows (a
   *     network too wide for the workspace budget, or a cap below the regions that meet at a point), or at once when
   *     the budget cannot hold a seam's least values ({@link SegmentBreakpoints#leastValues})
   */
  public static Result count(PiecewiseLinearNet net, Plane plane, int tileCap, Partition.Workspace workspace,
      Progress progress) {
    return count(net, plane, tileCap, new Partition.Workspace[] {workspace}, progress);
  }

  /**
   * {@link #count(PiecewiseLinearNet, Plane, int, Partition.Workspace, Progress)} on one thread per workspace, each
   * computing whole tiles in its own workspace (the count does not depend on the threads). {@code progress} is
   * called by one thread at a time.
   */
  public static Result count(PiecewiseLinearNet net, Plane plane, int tileCap, Partition.Workspace[] workspaces,
      Progress progress) {
    return count(net, plane, tileCap, workspaces, progress, 0);
  }

  /** As above with the seams' limit of values forced to {@code seamValues} (0: from each workspace's budget). */
  static Result count(PiecewiseLinearNet net, Plane plane, int tileCap, Partition.Workspace[] workspaces,
      Progress progress, long seamValues) {
    // a seam needs a few points of the widest layer's values whatever its limit (SegmentBreakpoints.leastValues):
    // refused at once when a workspace cannot hold them, not after the tiles before the first seam
    long seamBytes = SEAM_ARRAYS * 8 * SegmentBreakpoints.leastValues(net);
    for (Partition.Workspace ws : workspaces) {
      if (seamBytes > ws.budgetBytes()) {
        throw new TileOverflow(String.format(Locale.ROOT, "a seam between tiles holds 3 points of the widest hidden"
            + " layer's values (%d neurons; %.3g MiB in the seam's arrays), more than the workspace of %.3g MiB",
            SegmentBreakpoints.leastValues(net) / 3, seamBytes / 1048576.0, ws.budgetBytes() / 1048576.0), false, 0);
      }
    }
    Counter counter = new Counter(net, plane, tileCap, progress, seamValues);
    counter.boxes.add(counter.root);
    counter.pending.set(1);
    onThreads(workspaces, counter::work, counter.failure);
    if (counter.failure.get() == null) {
      // the seams once every tile is known: each piece of seam is read at the tolerance of the tiles beside it
      counter.seamsLeft.addAll(counter.splitNodes);
      onThreads(workspaces, counter::countSeams, counter.failure);
    }
    Throwable failure = counter.failure.get();
    if (failure instanceof RuntimeException e) {
      throw e;
    } else if (failure instanceof Error e) {
      throw e;
    } else if (failure != null) {
      throw new IllegalStateException("interrupted while counting regions in tiles", failure);
    }
    return counter.result();
  }

  /** Runs {@code job} on one thread per workspace (on this thread for one), recording an interruption. */
  private static void onThreads(Partition.Workspace[] workspaces, Consumer<Partition.Workspace> job,
      AtomicReference<Throwable> failure) {
    if (workspaces.length == 1) {
      job.accept(workspaces[0]);
      return;
    }
    Thread[] threads = new Thread[workspaces.length];
    for (int i = 0; i < threads.length; i++) {
      Partition.Workspace ws = workspaces[i];
      threads[i] = new Thread(() -> job.accept(ws), "tiled-regions-" + i);
      threads[i].setDaemon(true);
      threads[i].start();
    }
    try {
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      failure.compareAndSet(null, e);
      for (Thread t : threads) {
        t.interrupt();
      }
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A box of the quadtree: a tile when it has no children, else split into {@code children} (lower left, lower
   * right, upper left, upper right), whose seams are counted once all tiles are known.
   */
  private static final class Node {
    final double[] box;
    Node[] children;
    // a tile's zero-test scale of each neuron of the hidden layers after the first, as its partition used it
    // (rounded up to a float: its tolerance to 6e-8 of itself, below the rounding of the values it is compared with)
    float[][] laterScales;

    Node(double[] box) {
      this.box = box;
    }
  }

  /** The shared state of one count: the boxes left, and the sums over tiles and seams. */
  private static final class Counter {
    final PiecewiseLinearNet net;
    final Plane plane;
    final int tileCap;
    final Progress progress;
    final long seamLimit;
    final int layers;
    final double[] domain;
    final double areaTotal;
    final double minWidth;
    final double[][] firstBlock; // the first block's coefficients on the plane (Plane.firstBlockCoefficients)
    final Node root;
    final LinkedBlockingDeque<Node> boxes = new LinkedBlockingDeque<>();
    final List<Node> splitNodes = new ArrayList<>();
    final ConcurrentLinkedQueue<Node> seamsLeft = new ConcurrentLinkedQueue<>();
    final AtomicInteger pending = new AtomicInteger();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final long[] sumTiles;
    final long[] seams;
    int tiles;
    int split;
    int splitSeamsCounted;
    int largest;
    double areaDone;
    long merged;
    int mergedLayer = -1;

    Counter(PiecewiseLinearNet net, Plane plane, int tileCap, Progress progress, long seamLimit) {
      this.net = net;
      this.seamLimit = seamLimit;
      this.plane = plane;
      this.tileCap = tileCap;
      this.progress = progress;
      this.layers = net.hiddenBlocks().size();
      this.domain = plane.domain();
      this.areaTotal = plane.domainArea();
      double[] b = plane.domainBounds();
      this.root = new Node(b);
      this.firstBlock = layers == 0 ? null : plane.firstBlockCoefficients(net.blocks().get(0));
      this.minWidth = 1e-6 * Math.max(b[2] - b[0], b[3] - b[1]);
      this.sumTiles = new long[layers];
      this.seams = new long[layers];
    }

    /** Takes boxes until none is left or being split by another thread. */
    void work(Partition.Workspace ws) {
      try {
        while (failure.get() == null) {
          Node node = boxes.pollFirst(20, TimeUnit.MILLISECONDS);
          if (node == null) {
            if (pending.get() == 0) {
              return;
            }
            continue;
          }
          try {
            tile(node, ws);
          } finally {
            pending.decrementAndGet();
          }
        }
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
    }

    /** Counts the seams of the split boxes left until none is. */
    void countSeams(Partition.Workspace ws) {
      // SegmentBreakpoints raises it to what the widest layer needs (checked against the budget in count)
      long seamValues = seamLimit > 0 ? seamLimit : Math.max(1 << 16, Math.min(32L << 20, ws.budgetBytes() / 8 / 4));
      try {
        for (Node node = seamsLeft.poll(); node != null && failure.get() == null; node = seamsLeft.poll()) {
          seams(node, seamValues);
        }
      } catch (Throwable t) {
        failure.compareAndSet(null, t);
      }
    }

    /** The breakpoints on the two seams of a split box, added to {@link #seams}. */
    private void seams(Node node, long seamValues) {
      double[] box = node.box;
      double[] tile = clip(domain, box);
      Node[] c = node.children;
      double xm = c[0].box[2];
      double ym = c[0].box[3];
      // each seam's breakpoints but the corner where they cross, which is counted once where a boundary passes
      // through it: it is then inside no region, and Euler's formula counts it as one breakpoint (a line of
      // symmetric weights, x = y, passes through the corners of a square domain's diagonal boxes)
      boolean[] cornerA = new boolean[layers];
      boolean[] cornerD = new boolean[layers];
      long[] across = seam(tile, box[0], ym, box[2], ym, xm, ym, seamValues, cornerA,
          new Node[][] {{c[0], c[1]}, {c[2], c[3]}}, 0);
      long[] down = seam(tile, xm, box[1], xm, box[3], xm, ym, seamValues, cornerD,
          new Node[][] {{c[0], c[2]}, {c[1], c[3]}}, 1);
      synchronized (this) {
        for (int l = 0; l < layers; l++) {
          seams[l] += across[l] + down[l] + (cornerA[l] || cornerD[l] ? 1 : 0);
        }
        splitSeamsCounted++;
        if (progress != null) {
          progress.seams(splitSeamsCounted, split);
        }
      }
    }

    private void tile(Node node, Partition.Workspace ws) {
      double[] box = node.box;
      double[] tile = clip(domain, box);
      if (tile == null) {
        return;
      }
      double[][] zeroScales = new double[layers][];
      Partition p = Partition.compute(net, plane.withDomain(tile), tileCap, null, 1, ws, null, zeroScales);
      if (p.overflow()) {
        // a tile of a few vertices that does not fit will not fit smaller: the layers are too wide for the budget
        if (box[2] - box[0] < minWidth || (p.vertexCount() <= 64 && p.regionCount() <= tileCap)) {
          String why = p.regionCount() > tileCap ? "over the cap of " + tileCap + " regions per tile"
              : "in a workspace of " + (ws.budgetBytes() >> 20) + " MiB; the network is too wide for it";
          throw new TileOverflow(String.format(Locale.ROOT, "a tile of width %.3g at (%.6g, %.6g)"
              + " still overflows (%d regions after layers %s, %d vertices) %s", box[2] - box[0], box[0], box[1],
              p.regionCount(), Arrays.toString(p.regionsAfterLayer()), p.vertexCount(), why),
              p.regionCount() > tileCap, p.regionCount());
        }
        // off the middle, so that seams of a symmetric domain miss its corners
        double xm = box[0] + SPLIT * (box[2] - box[0]);
        double ym = box[1] + SPLIT * (box[3] - box[1]);
        node.children = new Node[] {new Node(new double[] {box[0], box[1], xm, ym}),
            new Node(new double[] {xm, box[1], box[2], ym}), new Node(new double[] {box[0], ym, xm, box[3]}),
            new Node(new double[] {xm, ym, box[2], box[3]})};
        synchronized (this) {
          split++;
          splitNodes.add(node);
          if (progress != null) {
            progress.update(areaDone, areaTotal, tiles, split, layers == 0 ? 0 : sumTiles[layers - 1]);
          }
        }
        pending.addAndGet(4);
        // depth first (the front of the deque), so that the boxes waiting stay few
        for (Node child : node.children) {
          boxes.addFirst(child);
        }
        return;
      }
      float[][] later = new float[Math.max(0, layers - 1)][];
      for (int l = 1; l < layers; l++) {
        later[l - 1] = roundedUp(zeroScales[l]);
      }
      node.laterScales = later;
      int[] after = p.regionsAfterLayer();
      synchronized (this) {
        for (int l = 0; l < layers; l++) {
          sumTiles[l] += after[l];
        }
        tiles++;
        largest = Math.max(largest, p.regionCount());
        merged += p.mergedByTolerance();
        if (p.mergedLayer() >= 0 && (mergedLayer < 0 || p.mergedLayer() < mergedLayer)) {
          mergedLayer = p.mergedLayer();
        }
        areaDone += Plane.polygonArea(tile);
        if (progress != null) {
          progress.update(areaDone, areaTotal, tiles, split, layers == 0 ? 0 : sumTiles[layers - 1]);
        }
      }
    }

    /**
     * The breakpoints on the segment's part inside the convex polygon {@code tile}, after each layer, but at the
     * corner {@code (cx, cy)} on it, whose pattern changes are set in {@code atCorner}. {@code sides} are the boxes
     * below and above it ({@code axis} 0: along x) or left and right of it (1: along y), two on each side; the
     * first layer's zero tolerance of each piece of it is that of the coarser of the two tiles beside it.
     */
    private long[] seam(double[] tile, double x0, double y0, double x1, double y1, double cx, double cy,
        long maxValues, boolean[] atCorner, Node[][] sides, int axis) {
      double[] seg = clipSegment(tile, x0, y0, x1, y1);
      if (seg == null) {
        return new long[layers];
      }
      // the seam is axis-parallel: fractions along its own coordinate
      double start = seg[axis];
      double length = seg[2 + axis] - seg[axis];
      double corner = ((axis == 0 ? cx : cy) - start) / length;
      return SegmentBreakpoints.count(net, plane, seg[0], seg[1], seg[2], seg[3], maxValues, corner, atCorner,
          layers == 0 ? null : scaleBeside(sides, axis, start, length, tile));
    }

    /**
     * Every hidden layer's zero-test scale along a seam, piece by piece between the corners of the tiles beside it:
     * the larger of the two tiles' scales, each as the engine takes it on that tile (the first layer's from the
     * tile's corners, {@link #firstLayerScale}; the later layers' as its partition recorded them). Where no tile
     * lies beside a piece (a tile with no area in the domain) the first layer's is that of the tile that was split,
     * and the later layers' the seam's own.
     */
    SegmentBreakpoints.TileScale scaleBeside(Node[][] sides, int axis, double start, double length,
        double[] split) {
      // the tiles whose edge lies on the seam: the edge towards the seam of the boxes on each side
      List<List<Node>> beside = new ArrayList<>();
      int[] towards = axis == 0 ? new int[] {3, 1} : new int[] {2, 0};
      List<Double> ends = new ArrayList<>();
      ends.add(0.0);
      for (int side = 0; side < 2; side++) {
        List<Node> tiles = new ArrayList<>();
        for (Node n : sides[side]) {
          edgeTiles(n, towards[side], tiles);
        }
        for (Node t : tiles) {
          for (double e : new double[] {t.box[axis], t.box[2 + axis]}) {
            double u = (e - start) / length;
            if (u > 0 && u < 1) {
              ends.add(u);
            }
          }
        }
        beside.add(tiles);
      }
      double[] from = ends.stream().mapToDouble(Double::doubleValue).sorted().distinct().toArray();
      double[][][] scale = new double[layers][from.length][];
      double[] whole = firstLayerScale(split);
      for (int k = 0; k < from.length; k++) {
        double middle = start + length * 0.5 * (from[k] + (k + 1 < from.length ? from[k + 1] : 1));
        for (List<Node> tiles : beside) {
          for (Node t : tiles) {
            double[] polygon = t.box[axis] <= middle && middle <= t.box[2 + axis] ? clip(domain, t.box) : null;
            if (polygon != null) {
              scale[0][k] = coarser(scale[0][k], firstLayerScale(polygon));
              for (int l = 1; l < layers; l++) {
                scale[l][k] = coarser(scale[l][k], widened(t.laterScales[l - 1]));
              }
              break;
            }
          }
        }
        if (scale[0][k] == null) {
          scale[0][k] = whole;
        }
      }
      return new SegmentBreakpoints.TileScale(from, scale);
    }

    /** {@code a} raised to {@code b} neuron by neuron ({@code b} when {@code a} is null). */
    private static double[] coarser(double[] a, double[] b) {
      if (a == null) {
        return b;
      }
      for (int j = 0; j < a.length; j++) {
        a[j] = Math.max(a[j], b[j]);
      }
      return a;
    }

    private static float[] roundedUp(double[] scales) {
      float[] out = new float[scales.length];
      for (int j = 0; j < out.length; j++) {
        float f = (float) scales[j];
        out[j] = f < scales[j] ? Math.nextUp(f) : f;
      }
      return out;
    }

    private static double[] widened(float[] scales) {
      double[] out = new double[scales.length];
      for (int j = 0; j < out.length; j++) {
        out[j] = scales[j];
      }
      return out;
    }

    /**
     * Each first-layer neuron's zero-test scale on the convex polygon, as the engine takes it on a tile: the
     * larger of its floor ({@link Partition#zeroFloor} of its terms) and its largest value, both at a corner.
     */
    private double[] firstLayerScale(double[] polygon) {
      double[] c0 = firstBlock[0];
      double[] cx = firstBlock[1];
      double[] cy = firstBlock[2];
      double[] out = new double[c0.length];
      for (int j = 0; j < out.length; j++) {
        double terms = 0;
        double max = 0;
        for (int k = 0; k < polygon.length; k += 2) {
          double x = polygon[k];
          double y = polygon[k + 1];
          terms = Math.max(terms, Partition.firstLayerTerms(c0[j], cx[j], cy[j], x, y));
          max = Math.max(max, Math.abs(c0[j] + x * cx[j] + y * cy[j]));
        }
        out[j] = Math.max(Partition.zeroFloor(terms), max);
      }
      return out;
    }

    /** The tiles under {@code n} whose edge {@code side} (an index of a box) lies on {@code n}'s. */
    private static void edgeTiles(Node n, int side, List<Node> into) {
      if (n.children == null) {
        into.add(n);
        return;
      }
      for (Node c : n.children) {
        if (c.box[side] == n.box[side]) {
          edgeTiles(c, side, into);
        }
      }
    }

    synchronized Result result() {
      long[] regions = new long[layers];
      for (int l = 0; l < layers; l++) {
        regions[l] = sumTiles[l] - seams[l] - tiles + 1;
      }
      return new Result(layers == 0 ? 1 : regions[layers - 1], regions, tiles, layers == 0 ? 0 : seams[layers - 1],
          largest, split, merged, mergedLayer);
    }
  }

  /**
   * The value arrays a seam holds at once, each up to its limit: a layer's values at the old points and at the new,
   * and the next layer's (SegmentBreakpoints).
   */
  static final int SEAM_ARRAYS = 3;

  /** Where a box is split, as a fraction of its width and height. */
  static final double SPLIT = 0.5 + 1 / (16 * Math.E);

  /**
   * The convex polygon (counter-clockwise, {@code x0,y0,…}) clipped to the box {@code {minX, minY, maxX, maxY}}
   * (Sutherland–Hodgman), or null when what is left has no area.
   */
  static double[] clip(double[] polygon, double[] box) {
    double[] p = polygon;
    p = clipHalf(p, 1, 0, -box[0]); // x ≥ minX
    p = clipHalf(p, -1, 0, box[2]); // x ≤ maxX
    p = clipHalf(p, 0, 1, -box[1]); // y ≥ minY
    p = clipHalf(p, 0, -1, box[3]); // y ≤ maxY
    if (p.length < 6 || !(Plane.polygonArea(p) > 0)) {
      return null;
    }
    return p;
  }

  /** Keeps the part of {@code p} where {@code a·x + b·y + c ≥ 0}. */
  private static double[] clipHalf(double[] p, double a, double b, double c) {
    int m = p.length / 2;
    if (m == 0) {
      return p;
    }
    double[] out = new double[4 * m];
    int k = 0;
    for (int i = 0; i < m; i++) {
      int j = (i + 1) % m;
      double xi = p[2 * i];
      double yi = p[2 * i + 1];
      double xj = p[2 * j];
      double yj = p[2 * j + 1];
      double fi = a * xi + b * yi + c;
      double fj = a * xj + b * yj + c;
      if (fi >= 0) {
        out[k++] = xi;
        out[k++] = yi;
      }
      if ((fi >= 0) != (fj >= 0) && fi != fj) {
        double w = fi / (fi - fj);
        out[k++] = xi + w * (xj - xi);
        out[k++] = yi + w * (yj - yi);
      }
    }
    // drop repeated points (a corner on the clipping line)
    double[] r = new double[k];
    int n = 0;
    for (int i = 0; i < k; i += 2) {
      if (n >= 2 && r[n - 2] == out[i] && r[n - 1] == out[i + 1]) {
        continue;
      }
      r[n++] = out[i];
      r[n++] = out[i + 1];
    }
    if (n >= 4 && r[0] == r[n - 2] && r[1] == r[n - 1]) {
      n -= 2;
    }
    return Arrays.copyOf(r, n);
  }

  /** The part of the segment inside the convex polygon, as {@code {x0,y0,x1,y1}}, or null when it has no length. */
  static double[] clipSegment(double[] polygon, double x0, double y0, double x1, double y1) {
    double lo = 0;
    double hi = 1;
    int m = polygon.length / 2;
    double dx = x1 - x0;
    double dy = y1 - y0;
    for (int i = 0; i < m; i++) {
      int j = (i + 1) % m;
      // inside of a counter-clockwise edge: cross(edge, point − start) ≥ 0
      double ex = polygon[2 * j] - polygon[2 * i];
      double ey = polygon[2 * j + 1] - polygon[2 * i + 1];
      double f0 = ex * (y0 - polygon[2 * i + 1]) - ey * (x0 - polygon[2 * i]);
      double df = ex * dy - ey * dx;
      if (df == 0) {
        if (f0 < 0) {
          return null;
        }
      } else {
        double w = -f0 / df;
        if (df > 0) {
          lo = Math.max(lo, w);
        } else {
          hi = Math.min(hi, w);
        }
      }
    }
    if (!(hi > lo)) {
      return null;
    }
    return new double[] {x0 + lo * dx, y0 + lo * dy, x0 + hi * dx, y0 + hi * dy};
  }
}
