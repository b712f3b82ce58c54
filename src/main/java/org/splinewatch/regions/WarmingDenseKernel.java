package org.splinewatch.regions;

import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * The Vector API kernel once the JIT has compiled it, mostly the scalar loop until then: the kernels give the same
 * values bit for bit ({@link DenseKernel}), so only the time and the garbage differ. Until C2 compiles the Vector API's
 * operations into vector instructions, each of them makes an object and its array, about a kilobyte per non-zero input
 * of a row. A monitored run's first snapshot, whose forward passes came before the JIT (busy with the trainer's code)
 * got to the kernel, allocated 0.1 to 1 GB so on the analysis thread, and its young collections stopped the training
 * thread too.
 *
 * <p>So until then each call runs the vector kernel on its first {@code 1/}{@value #TRY_SHARE} of the rows (at least
 * one), which keeps it hot so that the JIT compiles it, and measures what that allocated on the calling thread; the
 * scalar loop does the other rows, many times faster than the Vector API before it is compiled. The first call whose
 * vector rows allocated nothing shows the kernel compiled, and from then on the vector kernel does every row. Where
 * the JVM cannot measure a thread's allocation, {@link #of} returns the vector kernel itself.
 */
final class WarmingDenseKernel implements DenseKernel {
  /** Until the vector kernel is known to be compiled, it computes this share of each call's rows (rounded up). */
  static final int TRY_SHARE = 16;

  /** {@link ScalarDenseKernel#applyRows}: rows {@code from..to} of the product. */
  interface RowRange {
    void apply(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int from, int to);
  }

  private final DenseKernel vector;
  private final RowRange scalar;
  private final LongSupplier allocatedBytes; // by the calling thread so far
  private volatile boolean compiled;

  WarmingDenseKernel(DenseKernel vector, RowRange scalar, LongSupplier allocatedBytes) {
    this.vector = vector;
    this.scalar = scalar;
    this.allocatedBytes = allocatedBytes;
  }

  /** {@code vector} with the scalar loop until it is compiled, or {@code vector} where allocation is not measured. */
  static DenseKernel of(DenseKernel vector, ScalarDenseKernel scalar) {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
        && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
      return new WarmingDenseKernel(vector, scalar::applyRows, threads::getCurrentThreadAllocatedBytes);
    }
    return vector;
  }

  @Override
  public void apply(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int rows) {
    if (compiled) {
      vector.apply(inDim, outDim, w, b, in, out, rows);
      return;
    }
    int tried = (rows + TRY_SHARE - 1) / TRY_SHARE;
    long before = allocatedBytes.getAsLong();
    vector.apply(inDim, outDim, w, b, in, out, tried); // rows 0..tried: the first of in and out
    boolean allocatedNothing = allocatedBytes.getAsLong() == before;
    scalar.apply(inDim, outDim, w, b, in, out, tried, rows);
    if (allocatedNothing && tried > 0) {
      compiled = true;
    }
  }

  /** Whether the vector kernel's rows of a call have allocated nothing yet (it does every row since). */
  boolean compiled() {
    return compiled;
  }

  /** The vector kernel's name: that is the kernel this one becomes. */
  @Override
  public String toString() {
    return vector.toString();
  }
}
