package org.splinewatch.regions;

import java.util.Random;

/** Random small MLPs on 2D or higher-dimensional inputs with the degeneracies the region engine must survive. */
final class DegenerateNets {
  /** A network, its plane (origin, u, v), and what was done to it (for messages). */
  record Case(BruteForce.Mlp mlp, double[] origin, double[] u, double[] v, String description) {
    Plane plane() {
      return Plane.explicit(origin, u, v);
    }
  }

  static Case random(long seed) {
    return random(seed, true);
  }

  /** As {@link #random(long)}; without {@code tinyScales} no layer or plane is scaled below 1. */
  static Case random(long seed, boolean tinyScales) {
    Random r = new Random(seed);
    StringBuilder what = new StringBuilder("seed " + seed + ":");
    int d = r.nextInt(4) == 0 ? 3 + r.nextInt(4) : 2;
    int depth = 1 + r.nextInt(4);
    int[] widths = new int[depth + 2];
    widths[0] = d;
    for (int i = 1; i <= depth; i++) {
      widths[i] = 1 + r.nextInt(10);
    }
    widths[depth + 1] = 1 + r.nextInt(3);
    what.append(" widths ").append(java.util.Arrays.toString(widths));
    double[] origin = new double[d];
    double[] u = new double[d];
    double[] v = new double[d];
    if (d == 2 && r.nextBoolean()) {
      u[0] = 1;
      v[1] = 1;
    } else {
      for (int i = 0; i < d; i++) {
        origin[i] = r.nextInt(3) == 0 ? 0 : r.nextGaussian();
        u[i] = r.nextGaussian();
        v[i] = r.nextGaussian();
      }
    }
    double planeScale = switch (r.nextInt(8)) {
      case 0 -> tinyScales ? 1e-6 : 1;
      case 1 -> 1e6;
      default -> 1;
    };
    for (int i = 0; i < d; i++) {
      u[i] *= planeScale;
      v[i] *= planeScale;
    }
    what.append(" plane scale ").append(planeScale);
    float[][] w = new float[depth + 1][];
    float[][] b = new float[depth + 1][];
    for (int l = 0; l <= depth; l++) {
      int in = widths[l];
      int out = widths[l + 1];
      w[l] = new float[in * out];
      b[l] = new float[out];
      double std = Math.sqrt(2.0 / in);
      for (int k = 0; k < in * out; k++) {
        w[l][k] = (float) (r.nextGaussian() * std);
      }
      int biasMode = r.nextInt(5);
      for (int j = 0; j < out; j++) {
        b[l][j] = switch (biasMode) {
          case 0 -> 0f;
          case 1 -> (float) (r.nextGaussian() * 0.01);
          default -> (float) (r.nextGaussian() * 0.5);
        };
      }
      if (l == depth) {
        break;
      }
      what.append(" L").append(l).append(":bias").append(biasMode);
      // degeneracies of hidden neurons
      for (int j = 0; j < out; j++) {
        int kind = r.nextInt(14);
        int src = r.nextInt(out);
        switch (kind) {
          case 0 -> { // identically zero neuron
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = 0;
            }
            b[l][j] = 0;
            what.append(" zero").append(j);
          }
          case 1 -> { // duplicate
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = w[l][k * out + src];
            }
            b[l][j] = b[l][src];
            what.append(" dup").append(j).append('=').append(src);
          }
          case 2 -> { // negated duplicate: the same zero set, opposite side
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = -w[l][k * out + src];
            }
            b[l][j] = -b[l][src];
            what.append(" neg").append(j).append('=').append(src);
          }
          case 3 -> { // parallel, other offset
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = 2 * w[l][k * out + src];
            }
            b[l][j] = b[l][src] + 0.25f;
            what.append(" par").append(j).append('=').append(src);
          }
          case 4 -> { // dead: constant negative
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = 0;
            }
            b[l][j] = -1;
            what.append(" dead").append(j);
          }
          case 5 -> { // constant positive
            for (int k = 0; k < in; k++) {
              w[l][k * out + j] = 0;
            }
            b[l][j] = 1;
            what.append(" on").append(j);
          }
          case 6 -> { // through a domain corner (first layer, 2D square plane only: exact in float)
            if (l == 0 && d == 2 && u[0] == 1 && v[1] == 1 && origin[0] == 0 && origin[1] == 0) {
              float cx = r.nextBoolean() ? 1 : -1;
              float cy = r.nextBoolean() ? 1 : -1;
              float wx = (float) r.nextInt(5) - 2;
              float wy = (float) r.nextInt(5) - 2;
              w[l][j] = wx;
              w[l][out + j] = wy;
              b[l][j] = -(wx * cx + wy * cy);
              what.append(" corner").append(j);
            }
          }
          case 7 -> { // axis-parallel line through an edge's midpoint or a boundary-hugging offset
            if (l == 0 && d == 2) {
              w[l][j] = r.nextBoolean() ? 1 : 0;
              w[l][out + j] = w[l][j] == 0 ? 1 : 0;
              b[l][j] = switch (r.nextInt(3)) {
                case 0 -> 0f;
                case 1 -> 1f; // along the boundary x = -1 or y = -1
                default -> (float) (1 - 1e-6);
              };
              what.append(" axis").append(j);
            }
          }
          default -> {
          }
        }
      }
      if (r.nextInt(10) == 0) { // a dead layer
        for (int j = 0; j < out; j++) {
          for (int k = 0; k < in; k++) {
            w[l][k * out + j] = 0;
          }
          b[l][j] = -0.5f;
        }
        what.append(" deadlayer").append(l);
      }
      int scaleMode = r.nextInt(10);
      double s = switch (scaleMode) {
        case 0 -> tinyScales ? 1e-8 : 1;
        case 1 -> 1e8;
        case 2 -> tinyScales ? 1e-4 : 1e4;
        default -> 1;
      };
      if (s != 1) {
        for (int k = 0; k < w[l].length; k++) {
          w[l][k] = (float) (w[l][k] * s);
        }
        for (int j = 0; j < out; j++) {
          b[l][j] = (float) (b[l][j] * s);
        }
        what.append(" scale").append(l).append('=').append(s);
      }
    }
    return new Case(new BruteForce.Mlp(widths, w, b), origin, u, v, what.toString());
  }

  private DegenerateNets() {
  }
}
