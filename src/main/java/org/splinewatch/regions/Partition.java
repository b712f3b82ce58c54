package org.splinewatch.regions;

import java.util.Arrays;
import java.util.concurrent.Executor;

/**
 * The exact subdivision of a plane's domain into the activation regions of a {@link PiecewiseLinearNet},
 * computed layer by layer with per-vertex values (regions.md §3).
 *
 * <p>Tolerance policy (regions.md §3.4): vertex coordinates and layer values are float64 whatever the network's
 * precision; a value counts as zero when {@code |z| ≤ τ·max(1, max_v |z_v|)} with {@code τ = 1e-10} per neuron;
 * an edge is split only between strictly opposite signs, and the new vertex gets exactly 0 for that neuron. A zero
 * set through an existing vertex therefore reuses the vertex (no near-duplicates), concurrent lines produce
 * vertices of higher degree, and duplicate or zero neurons split nothing twice. A face whose signs are not two
 * contiguous runs is left unsplit and counted in {@link #inconsistentFaces()} (0 in every test).
 */
public final class Partition {
  /** Relative zero threshold τ of regions.md §3.4 rule 2. */
  public static final double TAU = 1e-10;
  /** Default cap on the number of regions per plane (regions.md §3.6). */
  public static final int DEFAULT_MAX_REGIONS = 2_000_000;

  private final PiecewiseLinearNet net;
  private final Plane plane;
  private final int vertexCount;
  private final double[] px;
  private final double[] py;
  private final int[][] faces;
  private final long[] patterns;
  private final int words;
  private final int[] regionsAfterLayer;
  private final int inconsistentFaces;
  private final boolean overflow;
  private final double[] outputs; // V × outDim of the head, or null
  private final int outputDim;

  private Partition(Builder b) {
    this.net = b.net;
    this.plane = b.plane;
    this.vertexCount = b.vCount;
    this.px = Arrays.copyOf(b.px, b.vCount);
    this.py = Arrays.copyOf(b.py, b.vCount);
    this.faces = Arrays.copyOf(b.faces, b.fCount);
    this.words = b.words;
    this.patterns = Arrays.copyOf(b.patterns, b.fCount * b.words);
    this.regionsAfterLayer = b.regionsAfterLayer;
    this.inconsistentFaces = b.inconsistent;
    this.overflow = b.overflow;
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
   * (the dominant cost, {@code V·n_{l−1}·n_l}) split by vertex rows into {@code parts} tasks on {@code pool}. The
   * result is identical to the single-threaded one: each row is computed by the same loop.
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
    if (net.inputDim() != plane.inputDim()) {
      throw new IllegalArgumentException("the plane lives in dimension " + plane.inputDim()
          + " but the network expects " + net.inputDim() + " inputs");
    }
    Builder b = new Builder(net, plane, maxRegions, pool, parts, workspace);
    b.run();
    return new Partition(b);
  }

  /**
   * Reusable buffers for the vertex values, {@code V × width} float64 per layer: the engine's largest arrays (about
   * 250 MB for 120,000 vertices of a 256-wide layer). Without one, every computation grows them by copies from
   * scratch; the live region analyzer computes a partition per plane per snapshot, and on a 784-256-256 network that
   * was about 4 GB of 30–70 MB arrays per 600 training steps, each a humongous allocation that starts a G1 cycle,
   * and a heap that keeps growing. A workspace keeps the largest buffers it has needed. One per thread: not
   * thread-safe.
   */
  public static final class Workspace {
    private double[] values = new double[0]; // the current layer's values at the vertices (the builder's z)
    private double[] activated = new double[0]; // the previous layer's values after the activation

    /** Bytes held. */
    public long bytes() {
      return 8L * (values.length + activated.length);
    }
  }

  public PiecewiseLinearNet net() {
    return net;
  }

  public Plane plane() {
    return plane;
  }

  public int regionCount() {
    return faces.length;
  }

  public int vertexCount() {
    return vertexCount;
  }

  /** Region count after each hidden layer (the partition induced by layers 0..k only). */
  public int[] regionsAfterLayer() {
    return regionsAfterLayer.clone();
  }

  public int inconsistentFaces() {
    return inconsistentFaces;
  }

  /** True when the region cap was reached; the partition is then incomplete. */
  public boolean overflow() {
    return overflow;
  }

  public double vertexX(int v) {
    return px[v];
  }

  public double vertexY(int v) {
    return py[v];
  }

