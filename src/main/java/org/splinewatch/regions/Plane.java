package org.splinewatch.regions;

/**
 * A 2D affine slice of input space, stored as an origin, two orthonormal directions {@code e1, e2} and a convex
 * domain polygon (counter-clockwise) in the orthonormal coordinates {@code (s, t)}, so that areas and lengths are in
 * input units (regions.md §2). Anchors, when the plane was built from data points, are kept in plane coordinates.
 */
public final class Plane {
  private final double[] origin;
  private final double[] e1;
  private final double[] e2;
  private final double[] domain; // x0,y0,x1,y1,... counter-clockwise
  private final double[] anchors; // s0,t0,s1,t1,... (may be empty)

  private Plane(double[] origin, double[] e1, double[] e2, double[] domain, double[] anchors) {
    this.origin = origin;
    this.e1 = e1;
    this.e2 = e2;
    this.domain = domain;
    this.anchors = anchors;
  }

  /**
   * SplineCam's convention (regions.md §2.1): centroid {@code c} of three anchors, {@code e1} towards the first,
   * {@code e2} by Gram–Schmidt of the second, domain {@code |s| + |t| ≤ pad}. {@code pad ≤ 0} selects the
   * splinewatch default {@code 1.5 · max_i(|s_i| + |t_i|)}.
   */
  public static Plane throughAnchors(double[] a1, double[] a2, double[] a3, double pad) {
    int d = a1.length;
    if (a2.length != d || a3.length != d) {
      throw new IllegalArgumentException("anchors differ in dimension: " + a1.length + ", " + a2.length + ", "
          + a3.length);
    }
    double[] c = new double[d];
    for (int i = 0; i < d; i++) {
      c[i] = (a1[i] + a2[i] + a3[i]) / 3;
    }
    double[] r1 = sub(a1, c);
    double[] r2raw = sub(a2, c);
    double spread = Math.max(norm(r1), Math.max(norm(r2raw), norm(sub(a3, c))));
    double n1 = norm(r1);
    if (!(n1 > 1e-8 * spread) || spread == 0) {
      throw new IllegalArgumentException("anchors coincide: cannot span a plane; expected three distinct inputs not on"
          + " one line");
    }
    double[] e1 = scale(r1, 1 / n1);
    double s2 = dot(r2raw, e1);
    double[] r2 = r2raw.clone();
    for (int i = 0; i < d; i++) {
      r2[i] -= s2 * e1[i];
    }
    double n2 = norm(r2);
    if (!(n2 > 1e-8 * spread)) {
      throw new IllegalArgumentException("anchors are collinear: cannot span a plane; expected three inputs not on one"
          + " line");
    }
    double[] e2 = scale(r2, 1 / n2);
    double[] anchors = {n1, 0, s2, n2, -n1 - s2, -n2};
    if (pad <= 0) {
      double m = 0;
      for (int i = 0; i < 3; i++) {
        m = Math.max(m, Math.abs(anchors[2 * i]) + Math.abs(anchors[2 * i + 1]));
      }
      pad = 1.5 * m;
    }
    double[] domain = {pad, 0, 0, pad, -pad, 0, 0, -pad};
    if (!hasArea(pad)) { // a pad of 1e-300 or 1e300: every area 0 or infinite
      throw new IllegalArgumentException("pad " + pad + " gives a domain of area " + 2 * pad * pad + "; expected a"
          + " pad whose domain |s| + |t| <= pad has a positive finite area (2 pad^2)");
    }
    double[][] dirs = {scale(e1, pad), scale(e2, pad)};
    double[][] corners = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    String named = "c ± pad·e1, c ± pad·e2 of pad " + pad;
    String beyond = float32Overflow(c, dirs, corners, named);
    if (beyond != null) {
      throw new IllegalArgumentException(beyond + "; expected a pad of at most " + maxFloat32Pad(c, e1, e2)
          + " for these anchors (the network reads float32 inputs)");
    }
    String vanish = float32Vanish(c, dirs, corners, named);
    if (vanish != null) {
      throw new IllegalArgumentException(vanish + "; expected a larger pad (the network reads float32 inputs)");
    }
    return new Plane(c, e1, e2, domain, anchors);
  }

