package org.splinewatch.regions;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dense product with the Java Vector API (JDK 17 incubator module {@code jdk.incubator.vector}), register-blocked:
 * for a block of rows, each row's non-zero inputs are listed once; then for each tile of {@value #TILE_VECTORS}
 * vectors of outputs (32 doubles with 512-bit vectors, 16 with 256-bit ones) the tile stays in registers while the
 * row's non-zero inputs are added in ascending {@code k}: one load of {@code W} per vector of terms, instead of the
 * scalar kernel's load, add and store of the outputs for every input. Each term is a rounded multiply then a rounded
 * add (no fused multiply-add), in the same order as {@link ScalarDenseKernel}, so the values are the same bit for bit
 * (the tests compare the two). Outputs past the last whole tile are done one vector, then one value, at a time.
 *
 * <p>Created by name ({@link #createOrNull()}) from {@link DenseKernel#vectorOrNull()} only where the JVM has the
 * module; the launchers start it with {@code --add-modules jdk.incubator.vector}.
 */
final class VectorDenseKernel implements DenseKernel {
  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  /** Vectors of outputs held in registers at once. */
  static final int TILE_VECTORS = 4;
  /** Rows whose non-zero inputs are listed together, so that a tile's columns of {@code W} are reused from cache. */
  private static final int ROW_BLOCK = 32;

  private VectorDenseKernel() {}

  /** The kernel, or {@code null} where the preferred vectors hold fewer than four doubles (no whole tile to gain). */
  static DenseKernel createOrNull() {
    return LANES >= 4 ? new VectorDenseKernel() : null;
  }

  /**
   * Per-thread lists of the non-zero inputs, grown on demand and kept, so that a call allocates nothing: the region
   * engine calls the kernel once per 64-row chunk, and fresh lists would be 12 bytes per input for each of up to 32
   * rows (96 KB for 256 inputs) every time.
   */
  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /** One thread's lists: {@code offsets} holds {@code k·outDim} of each non-zero input, per row of the block. */
  private static final class Scratch {
    int[] offsets = new int[0];
    double[] values = new double[0];
    final int[] counts = new int[ROW_BLOCK];
  }

  @Override
  public void apply(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int rows) {
    Scratch scratch = SCRATCH.get();
    int need = Math.min(ROW_BLOCK, rows) * inDim;
    if (scratch.offsets.length < need) {
      scratch.offsets = new int[need];
      scratch.values = new double[need];
    }
    int[] offsets = scratch.offsets;
    double[] values = scratch.values;
    int[] counts = scratch.counts;
    int tile = TILE_VECTORS * LANES;
    for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      int r1 = Math.min(rows, r0 + ROW_BLOCK);
      for (int r = r0; r < r1; r++) {
        int base = (r - r0) * inDim;
        int n = 0;
        int i0 = r * inDim;
        for (int k = 0; k < inDim; k++) {
          double x = in[i0 + k];
          if (x != 0) {
            offsets[base + n] = k * outDim;
            values[base + n] = x;
            n++;
          }
        }
        counts[r - r0] = n;
      }
      int j = 0;
      for (; j + tile <= outDim; j += tile) {
        for (int r = r0; r < r1; r++) {
          int base = (r - r0) * inDim;
          tile4(w, b, offsets, values, base, base + counts[r - r0], j, out, r * outDim + j);
        }
      }
      for (; j + LANES <= outDim; j += LANES) {
        for (int r = r0; r < r1; r++) {
          int base = (r - r0) * inDim;
          int end = base + counts[r - r0];
          DoubleVector acc = DoubleVector.fromArray(SPECIES, b, j);
          for (int q = base; q < end; q++) {
            acc = acc.add(DoubleVector.fromArray(SPECIES, w, offsets[q] + j).mul(values[q]));
          }
          acc.intoArray(out, r * outDim + j);
        }
      }
      for (; j < outDim; j++) {
        for (int r = r0; r < r1; r++) {
          int base = (r - r0) * inDim;
          int end = base + counts[r - r0];
          double s = b[j];
          for (int q = base; q < end; q++) {
            s += values[q] * w[offsets[q] + j];
          }
          out[r * outDim + j] = s;
        }
      }
    }
  }

  /** One row's tile of {@link #TILE_VECTORS} vectors of outputs from column {@code j}. */
  private static void tile4(double[] w, double[] b, int[] offsets, double[] values, int from, int to, int j,
      double[] out, int o) {
    DoubleVector a0 = DoubleVector.fromArray(SPECIES, b, j);
    DoubleVector a1 = DoubleVector.fromArray(SPECIES, b, j + LANES);
    DoubleVector a2 = DoubleVector.fromArray(SPECIES, b, j + 2 * LANES);
    DoubleVector a3 = DoubleVector.fromArray(SPECIES, b, j + 3 * LANES);
    for (int q = from; q < to; q++) {
      int wk = offsets[q] + j;
      double x = values[q];
      a0 = a0.add(DoubleVector.fromArray(SPECIES, w, wk).mul(x));
      a1 = a1.add(DoubleVector.fromArray(SPECIES, w, wk + LANES).mul(x));
      a2 = a2.add(DoubleVector.fromArray(SPECIES, w, wk + 2 * LANES).mul(x));
      a3 = a3.add(DoubleVector.fromArray(SPECIES, w, wk + 3 * LANES).mul(x));
    }
    a0.intoArray(out, o);
    a1.intoArray(out, o + LANES);
    a2.intoArray(out, o + 2 * LANES);
    a3.intoArray(out, o + 3 * LANES);
  }

  @Override
  public String toString() {
    return "vector " + SPECIES.vectorBitSize() + "-bit";
  }
}