  /** Counter-clockwise vertex cycle of face {@code f} (T-junction vertices included). */
  public int[] face(int f) {
    return faces[f].clone();
  }

  int[] faceUnsafe(int f) {
    return faces[f];
  }

  /** Activation bit of hidden neuron {@code bit} (layer-major order) in face {@code f}. */
  public boolean active(int f, int bit) {
    return (patterns[f * words + (bit >>> 6)] & (1L << (bit & 63))) != 0;
  }

  /** Pattern words of face {@code f}. */
  public long[] pattern(int f) {
    return Arrays.copyOfRange(patterns, f * words, (f + 1) * words);
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
    for (int[] c : faces) {
      for (int k = 0; k < c.length; k++) {
        edges.add(EdgeMap.key(c[k], c[(k + 1) % c.length]), 1);
      }
    }
    return edges.size();
  }

  /** Mutable state of one computation. */
  private static final class Builder {
    final PiecewiseLinearNet net;
    final Plane plane;
    final int maxRegions;
    int vCount;
    double[] px = new double[64];
    double[] py = new double[64];
    byte[] sign = new byte[64];
    double[] z; // vCap × width, current layer values
    int width;
    int vCap = 64;
    int[][] faces = new int[16][];
    long[] patterns;
    int fCount;
    int words;
    int[] regionsAfterLayer;
    int inconsistent;
    boolean overflow;
    double[] outputs;
    int outputDim;
    final EdgeMap splits = new EdgeMap(1024);
    int[] scratch = new int[64];

    final Executor pool;
    final int parts;
    final Workspace ws;

    Builder(PiecewiseLinearNet net, Plane plane, int maxRegions, Executor pool, int parts, Workspace ws) {
      this.ws = ws;
      this.pool = pool;
      this.parts = parts;
      this.net = net;
      this.plane = plane;
      this.maxRegions = maxRegions;
      this.words = Math.max(1, (net.hiddenNeurons() + 63) / 64);
      this.patterns = new long[16 * words];
    }

    void run() {
      double[] dom = plane.domain();
      int m = dom.length / 2;
      ensureVertices(m);
      int[] first = new int[m];
      for (int k = 0; k < m; k++) {
        px[k] = dom[2 * k];
        py[k] = dom[2 * k + 1];
        first[k] = k;
      }
      vCount = m;
      faces[0] = first;
      fCount = 1;
      var hidden = net.hiddenBlocks();
      regionsAfterLayer = new int[hidden.size()];
      int bitBase = 0;
      double[] h = null; // values after the previous activation, vCount × previous width
      int layer = 0;
      for (var block : net.blocks()) {
        if (!block.hidden()) {
          // a fresh array, kept by the result: every block has at least one affine op (PiecewiseLinearNet.compile)
          outputs = affineAtVertices(block, h, null);
          outputDim = block.outDim();
          break;
        }
        width = block.outDim();
        vCap = Math.max(vCount + vCount / 2 + 16, 64);
        if (ws.values.length < vCap * width) {
          ws.values = new double[vCap * width];
        }
        z = ws.values; // rows beyond vCount are written before they are read (splitEdge)
        // the layer's pre-activations go straight into the reused buffer (h, its input, is another buffer)
        affineAtVertices(block, h, z);
        ensureVertices(vCap);
        for (int j = 0; j < width && !overflow; j++) {
          splitByNeuron(j, bitBase + j);
        }
        regionsAfterLayer[layer] = fCount;
        if (overflow) {
          return;
        }
        if (ws.activated.length < vCount * width) {
          ws.activated = new double[(vCount + vCount / 4) * width]; // headroom: region counts grow in training
        }
        h = ws.activated;
        System.arraycopy(z, 0, h, 0, vCount * width);
        block.activate(h, vCount * width);
        bitBase += width;
        layer++;
      }
    }

    /**
     * A block's affine chain at the vertices, written into {@code into} when it is large enough (else a new array):
     * the first block through the plane chart, the others from {@code h}, the previous layer's activated values.
     */
    private double[] affineAtVertices(PiecewiseLinearNet.Block block, double[] h, double[] into) {
      return block == net.blocks().get(0) ? pullBack(block, into) : block.affine(h, vCount, pool, parts, into);
    }

