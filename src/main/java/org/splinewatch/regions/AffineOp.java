package org.splinewatch.regions;

/** A compiled affine operator acting on a batch of row vectors (row-major, float64). */
interface AffineOp {
  int inDim();

  int outDim();

  /** {@code out[r] = op(in[r])} for {@code rows} rows; {@code out} has at least {@code rows·outDim} entries. */
  void apply(double[] in, double[] out, int rows);

  /**
   * One row of the operator with every coefficient and constant replaced by its absolute value: for {@code in ≥ 0}
   * elementwise, {@code out_j} bounds the magnitude of the terms summed into output {@code j} of an input bounded by
   * {@code in} (the scale of its rounding error, regions.md §3.4).
   */
  void applyMagnitude(double[] in, double[] out);

  static AffineOp dense(int in, int out, double[] w, double[] b) {
    return new DenseOp(in, out, w, b);
  }

  /**
   * {@code y = x·W + b} with {@code W} row-major {@code [in][out]}; zero inputs (dead ReLUs) are skipped. The product is
   * {@link DenseKernel#selected()}: the Vector API's where the JVM has it, else the cache-blocked scalar loop; both sum
   * {@code b_j + Σ_k x_k·W_kj} in ascending {@code k}, so the values are bit-for-bit those of the plain row-by-row loop.
   */
  record DenseOp(int inDim, int outDim, double[] w, double[] b) implements AffineOp {
    @Override
    public void apply(double[] in, double[] out, int rows) {
      DenseKernel.selected().apply(inDim, outDim, w, b, in, out, rows);
    }

    @Override
    public void applyMagnitude(double[] in, double[] out) {
      for (int j = 0; j < outDim; j++) {
        out[j] = Math.abs(b[j]);
      }
      for (int k = 0; k < inDim; k++) {
        double h = in[k];
        if (h == 0) {
          continue;
        }
        int row = k * outDim;
        for (int j = 0; j < outDim; j++) {
          out[j] += Math.abs(w[row + j]) * h;
        }
      }
    }
  }

  /** Per-feature {@code y = s ⊙ x + t} (an unfolded BatchNorm). */
  record ScaleShiftOp(double[] scale, double[] shift) implements AffineOp {
    @Override
    public int inDim() {
      return scale.length;
    }

    @Override
    public int outDim() {
      return scale.length;
    }

    @Override
    public void apply(double[] in, double[] out, int rows) {
      int n = scale.length;
      for (int r = 0; r < rows; r++) {
        for (int j = 0; j < n; j++) {
          out[r * n + j] = scale[j] * in[r * n + j] + shift[j];
        }
      }
    }

    @Override
    public void applyMagnitude(double[] in, double[] out) {
      for (int j = 0; j < scale.length; j++) {
        out[j] = Math.abs(scale[j]) * in[j] + Math.abs(shift[j]);
      }
    }
  }

