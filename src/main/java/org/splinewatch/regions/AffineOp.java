package org.splinewatch.regions;

/** A compiled affine operator acting on a batch of row vectors (row-major, float64). */
interface AffineOp {
  int inDim();

  int outDim();

  /** {@code out[r] = op(in[r])} for {@code rows} rows; {@code out} has at least {@code rows·outDim} entries. */
  void apply(double[] in, double[] out, int rows);

  static AffineOp dense(int in, int out, double[] w, double[] b) {
    return new DenseOp(in, out, w, b);
  }

  /**
   * {@code y = x·W + b} with {@code W} row-major {@code [in][out]}; zero inputs (dead ReLUs) are skipped.
   *
   * <p>Blocked for the cache: rows are taken {@value #ROW_BLOCK} at a time, and for each block the inputs are walked
   * in slices whose rows of {@code W} (about 128 KiB) stay in the L2 cache while every row of the block uses them,
   * instead of streaming all of {@code W} from the L3 cache or memory once per row (a 512×512 {@code W} is 2 MiB, and
   * the plain loop was bound by that stream). Every output is still {@code b_j + Σ_k x_k·W_kj} summed in ascending
   * {@code k}, so the values are bit-for-bit those of the plain row-by-row loop.
   */
  record DenseOp(int inDim, int outDim, double[] w, double[] b) implements AffineOp {
    /** Rows per block. */
    static final int ROW_BLOCK = 32;
    /** Bytes of {@code W} per slice of inputs. */
    private static final int SLICE_BYTES = 128 << 10;

    @Override
    public void apply(double[] in, double[] out, int rows) {
      int slice = Math.max(4, SLICE_BYTES / 8 / outDim);
      for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
        int r1 = Math.min(rows, r0 + ROW_BLOCK);
        for (int r = r0; r < r1; r++) {
          System.arraycopy(b, 0, out, r * outDim, outDim);
        }
        for (int k0 = 0; k0 < inDim; k0 += slice) {
          int k1 = Math.min(inDim, k0 + slice);
          for (int r = r0; r < r1; r++) {
            int o = r * outDim;
            int i0 = r * inDim;
            for (int k = k0; k < k1; k++) {
              double x = in[i0 + k];
              if (x == 0) {
                continue;
              }
              int wk = k * outDim;
              for (int j = 0; j < outDim; j++) {
                out[o + j] += x * w[wk + j];
              }
            }
          }
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
      int oh = oh();
      int ow = ow();
      int inDim = inDim();
      int outDim = outDim();
      for (int r = 0; r < rows; r++) {
        int ib = r * inDim;
        int ob = r * outDim;
        for (int o = 0; o < oc; o++) {
          for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
              double s = bias[o];
              for (int ci = 0; ci < c; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                  int iy = y * stride + ky - pad;
                  if (iy < 0 || iy >= h) {
                    continue;
                  }
                  for (int kx = 0; kx < kw; kx++) {
                    int ix = x * stride + kx - pad;
                    if (ix < 0 || ix >= w) {
                      continue;
                    }
                    s += weights[((o * c + ci) * kh + ky) * kw + kx] * in[ib + (ci * h + iy) * w + ix];
                  }
                }
              }
              out[ob + (o * oh + y) * ow + x] = s;
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
  }
}
