package org.splinewatch.regions;

/**
 * The top-1 decision boundary of a classifier head on a partition (regions.md §3.3). Logits are affine inside each
 * face, so the cell of class {@code k} is the face clipped by the half-planes {@code y_k − y_i ≥ 0}; clipping uses
 * the logits stored at the face's vertices, interpolated along clipped edges (exact for affine functions). A
 * single-logit binary head is read as the two logits {@code (0, y)}: its boundary is the zero set of {@code y}
 * (regions.md §3.3), class 0 where {@code y < 0} and class 1 where {@code y ≥ 0}.
 *
 * @param length     {@code L_dec = Σ_f (Σ_k perimeter(cell_fk) − perimeter(f)) / 2}
 * @param classAreas {@code A_k = Σ_f area(cell_fk)}
 */
record DecisionBoundary(double length, double[] classAreas) {

  static DecisionBoundary of(Partition p) {
    int classes = classes(p);
    double[] areas = new double[classes];
    double[] length = {0};
    double[] cellPerimeters = {0};
    double tie = tieTolerance(p);
    forEachFace(p, (face, facePerimeter) -> {
      cellPerimeters[0] = 0;
      forEachCell(face, classes, tie, (cls, cell) -> {
        areas[cls] += Math.abs(Plane.polygonArea(cell.interleaved()));
        cellPerimeters[0] += perimeter(cell.x, cell.y, cell.n);
      });
      length[0] += (cellPerimeters[0] - facePerimeter) / 2;
    });
    return new DecisionBoundary(Math.max(0, length[0]), areas);
  }

  /**
   * The decision boundary as segments {@code x0,y0,x1,y1,...} in plane coordinates: the edges of each class cell
   * along which the class ties with another one (found at the edge midpoint, where the logits are the mean of the
   * endpoints' logits), each segment once.
   */
  static double[] segments(Partition p) {
    int classes = classes(p);
    double[][] out = {new double[64]};
    int[] n = {0};
    double tie = tieTolerance(p);
    forEachFace(p, (face, facePerimeter) -> forEachCell(face, classes, tie, (cls, cell) -> {
      for (int k = 0; k < cell.n; k++) {
        int j = (k + 1) % cell.n;
        double scale = 0;
        double best = Double.NEGATIVE_INFINITY;
        int bestOther = -1;
        double mine = (cell.v[k * classes + cls] + cell.v[j * classes + cls]) / 2;
        for (int q = 0; q < classes; q++) {
          double mid = (cell.v[k * classes + q] + cell.v[j * classes + q]) / 2;
          scale = Math.max(scale, Math.abs(mid));
          if (q != cls && mid > best) {
            best = mid;
            bestOther = q;
          }
        }
        if (bestOther > cls && mine - best <= 1e-9 * Math.max(1, scale)) {
          if (n[0] + 4 > out[0].length) {
            out[0] = java.util.Arrays.copyOf(out[0], 2 * out[0].length);
          }
          out[0][n[0]++] = cell.x[k];
          out[0][n[0]++] = cell.y[k];
          out[0][n[0]++] = cell.x[j];
          out[0][n[0]++] = cell.y[j];
        }
      }
    }));
    return java.util.Arrays.copyOf(out[0], n[0]);
  }

  /** Whether the partition carries a head whose decision boundary is defined: one logit or more (regions.md §3.3). */
  static boolean defined(Partition p) {
    return p.outputs() != null && p.outputDim() >= 1;
  }

  /** The classes of the head: its outputs, or two for a single logit (read as {@code (0, y)}). */
  private static int classes(Partition p) {
    return p.outputDim() == 1 ? 2 : p.outputDim();
  }

  /**
   * The tie-break shift {@code δ} of {@link #forEachCell}: {@code 1e-9} of the largest logit on the plane, the drift
   * allowed to interpolated vertex values (regions.md §3.4 rule 7). Equal logits interpolated along an edge from
   * larger ones differ by rounding of that size (2e-16 next to logits of 8), not by rounding of their own size.
   */
  private static double tieTolerance(Partition p) {
    double max = 0;
    for (double y : p.outputs()) {
      max = Math.max(max, Math.abs(y));
    }
    return Math.max(1e-9 * max, Double.MIN_NORMAL); // positive when every logit is 0, to break that tie too
  }

  private interface FaceVisitor {
    void visit(Poly face, double facePerimeter);
  }