  /** Direct 2D cross-correlation, channel-major layout, zero padding. */
  record ConvOp(int c, int h, int w, int oc, int kh, int kw, int stride, int pad, double[] weights, double[] bias)
      implements AffineOp {
    int oh() {
      return (h + 2 * pad - kh) / stride + 1;
    }

    int ow() {
      return (w + 2 * pad - kw) / stride + 1;
    }

    @Override
    public int inDim() {
      return c * h * w;
    }

    @Override
    public int outDim() {
      return oc * oh() * ow();
    }

    @Override
    public void apply(double[] in, double[] out, int rows) {
      correlate(in, out, rows, false);
    }

    @Override
    public void applyMagnitude(double[] in, double[] out) {
      correlate(in, out, 1, true);
    }

    /**
     * {@code out[o,y,x] = b_o + Σ_{ci,ky,kx} W[o,ci,ky,kx]·in[ci, y·stride+ky−pad, x·stride+kx−pad]} (every
     * coefficient and constant made positive for {@code magnitude}) as one dense product per batch of rows: each
     * output position's inputs, in ascending {@code (ci, ky, kx)} with zeros for the padding, form a row of length
     * {@code c·kh·kw}, multiplied by the weights
     * as a {@code (c·kh·kw) × oc} matrix with {@link DenseKernel#selected()}, which sums {@code b_o} and then the
     * terms in ascending order, as the definition does (zero inputs skipped: the padding and dead ReLUs), so the
     * values are those of the output-at-a-time loop ({@code ConvOpTest}); about three times faster than that loop on
     * the CNN encoder's second convolution (docs/regions-engine.md).
     */
    private void correlate(double[] in, double[] out, int rows, boolean magnitude) {
      int oh = oh();
      int ow = ow();
      int positions = oh * ow;
      int k = c * kh * kw;
      double[] wt = new double[k * oc];
      for (int o = 0; o < oc; o++) {
        for (int kk = 0; kk < k; kk++) {
          wt[kk * oc + o] = magnitude ? Math.abs(weights[o * k + kk]) : weights[o * k + kk];
        }
      }
      int inDim = inDim();
      int outDim = outDim();
      int batch = Math.max(1, Math.min(rows, (1 << 17) / Math.max(1, positions * k)));
      double[] cols = new double[batch * positions * k];
      double[] prod = new double[batch * positions * oc];
      DenseKernel kernel = DenseKernel.selected();
      double[] b = bias;
      if (magnitude) {
        b = new double[oc];
        for (int o = 0; o < oc; o++) {
          b[o] = Math.abs(bias[o]);
        }
      }
      for (int r0 = 0; r0 < rows; r0 += batch) {
        int nb = Math.min(batch, rows - r0);
        int q = 0;
        for (int r = 0; r < nb; r++) {
          int ib = (r0 + r) * inDim;
          for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
              for (int ci = 0; ci < c; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                  int iy = y * stride + ky - pad;
                  boolean rowInside = iy >= 0 && iy < h;
                  int irow = ib + (ci * h + iy) * w;
                  for (int kx = 0; kx < kw; kx++) {
                    int ix = x * stride + kx - pad;
                    cols[q++] = rowInside && ix >= 0 && ix < w ? in[irow + ix] : 0;
                  }
                }
              }
            }
          }
        }
        kernel.apply(k, oc, wt, b, cols, prod, nb * positions);
        for (int r = 0; r < nb; r++) {
          int ob = (r0 + r) * outDim;
          int pb = r * positions * oc;
          for (int p = 0; p < positions; p++) {
            for (int o = 0; o < oc; o++) {
              out[ob + o * positions + p] = prod[pb + p * oc + o];
            }
          }
        }
      }
    }
  }

  /** Average pooling, channel-major layout. */
  record AvgPoolOp(int c, int h, int w, int k, int stride) implements AffineOp {
    int oh() {
      return (h - k) / stride + 1;
    }

    int ow() {
      return (w - k) / stride + 1;
    }

    @Override
    public int inDim() {
      return c * h * w;
    }

    @Override
    public int outDim() {
      return c * oh() * ow();
    }

    @Override
    public void apply(double[] in, double[] out, int rows) {
      int oh = oh();
      int ow = ow();
      double norm = 1.0 / (k * k);
      for (int r = 0; r < rows; r++) {
        int ib = r * inDim();
        int ob = r * outDim();
        for (int ch = 0; ch < c; ch++) {
          for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
              double s = 0;
              for (int ky = 0; ky < k; ky++) {
                for (int kx = 0; kx < k; kx++) {
                  s += in[ib + (ch * h + y * stride + ky) * w + x * stride + kx];
                }
              }
              out[ob + (ch * oh + y) * ow + x] = s * norm;
            }
          }
        }
      }
    }

    @Override
    public void applyMagnitude(double[] in, double[] out) {
      apply(in, out, 1); // its coefficients are positive and it has no constant
    }
  }
}
