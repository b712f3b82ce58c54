package org.splinewatch.regions;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * An exact oracle for the regions of a small dense ReLU MLP ({@link BruteForce.Mlp}) on the chart
 * {@code x(a,b) = o + a·u + b·v}, {@code (a,b) ∈ [−1,1]²}, computed in rational arithmetic with no tolerance: the
 * float32 weights and biases and the double origin and directions are binary fractions, held exactly as
 * {@link BigDecimal}s, so every face's affine pre-activations are exact; its corners are rational points, held as
 * integer homogeneous coordinates {@code (X, Y, W)}, {@code W > 0}, reduced by their gcd.
 *
 * <p>Layer by layer, neuron by neuron: a face (convex polygon) on which the neuron's exact affine value takes both
 * signs at its corners is cut along its zero line into two faces, one with the neuron's bit set; a face on which it
 * is {@code ≥ 0} with some corner {@code > 0} gets the bit, otherwise (all {@code ≤ 0}, or zero on the whole face) not
 * (regions.md §1.2: bit {@code [z > 0]}; regions are the faces of positive area). Each face is one region: its
 * pattern is constant inside it, and the pattern's set is convex, so no two faces share one. Nothing is shared
 * between faces, so no T-junction or degenerate vertex needs care; the cost is a few BigDecimal products per corner
 * and neuron, and {@code n_l·n_(l+1)} per face and layer for the next layer's maps.
 *
 * <p>The engine works in orthonormal plane coordinates computed in floating point ({@link Plane#explicit}): that
 * chart differs from this one by rounding of about 1e-16 of the plane's extent, far below the engine's zero
 * tolerance, and the region count does not depend on the chart.
 */
final class RationalPartition {
  /** A convex face: corners counter-clockwise, the pattern so far, the current layer's pre-activations. */
  static final class Face {
    final BigInteger[][] corners; // {X, Y, W} each, W > 0: the point (X/W, Y/W) in chart coordinates (a, b)
    final BitSet pattern; // hidden neurons in layer-major order, as Partition's bits
    BigDecimal[][] pre; // per neuron of the current layer: {∂/∂a, ∂/∂b, constant}, exact

    Face(BigInteger[][] corners, BitSet pattern, BigDecimal[][] pre) {
      this.corners = corners;
      this.pattern = pattern;
      this.pre = pre;
    }

    /**
     * The face's area and its width {@code 2·area / perimeter} (the inradius of a regular shape; for a sliver its
     * thickness, half of it) in chart units ({@code (a,b) ∈ [−1,1]²}: extent 2), to 20 significant digits.
     */
    double[] areaAndWidth() {
      java.math.MathContext mc = new java.math.MathContext(40);
      int m = corners.length;
      BigDecimal[] x = new BigDecimal[m];
      BigDecimal[] y = new BigDecimal[m];
      for (int k = 0; k < m; k++) {
        BigDecimal w = new BigDecimal(corners[k][2]);
        x[k] = new BigDecimal(corners[k][0]).divide(w, mc);
        y[k] = new BigDecimal(corners[k][1]).divide(w, mc);
      }
      BigDecimal twice = BigDecimal.ZERO;
      double perimeter = 0;
      for (int k = 0; k < m; k++) {
        int n = (k + 1) % m;
        twice = twice.add(x[k].multiply(y[n], mc).subtract(x[n].multiply(y[k], mc), mc), mc);
        perimeter += Math.hypot(x[n].subtract(x[k], mc).doubleValue(), y[n].subtract(y[k], mc).doubleValue());
      }
      double area = twice.doubleValue() / 2;
      return new double[] {area, 2 * area / perimeter};
    }

    /** The corners as doubles {@code a0, b0, a1, b1, …} (rounded; for areas and pictures only). */
    double[] approximateCorners() {
      double[] xy = new double[2 * corners.length];
      for (int k = 0; k < corners.length; k++) {
        BigDecimal w = new BigDecimal(corners[k][2]);
        xy[2 * k] = new BigDecimal(corners[k][0]).divide(w, java.math.MathContext.DECIMAL64).doubleValue();
        xy[2 * k + 1] = new BigDecimal(corners[k][1]).divide(w, java.math.MathContext.DECIMAL64).doubleValue();
      }
      return xy;
    }
  }

  /** The faces after each hidden layer and their counts. */
  record Result(long[] regionsAfterLayer, List<List<Face>> facesAfterLayer) {
    List<Face> faces() {
      return facesAfterLayer.get(facesAfterLayer.size() - 1);
    }
  }

  /** Regions after each hidden layer of {@code c}'s network on its plane. */
  static long[] regionsAfterLayer(DegenerateNets.Case c) {
    return compute(c.mlp(), c.origin(), c.u(), c.v()).regionsAfterLayer();
  }

  /** The exact partition of {@code mlp}'s hidden layers on the chart {@code o + a·u + b·v}, {@code (a,b) ∈ [−1,1]²}. */
  static Result compute(BruteForce.Mlp mlp, double[] origin, double[] u, double[] v) {
    return compute(mlp, origin, u, v, new double[] {-1, -1, 1, -1, 1, 1, -1, 1});
  }

  /**
   * The exact partition on the chart {@code o + a·u + b·v} over the convex polygon {@code domain}
   * ({@code a0, b0, a1, b1, …} counter-clockwise, each corner exact as the double it is).
   */
  static Result compute(BruteForce.Mlp mlp, double[] origin, double[] u, double[] v, double[] domain) {
    int[] widths = mlp.widths();
    int d = widths[0];
    if (origin.length != d || u.length != d || v.length != d) {
      throw new IllegalArgumentException("plane of dimension " + origin.length + " for " + d + " inputs");
    }
    int hiddenLayers = widths.length - 2;
    // first layer: z_j(a, b) = b_j + Σ_i W_ij·(o_i + a·u_i + b·v_i)
    int n1 = widths[1];
    BigDecimal[][] first = new BigDecimal[n1][];
    for (int j = 0; j < n1; j++) {
      BigDecimal da = BigDecimal.ZERO;
      BigDecimal db = BigDecimal.ZERO;
      BigDecimal c0 = exact(mlp.b()[0][j]);
      for (int i = 0; i < d; i++) {
        BigDecimal w = exact(mlp.w()[0][i * n1 + j]);
        da = da.add(w.multiply(exact(u[i])));
        db = db.add(w.multiply(exact(v[i])));
        c0 = c0.add(w.multiply(exact(origin[i])));
      }
      first[j] = new BigDecimal[] {da, db, c0};
    }
    List<Face> faces = new ArrayList<>();
    BigInteger[][] corners = new BigInteger[domain.length / 2][];
    for (int k = 0; k < corners.length; k++) {
      corners[k] = point(domain[2 * k], domain[2 * k + 1]);
    }
    faces.add(new Face(corners, new BitSet(), first));
    List<List<Face>> after = new ArrayList<>();
    long[] counts = new long[hiddenLayers];
    int bit = 0;
    for (int l = 0; l < hiddenLayers; l++) {
      int n = widths[l + 1];
      if (l > 0) {
        for (Face f : faces) {
          f.pre = nextPre(mlp, l, f.pre, f.pattern, bit - widths[l]);
        }
      }
      for (int j = 0; j < n; j++, bit++) {
        List<Face> next = new ArrayList<>(faces.size() + 8);
        for (Face f : faces) {
          cut(f, j, bit, next);
        }
        faces = next;
      }
      counts[l] = faces.size();
      List<Face> snapshot = new ArrayList<>(faces.size()); // later layers set bits in these faces' patterns
      for (Face f : faces) {
        snapshot.add(new Face(f.corners, (BitSet) f.pattern.clone(), f.pre));
      }
      after.add(snapshot);
    }
    return new Result(counts, after);
  }

  /** Layer {@code l}'s pre-activations on a face from layer {@code l − 1}'s and its bits from {@code firstBit}. */
  private static BigDecimal[][] nextPre(BruteForce.Mlp mlp, int l, BigDecimal[][] pre, BitSet pattern, int firstBit) {
    int in = mlp.widths()[l];
    int out = mlp.widths()[l + 1];
    float[] w = mlp.w()[l];
    BigDecimal[][] z = new BigDecimal[out][];
    for (int j = 0; j < out; j++) {
      BigDecimal da = BigDecimal.ZERO;
      BigDecimal db = BigDecimal.ZERO;
      BigDecimal c0 = exact(mlp.b()[l][j]);
      for (int k = 0; k < in; k++) {
        float wkj = w[k * out + j];
        if (wkj == 0 || !pattern.get(firstBit + k)) { // ReLU: an inactive neuron contributes nothing here
          continue;
        }
        BigDecimal wk = exact(wkj);
        da = da.add(wk.multiply(pre[k][0]));
        db = db.add(wk.multiply(pre[k][1]));
        c0 = c0.add(wk.multiply(pre[k][2]));
      }
      z[j] = new BigDecimal[] {da, db, c0};
    }
    return z;
  }

  /** Cuts {@code f} by neuron {@code j}'s zero line (pattern bit {@code bit}) and adds the result to {@code into}. */
  private static void cut(Face f, int j, int bit, List<Face> into) {
    BigDecimal[] line = f.pre[j];
    int m = f.corners.length;
    BigDecimal[] value = new BigDecimal[m]; // W·z at each corner: the sign of z
    int[] sign = new int[m];
    boolean positive = false;
    boolean negative = false;
    for (int k = 0; k < m; k++) {
      value[k] = homogeneousValue(line, f.corners[k]);
      sign[k] = value[k].signum();
      positive |= sign[k] > 0;
      negative |= sign[k] < 0;
    }
    if (!(positive && negative)) {
      if (positive) {
        f.pattern.set(bit);
      }
      into.add(f);
      return;
    }
    List<BigInteger[]> plus = new ArrayList<>(m + 2);
    List<BigInteger[]> minus = new ArrayList<>(m + 2);
    for (int k = 0; k < m; k++) {
      int n = (k + 1) % m;
      if (sign[k] >= 0) {
        plus.add(f.corners[k]);
      }
      if (sign[k] <= 0) {
        minus.add(f.corners[k]);
      }
      if (sign[k] * sign[n] < 0) {
        BigInteger[] zero = crossing(f.corners[k], value[k], f.corners[n], value[n]);
        plus.add(zero);
        minus.add(zero);
      }
    }
    BitSet on = (BitSet) f.pattern.clone();
    on.set(bit);
    into.add(new Face(plus.toArray(new BigInteger[0][]), on, f.pre));
    into.add(new Face(minus.toArray(new BigInteger[0][]), f.pattern, f.pre));
  }

  /** {@code W·z(X/W, Y/W)} for the affine {@code z = {∂a, ∂b, c}}: the sign of {@code z} at the point, exactly. */
  static BigDecimal homogeneousValue(BigDecimal[] z, BigInteger[] p) {
    return z[0].multiply(new BigDecimal(p[0])).add(z[1].multiply(new BigDecimal(p[1])))
        .add(z[2].multiply(new BigDecimal(p[2])));
  }

  /**
   * The zero of an affine function on the segment from {@code p} to {@code q}, where its homogeneous values
   * {@code zp} and {@code zq} have strictly opposite signs: {@code zp·q − zq·p} (its value there is
   * {@code zp·zq − zq·zp = 0}), with the sign of {@code zp} so that its {@code W > 0}, reduced.
   */
  private static BigInteger[] crossing(BigInteger[] p, BigDecimal zp, BigInteger[] q, BigDecimal zq) {
    BigDecimal[] r = new BigDecimal[3];
    for (int i = 0; i < 3; i++) {
      r[i] = zp.multiply(new BigDecimal(q[i])).subtract(zq.multiply(new BigDecimal(p[i])));
      if (zp.signum() < 0) {
        r[i] = r[i].negate();
      }
    }
    int scale = Math.max(r[0].scale(), Math.max(r[1].scale(), r[2].scale()));
    BigInteger[] xyw = new BigInteger[3];
    for (int i = 0; i < 3; i++) {
      xyw[i] = r[i].setScale(scale).unscaledValue(); // exact: the scale only grows
    }
    return reduced(xyw);
  }

  private static BigInteger[] reduced(BigInteger[] xyw) {
    BigInteger g = xyw[0].gcd(xyw[1]).gcd(xyw[2]);
    if (g.signum() == 0 || g.equals(BigInteger.ONE)) {
      return xyw;
    }
    return new BigInteger[] {xyw[0].divide(g), xyw[1].divide(g), xyw[2].divide(g)};
  }

  /** The point {@code (x, y)} exactly, in reduced homogeneous integer coordinates. */
  private static BigInteger[] point(double x, double y) {
    BigDecimal bx = exact(x);
    BigDecimal by = exact(y);
    int scale = Math.max(0, Math.max(bx.scale(), by.scale()));
    return reduced(new BigInteger[] {bx.setScale(scale).unscaledValue(), by.setScale(scale).unscaledValue(),
        BigInteger.TEN.pow(scale)});
  }

  /** The exact value of a double (a binary fraction); float arguments widen to double exactly. */
  static BigDecimal exact(double x) {
    return x == 0 ? BigDecimal.ZERO : new BigDecimal(x);
  }

  private RationalPartition() {
  }
}
