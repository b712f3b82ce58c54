package org.splinewatch.regions;

/**
 * The dense product in plain Java, blocked for the cache: rows are taken {@value #ROW_BLOCK} at a time, and for each
 * block the inputs are walked in slices whose rows of {@code W} (about 128 KiB) stay in the L2 cache while every row of
 * the block uses them, instead of streaming all of {@code W} from the L3 cache or memory once per row (a 512×512
 * {@code W} is 2 MiB, and the plain loop was bound by that stream). Every output is still
 * {@code b_j + Σ_k x_k·W_kj} summed in ascending {@code k}, so the values are bit-for-bit those of the plain
 * row-by-row loop. The fallback where the Vector API is absent, and that kernel's oracle in the tests.
 */
final class ScalarDenseKernel implements DenseKernel {
  /** Rows per block. */
  static final int ROW_BLOCK = 32;
  /** Bytes of {@code W} per slice of inputs. */
  private static final int SLICE_BYTES = 128 << 10;

  @Override
  public void apply(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int rows) {
    applyRows(inDim, outDim, w, b, in, out, 0, rows);
  }

  /** Rows {@code from..to} of {@link #apply} (the others untouched). */
  void applyRows(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int from, int to) {
    int slice = Math.max(4, SLICE_BYTES / 8 / outDim);
    for (int r0 = from; r0 < to; r0 += ROW_BLOCK) {
      int r1 = Math.min(to, r0 + ROW_BLOCK);
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

  @Override
  public String toString() {
    return "scalar";
  }
}
