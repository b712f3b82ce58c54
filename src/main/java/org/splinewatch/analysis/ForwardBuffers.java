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
 */
final class ForwardBuffers {
  private final List<double[]> outputs = new ArrayList<>();

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

  /** The array of block {@code block}, exactly {@code size} long (callers read its length as the output size). */
  private double[] output(int block, int size) {
    while (outputs.size() <= block) {
      outputs.add(new double[0]);
    }
    if (outputs.get(block).length != size) {
      outputs.set(block, new double[size]);
    }
    return outputs.get(block);
  }
}
