package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import org.splinewatch.regions.PiecewiseLinearNet;

/**
 * One output array per block of a network, kept between forward passes: every snapshot of a run has the same
 * architecture, so a pass of the same rows writes into the arrays of the previous pass instead of allocating
 * {@code rows × width} values per block. A block's array is replaced only when its output size changes. What a pass
 * returns is overwritten by the next pass through the same blocks: callers copy what they keep. Not thread-safe: each
 * analyzer owns its own, and an analyzer is run by one actor at a time.
 *
 * <p>Only outputs of at most {@link #KEEP_MAX_BYTES} are kept. A larger one (1,024 probes through the default CNN's
 * first convolution: 6,272 values each, 51 MB) is allocated for its pass and dropped after it. Four analyzers' buffers
 * kept about 320 MB of them for a CNN, which with the region analyzer's workspace ran the default 640 MiB heap out of
 * memory. The dense layers of the default MLP (2 MB per block) are kept as before.
 */
final class ForwardBuffers {
  /** The largest output kept between passes. */
  static final long KEEP_MAX_BYTES = 8L << 20;
  private final long keepMaxBytes;
  private final List<double[]> outputs = new ArrayList<>();

  ForwardBuffers() {
    this(KEEP_MAX_BYTES);
  }

  /** Buffers that keep outputs of at most {@code keepMaxBytes} (tests). */
  ForwardBuffers(long keepMaxBytes) {
    this.keepMaxBytes = keepMaxBytes;
  }

  /** {@link PiecewiseLinearNet#forwardTo}, the same values, in this object's arrays. */
  double[] forwardTo(PiecewiseLinearNet net, double[] x, int rows, int blockCount) {
    return forwardBlocks(net, x, rows, 0, blockCount);
  }

  /**
   * {@link PiecewiseLinearNet#forwardBlocks}, the same values: block {@code i} writes its output into this object's
   * array {@code i}, so {@code h} may be the output of an earlier block of this object.
   */
  double[] forwardBlocks(PiecewiseLinearNet net, double[] h, int rows, int from, int to) {
    double[] cur = h;
    for (int i = from; i < to; i++) {
      PiecewiseLinearNet.Block b = net.blocks().get(i);
      cur = b.affine(cur, rows, output(i, rows * b.outDim()));
      b.activate(cur);
    }
    return cur;
  }

  /**
   * The array of block {@code block}, exactly {@code size} long (callers read its length as the output size): kept,
   * or new for this pass when larger than {@code keepMaxBytes}.
   */
  private double[] output(int block, int size) {
    while (outputs.size() <= block) {
      outputs.add(new double[0]);
    }
    if (8L * size > keepMaxBytes) {
      outputs.set(block, new double[0]); // drop an array kept for a smaller size
      return new double[size];
    }
    if (outputs.get(block).length != size) {
      outputs.set(block, new double[size]);
    }
    return outputs.get(block);
  }
}