    /** First block's affine chain at the vertices, through the plane chart (exact, float64). */
    private double[] pullBack(PiecewiseLinearNet.Block block, double[] into) {
      double[] st = new double[2 * vCount];
      for (int v = 0; v < vCount; v++) {
        st[2 * v] = px[v];
        st[2 * v + 1] = py[v];
      }
      return plane.firstBlockAffine(block, st, vCount, into);
    }

    private void splitByNeuron(int j, int bit) {
      double maxAbs = 0;
      for (int v = 0; v < vCount; v++) {
        maxAbs = Math.max(maxAbs, Math.abs(z[v * width + j]));
      }
      double eps = TAU * Math.max(1, maxAbs);
      for (int v = 0; v < vCount; v++) {
        double val = z[v * width + j];
        sign[v] = val > eps ? (byte) 1 : val < -eps ? (byte) -1 : (byte) 0;
      }
      splits.clear();
      int faceCountAtStart = fCount;
      int wordIndex = bit >>> 6;
      long mask = 1L << (bit & 63);
      for (int f = 0; f < faceCountAtStart; f++) {
        int[] c = faces[f];
        int m = c.length;
        boolean pos = false;
        boolean neg = false;
        for (int k = 0; k < m; k++) {
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
          int a = c[k];
          int b = c[k + 1 == m ? 0 : k + 1];
          scratch[mm++] = a;
          if (sign[a] * sign[b] < 0) {
            scratch[mm++] = splitEdge(a, b, j);
          }
        }
        cut(f, mm, wordIndex, mask, j);
        if (fCount > maxRegions) {
          overflow = true;
          return;
        }
      }
    }

    /** The vertex where neuron {@code j} crosses zero on edge {@code (a,b)}, created once and shared by both faces. */
    private int splitEdge(int a, int b, int j) {
      long key = EdgeMap.key(a, b);
      int w = splits.get(key);
      if (w >= 0) {
        return w;
      }
      double za = z[a * width + j];
      double zb = z[b * width + j];
      double t = za / (za - zb);
      t = Math.min(1 - 1e-12, Math.max(1e-12, t));
      w = vCount;
      ensureVertices(vCount + 1);
      vCount++;
      px[w] = px[a] + t * (px[b] - px[a]);
      py[w] = py[a] + t * (py[b] - py[a]);
      int ra = a * width;
      int rb = b * width;
      int rw = w * width;
      for (int q = 0; q < width; q++) {
        z[rw + q] = z[ra + q] + t * (z[rb + q] - z[ra + q]);
      }
      z[rw + j] = 0; // exact zero on the new vertex (regions.md §3.4 rule 4)
      sign[w] = 0;
      splits.put(key, w);
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
        faces[f] = Arrays.copyOf(c, mm);
        double mean = 0;
        for (int k = 0; k < mm; k++) {
          mean += z[c[k] * width + j];
        }
        if (mean > 0) {
          patterns[f * words + wordIndex] |= mask;
        }
        return;
      }
      int[] plus = arc(c, mm, c2, c1);
      int[] minus = arc(c, mm, c1, c2);
      int g = fCount;
      ensureFaces(fCount + 1);
      fCount++;
      faces[f] = plus;
      faces[g] = minus;
      System.arraycopy(patterns, f * words, patterns, g * words, words);
      patterns[f * words + wordIndex] |= mask;
      patterns[g * words + wordIndex] &= ~mask;
    }

    /** Cycle positions {@code from..to} inclusive, walking forward. */
    private static int[] arc(int[] c, int mm, int from, int to) {
      int len = (to - from + mm) % mm + 1;
      int[] out = new int[len];
      for (int k = 0; k < len; k++) {
        out[k] = c[(from + k) % mm];
      }
      return out;
    }

    private void ensureVertices(int needed) {
      if (needed <= px.length && (z == null || needed * width <= z.length)) {
        return;
      }
      int cap = Math.max(needed, px.length + px.length / 2 + 16);
      px = Arrays.copyOf(px, cap);
      py = Arrays.copyOf(py, cap);
      sign = Arrays.copyOf(sign, cap);
      if (z != null && z.length < cap * width) {
        z = Arrays.copyOf(z, cap * width);
        ws.values = z;
      }
    }

    private void ensureFaces(int needed) {
      if (needed <= faces.length) {
        return;
      }
      int cap = Math.max(needed, faces.length + faces.length / 2 + 16);
      faces = Arrays.copyOf(faces, cap);
      patterns = Arrays.copyOf(patterns, cap * words);
    }
  }
}