  /**
   * The explicit chart {@code x(a,b) = o + a·u + b·v} on {@code (a,b) ∈ [−1,1]²} (regions.md §2.2, the benchmark
   * format). {@code u, v} need not be orthonormal; the square becomes a parallelogram in orthonormal coordinates.
   */
  public static Plane explicit(double[] origin, double[] u, double[] v) {
    int d = origin.length;
    if (u.length != d || v.length != d) {
      throw new IllegalArgumentException("plane vectors differ in dimension: origin " + d + ", u " + u.length
          + ", v " + v.length);
    }
    double nu = norm(u);
    if (!(nu > 0)) {
      throw new IllegalArgumentException("plane direction u is zero; expected two directions that span a plane");
    }
    if (!(norm(v) > 0)) { // was reported as "u and v are parallel"
      throw new IllegalArgumentException("plane direction v is zero; expected two directions that span a plane");
    }
    double[] e1 = scale(u, 1 / nu);
    double vu = dot(v, e1);
    double[] r = v.clone();
    for (int i = 0; i < d; i++) {
      r[i] -= vu * e1[i];
    }
    double nr = norm(r);
    if (!(nr > 1e-12 * norm(v))) {
      throw new IllegalArgumentException("plane directions u and v are parallel; expected two directions that span a"
          + " plane");
    }
    double[] e2 = scale(r, 1 / nr);
    // u = (nu, 0), v = (vu, nr) in (e1, e2) coordinates; corners (-1,-1), (1,-1), (1,1), (-1,1) are CCW
    // because det [u v] = nu·nr > 0.
    double[] domain = new double[8];
    double[][] ab = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}};
    String beyond = float32Overflow(origin, new double[][] {u, v}, ab, "origin ± u ± v");
    if (beyond != null) {
      throw new IllegalArgumentException(beyond + "; expected |origin| + |u| + |v| within " + Float.MAX_VALUE
          + " in every coordinate (the network reads float32 inputs)");
    }
    String vanish = float32Vanish(origin, new double[][] {u, v}, ab, "origin ± u ± v");
    if (vanish != null) {
      throw new IllegalArgumentException(vanish + "; expected u or v that move a coordinate by at least half"
          + " its float32 step (the network reads float32 inputs)");
    }
    for (int k = 0; k < 4; k++) {
      domain[2 * k] = ab[k][0] * nu + ab[k][1] * vu;
      domain[2 * k + 1] = ab[k][1] * nr;
    }
    return new Plane(origin.clone(), e1, e2, domain, new double[0]);
  }

  /**
   * This plane with another domain: the same origin and directions, so the same coordinates {@code (s, t)}, on the
   * convex counter-clockwise polygon {@code polygon} (a tile of {@link TiledRegionCount}).
   */
  Plane withDomain(double[] polygon) {
    if (polygon.length < 6 || polygon.length % 2 != 0 || !(polygonArea(polygon) > 0)) {
      throw new IllegalArgumentException("a domain needs at least three counter-clockwise corners of positive area");
    }
    return new Plane(origin, e1, e2, polygon.clone(), anchors);
  }

  /**
   * This plane with its two axes swapped: the mirror image of the same chart, so the same partition mirrored (the
   * same region count). The domain's corners are swapped and reversed, which keeps them counter-clockwise.
   */
  public Plane withAxesSwapped() {
    int k = domain.length / 2;
    double[] swapped = new double[domain.length];
    for (int i = 0; i < k; i++) {
      swapped[2 * i] = domain[2 * (k - 1 - i) + 1];
      swapped[2 * i + 1] = domain[2 * (k - 1 - i)];
    }
    double[] a = new double[anchors.length];
    for (int i = 0; i + 1 < a.length; i += 2) {
      a[i] = anchors[i + 1];
      a[i + 1] = anchors[i];
    }
    return new Plane(origin, e2, e1, swapped, a);
  }

  public int inputDim() {
    return origin.length;
  }

  public double[] origin() {
    return origin.clone();
  }

  public double[] e1() {
    return e1.clone();
  }

  public double[] e2() {
    return e2.clone();
  }

  /** Domain polygon, counter-clockwise, as {@code x0,y0,x1,y1,…}. */
  public double[] domain() {
    return domain.clone();
  }

  /** Anchor positions in plane coordinates as {@code s0,t0,…} (empty for explicit planes). */
  public double[] anchors() {
    return anchors.clone();
  }

  public double domainArea() {
    return polygonArea(domain);
  }

  public double domainPerimeter() {
    double p = 0;
    int m = domain.length / 2;
    for (int k = 0; k < m; k++) {
      int n = (k + 1) % m;
      p += Math.hypot(domain[2 * n] - domain[2 * k], domain[2 * n + 1] - domain[2 * k + 1]);
    }
    return p;
  }

  /** Bounding box of the domain in plane coordinates: {@code {minS, minT, maxS, maxT}}. */
  public double[] domainBounds() {
    double[] b = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
        Double.NEGATIVE_INFINITY};
    for (int k = 0; k < domain.length / 2; k++) {
      b[0] = Math.min(b[0], domain[2 * k]);
      b[1] = Math.min(b[1], domain[2 * k + 1]);
      b[2] = Math.max(b[2], domain[2 * k]);
      b[3] = Math.max(b[3], domain[2 * k + 1]);
    }
    return b;
  }

  /** Input-space points for plane coordinates {@code (s_i, t_i)}, as {@code rows × D} row-major. */
  public double[] toInput(double[] st, int rows) {
    int d = origin.length;
    double[] x = new double[rows * d];
    for (int r = 0; r < rows; r++) {
      double s = st[2 * r];
      double t = st[2 * r + 1];
      for (int i = 0; i < d; i++) {
        x[r * d + i] = origin[i] + s * e1[i] + t * e2[i];
      }
    }
    return x;
  }

  /**
   * The affine chain of {@code block} (the network's first block) at plane points {@code (s_i, t_i)}, without
   * forming input-space points: {@code z(s,t) = F(o) + s·(F(o+e1)−F(o)) + t·(F(o+e2)−F(o))}, which is exact because
   * the chain is affine. Cost {@code rows·n} instead of {@code rows·D·n}. Written into {@code into} when it holds
   * {@code rows·n} values, else into a new array; returns the array written.
   */
  double[] firstBlockAffine(PiecewiseLinearNet.Block block, double[] st, int rows, double[] into) {
    return firstBlockAffine(firstBlockCoefficients(block), st, rows, into);
  }

  /** {@link #firstBlockAffine(PiecewiseLinearNet.Block, double[], int, double[])} from its coefficients {@code f}. */
  static double[] firstBlockAffine(double[][] f, double[] st, int rows, double[] into) {
    return firstBlockAffine(f, st, 0, rows, into);
  }

  /** {@link #firstBlockAffine(double[][], double[], int, double[])} of the points from {@code st[offset]} on. */
  static double[] firstBlockAffine(double[][] f, double[] st, int offset, int rows, double[] into) {
    double[] beta = f[0];
    double[] dx = f[1];
    double[] dy = f[2];
    int n = beta.length;
    double[] out = into != null && into.length >= rows * n ? into : new double[rows * n];
    for (int r = 0; r < rows; r++) {
      double s = st[offset + 2 * r];
      double t = st[offset + 2 * r + 1];
      int o = r * n;
      for (int j = 0; j < n; j++) {
        out[o + j] = beta[j] + s * dx[j] + t * dy[j];
      }
    }
    return out;
  }

  /**
   * The first block's affine chain as a function of the plane coordinates: {@code {β, d_s, d_t}} with
   * {@code z_j(s,t) = β_j + s·d_s[j] + t·d_t[j]} ({@link #firstBlockAffine} evaluates exactly this expression).
   */
  double[][] firstBlockCoefficients(PiecewiseLinearNet.Block block) {
    double[] beta = block.affine(origin, 1);
    int n = block.outDim();
    int d = origin.length;
    double[] in = new double[3 * d];
    System.arraycopy(e1, 0, in, 0, d);
    System.arraycopy(e2, 0, in, d, d);
    // third row zero: its image is the bias of the chain; subtracting it removes every bias exactly.
    double[] y = block.affine(in, 3);
    double[] dx = new double[n];
    double[] dy = new double[n];
    for (int j = 0; j < n; j++) {
      dx[j] = y[j] - y[2 * n + j];
      dy[j] = y[n + j] - y[2 * n + j];
    }
    return new double[][] {beta, dx, dy};
  }

  /**
   * Below this share of the plane's extent, a first-layer boundary that misses the plane's centre is finer than the
   * engine resolves well: on planes 1e6 times wider than a network's structure counts begin to fall
   * (regions-engine.md).
   */
  static final double UNRESOLVED_OFFSET = 1e-6;

  /**
   * A warning when two or more of the first hidden layer's boundaries pass the plane's centre closer than
   * {@link #UNRESOLVED_OFFSET} of its extent without passing through it (a plane far wider than the network's
   * structure, e.g. a {@code u} of 1e30: 26 regions for 105, without a word): the engine resolves about 1e-10 of a
   * plane's extent, so regions near the centre merge. Null otherwise, also for boundaries exactly through the centre
   * (no bias on a plane through the input origin), which the engine counts exactly.
   */
  public String unresolvedNearCentre(PiecewiseLinearNet net) {
    PiecewiseLinearNet.Block first = net.blocks().get(0);
    if (!first.hidden()) {
      return null;
    }
    double[][] f = firstBlockCoefficients(first);
    double[] b = domainBounds();
    double extent = Math.max(Math.max(Math.abs(b[0]), Math.abs(b[1])), Math.max(Math.abs(b[2]), Math.abs(b[3])));
    int near = 0;
    double closest = Double.POSITIVE_INFINITY;
    for (int j = 0; j < f[0].length; j++) {
      // z_j = β_j + s·d_s[j] + t·d_t[j]: the boundary's offset from the centre, in shares of the plane's extent
      double across = extent * (Math.abs(f[1][j]) + Math.abs(f[2][j]));
      double offset = Math.abs(f[0][j]) / across;
      if (across > 0 && offset > 0 && offset < UNRESOLVED_OFFSET) {
        near++;
        closest = Math.min(closest, offset);
      }
    }
    if (near < 2) {
      return null;
    }
    return near + " of the first layer's " + f[0].length + " boundaries pass the plane's centre within "
        + String.format(java.util.Locale.ROOT, "%.1e", closest) + " of its extent, finer than the engine resolves"
        + " (about 1e-10 of a plane's extent): regions there merge and the count is low; expected a plane on the"
        + " scale of the network's inputs (smaller u and v, or pad)";
  }

  static double polygonArea(double[] xy) {
    int m = xy.length / 2;
    double a = 0;
    for (int k = 0; k < m; k++) {
      int n = (k + 1) % m;
      a += xy[2 * k] * xy[2 * n + 1] - xy[2 * n] * xy[2 * k + 1];
    }
    return a / 2;
  }

  private static double[] sub(double[] a, double[] b) {
    double[] r = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[i] - b[i];
    }
    return r;
  }

  private static double[] scale(double[] a, double s) {
    double[] r = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[i] * s;
    }
    return r;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double norm(double[] a) {
    return Math.sqrt(dot(a, a));
  }

  /** The domain's corners {@code o + Σ_k w_k·dirs[k]}, one per weight row of {@code weights}, as input points. */
  private static double[][] cornerPoints(double[] o, double[][] dirs, double[][] weights) {
    double[][] points = new double[weights.length][o.length];
    for (int c = 0; c < weights.length; c++) {
      for (int i = 0; i < o.length; i++) {
        double x = o[i];
        for (int k = 0; k < dirs.length; k++) {
          x += weights[c][k] * dirs[k][i];
        }
        points[c][i] = x;
      }
    }
    return points;
  }

  /**
   * Why the domain's corners ({@link #cornerPoints}, named {@code named}) are no float32 inputs, or null: a coordinate
   * beyond float32's range. A u of 1e30 beside a v of 1e30 at an origin of 3e38 reached the engine, which counted a
   * plane no float32 network can be fed.
   */
  static String float32Overflow(double[] o, double[][] dirs, double[][] weights, String named) {
    for (double[] x : cornerPoints(o, dirs, weights)) {
      for (int i = 0; i < x.length; i++) {
        if (!(Math.abs(x[i]) <= Float.MAX_VALUE)) {
          return "plane corner " + named + " reaches " + x[i] + " in input coordinate " + i
              + ", beyond float32's range";
        }
      }
    }
    return null;
  }

  /**
   * Why the domain's corners are one float32 input, or null: every corner rounds to the origin in float32, so a
   * float32 network cannot tell the plane from a point (directions of 1e-3 at an origin of 1e10 were counted as a
   * partition).
   */
  static String float32Vanish(double[] o, double[][] dirs, double[][] weights, String named) {
    for (double[] x : cornerPoints(o, dirs, weights)) {
      for (int i = 0; i < x.length; i++) {
        if ((float) x[i] != (float) o[i]) {
          return null;
        }
      }
    }
    double largest = 0;
    int at = 0;
    for (int i = 0; i < o.length; i++) {
      if (Math.abs(o[i]) > Math.abs(o[at])) {
        at = i;
      }
      for (double[] d : dirs) {
        largest = Math.max(largest, Math.abs(d[i]));
      }
    }
    return "plane corners " + named + " all round to the origin in float32: the largest step of a direction, "
        + (float) largest + ", is below float32's resolution there (its largest coordinate " + (float) o[at]
        + " has a step of " + Math.ulp((float) o[at]) + ")";
  }

  /** The largest pad whose corners {@code c ± pad·e1, c ± pad·e2} stay within float32's range. */
  private static double maxFloat32Pad(double[] c, double[] e1, double[] e2) {
    double most = Double.POSITIVE_INFINITY;
    for (int i = 0; i < c.length; i++) {
      double step = Math.max(Math.abs(e1[i]), Math.abs(e2[i]));
      if (step > 0) {
        most = Math.min(most, (Float.MAX_VALUE - Math.abs(c[i])) / step);
      }
    }
    return most;
  }

  /** Whether the domain {@code |s| + |t| <= pad} has a positive finite area, {@code 2 pad^2}, in doubles. */
  public static boolean hasArea(double pad) {
    double area = 2 * pad * pad;
    return area > 0 && area < Double.POSITIVE_INFINITY;
  }
}
