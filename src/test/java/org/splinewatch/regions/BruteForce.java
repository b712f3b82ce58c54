package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * An independent check of a {@link Partition} of an MLP on an explicit plane: its own forward pass in float64 from the
 * float32 weights (not {@link PiecewiseLinearNet}), its own map from {@code (a, b) ∈ [−1,1]²} to the plane coordinates
 * (from the domain corners), and point location by brute force over all faces. {@link #check} returns a description
 * of the first violated property, or null.
 *
 * <p>Properties: no NaN coordinates; every face convex, counter-clockwise, of positive area; face areas summing to the
 * domain area; {@code V − E + F = 1}; distinct patterns; at each point of a jittered grid whose pre-activations are all
 * clear of zero (relative margin), exactly one face contains it (away from edges) and that face's pattern is the
 * point's; the number of distinct clear grid patterns is at most {@code R}.
 */
final class BruteForce {
  /** A dense ReLU MLP: weights row-major {@code [in][out]} per layer; ReLU after every layer but the last. */
  record Mlp(int[] widths, float[][] w, float[][] b) {
    PiecewiseLinearNet net() {
      List<Layer> layers = new ArrayList<>();
      for (int i = 0; i < w.length; i++) {
        layers.add(new Layer.Dense(widths[i], widths[i + 1], w[i], b[i]));
        if (i + 1 < w.length) {
          layers.add(Layer.Activation.relu());
        }
      }
      return new PiecewiseLinearNet(widths[0], layers);
    }

    int hidden() {
      int n = 0;
      for (int i = 1; i + 1 < widths.length; i++) {
        n += widths[i];
      }
      return n;
    }

    /**
     * Pre-activations of every hidden neuron at input {@code x}, with, per neuron, the scale of the terms summed
     * (for a relative zero margin), written into {@code z} and {@code scale}.
     */
    void pre(double[] x, double[] z, double[] scale) {
      double[] h = x;
      double[] hs = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        hs[i] = Math.abs(x[i]);
      }
      int bit = 0;
      for (int l = 0; l + 1 < w.length; l++) {
        int in = widths[l];
        int out = widths[l + 1];
        double[] next = new double[out];
        double[] ns = new double[out];
        for (int j = 0; j < out; j++) {
          double s = b[l][j];
          double sc = Math.abs(b[l][j]);
          for (int k = 0; k < in; k++) {
            s += h[k] * w[l][k * out + j];
            sc += hs[k] * Math.abs(w[l][k * out + j]);
          }
          z[bit] = s;
          scale[bit] = sc;
          bit++;
          next[j] = Math.max(0, s);
          ns[j] = sc;
        }
        h = next;
        hs = ns;
      }
    }
  }

  static String check(Mlp mlp, double[] origin, double[] u, double[] v, Partition p, int grid, long seed) {
    int n = mlp.hidden();
    int faces = p.regionCount();
    if (p.overflow()) {
      return "overflow";
    }
    if (p.inconsistentFaces() != 0) {
      return "inconsistent faces: " + p.inconsistentFaces();
    }
    for (int vv = 0; vv < p.vertexCount(); vv++) {
      if (!Double.isFinite(p.vertexX(vv)) || !Double.isFinite(p.vertexY(vv))) {
        return "vertex " + vv + " is not finite";
      }
    }
    double[] dom = p.plane().domain();
    double domainArea = Math.abs(Plane.polygonArea(dom));
    double scaleLen = Math.sqrt(domainArea);
    double areaSum = 0;
    for (int f = 0; f < faces; f++) {
      int[] c = p.face(f);
      if (c.length < 3) {
        return "face " + f + " has " + c.length + " vertices";
      }
      double a = 0;
      for (int k = 0; k < c.length; k++) {
        int s = c[k];
        int t = c[(k + 1) % c.length];
        a += p.vertexX(s) * p.vertexY(t) - p.vertexX(t) * p.vertexY(s);
        int r = c[(k + 2) % c.length];
        double cross = (p.vertexX(t) - p.vertexX(s)) * (p.vertexY(r) - p.vertexY(t))
            - (p.vertexY(t) - p.vertexY(s)) * (p.vertexX(r) - p.vertexX(t));
        if (cross < -1e-9 * scaleLen * scaleLen) {
          return "face " + f + " is not convex/CCW at vertex " + t + " (cross " + cross + ")";
        }
      }
      a /= 2;
      if (!(a > -1e-15 * domainArea)) { // slivers of shoelace rounding (1e-17 at coordinates of order 1) pass
        return "face " + f + " has area " + a;
      }
      areaSum += a;
    }
    if (!(Math.abs(areaSum - domainArea) <= 1e-9 * domainArea)) {
      return "areas sum to " + areaSum + ", domain " + domainArea;
    }
    if (p.vertexCount() - p.edgeCount() + faces != 1) {
      return "Euler: V " + p.vertexCount() + " E " + p.edgeCount() + " F " + faces;
    }
    Set<String> patterns = new HashSet<>();
    for (int f = 0; f < faces; f++) {
      if (!patterns.add(Arrays.toString(p.pattern(f)))) {
        return "face " + f + " repeats a pattern";
      }
    }
    // plane coordinates of (a, b): domain corners are the images of (-1,-1), (1,-1), (1,1), (-1,1)
    double cs = (dom[0] + dom[4]) / 2;
    double ct = (dom[1] + dom[5]) / 2;
    double us = (dom[2] - dom[0]) / 2;
    double ut = (dom[3] - dom[1]) / 2;
    double vs = (dom[6] - dom[0]) / 2;
    double vt = (dom[7] - dom[1]) / 2;
    Random r = new Random(seed);
    int d = origin.length;
    double[] x = new double[d];
    double[] z = new double[n];
    double[] sc = new double[n];
    Set<String> clear = new HashSet<>();
    for (int i = 0; i < grid; i++) {
      for (int k = 0; k < grid; k++) {
        double a = -1 + (2 * i + 0.5 + r.nextDouble() * 0.5) / grid;
        double bb = -1 + (2 * k + 0.5 + r.nextDouble() * 0.5) / grid;
        for (int q = 0; q < d; q++) {
          x[q] = origin[q] + a * u[q] + bb * v[q];
        }
        mlp.pre(x, z, sc);
        boolean ambiguous = false;
        for (int q = 0; q < n && !ambiguous; q++) {
          ambiguous = Math.abs(z[q]) <= 1e-6 * sc[q] || sc[q] == 0 && z[q] == 0;
        }
        if (ambiguous) {
          continue;
        }
        StringBuilder key = new StringBuilder();
        for (int q = 0; q < n; q++) {
          key.append(z[q] > 0 ? '1' : '0');
        }
        clear.add(key.toString());
        double s = cs + a * us + bb * vs;
        double t = ct + a * ut + bb * vt;
        int found = -1;
        int inside = 0;
        boolean nearEdge = false;
        for (int f = 0; f < faces; f++) {
          int loc = locate(p, p.face(f), s, t, 1e-9 * scaleLen);
          if (loc == 0) {
            nearEdge = true;
          } else if (loc > 0) {
            inside++;
            found = f;
          }
        }
        if (nearEdge) {
          continue;
        }
        if (inside != 1) {
          return "point (" + a + ", " + bb + ") lies in " + inside + " faces";
        }
        for (int q = 0; q < n; q++) {
          if (p.active(found, q) != z[q] > 0) {
            return "point (" + a + ", " + bb + "): neuron " + q + " is " + (z[q] > 0 ? "on" : "off") + " (z = "
                + z[q] + ") but face " + found + " says otherwise";
          }
        }
      }
    }
    if (clear.size() > faces) {
      return "grid found " + clear.size() + " patterns, partition has " + faces + " regions";
    }
    return null;
  }

  /** 1 inside the convex CCW face, −1 outside, 0 within {@code tol} of its boundary. */
  private static int locate(Partition p, int[] c, double s, double t, double tol) {
    boolean onEdge = false;
    for (int k = 0; k < c.length; k++) {
      double x0 = p.vertexX(c[k]);
      double y0 = p.vertexY(c[k]);
      double x1 = p.vertexX(c[(k + 1) % c.length]);
      double y1 = p.vertexY(c[(k + 1) % c.length]);
      double len = Math.hypot(x1 - x0, y1 - y0);
      if (len == 0) {
        continue;
      }
      double dist = ((x1 - x0) * (t - y0) - (y1 - y0) * (s - x0)) / len; // > 0 left of the edge (inside)
      if (dist < -tol) {
        return -1;
      }
      if (dist <= tol) {
        onEdge = true;
      }
    }
    return onEdge ? 0 : 1;
  }

  private BruteForce() {
  }
}
