package org.splinewatch.regions;

import java.util.Arrays;
import java.util.HashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The exact subdivision of a plane's domain into the activation regions of a {@link PiecewiseLinearNet},
 * computed layer by layer with per-vertex values (regions.md §3).
 *
 * <p>Tolerance policy (regions.md §3.4): vertex coordinates and layer values are float64 whatever the network's
 * precision; a value counts as zero when {@code |z| ≤ τ·max(floor, max_v |z_v|)} with {@code τ = 1e-10} per neuron,
 * {@code floor = min(1, size of the terms summed)} (rule 2's floor of 1, lowered for small neurons: see zeroFloor);
 * an edge is split only between strictly opposite signs, and the new vertex gets exactly 0 for that neuron. A zero
 * set through an existing vertex therefore reuses the vertex (no near-duplicates), concurrent lines produce
 * vertices of higher degree, and duplicate or zero neurons split nothing twice. A face whose signs are not two
 * contiguous runs is left unsplit and counted in {@link #inconsistentFaces()} (0 in every test).
 *
 * <p>Organisation (docs/regions-engine.md): the first layer's values are computed from the vertex coordinates, not
 * stored; later layers' values are stored in 8-neuron blocks; the next layer's values come from a product with the
 * weights only at the vertices that existed when the layer started, and at the vertices the layer created from the
 * two ends of the split edge plus a correction for the few neurons that change sign along it. A vertex made in a layer
 * gets its values for that layer's later neurons when their columns are read (from its parents', in creation order),
 * and the faces' vertex cycles share one array read in face order.
 *
 * <p>Long on purpose: one algorithm (regions.md §3) whose steps share the same vertex, edge and face arrays;
 * splitting it would pass those arrays between classes on the hot path. docs/regions-engine.md explains its parts.
 */
public final class Partition {
  /** Relative zero threshold τ of regions.md §3.4 rule 2. */
  public static final double TAU = 1e-10;
  /**
   * Below this share of a neuron's zero-test scale ({@code max(floor, max_v |z_v|)}), a value is rounding noise: a
   * boundary through a vertex in real arithmetic (concurrent lines, a plane through the input origin) leaves about
   * 1e-16 of it. A vertex whose value lies between this and the zero tolerance {@link #TAU} is structure the engine
   * cannot resolve at this plane's scale (see {@link #mergedByTolerance()}).
   */
  static final double ROUNDING_NOISE = 1e-13;
  /** {@code Builder#crossingOf}'s answer for a vertex whose lines do not say where it is. */
  private static final double[] NO_CROSSING = new double[0];
  /** Default cap on the number of regions per plane (regions.md §3.6). */
  public static final int DEFAULT_MAX_REGIONS = 2_000_000;

  private final PiecewiseLinearNet net;
  private final Plane plane;
  private final int vertexCount;
  // at least vertexCount and regionCount·words long (a recycled result's arrays, see Workspace#recycle); null once
  // this result is recycled itself, so that a read after it fails instead of seeing the next result's values
  private double[] px;
  private double[] py;
  // the faces' vertex cycles end to end in face order, face f's at cycles[cycleStart[f] .. cycleStart[f + 1]): two
  // arrays (a recycled result's, likewise null once recycled) instead of an int[] per face
  private int[] cycles;
  private int[] cycleStart;
  private final int regionCount;
  private long[] patterns;
  private final int words;
  private final int[] regionsAfterLayer;
  private final int inconsistentFaces;
  private final int mergedByTolerance;
  private final int mergedLayer;
  private final boolean overflow;
  private final boolean overflowAtPatternArray;
  private final double[] outputs; // V × outDim of the head, or null
  private final int outputDim;

  private Partition(Builder b) {
    this.net = b.net;
    this.plane = b.plane;
    this.vertexCount = b.vCount;
    Workspace ws = b.ws;
    this.px = ws.spareArray(ws.spareX, b.px, b.vCount);
    this.py = ws.spareArray(ws.spareY, b.py, b.vCount);
    this.regionCount = b.fCount;
    this.cycleStart = Workspace.spareInts(ws.spareCycleStart, b.fCount + 1);
    this.cycles = Workspace.spareInts(ws.spareCycles, b.faceCycles(cycleStart));
    b.copyCycles(cycleStart, cycles);
    this.words = b.words;
    int patternLength = b.fCount * b.words;
    long[] spare = ws.sparePatterns;
    this.patterns = spare == null ? new long[patternLength] : spare.length >= patternLength ? spare
        : new long[patternLength + patternLength / 8];
    System.arraycopy(b.patterns, 0, this.patterns, 0, patternLength);
    ws.spareX = null;
    ws.spareY = null;
    ws.sparePatterns = null;
    ws.spareCycles = null;
    ws.spareCycleStart = null;
    this.regionsAfterLayer = b.regionsAfterLayer;
    this.inconsistentFaces = b.inconsistent;
    this.mergedByTolerance = b.merged;
    this.mergedLayer = b.mergedLayer;
    this.overflow = b.overflow;
    this.overflowAtPatternArray = b.overflow && b.lastRefusalPatternArray && b.fCount <= b.maxRegions;
    this.outputs = b.outputs;
    this.outputDim = b.outputDim;
  }

  /** Computes the partition with the default region cap. */
  public static Partition compute(PiecewiseLinearNet net, Plane plane) {
    return compute(net, plane, DEFAULT_MAX_REGIONS);
  }

  /**
   * Computes the partition; stops early and reports {@link #overflow()} when more than {@code maxRegions} regions
   * appear.
   */
  public static Partition compute(PiecewiseLinearNet net, Plane plane, int maxRegions) {
    return compute(net, plane, maxRegions, null, 1);
  }

  /**
   * As {@link #compute(PiecewiseLinearNet, Plane, int)}, with the per-layer product of vertex values and weights
   * ({@code V_start·n_{l−1}·n_l}, for the vertices that existed when the layer started) split by vertex rows into
   * {@code parts} tasks on {@code pool}. The result is identical to the single-threaded one: each row is computed by
   * the same loop.
   */
  public static Partition compute(PiecewiseLinearNet net, Plane plane, int maxRegions,
      Executor pool, int parts) {
    return compute(net, plane, maxRegions, pool, parts, new Workspace());
  }

  /**
   * As {@link #compute(PiecewiseLinearNet, Plane, int, Executor, int)}, keeping the vertex values in
   * {@code workspace}'s buffers, which a caller that computes one partition after another reuses (see
   * {@link Workspace}). The result does not depend on the workspace's previous contents.
   */
  public static Partition compute(PiecewiseLinearNet net, Plane plane, int maxRegions,
      Executor pool, int parts, Workspace workspace) {
    return compute(net, plane, maxRegions, pool, parts, workspace, null);
  }

  /** Where a computation stands, for a progress line: called once per hidden neuron, on the computing thread. */
  public interface Progress {
    /**
     * Hidden neuron {@code neuronsDone − 1} of hidden layer {@code layer} (of {@code layers}, each counted from 0 and
     * 1) has split the plane, which now has {@code regions} regions.
     */
    void update(int layer, int layers, int neuronsDone, int width, int regions);
  }

  /**
   * As {@link #compute(PiecewiseLinearNet, Plane, int, Executor, int, Workspace)}, telling {@code progress} (null:
   * no one) after each hidden neuron: a call per neuron, not per region or vertex, so it costs nothing measurable.
   */
  public static Partition compute(PiecewiseLinearNet net, Plane plane, int maxRegions,
      Executor pool, int parts, Workspace workspace, Progress progress) {
    return compute(net, plane, maxRegions, pool, parts, workspace, progress, null);
  }

  /**
   * As {@link #compute(PiecewiseLinearNet, Plane, int, Executor, int, Workspace, Progress)}, writing into
   * {@code zeroScales[l]} (one array per hidden layer, null: not wanted) each neuron's zero-test scale
   * {@code max(floor, max_v |z_v|)} as its split used it ({@code τ} times it is its tolerance):
   * {@link TiledRegionCount} reads a seam at the tolerances of the tiles beside it. A layer the computation did not
   * reach keeps null.
   */
  static Partition compute(PiecewiseLinearNet net, Plane plane, int maxRegions, Executor pool, int parts,
      Workspace workspace, Progress progress, double[][] zeroScales) {
    if (net.inputDim() != plane.inputDim()) {
      throw new IllegalArgumentException("the plane lives in dimension " + plane.inputDim()
          + " but the network expects " + net.inputDim() + " inputs");
    }
    Builder b = new Builder(net, plane, maxRegions, pool, parts, workspace, progress);
    b.zeroScales = zeroScales;
    b.run();
    Partition result = new Partition(b);
    b.finish();
    return result;
  }

  /**
   * Reusable buffers: the engine's arrays, kept from one computation to the next. A layer's values are stored in blocks
   * of {@value #LANES} neurons, vertex-major inside a block, so that one neuron's values over all vertices, read once
   * per neuron, lie in consecutive cache lines instead of one page apart (a row-major {@code V × width} table made that
   * read a cache and TLB miss per vertex, a third of the time on wide layers), while a new vertex's values are still 8
   * consecutive numbers per block. Each block is a list of fixed-size chunks of {@value #CHUNK_VERTICES} vertices, so
   * that a layer whose vertex count grows tenfold gains chunks instead of copying its blocks: with one array per block,
   * growing by half each time, a 784-256-256 plane allocated about three times its final values (6 GB of copies in a
   * default run, each collected while the trainer waited). Chunks come from, and go back to, this workspace's free
   * list: those of the previous layer once the next one is computed, those of a retired block (the last layer's, when
   * no head reads them) at once, all of them when the computation ends. The vertex, face and pattern arrays are kept
   * likewise (a result copies what it keeps). One per thread: not thread-safe.
   */
  public static final class Workspace {
    private double[][] freeChunks = new double[64][];
    private int freeCount;
    private long chunksHeld; // chunks this workspace allocated: in use by a computation or free
    private long chunksInUse; // what the budget counts: free chunks are at most an earlier computation's peak
    private Builder.VertexArrays vertices;
    private Builder.FaceArrays faces;
    private long[] patterns;
    private EdgeMap splits;
    // PartitionStats' per-face arrays and edge map (its own: the engine's splits map stays the size of one neuron's)
    private double[][] statsArrays;
    private EdgeMap statsEdges;
    // a recycled result's vertex, face and pattern arrays, for the next result (Partition#Partition(Builder))
    private double[] spareX;
    private double[] spareY;
    private long[] sparePatterns;
    private int[] spareCycles;
    private int[] spareCycleStart;
    // interpolateNew's corrections, kept like the value chunks
    private Builder.Corrections corrections;
    private final long budgetBytes;
    private long peakBytes;
    // whether the count also holds what a computation allocates beside the workspace's own arrays (see countingAll)
    private boolean countsAll;

    /** A workspace without a memory budget. */
    public Workspace() {
      this(Long.MAX_VALUE);
    }

    /**
     * A workspace whose computations stop with {@linkplain Partition#overflow() overflow} before the engine's arrays
     * (vertex values, coordinates, faces and patterns) would exceed {@code budgetBytes}, as they stop at the region cap.
     */
    public Workspace(long budgetBytes) {
      if (budgetBytes <= 0) {
        throw new IllegalArgumentException("a workspace budget must be positive, got " + budgetBytes + " bytes");
      }
      this.budgetBytes = budgetBytes;
    }

    /**
     * A workspace whose count ({@link #peakBytes}, and the budget) also holds what a computation allocates beside the
     * workspace's arrays, which the plain count leaves out: the result's copies of the vertex coordinates, face cycles
     * and patterns (made at its end while the workspace's are held) and its head outputs, and the edge map the
     * splits grow. Its peak is then about what one plane holds on the heap: on mlp-m, mlp-l and mlp-m-wide within
     * 1.2 % of the heap a collection leaves (workspace and result), where the plain count is 4–8 % below it; on a
     * plane of 520 first-layer lines (81 thousand regions) 27.9 of 32.1 MiB, the plain count 16.2. For
     * {@code ./monitor bench-regions}, which sizes its runs by it, and has no limit on the pattern array (it had no
     * budget before); the live analyzer and tiled counts keep the plain count, whose budgets are a share of the heap
     * that leaves room for these.
     */
    public static Workspace countingAll(long budgetBytes) {
      Workspace ws = new Workspace(budgetBytes);
      ws.countsAll = true;
      return ws;
    }

    /** The most bytes the engine's arrays held (by its own count) in any computation on this workspace. */
    public long peakBytes() {
      return peakBytes;
    }

    /**
     * Bytes of the arrays this workspace keeps between computations that its count ({@link #peakBytes}) leaves out:
     * the engine's edge map and corrections, and those of the statistics ({@link PartitionStats}). Not during a
     * computation, which holds some of them.
     */
    public long uncountedBytes() {
      long bytes = splits != null ? splits.bytes() : 0;
      bytes += statsEdges != null ? statsEdges.bytes() : 0;
      bytes += corrections != null ? corrections.bytes() : 0;
      bytes += statsArrays != null ? 8L * statsArrays.length * statsArrays[0].length : 0;
      return bytes;
    }

    /** The budget given at construction ({@link Long#MAX_VALUE} for none). */
    public long budgetBytes() {
      return budgetBytes;
    }

    /** Bytes held by the value chunks, in use or free. */
    public long bytes() {
      return chunksHeld * CHUNK_BYTES;
    }

    /**
     * Drops every array kept between computations (free value chunks, vertex, face and pattern arrays), so that the
     * heap they held is free until the next computation grows them again. For a workspace whose last computation
     * overflowed: it kept about its whole budget, which the next snapshot's plane would fill again anyway, while the
     * other analyzers need that heap in between (an {@code --encoder cnn} run's region analyzer ran out of memory at
     * its second snapshot, docs/memory.md). Not during a computation.
     */
    public void trim() {
      chunksHeld -= freeCount;
      freeChunks = new double[64][];
      freeCount = 0;
      vertices = null;
      faces = null;
      patterns = null;
      splits = null;
      statsArrays = null;
      statsEdges = null;
      spareX = null;
      spareY = null;
      sparePatterns = null;
      spareCycles = null;
      spareCycleStart = null;
      corrections = null;
    }

    /**
     * Hands back a result of an earlier computation that the caller will not read again (nor anyone it gave the
     * result to): its vertex coordinates, face cycles and patterns then back the next result computed here instead of
     * new arrays (the live analyzer's planes, snapshot after snapshot). {@code done} is unusable afterwards: reading
     * its vertices, faces or patterns throws. Not during a computation.
     */
    public void recycle(Partition done) {
      if (done.px == null) {
        return; // recycled already
      }
      spareX = done.px;
      spareY = done.py;
      sparePatterns = done.patterns;
      spareCycles = done.cycles;
      spareCycleStart = done.cycleStart;
      done.px = null;
      done.py = null;
      done.patterns = null;
      done.cycles = null;
      done.cycleStart = null;
    }

    /** The first {@code n} values of {@code from} in {@code spare} when it is long enough, else in a new array. */
    private double[] spareArray(double[] spare, double[] from, int n) {
      // a recycling caller's next plane may be a little larger again: room for it, so that the arrays settle
      double[] to = spare == null ? new double[n] : spare.length >= n ? spare : new double[n + n / 8];
      System.arraycopy(from, 0, to, 0, n);
      return to;
    }

    /** {@code spare} when it holds at least {@code n} values, else a new array with room to grow (as spareArray). */
    private static int[] spareInts(int[] spare, int n) {
      return spare == null ? new int[n] : spare.length >= n ? spare : new int[n + n / 8];
    }

    /** {@link PartitionStats}' five per-face arrays, each at least {@code faces} long: kept, or fresh without one. */
    static double[][] statsArrays(Workspace ws, int faces) {
      if (ws == null) {
        return new double[5][faces];
      }
      if (ws.statsArrays == null || ws.statsArrays[0].length < faces) {
        ws.statsArrays = new double[5][faces + faces / 4]; // room for the next snapshot's plane to grow a little
      }
      return ws.statsArrays;
    }

    /** An empty edge map: the workspace's, taken until {@link #returnEdgeMap}, or fresh for {@code expected} edges. */
    static EdgeMap takeEdgeMap(Workspace ws, int expected) {
      EdgeMap map = ws != null ? ws.statsEdges : null;
      if (map == null) {
        return new EdgeMap(expected);
      }
      ws.statsEdges = null;
      return map;
    }

    /** Gives a map from {@link #takeEdgeMap} back to the workspace, emptied (a no-op without one). */
    static void returnEdgeMap(Workspace ws, EdgeMap map) {
      if (ws != null) {
        map.clear();
        ws.statsEdges = map;
      }
    }

    /** A zeroed chunk, free or new (every row is written before it is read). */
    private double[] takeChunk() {
      chunksInUse++;
      if (freeCount > 0) {
        double[] c = freeChunks[--freeCount];
        freeChunks[freeCount] = null;
        // zeroed as a new array would be, which brings its lines into cache before the rows are written (without it,
        // reused chunks made the engine about 10 % slower on the default run's planes)
        Arrays.fill(c, 0);
        return c;
      }
      chunksHeld++;
      return new double[CHUNK_LENGTH];
    }

    /** Moves the first {@code n} chunks of {@code block} to the free list (nulling them in {@code block}). */
    private void release(double[][] block, int n) {
      if (freeCount + n > freeChunks.length) {
        freeChunks = Arrays.copyOf(freeChunks, Math.max(freeCount + n, 2 * freeChunks.length));
      }
      for (int c = 0; c < n; c++) {
        freeChunks[freeCount++] = block[c];
        block[c] = null;
      }
      chunksInUse -= n;
    }
  }

  /** The largest pattern array, as a fraction of the maximum heap (see {@code Builder.withinBudget}). */
  public static final int MAX_ARRAY_HEAP_FRACTION = 16;
  static final long MAX_ARRAY_BYTES = Runtime.getRuntime().maxMemory() / MAX_ARRAY_HEAP_FRACTION;

  /** Neurons per block of stored vertex values (Builder.blockMaxAbs has one accumulator per lane). */
  static final int LANES = 8;
  /** Vertices per chunk of a block ({@code 1 << CHUNK_SHIFT}). */
  static final int CHUNK_SHIFT = 12;
  static final int CHUNK_VERTICES = 1 << CHUNK_SHIFT;
  static final int CHUNK_MASK = CHUNK_VERTICES - 1;
  /** Values per chunk: {@value #CHUNK_VERTICES} vertices × {@value #LANES} neurons (256 KiB). */
  static final int CHUNK_LENGTH = CHUNK_VERTICES * LANES;
  static final long CHUNK_BYTES = 8L * CHUNK_LENGTH;

  public PiecewiseLinearNet net() {
    return net;
  }

  public Plane plane() {
    return plane;
  }

  public int regionCount() {
    return regionCount;
  }

  public int vertexCount() {
    return vertexCount;
  }

  /**
   * Bytes of this result's own arrays (vertex coordinates, face cycles, patterns and head outputs): copied from the
   * workspace's at the end of the computation, while those are still held, so its peak on the heap is
   * {@link Workspace#peakBytes} plus these plus {@link Workspace#uncountedBytes} (0 once recycled, without outputs).
   */
  public long resultBytes() {
    long bytes = outputs != null ? 8L * outputs.length : 0;
    if (px != null) {
      bytes += 8L * (px.length + py.length) + 4L * (cycles.length + cycleStart.length) + 8L * patterns.length;
    }
    return bytes;
  }

  /** Region count after each hidden layer (the partition induced by layers 0..k only). */
  public int[] regionsAfterLayer() {
    return regionsAfterLayer.clone();
  }

  public int inconsistentFaces() {
    return inconsistentFaces;
  }

  /**
   * Regions the zero tolerance merged: a neuron's boundary that crosses a face so close to some of its corners (their
   * values between {@link #ROUNDING_NOISE} and {@link #TAU} of the neuron's scale, not rounding noise) that they read
   * as zero, so the face was left uncut or cut once where the boundary cuts it off twice. Each such sliver is a region
   * of the network on this plane that the count misses (and any region later layers would have cut it into): 0 for a
   * plane the engine resolves; otherwise the count is not exact, usually low, but not always by this number. A sliver
   * on a zero set that several neurons of a layer share (duplicated, negated or scaled copies, within rounding noise)
   * is counted once, for the first of them, as exact arithmetic has it ({@code DegenerateNets} seeds 726 and 853 miss
   * 2 and 28 regions and say so); a sliver that a later neuron cuts again counts once, and a few planes far wider than
   * the network still say more than they miss (docs/regions-engine.md, "Checked against exact arithmetic"). Finer
   * structure, within rounding noise of a vertex, is not seen here (Plane#unresolvedNearCentre covers a plane far
   * wider than the first layer).
   */
  public int mergedByTolerance() {
    return mergedByTolerance;
  }

  /** The first hidden layer (from 0) whose boundaries {@link #mergedByTolerance()} counts, or −1 for none. */
  public int mergedLayer() {
    return mergedLayer;
  }

  /** True when the region cap was reached; the partition is then incomplete. */
  public boolean overflow() {
    return overflow;
  }

  /**
   * True when the partition stopped because its region patterns (one {@code long[]}) would outgrow the largest array
   * a budgeted workspace may take, a sixteenth of the heap ({@link #MAX_ARRAY_HEAP_FRACTION}), rather than at the
   * region cap or the workspace's budget: a network with many neurons (a CNN's) has long patterns.
   */
  public boolean overflowAtPatternArray() {
    return overflowAtPatternArray;
  }

  /** The largest pattern array a budgeted workspace may take, in bytes. */
  public static long maxPatternArrayBytes() {
    return MAX_ARRAY_BYTES;
  }

  public double vertexX(int v) {
    return px[v];
  }

  public double vertexY(int v) {
    return py[v];
  }

  /** Counter-clockwise vertex cycle of face {@code f} (T-junction vertices included). */
  public int[] face(int f) {
    return Arrays.copyOfRange(cycles, cycleStart[f], cycleStart[f + 1]);
  }

  /** The vertices on face {@code f}'s cycle. */
  public int faceLength(int f) {
    return cycleStart[f + 1] - cycleStart[f];
  }

  /**
   * Every face's cycle, end to end in face order: face {@code f}'s is {@code faceLength(f)} vertices from
   * {@link #faceStart faceStart(f)}. The result's own array, not a copy: read only.
   */
  int[] faceCycles() {
    return cycles;
  }

  /** Where face {@code f}'s cycle starts in {@link #faceCycles()}. */
  int faceStart(int f) {
    return cycleStart[f];
  }

  /** Activation bit of hidden neuron {@code bit} (layer-major order) in face {@code f}. */
  public boolean active(int f, int bit) {
    return (patterns[f * words + (bit >>> 6)] & (1L << (bit & 63))) != 0;
  }

  /** Pattern words of face {@code f}. */
  public long[] pattern(int f) {
    return Arrays.copyOfRange(patterns, f * words, (f + 1) * words);
  }

  /** {@code Arrays.hashCode(pattern(f))} without the copy (a colour per face of the partition picture). */
  int patternHash(int f) {
    int hash = 1;
    for (int k = f * words; k < (f + 1) * words; k++) {
      hash = 31 * hash + Long.hashCode(patterns[k]);
    }
    return hash;
  }

  /** Head outputs (logits or embedding) at the vertices, {@code V × outputDim}, or null without a head. */
  double[] outputs() {
    return outputs;
  }

  int outputDim() {
    return outputDim;
  }

  /** Number of distinct undirected edges, domain boundary included. */
  public int edgeCount() {
    EdgeMap edges = new EdgeMap(vertexCount * 2);
    for (int f = 0; f < regionCount; f++) {
      int s = cycleStart[f];
      int m = cycleStart[f + 1] - s;
      for (int k = 0; k < m; k++) {
        edges.add(EdgeMap.key(cycles[s + k], cycles[s + (k + 1) % m]), 1);
      }
    }
    return edges.size();
  }

  /**
   * The floor of a neuron's zero tolerance {@code ε_j = τ·max(floor_j, max_v |z_v,j|)} for terms of magnitude
   * {@code terms}: 1 as in regions.md §3.4 rule 2 when they are at least 1, else {@code terms}. Rule 2's floor of 1
   * keeps rounding noise of a neuron that is zero in real arithmetic from splitting the plane, but a neuron whose
   * weights are all small (1e-8) or a plane so small that a neuron varies by 1e-9 across it would then count as
   * zero wherever it is below 1e-10: its lines were dropped or snapped by a good part of the domain, and positive
   * rescaling (regions.md §7 oracle 8) changed the count. Rounding noise is relative to the terms summed, so a
   * floor relative to them suppresses it just as well at any scale.
   */
  static double zeroFloor(double terms) {
    return Math.min(1, terms);
  }

  /**
   * The size of the terms summed in a first-layer neuron's value {@code c0 + x·cx + y·cy} at plane point
   * {@code (x, y)}, whose largest over a domain's corners gives the neuron's {@link #zeroFloor} there (the engine's
   * on its domain, {@link TiledRegionCount}'s on a tile beside a seam).
   */
  static double firstLayerTerms(double c0, double cx, double cy, double x, double y) {
    return Math.abs(c0) + Math.abs(x * cx) + Math.abs(y * cy);
  }

  /**
   * The {@link #zeroFloor} of each neuron of {@code next}, whose inputs are {@code block}'s activations of
   * pre-activations bounded by {@code maxPre} (overwritten): the terms summed are bounded by {@code next}'s chain
   * with every coefficient and constant made positive (for a dense chain {@code |b_j| + Σ_k |W_kj|·max|h_k|}; a
   * convolution, pooling or unfolded BatchNorm is bounded the same way, operator by operator). Also used by
   * {@link SegmentBreakpoints}, so that a seam has the plane's zero test.
   */
  static double[] nextFloors(PiecewiseLinearNet.Block block, PiecewiseLinearNet.Block next, double[] maxPre) {
    double[] cur = maxPre;
    double slope = Math.abs(block.activation().negativeSlope());
    for (int k = 0; k < cur.length && slope > 1; k++) { // |act(z)| ≤ max(1, |slope|)·|z|
      cur[k] *= slope;
    }
    for (AffineOp op : next.ops()) {
      double[] out = new double[op.outDim()];
      op.applyMagnitude(cur, out);
      cur = out;
    }
    for (int j = 0; j < cur.length; j++) {
      cur[j] = zeroFloor(cur[j]);
    }
    return cur;
  }

  /** Mutable state of one computation. */
  private static final class Builder {
    /** Rows per chunk when one layer's values become the next layer's (the temporary buffers are this tall). */
    private static final int CHUNK = 64;

    final PiecewiseLinearNet net;
    final Plane plane;
    final int maxRegions;
    int vCount;
    double[] px;
    double[] py;
    byte[] sign;
    double[] col; // the current neuron's values at the vertices
    // the edge each vertex of the current layer split, {a, b}, and where (t), for the vertices from layerStart on
    int[] parentA;
    int[] parentB;
    int[] parentNeuron; // the neuron whose zero set made the vertex
    double[] parentT;
    int layerStart;
    // Stored layers: the current layer's values in ceil(width / 8) blocks, each zChunks chunks of CHUNK_VERTICES × 8
    // values (Workspace); vertex v's value for neuron 8·bb + l is zb[bb][v >>> CHUNK_SHIFT][(v & CHUNK_MASK) · 8 + l].
    // The first layer is not stored: its values are affine in the plane coordinates (c0 + x·cx + y·cy).
    double[][][] zb;
    int zChunks;
    boolean firstLayer;
    double[] c0;
    double[] cx;
    double[] cy;
    double[] maxAbs; // stored layers: per neuron, max |z| over the vertices so far (kept current by interpolation)
    int corners; // vertices 0..corners−1 are the domain's corners
    double[] floor; // per neuron of the current layer: the least scale of its zero test (see zeroFloor)
    // A stored layer's block when it is one dense product (else null), and a bound on each of its inputs (the previous
    // layer's activations) over the plane: what sharesEarlierZeroSet compares neurons by
    AffineOp.DenseOp dense;
    double[] inputBound;
    // Blocks below this one are retired: in the network's last layer, when no head follows, a block whose neurons have
    // all split the plane is never read again, so it is released
    int liveBlock;
    boolean retireBlocks;
    // lazyNew: a stored layer in which only the neurons after the one that made a vertex are ever read there, which
    // holds in the last layer without a head (the earlier neurons have split the plane) and above one dense product
    // (a hidden layer or the head), whose values at a new vertex come from interpolateNew, which reads only those.
    // Such a vertex then gets no values when it is made: neuron j's value there is interpolated from its parents'
    // when j's column is gathered (splitByNeuron), with splitEdge's arithmetic, parents first. That is the work of
    // interpolating every later neuron at once, without reading and writing parent rows scattered over the whole
    // layer's values (30 % of a live plane's time). writeBack: interpolateNew reads them from the blocks, so each
    // gathered column is written back; otherwise (the last layer without a head) new vertices get no stored values.
    boolean lazyNew;
    boolean writeBack;
    int width;
    // The faces' vertex cycles, face f's at cycles[faceStart[f] .. faceStart[f] + faceLen[f]): one array read in face
    // order by every neuron's pass over the faces, instead of an array per face spread over the heap (and none
    // allocated per cut). A cut writes its two cycles at cyclesEnd; compactFaces copies the live cycles to
    // spareCycles in face order when the cycles left behind reach a quarter of those in use.
    int[] faceStart;
    int[] faceLen;
    int[] cycles;
    int[] spareCycles;
    int cyclesEnd;
    int cyclesLive;
    long[] patterns;
    int fCount;
    int words;
    int[] regionsAfterLayer;
    int inconsistent;
    int layer; // the hidden layer being computed
    int merged; // regions the zero tolerance merged (mergedByTolerance)
    int mergedLayer = -1;
    // countMerged's first-layer crossings, by vertex: where the two lines that made it cross ({x, y}), or NO_CROSSING;
    // and the first layer's zero-test scales. Made only for a neuron with a value read as zero above rounding noise
    HashMap<Integer, double[]> crossings;
    double[] firstLayerScales;
    boolean overflow;
    /** Whether the last growth refused was refused for the pattern array alone (within the byte budget). */
    boolean lastRefusalPatternArray;
    double[] outputs;
    int outputDim;
    final int headDim; // the head's outputs per vertex (0: no head)
    final EdgeMap splits; // grows with the splits of one neuron; small planes stay cheap
    int[] scratch = new int[64];
    double[][] zeroScales; // per hidden layer, each neuron's zero-test scale as used (null: not recorded)

    final Executor pool;
    final int parts;
    final Workspace ws;
    final Progress progress; // or null

    Builder(PiecewiseLinearNet net, Plane plane, int maxRegions, Executor pool, int parts, Workspace ws,
        Progress progress) {
      this.ws = ws;
      this.progress = progress;
      this.pool = pool;
      this.parts = parts;
      this.net = net;
      this.plane = plane;
      this.maxRegions = maxRegions;
      this.words = Math.max(1, (net.hiddenNeurons() + 63) / 64);
      var last = net.blocks().get(net.blocks().size() - 1);
      this.headDim = last.hidden() ? 0 : last.outDim();
      VertexArrays va = ws.vertices != null ? ws.vertices : new VertexArrays();
      ws.vertices = null; // in use (a workspace serves one computation at a time)
      px = va.px;
      py = va.py;
      sign = va.sign;
      col = va.col;
      parentA = va.parentA;
      parentB = va.parentB;
      parentNeuron = va.parentNeuron;
      parentT = va.parentT;
      FaceArrays fa = ws.faces != null ? ws.faces : new FaceArrays();
      faceStart = fa.start;
      faceLen = fa.len;
      cycles = fa.cycles;
      spareCycles = fa.spare;
      patterns = ws.patterns != null && ws.patterns.length >= 16 * words ? ws.patterns : new long[16 * words];
      splits = ws.splits != null ? ws.splits : new EdgeMap(64);
      ws.faces = null;
      ws.patterns = null;
      ws.splits = null;
    }

    /** The face arrays, kept by a {@link Workspace} between computations. */
    static final class FaceArrays {
      int[] start = new int[16];
      int[] len = new int[16];
      int[] cycles = new int[64];
      int[] spare = new int[64];
    }

    /** The vertex arrays, kept by a {@link Workspace} between computations. */
    static final class VertexArrays {
      double[] px = new double[64];
      double[] py = new double[64];
      byte[] sign = new byte[64];
      double[] col = new double[64];
      int[] parentA = new int[64];
      int[] parentB = new int[64];
      int[] parentNeuron = new int[64];
      double[] parentT = new double[64];
    }

    /**
     * Computes the partition and returns the value chunks to the workspace; {@link #finish} hands back the other
     * arrays once the result has copied what it keeps.
     */
    void run() {
      try {
        layers();
        if (ws.countsAll) { // the edge map grows between the budget's checks: its final size, with the values held
          ws.peakBytes = Math.max(ws.peakBytes, heldBytes(px.length, faceStart.length, 0));
        }
      } finally {
        releaseValues();
      }
    }

    /** Returns every value chunk to the workspace. */
    private void releaseValues() {
      if (zb != null) {
        for (double[][] block : zb) {
          if (block != null) {
            ws.release(block, zChunks);
          }
        }
        zb = null;
      }
    }

    /** Hands the vertex, face and pattern arrays back to the workspace once the result has copied them. */
    void finish() {
      VertexArrays va = new VertexArrays();
      va.px = px;
      va.py = py;
      va.sign = sign;
      va.col = col;
      va.parentA = parentA;
      va.parentB = parentB;
      va.parentNeuron = parentNeuron;
      va.parentT = parentT;
      ws.vertices = va;
      FaceArrays fa = new FaceArrays();
      fa.start = faceStart;
      fa.len = faceLen;
      fa.cycles = cycles;
      fa.spare = spareCycles;
      ws.faces = fa;
      ws.patterns = patterns;
      splits.clear();
      ws.splits = splits;
    }

    private void layers() {
      double[] dom = plane.domain();
      int m = dom.length / 2;
      ensureVertexArrays(m);
      int[] first = new int[m];
      for (int k = 0; k < m; k++) {
        px[k] = dom[2 * k];
        py[k] = dom[2 * k + 1];
        first[k] = k;
      }
      vCount = m;
      corners = m;
      cyclesEnd = 0;
      cyclesLive = 0;
      writeCycle(0, first, 0, m);
      fCount = 1;
      Arrays.fill(patterns, 0, words, 0L); // the domain's pattern; every later face copies its parent's
      var blocks = net.blocks();
      regionsAfterLayer = new int[net.hiddenBlocks().size()];
      PiecewiseLinearNet.Block b0 = blocks.get(0);
      if (!b0.hidden()) {
        outputs = plane.firstBlockAffine(b0, planeCoordinates(), vCount, null); // a fresh array, kept by the result
        outputDim = b0.outDim();
        return;
      }
      double[][] f = plane.firstBlockCoefficients(b0);
      c0 = f[0];
      cx = f[1];
      cy = f[2];
      firstLayer = true;
      floor = firstLayerFloor();
      int bitBase = 0;
      for (int layer = 0; layer < blocks.size(); layer++) {
        PiecewiseLinearNet.Block block = blocks.get(layer);
        width = block.outDim();
        if (!firstLayer) {
          maxAbs = blockMaxAbs();
        }
        ensureVertexArrays(Math.max(vCount + vCount / 2 + 16, 64));
        layerStart = vCount;
        liveBlock = 0;
        retireBlocks = !firstLayer && layer + 1 == blocks.size();
        PiecewiseLinearNet.Block next = layer + 1 < blocks.size() ? blocks.get(layer + 1) : null;
        boolean nextInterpolates = next != null && singleDense(next) != null;
        lazyNew = !firstLayer && (retireBlocks || nextInterpolates);
        writeBack = lazyNew && !retireBlocks;
        this.layer = layer;
        for (int j = 0; j < width && !overflow; j++) {
          splitByNeuron(j, bitBase + j);
          if (progress != null) {
            progress.update(layer, regionsAfterLayer.length, j + 1, width, fCount);
          }
        }
        regionsAfterLayer[layer] = fCount;
        if (overflow) {
          return;
        }
        bitBase += width;
        if (next == null) {
          return; // the network ends with an activation: no head
        }
        if (!next.hidden()) {
          outputs = headOutputs(block, next);
          outputDim = next.outDim();
          return;
        }
        double[] bound = largestValues(block);
        double[] nextFloor = nextFloors(block, next, bound); // bound now bounds the activations, next's inputs
        double[][][] advanced = advance(block, next);
        if (advanced == null) {
          return; // over the workspace's budget: overflow
        }
        floor = nextFloor;
        dense = singleDense(next);
        inputBound = bound;
        releaseValues(); // the previous layer's chunks, for the next growth or computation
        zb = advanced;
        zChunks = chunksFor(vCount);
        firstLayer = false;
      }
    }

    /**
     * Per neuron of the stored layer, the largest {@code |z|} over the vertices. One accumulator per lane, in locals:
     * with {@code maxAbs[o + l]} updated in the loop (a {@code double[]} the compiler cannot prove apart from the
     * values) every value waited for the previous store of its lane, about four times as long as this on a block of
     * 50 thousand vertices (8 % of a default-run plane's time). The same maxima: {@code Math.max} of the same values.
     */
    private double[] blockMaxAbs() {
      if (LANES != 8) { // a constant: folded away
        throw new IllegalStateException("blockMaxAbs has 8 accumulators, LANES is " + LANES);
      }
      double[] out = new double[zb.length * LANES];
      for (int bb = 0; bb < zb.length; bb++) {
        double[][] chunks = zb[bb];
        double m0 = 0;
        double m1 = 0;
        double m2 = 0;
        double m3 = 0;
        double m4 = 0;
        double m5 = 0;
        double m6 = 0;
        double m7 = 0;
        for (int v0 = 0; v0 < vCount; v0 += CHUNK_VERTICES) {
          double[] arr = chunks[v0 >>> CHUNK_SHIFT];
          int n = Math.min(CHUNK_VERTICES, vCount - v0) * LANES;
          for (int i = 0; i < n; i += LANES) { // LANES is 8: one accumulator per lane
            m0 = Math.max(m0, Math.abs(arr[i]));
            m1 = Math.max(m1, Math.abs(arr[i + 1]));
            m2 = Math.max(m2, Math.abs(arr[i + 2]));
            m3 = Math.max(m3, Math.abs(arr[i + 3]));
            m4 = Math.max(m4, Math.abs(arr[i + 4]));
            m5 = Math.max(m5, Math.abs(arr[i + 5]));
            m6 = Math.max(m6, Math.abs(arr[i + 6]));
            m7 = Math.max(m7, Math.abs(arr[i + 7]));
          }
        }
        int o = bb * LANES;
        out[o] = m0;
        out[o + 1] = m1;
        out[o + 2] = m2;
        out[o + 3] = m3;
        out[o + 4] = m4;
        out[o + 5] = m5;
        out[o + 6] = m6;
        out[o + 7] = m7;
      }
      return out;
    }

    /**
     * The first layer's {@link #zeroFloor}: its values are affine on the domain, so the terms
     * {@code |c0| + |x·cx| + |y·cy|} are largest at a corner.
     */
    private double[] firstLayerFloor() {
      double[] out = new double[c0.length];
      for (int j = 0; j < out.length; j++) {
        double terms = 0;
        for (int k = 0; k < corners; k++) {
          terms = Math.max(terms, firstLayerTerms(c0[j], cx[j], cy[j], px[k], py[k]));
        }
        out[j] = zeroFloor(terms);
      }
      return out;
    }

    /**
     * The current layer's largest {@code |z|} per neuron over the plane (for the first layer, at the domain's corners,
     * where its affine values are largest), from which {@link #nextFloors} gives the next layer's {@link #zeroFloor}.
     */
    private double[] largestValues(PiecewiseLinearNet.Block block) {
      int nIn = block.outDim();
      double[] cur = new double[nIn];
      for (int k = 0; k < nIn; k++) {
        if (firstLayer) {
          cur[k] = firstLayerLargest(k);
        } else {
          cur[k] = maxAbs[k];
        }
      }
      return cur;
    }

    private double[] planeCoordinates() {
      double[] st = new double[2 * vCount];
      for (int v = 0; v < vCount; v++) {
        st[2 * v] = px[v];
        st[2 * v + 1] = py[v];
      }
      return st;
    }

    /**
     * The next block's pre-activations at the vertices: the current layer's values (stored, or computed from the plane
     * coordinates for the first layer), activated and put through {@code next}'s affine chain, {@value #CHUNK} rows at
     * a time, into new blocks of chunks (free ones of the workspace first) covering the vertices; null, with
     * {@link #overflow}, when both layers' values would not fit the workspace's budget.
     */
    private double[][][] advance(PiecewiseLinearNet.Block cur, PiecewiseLinearNet.Block next) {
      int nb = (next.outDim() + LANES - 1) / LANES;
      int chunks = chunksFor(vCount);
      long extra = (long) nb * chunks;
      if (!withinBudget(px.length, faceStart.length, extra)
          && !((shrinkVertices() | shrinkFaces()) && withinBudget(px.length, faceStart.length, extra))) {
        overflow = true;
        return null;
      }
      double[][][] out = new double[nb][][];
      for (int i = 0; i < nb; i++) {
        out[i] = new double[Math.max(4, chunks + chunks / 2)][];
        for (int c = 0; c < chunks; c++) {
          out[i][c] = ws.takeChunk();
        }
      }
      transform(cur, next, out, null);
      return out;
    }

    /** Chunks that hold {@code vertices} vertices' values in one block. */
    private static int chunksFor(int vertices) {
      return (vertices + CHUNK_MASK) >>> CHUNK_SHIFT;
    }

    /** Head outputs at the vertices, {@code V × outDim} row-major (a fresh array, kept by the result). */
    private double[] headOutputs(PiecewiseLinearNet.Block cur, PiecewiseLinearNet.Block head) {
      double[] flat = new double[vCount * head.outDim()];
      transform(cur, head, null, flat);
      return flat;
    }

    /** The block's one operator when it is a dense product (its values at new vertices are interpolated), else null. */
    private static AffineOp.DenseOp singleDense(PiecewiseLinearNet.Block block) {
      return block.ops().size() == 1 && block.ops().get(0) instanceof AffineOp.DenseOp d ? d : null;
    }

    /** Rows of {@link #advance} into {@code blocks}, or into the row-major {@code flat}; split over the pool. */
    private void transform(PiecewiseLinearNet.Block cur, PiecewiseLinearNet.Block next, double[][][] blocks,
        double[] flat) {
      AffineOp.DenseOp dense = singleDense(next);
      int rows = dense != null ? layerStart : vCount;
      transformOld(cur, next, rows, blocks, flat);
      if (dense != null) {
        interpolateNew(cur, dense, blocks, flat);
      }
    }

    /** The product for rows {@code 0..rows}, split over the pool. */
    private void transformOld(PiecewiseLinearNet.Block cur, PiecewiseLinearNet.Block next, int rows,
        double[][][] blocks, double[] flat) {
      if (pool == null || parts <= 1 || rows < CHUNK * parts) {
        transformRows(cur, next, 0, rows, blocks, flat);
        return;
      }
      CompletableFuture<?>[] futures = new CompletableFuture<?>[parts];
      for (int p = 0; p < parts; p++) {
        int from = (int) ((long) rows * p / parts);
        int to = (int) ((long) rows * (p + 1) / parts);
        futures[p] = CompletableFuture.runAsync(() -> transformRows(cur, next, from, to, blocks, flat), pool);
      }
      CompletableFuture.allOf(futures).join();
    }

    /**
     * The next layer's values at the vertices this layer created, in the order they were created, each from the values
     * at the two ends of the edge it split instead of a product with {@code W}: along an edge of a face every earlier
     * neuron has one sign, so this layer's pre-activation {@code z} is affine on the edge and its activation {@code h}
     * is affine except at the zero of each neuron {@code q} whose signs at the ends are strictly opposite. Hence
     * {@code h_w = (1−t)·h_a + t·h_b + Σ_q Δ_q e_q} with {@code Δ_q = f(z_w,q) − (1−t)·f(z_a,q) − t·f(z_b,q)} over
     * those neurons only (one or a few), and the next layer's values follow as
     * {@code y_w = (1−t)·y_a + t·y_b + Σ_q Δ_q·W_q}: {@code O(n_l + k·n_{l+1})} per vertex instead of
     * {@code O(n_l·n_{l+1})}. Exact in real arithmetic; in floating point it differs from the product at rounding level,
     * like the interpolated values themselves (regions.md §3.4 rule 7).
     */
    private void interpolateNew(PiecewiseLinearNet.Block cur, AffineOp.DenseOp dense, double[][][] blocks,
        double[] flat) {
      int nIn = cur.outDim();
      int nOut = dense.outDim();
      double slope = cur.activation().negativeSlope();
      int first = layerStart;
      int count = vCount - first;
      if (count <= 0) {
        return;
      }
      // 1. the corrections (v, q, Δ), only for q ≥ the neuron that made v: the edge it split bounded faces of one
      //    sign for every earlier neuron (up to the zero tolerance), so none of those changes sign along it. Swept
      //    block by block for stored layers (each block's rows are one array, so the
      //    random parent rows stay within a few MB), then ordered by vertex, and by neuron within a vertex
      Corrections cs = ws.corrections != null ? ws.corrections.reset(count) : new Corrections(count);
      ws.corrections = cs; // kept for the next layer and computation
      if (firstLayer) {
        for (int v = first; v < vCount; v++) {
          double xa = px[parentA[v]];
          double ya = py[parentA[v]];
          double xb = px[parentB[v]];
          double yb = py[parentB[v]];
          double xw = px[v];
          double yw = py[v];
          for (int q = parentNeuron[v]; q < nIn; q++) {
            double za = c0[q] + xa * cx[q] + ya * cy[q];
            double zb = c0[q] + xb * cx[q] + yb * cy[q];
            if (za * zb < 0) {
              cs.add(v - first, q, delta(za, zb, c0[q] + xw * cx[q] + yw * cy[q], parentT[v], slope));
            }
          }
        }
      } else {
        for (int bb = 0; bb < zb.length; bb++) {
          double[][] chunks = zb[bb];
          int q0 = bb * LANES;
          int cnt = Math.min(LANES, nIn - q0);
          for (int v = first; v < vCount; v++) {
            int from = parentNeuron[v] - q0;
            if (from >= cnt) {
              continue;
            }
            int a = parentA[v];
            int b = parentB[v];
            double[] ca = chunks[a >>> CHUNK_SHIFT];
            double[] cb = chunks[b >>> CHUNK_SHIFT];
            double[] cw = chunks[v >>> CHUNK_SHIFT];
            int a8 = (a & CHUNK_MASK) * LANES;
            int b8 = (b & CHUNK_MASK) * LANES;
            int w8 = (v & CHUNK_MASK) * LANES;
            for (int l = Math.max(0, from); l < cnt; l++) {
              double za = ca[a8 + l];
              double zb = cb[b8 + l];
              if (za * zb < 0) {
                cs.add(v - first, q0 + l, delta(za, zb, cw[w8 + l], parentT[v], slope));
              }
            }
          }
        }
      }
      cs.sortByVertex();
      // 2. y_w = (1−t)·y_a + t·y_b + Σ Δ_q·W_q, in creation order (parents first), one block of outputs at a time
      double[] w = dense.w();
      int[] start = cs.start;
      int[] qs = cs.sortedQ;
      double[] ds = cs.sortedDelta;
      if (flat != null) {
        for (int v = first; v < vCount; v++) {
          int ra = parentA[v] * nOut;
          int rb = parentB[v] * nOut;
          int rw = v * nOut;
          double t = parentT[v];
          for (int j = 0; j < nOut; j++) {
            flat[rw + j] = flat[ra + j] + t * (flat[rb + j] - flat[ra + j]);
          }
          for (int e = start[v - first]; e < start[v - first + 1]; e++) {
            double d = ds[e];
            int wq = qs[e] * nOut;
            for (int j = 0; j < nOut; j++) {
              flat[rw + j] += d * w[wq + j];
            }
          }
        }
        return;
      }
      for (int bb = 0; bb < blocks.length; bb++) {
        double[][] chunks = blocks[bb];
        int q0 = bb * LANES;
        int cnt = Math.min(LANES, nOut - q0);
        for (int v = first; v < vCount; v++) {
          int a = parentA[v];
          int b = parentB[v];
          double[] ca = chunks[a >>> CHUNK_SHIFT];
          double[] cb = chunks[b >>> CHUNK_SHIFT];
          double[] cw = chunks[v >>> CHUNK_SHIFT];
          int a8 = (a & CHUNK_MASK) * LANES;
          int b8 = (b & CHUNK_MASK) * LANES;
          int w8 = (v & CHUNK_MASK) * LANES;
          double t = parentT[v];
          for (int l = 0; l < LANES; l++) {
            cw[w8 + l] = ca[a8 + l] + t * (cb[b8 + l] - ca[a8 + l]);
          }
          for (int e = start[v - first]; e < start[v - first + 1]; e++) {
            double d = ds[e];
            int wq = qs[e] * nOut + q0;
            for (int l = 0; l < cnt; l++) {
              cw[w8 + l] += d * w[wq + l];
            }
          }
        }
      }
    }

    /** {@code Δ = f(z_w) − ((1−t)·f(z_a) + t·f(z_b))} for the activation {@code f} with this negative slope. */
    private static double delta(double za, double zb, double zw, double t, double slope) {
      double fa = za > 0 ? za : za * slope;
      double fb = zb > 0 ? zb : zb * slope;
      double fw = zw > 0 ? zw : zw * slope;
      return fw - (fa + t * (fb - fa));
    }

    /**
     * Corrections {@code (vertex, neuron, Δ)} of {@link #interpolateNew}, then ordered by vertex (stable). Its arrays
     * are kept by the workspace and reused, grown as needed: only their first {@code size} entries (the first
     * {@code vertices + 1} of {@code start}) are read.
     */
    private static final class Corrections {
      int vertices;
      int size;
      int[] v = new int[64];
      int[] q = new int[64];
      double[] d = new double[64];
      int[] start = new int[0];
      int[] next = new int[0];
      int[] sortedQ = new int[0];
      double[] sortedDelta = new double[0];

      Corrections(int vertices) {
        this.vertices = vertices;
      }

      /** Bytes of its arrays. */
      long bytes() {
        return 16L * v.length + 8L * start.length + 12L * sortedQ.length;
      }

      /** Empty, for the {@code vertices} new vertices of another layer. */
      Corrections reset(int vertices) {
        this.vertices = vertices;
        size = 0;
        return this;
      }

      void add(int vertex, int neuron, double delta) {
        if (delta == 0) {
          return;
        }
        if (size == v.length) {
          v = Arrays.copyOf(v, 2 * size);
          q = Arrays.copyOf(q, 2 * size);
          d = Arrays.copyOf(d, 2 * size);
        }
        v[size] = vertex;
        q[size] = neuron;
        d[size] = delta;
        size++;
      }

      /** Counting sort by vertex; entries of one vertex keep their order (ascending neuron, as they were added). */
      void sortByVertex() {
        if (start.length < vertices + 1) {
          start = new int[vertices + 1 + vertices / 8]; // room for the next layer's to be a little larger
          next = new int[start.length];
        } else {
          Arrays.fill(start, 0, vertices + 1, 0);
        }
        for (int i = 0; i < size; i++) {
          start[v[i] + 1]++;
        }
        for (int k = 0; k < vertices; k++) {
          start[k + 1] += start[k];
        }
        System.arraycopy(start, 0, next, 0, vertices);
        if (sortedQ.length < size) {
          sortedQ = new int[size + size / 8];
          sortedDelta = new double[sortedQ.length];
        }
        for (int i = 0; i < size; i++) {
          int at = next[v[i]]++;
          sortedQ[at] = q[i];
          sortedDelta[at] = d[i];
        }
      }
    }

    /** Rows {@code from..to} of {@link #transform}, {@value #CHUNK} at a time. */
    private void transformRows(PiecewiseLinearNet.Block cur, PiecewiseLinearNet.Block next, int from, int to,
        double[][][] blocks, double[] flat) {
      int nIn = cur.outDim();
      int nOut = next.outDim();
      double[] in = new double[Math.min(CHUNK, to - from) * nIn];
      double[] res = new double[Math.min(CHUNK, to - from) * nOut];
      for (int r0 = from; r0 < to; r0 += CHUNK) {
        int r1 = Math.min(to, r0 + CHUNK);
        int n = r1 - r0;
        if (firstLayer) {
          for (int r = r0; r < r1; r++) {
            double x = px[r];
            double y = py[r];
            int o = (r - r0) * nIn;
            for (int j = 0; j < nIn; j++) {
              in[o + j] = c0[j] + x * cx[j] + y * cy[j];
            }
          }
        } else {
          for (int bb = 0; bb < zb.length; bb++) {
            double[][] chunks = zb[bb];
            int q0 = bb * LANES;
            int cnt = Math.min(LANES, nIn - q0);
            for (int r = r0; r < r1; r++) {
              int o = (r - r0) * nIn + q0;
              double[] arr = chunks[r >>> CHUNK_SHIFT];
              int src = (r & CHUNK_MASK) * LANES;
              for (int l = 0; l < cnt; l++) {
                in[o + l] = arr[src + l];
              }
            }
          }
        }
        cur.activate(in, n * nIn);
        double[] y = next.affine(in, n, res);
        if (flat != null) {
          System.arraycopy(y, 0, flat, r0 * nOut, n * nOut);
          continue;
        }
        for (int bb = 0; bb < blocks.length; bb++) {
          double[][] chunks = blocks[bb];
          int q0 = bb * LANES;
          int cnt = Math.min(LANES, nOut - q0);
          for (int r = r0; r < r1; r++) {
            int o = (r - r0) * nOut + q0;
            double[] arr = chunks[r >>> CHUNK_SHIFT];
            int dst = (r & CHUNK_MASK) * LANES;
            for (int l = 0; l < LANES; l++) {
              arr[dst + l] = l < cnt ? y[o + l] : 0; // lanes past the width stay 0 (interpolation keeps them 0)
            }
          }
        }
      }
    }

    private void splitByNeuron(int j, int bit) {
      if (retireBlocks && j / LANES > liveBlock) {
        ws.release(zb[liveBlock], zChunks); // every neuron of it has split the plane (see liveBlock)
        zb[liveBlock] = null;
        liveBlock = j / LANES;
      }
      double max = 0;
      if (firstLayer) {
        double a0 = c0[j];
        double ax = cx[j];
        double ay = cy[j];
        for (int v = 0; v < vCount; v++) {
          double val = a0 + px[v] * ax + py[v] * ay;
          col[v] = val;
          max = Math.max(max, Math.abs(val));
        }
      } else {
        max = maxAbs[j];
        double[][] chunks = zb[j / LANES];
        int l = j % LANES;
        int stored = lazyNew ? layerStart : vCount;
        for (int v0 = 0; v0 < stored; v0 += CHUNK_VERTICES) {
          double[] arr = chunks[v0 >>> CHUNK_SHIFT];
          int n = Math.min(CHUNK_VERTICES, stored - v0);
          for (int i = 0; i < n; i++) {
            col[v0 + i] = arr[i * LANES + l];
          }
        }
        if (lazyNew) {
          // the vertices made in this layer (by earlier neurons: the parents come first), as splitEdge would have
          // interpolated them; maxAbs[j] then covers every vertex, as it did when they were interpolated at once
          for (int v = layerStart; v < vCount; v++) {
            double va = col[parentA[v]];
            double val = va + parentT[v] * (col[parentB[v]] - va);
            col[v] = val;
            max = Math.max(max, Math.abs(val));
          }
          maxAbs[j] = max;
          if (writeBack) {
            for (int v = layerStart; v < vCount; v++) {
              chunks[v >>> CHUNK_SHIFT][(v & CHUNK_MASK) * LANES + l] = col[v];
            }
          }
        }
      }
      double scale = Math.max(floor[j], max);
      if (zeroScales != null) {
        if (zeroScales[layer] == null) {
          zeroScales[layer] = new double[width];
        }
        zeroScales[layer][j] = scale;
      }
      double eps = TAU * scale;
      double noise = ROUNDING_NOISE * scale;
      int positive = 0;
      int negative = 0;
      for (int v = 0; v < vCount; v++) {
        double val = col[v];
        byte sg = val > eps ? (byte) 1 : val < -eps ? (byte) -1 : (byte) 0;
        sign[v] = sg;
        positive += sg > 0 ? 1 : 0;
        negative += sg < 0 ? 1 : 0;
      }
      boolean anyPos = positive > 0;
      boolean anyNeg = negative > 0;
      // a value read as zero that is not rounding noise: structure finer than τ. Looked for only when some vertex
      // reads as zero, which few do on a plane the engine resolves (the loop above only counts the signs)
      boolean unresolved = false;
      for (int v = 0; v < vCount && positive + negative < vCount && !unresolved; v++) {
        unresolved = sign[v] == 0 && Math.abs(col[v]) > noise;
      }
      // a neuron with an earlier one's zero set (a duplicate, or a negated or scaled copy) cuts off no sliver of its
      // own: those along that zero set were counted when the earlier neuron split the plane
      boolean countMerged = unresolved && !sharesEarlierZeroSet(j, noise);
      splits.clear();
      int faceCountAtStart = fCount;
      int wordIndex = bit >>> 6;
      long mask = 1L << (bit & 63);
      if (!(anyPos && anyNeg)) {
        // the neuron does not change sign on the plane (always on, or dead there): no face is cut, and every face
        // with a positive vertex, which is every face when any vertex is positive, gets the bit; the face loop
        // below would find the same
        for (int f = 0; countMerged && f < faceCountAtStart; f++) {
          countMerged(f, noise, j);
        }
        if (anyPos) {
          for (int f = 0; f < faceCountAtStart; f++) {
            if (hasPositiveVertex(f)) {
              patterns[f * words + wordIndex] |= mask;
            }
          }
        }
        return;
      }
      if (cyclesEnd - cyclesLive > cyclesLive / 4) {
        compactFaces();
      }
      for (int f = 0; f < faceCountAtStart; f++) {
        if (countMerged) { // before the face is cut
          countMerged(f, noise, j);
        }
        int[] c = cycles;
        int c0 = faceStart[f];
        int m = faceLen[f];
        boolean pos = false;
        boolean neg = false;
        for (int k = c0; k < c0 + m; k++) {
          byte s = sign[c[k]];
          pos |= s > 0;
          neg |= s < 0;
        }
        if (!(pos && neg)) {
          if (pos) {
            patterns[f * words + wordIndex] |= mask;
          }
          continue;
        }
        if (scratch.length < 2 * m) {
          scratch = new int[4 * m];
        }
        int mm = 0;
        for (int k = 0; k < m; k++) {
          int a = c[c0 + k];
          int b = c[c0 + (k + 1 == m ? 0 : k + 1)];
          scratch[mm++] = a;
          if (sign[a] * sign[b] < 0) {
            scratch[mm++] = splitEdge(a, b, j);
          }
        }
        cut(f, mm, wordIndex, mask, j);
        if (fCount > maxRegions) {
          overflow = true;
        }
        if (overflow) {
          return;
        }
      }
    }

    /**
     * Whether neuron {@code j}'s values on the plane are, within {@code noise} (its {@link #ROUNDING_NOISE})
     * everywhere, a multiple, positive or negative, of an earlier neuron's of this layer: then the two have one zero
     * set, and {@code j} adds no region to it. The first layer's values are affine in the plane coordinates, so their
     * difference {@code z_j − c·z_k} is largest at a corner of the domain; a dense layer's,
     * {@code b_j − c·b_k + Σ_i (W_ij − c·W_ik)·h_i}, is bounded with its inputs' largest activations on the plane
     * ({@link #inputBound}). A deeper layer of another kind (a convolution, a chain) is not compared: false. Called
     * only for a neuron with a value read as zero above rounding noise (few, none on a plane the engine resolves).
     * Not the zero tolerance: lines closer than that but farther apart than rounding noise bound slivers of their own
     * (PartitionMergedSharedZeroSetTest).
     */
    private boolean sharesEarlierZeroSet(int j, double noise) {
      for (int k = 0; k < j; k++) {
        if (firstLayer ? sameFirstLayerZeroSet(j, k, noise) : dense != null && sameDenseZeroSet(j, k, noise)) {
          return true;
        }
      }
      return false;
    }

    /** {@link #sharesEarlierZeroSet} for first-layer neurons {@code j} and {@code k}. */
    private boolean sameFirstLayerZeroSet(int j, int k, double noise) {
      int far = 0; // the corner where k's value is largest: the ratio c is taken there
      double farValue = 0;
      for (int v = 0; v < corners; v++) {
        double zk = firstLayerValue(k, v);
        if (Math.abs(zk) > Math.abs(farValue)) {
          far = v;
          farValue = zk;
        }
      }
      if (farValue == 0) {
        return false; // k is zero on the plane: no zero line
      }
      double c = firstLayerValue(j, far) / farValue;
      for (int v = 0; v < corners; v++) {
        double zj = firstLayerValue(j, v);
        double zk = firstLayerValue(k, v);
        if (Math.abs(zj - c * zk) > noise) {
          return false;
        }
      }
      return true;
    }

    /** First-layer neuron {@code k}'s affine value at vertex {@code v}, as the plane's coordinates give it. */
    private double firstLayerValue(int k, int v) {
      return firstLayerValueAt(k, px[v], py[v]);
    }

    /** First-layer neuron {@code k}'s affine value at plane coordinates ({@code x}, {@code y}). */
    private double firstLayerValueAt(int k, double x, double y) {
      return c0[k] + x * cx[k] + y * cy[k];
    }

    /** First-layer neuron {@code k}'s largest {@code |z|} on the plane: affine, it is largest at a domain corner. */
    private double firstLayerLargest(int k) {
      double max = 0;
      for (int v = 0; v < corners; v++) {
        max = Math.max(max, Math.abs(firstLayerValue(k, v)));
      }
      return max;
    }

    /** {@link #sharesEarlierZeroSet} for neurons {@code j} and {@code k} of a stored layer's dense product. */
    private boolean sameDenseZeroSet(int j, int k, double noise) {
      double[] w = dense.w();
      double[] b = dense.b();
      int out = dense.outDim();
      int largest = -1; // the input whose term in k is largest on the plane (−1: the bias): the ratio c is taken there
      double largestTerm = Math.abs(b[k]);
      for (int i = 0; i < inputBound.length; i++) {
        double term = Math.abs(w[i * out + k]) * inputBound[i];
        if (term > largestTerm) {
          largest = i;
          largestTerm = term;
        }
      }
      if (largestTerm == 0) {
        return false; // k is zero on the plane: no zero set
      }
      double c = largest < 0 ? b[j] / b[k] : w[largest * out + j] / w[largest * out + k];
      double bound = Math.abs(b[j] - c * b[k]);
      for (int i = 0; i < inputBound.length && bound <= noise; i++) {
        bound += Math.abs(w[i * out + j] - c * w[i * out + k]) * inputBound[i];
      }
      return bound <= noise;
    }

    /**
     * Counts in {@link #merged} the regions the zero tolerance merges in face {@code f} for the current neuron: its
     * sign changes around the face's cycle with values beyond {@code noise} (rounding), less those of the signs the
     * engine cuts by (beyond the tolerance); an affine value changes sign twice around a convex face, or not at all,
     * so every two more are a boundary that cuts off a sliver the engine does not. In the first layer a vertex read as
     * zero is taken where its two lines cross ({@link #valueAtCrossing}), not where the engine put it.
     */
    private void countMerged(int f, double noise, int j) {
      int realChanges = 0;
      int realFirst = 0;
      int realLast = 0;
      int cutChanges = 0;
      int cutFirst = 0;
      int cutLast = 0;
      for (int k = faceStart[f]; k < faceStart[f] + faceLen[f]; k++) {
        int v = cycles[k];
        double val = col[v];
        if (firstLayer && sign[v] == 0 && (val > noise || val < -noise) && v >= corners) {
          val = valueAtCrossing(j, v, val);
        }
        int real = val > noise ? 1 : val < -noise ? -1 : 0;
        if (real != 0) {
          realChanges += realLast != 0 && real != realLast ? 1 : 0;
          realFirst = realFirst == 0 ? real : realFirst;
          realLast = real;
        }
        int cut = sign[v];
        if (cut != 0) {
          cutChanges += cutLast != 0 && cut != cutLast ? 1 : 0;
          cutFirst = cutFirst == 0 ? cut : cutFirst;
          cutLast = cut;
        }
      }
      realChanges += realFirst != realLast ? 1 : 0; // round the cycle
      cutChanges += cutFirst != cutLast ? 1 : 0;
      if (realChanges > cutChanges) {
        merged += (realChanges - cutChanges) / 2;
        if (mergedLayer < 0) {
          mergedLayer = layer;
        }
      }
    }

    /**
     * First-layer neuron {@code j}'s value at vertex {@code v} (value {@code stored} there) where the two lines that
     * made {@code v} cross: the line of the neuron that split the edge, and the earlier neuron's line that edge lies on
     * (both its ends read as zero for it). A vertex on a chord drawn to a vertex read as zero, not rounding noise (a
     * line that passes a crossing closer than the tolerance), lies off that line by up to the tolerance, and a line
     * exactly concurrent with the two would read it as a sliver (DegenerateNets seed 963: seven lines through the input
     * origin on a plane 2e9 wide, whose engine vertex for the origin lay 0.005 from it). {@code stored} where the edge
     * lies on no earlier neuron's line (the domain's boundary) or the two lines are parallel.
     */
    private double valueAtCrossing(int j, int v, double stored) {
      if (crossings == null) {
        crossings = new HashMap<>();
      }
      double[] at = crossings.computeIfAbsent(v, this::crossingOf);
      return at == NO_CROSSING ? stored : firstLayerValueAt(j, at[0], at[1]);
    }

    /** Where the two first-layer lines that made vertex {@code v} cross, {x, y}, or {@link #NO_CROSSING}. */
    private double[] crossingOf(int v) {
      if (firstLayerScales == null) {
        firstLayerScales = new double[c0.length];
        for (int k = 0; k < c0.length; k++) {
          firstLayerScales[k] = Math.max(floor[k], firstLayerLargest(k)); // splitByNeuron's scale
        }
      }
      int made = parentNeuron[v];
      int a = parentA[v];
      int b = parentB[v];
      int along = -1; // the earlier neuron whose line the split edge lies on: closest to zero at both ends
      double closest = Double.POSITIVE_INFINITY;
      for (int k = 0; k < made; k++) {
        double eps = TAU * firstLayerScales[k];
        double atA = Math.abs(firstLayerValue(k, a));
        double atB = Math.abs(firstLayerValue(k, b));
        if (atA <= eps && atB <= eps && (atA + atB) / eps < closest) {
          along = k;
          closest = (atA + atB) / eps;
        }
      }
      if (along < 0) {
        return NO_CROSSING;
      }
      double det = cx[made] * cy[along] - cy[made] * cx[along];
      double size = (Math.abs(cx[made]) + Math.abs(cy[made])) * (Math.abs(cx[along]) + Math.abs(cy[along]));
      if (!(Math.abs(det) > 1e-12 * size)) {
        return NO_CROSSING; // parallel (or the same line): the stored vertex
      }
      return new double[] {(c0[along] * cy[made] - c0[made] * cy[along]) / det,
          (c0[made] * cx[along] - c0[along] * cx[made]) / det};
    }

    private boolean hasPositiveVertex(int f) {
      for (int k = faceStart[f]; k < faceStart[f] + faceLen[f]; k++) {
        if (sign[cycles[k]] > 0) {
          return true;
        }
      }
      return false;
    }

    /** Writes face {@code f}'s cycle, {@code c[from..from+len)}, at the end of {@code cycles}. */
    private void writeCycle(int f, int[] c, int from, int len) {
      writeArc(f, c, from + len, from, from + len - 1);
    }

    /** Writes positions {@code from..to} inclusive of the cycle {@code c[0..mm)}, walking forward, as face f's. */
    private void writeArc(int f, int[] c, int mm, int from, int to) {
      int len = (to - from + mm) % mm + 1;
      int head = Math.min(len, mm - from);
      if (cyclesEnd + len > cycles.length) {
        cycles = Arrays.copyOf(cycles, Math.max(cyclesEnd + len, cycles.length + cycles.length / 2 + 16));
      }
      System.arraycopy(c, from, cycles, cyclesEnd, head);
      System.arraycopy(c, 0, cycles, cyclesEnd + head, len - head); // the part that wraps round
      cyclesLive += len - (f < fCount ? faceLen[f] : 0);
      faceStart[f] = cyclesEnd;
      faceLen[f] = len;
      cyclesEnd += len;
    }

    /** Moves the faces' cycles to {@code spareCycles} in face order, leaving out those that cuts replaced. */
    private void compactFaces() {
      if (spareCycles.length < cyclesLive) {
        spareCycles = new int[Math.max(cyclesLive + cyclesLive / 2 + 16, cycles.length)];
      }
      int at = 0;
      for (int f = 0; f < fCount; f++) {
        System.arraycopy(cycles, faceStart[f], spareCycles, at, faceLen[f]);
        faceStart[f] = at;
        at += faceLen[f];
      }
      int[] t = cycles;
      cycles = spareCycles;
      spareCycles = t;
      cyclesEnd = at;
    }

    /**
     * Writes where each face's cycle starts in the result's form, the cycles end to end in face order, to
     * {@code start[0..fCount]} ({@code start[fCount]} is where they end) and returns their total length.
     */
    int faceCycles(int[] start) {
      int at = 0;
      for (int f = 0; f < fCount; f++) {
        start[f] = at;
        at += faceLen[f];
      }
      start[fCount] = at;
      return at;
    }

    /** Copies the faces' cycles to {@code to} at the places {@link #faceCycles(int[])} wrote to {@code start}. */
    void copyCycles(int[] start, int[] to) {
      for (int f = 0; f < fCount; f++) {
        System.arraycopy(cycles, faceStart[f], to, start[f], faceLen[f]);
      }
    }

    /** The vertex where neuron {@code j} crosses zero on edge {@code (a,b)}, created once and shared by both faces. */
    private int splitEdge(int a, int b, int j) {
      long key = EdgeMap.key(a, b);
      int found = splits.getOrPut(key, vCount); // the new vertex below is vCount
      if (found >= 0) {
        return found;
      }
      double va = col[a];
      double vb = col[b];
      double t = va / (va - vb);
      t = Math.min(1 - 1e-12, Math.max(1e-12, t));
      int w = vCount;
      ensureVertices(vCount + 1);
      vCount++;
      px[w] = px[a] + t * (px[b] - px[a]);
      parentA[w] = a;
      parentB[w] = b;
      parentT[w] = t;
      parentNeuron[w] = j;
      py[w] = py[a] + t * (py[b] - py[a]);
      if (writeBack) {
        zb[j / LANES][w >>> CHUNK_SHIFT][(w & CHUNK_MASK) * LANES + j % LANES] = 0; // as below
      } else if (!firstLayer && !lazyNew) {
        int ca = a >>> CHUNK_SHIFT;
        int cb = b >>> CHUNK_SHIFT;
        int cw = w >>> CHUNK_SHIFT;
        int a8 = (a & CHUNK_MASK) * LANES;
        int b8 = (b & CHUNK_MASK) * LANES;
        int w8 = (w & CHUNK_MASK) * LANES;
        double[] mx = maxAbs;
        for (int bb = 0; bb < zb.length; bb++) { // every block: the next layer's product reads them all
          double[][] chunks = zb[bb];
          double[] atA = chunks[ca];
          double[] atB = chunks[cb];
          double[] atW = chunks[cw];
          int o = bb * LANES;
          for (int l = 0; l < LANES; l++) {
            double val = atA[a8 + l] + t * (atB[b8 + l] - atA[a8 + l]);
            atW[w8 + l] = val;
            mx[o + l] = Math.max(mx[o + l], Math.abs(val));
          }
        }
        zb[j / LANES][cw][w8 + j % LANES] = 0; // exact zero on the new vertex (regions.md §3.4 rule 4)
      }
      col[w] = 0; // likewise for the first layer, whose values are not stored
      sign[w] = 0;
      return w;
    }

    /**
     * Cuts the face whose new cycle is {@code scratch[0..mm)} along the chord between the zero vertices that separate
     * its positive and negative runs; the positive child keeps index {@code f}.
     */
    private void cut(int f, int mm, int wordIndex, long mask, int j) {
      int[] c = scratch;
      // Count sign changes among nonzero vertices (cyclically): a consistent face has exactly two.
      int changes = 0;
      int prev = 0;
      int firstNonZero = 0;
      for (int k = 0; k < mm; k++) {
        int s = sign[c[k]];
        if (s != 0) {
          if (prev == 0) {
            firstNonZero = s;
          } else if (s != prev) {
            changes++;
          }
          prev = s;
        }
      }
      if (prev != firstNonZero) {
        changes++;
      }
      int p0 = -1;
      for (int k = 0; k < mm && p0 < 0; k++) {
        if (sign[c[k]] > 0) {
          p0 = k;
        }
      }
      int c1 = -1;
      int c2 = -1;
      if (changes == 2) {
        // From p0 walk to the first negative vertex; the chord starts at the first zero after the last positive.
        int lastPos = p0;
        int k = p0;
        for (int step = 1; step <= mm; step++) {
          k = (p0 + step) % mm;
          int s = sign[c[k]];
          if (s > 0) {
            lastPos = k;
          } else if (s < 0) {
            break;
          }
        }
        int firstNeg = k;
        c1 = (lastPos + 1) % mm;
        if (c1 == firstNeg) {
          c1 = -1; // no zero vertex between the runs
        }
        int lastNeg = firstNeg;
        for (int step = 1; step <= mm; step++) {
          k = (firstNeg + step) % mm;
          int s = sign[c[k]];
          if (s < 0) {
            lastNeg = k;
          } else if (s > 0) {
            break;
          }
        }
        c2 = (lastNeg + 1) % mm;
        if (c2 == k) {
          c2 = -1;
        }
      }
      if (c1 < 0 || c2 < 0) {
        // Numerically inconsistent face (regions.md §3.4 rule 6): keep the split vertices, do not cut, and take the
        // bit from the mean value over the face's vertices (an interior point).
        inconsistent++;
        writeCycle(f, c, 0, mm);
        double mean = 0;
        for (int k = 0; k < mm; k++) {
          mean += col[c[k]];
        }
        if (mean > 0) {
          patterns[f * words + wordIndex] |= mask;
        }
        return;
      }
      int g = fCount;
      ensureFaces(fCount + 1);
      writeArc(f, c, mm, c2, c1);
      writeArc(g, c, mm, c1, c2);
      fCount++;
      System.arraycopy(patterns, f * words, patterns, g * words, words);
      patterns[f * words + wordIndex] |= mask;
      patterns[g * words + wordIndex] &= ~mask;
    }

    /**
     * Bytes of the engine's arrays if the vertex arrays held {@code vCap} vertices, the face arrays {@code faceCap}
     * faces, and {@code extraChunks} more value chunks were in use. Free chunks are not counted: the workspace only
     * allocates a chunk when none is free, so those it holds are at most an earlier computation's peak in use.
     */
    private long heldBytes(long vCap, long faceCap, long extraChunks) {
      // x, y, value, t (8 bytes each), parents and neuron (4 each), sign (1); a face: its start and length, its
      // cycle in two pools (about 5 ints each, with room to grow) and its pattern words
      long bytes = (ws.chunksInUse + extraChunks) * CHUNK_BYTES + vCap * 45 + faceCap * (48 + 8L * words);
      if (ws.countsAll) {
        // the result's copies (x, y and head outputs per vertex; a face's start, cycle and pattern) and the edge map
        bytes += vCap * (16 + 8L * headDim) + faceCap * (4 + 8L * words) + 4L * cycles.length + splits.bytes();
      }
      return bytes;
    }

    /**
     * Whether growing to these capacities stays within the workspace's budget; records the peak. The pattern array,
     * one contiguous {@code long[]} of {@code faceCap · words} (a whole network's bits per face), may also take at
     * most a sixteenth of the heap under a budget ({@link #MAX_ARRAY_HEAP_FRACTION}): G1 puts it in contiguous
     * regions, and a heap that other threads fragment cannot always give those even with much more free in all. A
     * CNN plane's patterns (155 words a face) grown to 136 MB ran out of memory with 240 MB live in a 640 MiB heap
     * (docs/memory.md); a default MLP's (8 words) reach 40 MB there at 625 thousand faces, far beyond its budget.
     */
    private boolean withinBudget(long vCap, long faceCap, long extraChunks) {
      long bytes = heldBytes(vCap, faceCap, extraChunks);
      // (a workspace counting all, bench-regions', has no such limit: it had no budget before, and sizes the heap)
      if (bytes > ws.budgetBytes
          || ws.budgetBytes != Long.MAX_VALUE && !ws.countsAll && faceCap * words * 8 > MAX_ARRAY_BYTES) {
        lastRefusalPatternArray = bytes <= ws.budgetBytes;
        return false;
      }
      ws.peakBytes = Math.max(ws.peakBytes, bytes);
      return true;
    }

    /** Room for vertex {@code needed − 1}: in the vertex arrays and, for a stored layer, in every live block. */
    private void ensureVertices(int needed) {
      ensureVertexArrays(needed);
      int want = chunksFor(needed);
      if (firstLayer || zb == null || want <= zChunks || lazyNew && !writeBack) { // no values stored for new vertices
        return;
      }
      long live = zb.length - liveBlock;
      if (!withinBudget(px.length, faceStart.length, live * (want - zChunks))
          && !(shrinkFaces() && withinBudget(px.length, faceStart.length, live * (want - zChunks)))) {
        overflow = true; // over budget: stop after the current face (as at the region cap), which needs this chunk
      }
      for (int bb = liveBlock; bb < zb.length; bb++) {
        if (zb[bb].length < want) {
          zb[bb] = Arrays.copyOf(zb[bb], want + want / 2);
        }
        for (int c = zChunks; c < want; c++) {
          zb[bb][c] = ws.takeChunk();
        }
      }
      zChunks = want;
    }

    /**
     * Drops vertex capacity this computation does not use, kept by the workspace from an earlier, larger one, so that
     * it does not count against the budget (a small tile after a large one overflowed with three vertices); true when
     * something was dropped.
     */
    private boolean shrinkVertices() {
      int cap = Math.max(vCount + 16, 64);
      if (px.length <= cap) {
        return false;
      }
      resizeVertexArrays(cap);
      return true;
    }

    /** As {@link #shrinkVertices} for the face and pattern arrays. */
    private boolean shrinkFaces() {
      int cap = Math.max(fCount + 16, 16);
      int cyclesCap = cyclesEnd + cyclesEnd / 2 + 64;
      if (faceStart.length <= cap && patterns.length <= (long) cap * words && cycles.length <= cyclesCap
          && spareCycles.length <= cyclesCap) {
        return false;
      }
      faceStart = Arrays.copyOf(faceStart, Math.min(faceStart.length, cap));
      faceLen = Arrays.copyOf(faceLen, Math.min(faceLen.length, cap));
      patterns = Arrays.copyOf(patterns, (int) Math.min(patterns.length, (long) cap * words));
      cycles = Arrays.copyOf(cycles, Math.min(cycles.length, cyclesCap));
      spareCycles = spareCycles.length <= cyclesCap ? spareCycles : new int[64]; // compactFaces grows it as needed
      return true;
    }

    private void ensureVertexArrays(int needed) {
      if (needed <= px.length) {
        return;
      }
      int cap = Math.max(needed, px.length + px.length / 2 + 16);
      if (!withinBudget(cap, faceStart.length, 0) && !(shrinkFaces() && withinBudget(cap, faceStart.length, 0))) {
        // over budget: stop after the current face (as at the region cap), growing only by what that face needs
        overflow = true;
        cap = needed + 16;
      }
      resizeVertexArrays(cap);
    }

    /** Every per-vertex array at capacity {@code cap}. */
    private void resizeVertexArrays(int cap) {
      px = Arrays.copyOf(px, cap);
      py = Arrays.copyOf(py, cap);
      sign = Arrays.copyOf(sign, cap);
      col = Arrays.copyOf(col, cap);
      parentA = Arrays.copyOf(parentA, cap);
      parentB = Arrays.copyOf(parentB, cap);
      parentT = Arrays.copyOf(parentT, cap);
      parentNeuron = Arrays.copyOf(parentNeuron, cap);
    }

    private void ensureFaces(int needed) {
      if (needed <= faceStart.length && (long) needed * words <= patterns.length) {
        return;
      }
      int cap = Math.max(needed, faceStart.length + faceStart.length / 2 + 16);
      if (!withinBudget(px.length, cap, 0) && !(shrinkVertices() && withinBudget(px.length, cap, 0))) {
        overflow = true; // as in ensureVertices
        cap = needed + 16;
      }
      if (cap > faceStart.length) {
        faceStart = Arrays.copyOf(faceStart, cap);
        faceLen = Arrays.copyOf(faceLen, cap);
      }
      if ((long) cap * words > patterns.length) {
        patterns = Arrays.copyOf(patterns, cap * words);
      }
    }
  }
}