  private interface CellVisitor {
    void visit(int cls, Poly cell);
  }

  /** Each face as a polygon carrying the head's outputs at its vertices. */
  private static void forEachFace(Partition p, FaceVisitor visitor) {
    int outputs = p.outputDim();
    int classes = classes(p);
    double[] y = p.outputs();
    int[] c = p.faceCycles();
    for (int f = 0; f < p.regionCount(); f++) {
      int s = p.faceStart(f);
      int m = p.faceLength(f);
      double[] xs = new double[m];
      double[] ys = new double[m];
      double[] vals = new double[m * classes];
      for (int k = 0; k < m; k++) {
        int v = c[s + k];
        xs[k] = p.vertexX(v);
        ys[k] = p.vertexY(v);
        if (outputs == 1) {
          vals[k * 2 + 1] = y[v]; // the logits (0, y)
        } else {
          System.arraycopy(y, v * classes, vals, k * classes, classes);
        }
      }
      visitor.visit(new Poly(xs, ys, vals, m, classes), perimeter(xs, ys, m));
    }
  }

  /**
   * The non-empty cell of each class inside a face: the face clipped by {@code y_cls − cls·δ ≥ y_other − other·δ} for
   * every other, with {@code δ = tie}. Where two classes tie on a whole cell (equal logits: a face whose last hidden
   * layer is all off when the head's biases are equal, as at initialisation, or two equal head rows) the lower class
   * takes it, as argmax does; the closed half-planes {@code y_cls ≥ y_other} alone gave the cell to both, so class
   * areas summed to more than the domain. Being the exact argmax of the shifted logits, the cells still cover each
   * face once; {@code δ} moves a boundary between logits that do differ by {@code δ / |∇(y_cls − y_other)|}.
   */
  private static void forEachCell(Poly face, int classes, double tie, CellVisitor visitor) {
    for (int cls = 0; cls < classes; cls++) {
      Poly cell = face;
      for (int other = 0; other < classes && cell.n > 0; other++) {
        if (other != cls) {
          cell = cell.clip(cls, other, (cls - other) * tie);
        }
      }
      if (cell.n >= 3) {
        visitor.visit(cls, cell);
      }
    }
  }

  private static double perimeter(double[] x, double[] y, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) {
      int j = (k + 1) % n;
      s += Math.hypot(x[j] - x[k], y[j] - y[k]);
    }
    return s;
  }

  /** A convex polygon carrying the head's outputs at its vertices. */
  private static final class Poly {
    final double[] x;
    final double[] y;
    final double[] v;
    final int n;
    final int dim;

    Poly(double[] x, double[] y, double[] v, int n, int dim) {
      this.x = x;
      this.y = y;
      this.v = v;
      this.n = n;
      this.dim = dim;
    }

    /** Sutherland–Hodgman clip by {@code v[keep] − v[other] − shift ≥ 0}. */
    Poly clip(int keep, int other, double shift) {
      double[] nx = new double[2 * n + 2];
      double[] ny = new double[2 * n + 2];
      double[] nv = new double[(2 * n + 2) * dim];
      int out = 0;
      for (int k = 0; k < n; k++) {
        int j = (k + 1) % n;
        double gk = v[k * dim + keep] - v[k * dim + other] - shift;
        double gj = v[j * dim + keep] - v[j * dim + other] - shift;
        if (gk >= 0) {
          copy(k, nx, ny, nv, out++);
        }
        if ((gk > 0 && gj < 0) || (gk < 0 && gj > 0)) {
          double t = gk / (gk - gj);
          nx[out] = x[k] + t * (x[j] - x[k]);
          ny[out] = y[k] + t * (y[j] - y[k]);
          for (int q = 0; q < dim; q++) {
            nv[out * dim + q] = v[k * dim + q] + t * (v[j * dim + q] - v[k * dim + q]);
          }
          out++;
        }
      }
      return new Poly(nx, ny, nv, out, dim);
    }

    private void copy(int k, double[] nx, double[] ny, double[] nv, int at) {
      nx[at] = x[k];
      ny[at] = y[k];
      System.arraycopy(v, k * dim, nv, at * dim, dim);
    }

    double[] interleaved() {
      double[] xy = new double[2 * n];
      for (int k = 0; k < n; k++) {
        xy[2 * k] = x[k];
        xy[2 * k + 1] = y[k];
      }
      return xy;
    }
  }
}
