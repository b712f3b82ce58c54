package org.splinewatch.regions;

import java.util.Arrays;

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
     * {@code out[o,y,x] = b_o + Σ_{ci,ky,kx} W[o,ci,ky,kx]·in[ci, y·stride+ky−pad, x·stride+kx−pad]}, accumulated one
     * weight at a time over all outputs of a channel instead of one output at a time. With stride 1 the input is
     * copied into a zero-padded image and the outputs are computed on rows of the padded width, so that one weight's
     * terms are a single run of consecutive values (a loop the JIT vectorises); the extra columns are dropped. Each
     * output still receives its bias and then its terms in ascending {@code (ci, ky, kx)}, the padding's terms being
     * {@code w·0}, which leave a sum unchanged (a zero sum may change sign), so the values equal those of the
     * output-at-a-time loop ({@code ConvOpTest}); several times faster on the CNN encoder's second convolution.
     */
    private void correlate(double[] in, double[] out, int rows, boolean magnitude) {
      if (stride == 1) {
        correlatePadded(in, out, rows, magnitude);
        return;
      }
      int oh = oh();
      int ow = ow();
      int inDim = inDim();
      int outDim = outDim();
      int plane = oh * ow;
      for (int r = 0; r < rows; r++) {
        int ib = r * inDim;
        int ob = r * outDim;
        for (int o = 0; o < oc; o++) {
          int oo = ob + o * plane;
          Arrays.fill(out, oo, oo + plane, magnitude ? Math.abs(bias[o]) : bias[o]);
          for (int ci = 0; ci < c; ci++) {
            for (int ky = 0; ky < kh; ky++) {
              for (int kx = 0; kx < kw; kx++) {
                double wk = weights[((o * c + ci) * kh + ky) * kw + kx];
                if (magnitude) {
                  wk = Math.abs(wk);
                }
                // the outputs x whose input column x·stride + kx − pad lies in [0, w)
                int xlo = Math.max(0, -Math.floorDiv(kx - pad, stride));
                int xhi = Math.min(ow - 1, Math.floorDiv(w - 1 + pad - kx, stride));
                for (int y = 0; y < oh; y++) {
                  int iy = y * stride + ky - pad;
                  if (iy < 0 || iy >= h) {
                    continue;
                  }
                  int orow = oo + y * ow;
                  int irow = ib + (ci * h + iy) * w + kx - pad;
                  for (int x = xlo; x <= xhi; x++) {
                    out[orow + x] += wk * in[irow + x * stride];
                  }
                }
              }
            }
          }
        }
      }
    }

    /** Stride 1: rows of the padded width {@code pw = w + 2·pad}, as described at {@link #correlate}. */
    private void correlatePadded(double[] in, double[] out, int rows, boolean magnitude) {
      int oh = oh();
      int ow = ow();
      int pw = w + 2 * pad;
      int ph = h + 2 * pad;
      int run = (oh - 1) * pw + ow; // the flat outputs from (0,0) to (oh−1, ow−1) on rows of width pw
      double[] padded = new double[c * ph * pw];
      double[] acc = new double[run];
      int inDim = inDim();
      int outDim = outDim();
      for (int r = 0; r < rows; r++) {
        int ib = r * inDim;
        for (int ci = 0; ci < c; ci++) {
          for (int y = 0; y < h; y++) {
            System.arraycopy(in, ib + (ci * h + y) * w, padded, (ci * ph + y + pad) * pw + pad, w);
          }
        }
        int ob = r * outDim;
        for (int o = 0; o < oc; o++) {
          Arrays.fill(acc, magnitude ? Math.abs(bias[o]) : bias[o]);
          for (int ci = 0; ci < c; ci++) {
            for (int ky = 0; ky < kh; ky++) {
              for (int kx = 0; kx < kw; kx++) {
                double wk = weights[((o * c + ci) * kh + ky) * kw + kx];
                if (magnitude) {
                  wk = Math.abs(wk);
                }
                int base = (ci * ph + ky) * pw + kx;
                for (int i = 0; i < run; i++) {
                  acc[i] += wk * padded[base + i];
                }
              }
            }
          }
          int oo = ob + o * oh * ow;
          for (int y = 0; y < oh; y++) {
            System.arraycopy(acc, y * pw, out, oo + y * ow, ow);
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
