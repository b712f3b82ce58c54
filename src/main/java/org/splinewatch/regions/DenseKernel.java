package org.splinewatch.regions;

/**
 * The product {@code y = x·W + b} of {@link AffineOp.DenseOp}, row-major, skipping zero inputs. Every implementation
 * sums {@code b_j + Σ_k x_k·W_kj} in ascending {@code k} with a rounded multiply and a rounded add per term, so all of
 * them give the same values bit for bit; they differ only in speed.
 */
public interface DenseKernel {
  /** System property that turns the Vector API kernel off ({@code -Dsplinewatch.regions.vector=false}). */
  String VECTOR_PROPERTY = "splinewatch.regions.vector";

  void apply(int inDim, int outDim, double[] w, double[] b, double[] in, double[] out, int rows);

  /**
   * The kernel {@link AffineOp.DenseOp} uses: the Vector API's where the JVM has it (the scalar loop until the JIT has
   * compiled it, {@link WarmingDenseKernel}), else the scalar loop.
   */
  static DenseKernel selected() {
    return Selected.KERNEL;
  }

  /** The name of the selected kernel, for benchmarks and logs ({@code "vector 512-bit"} or {@code "scalar"}). */
  static String selectedName() {
    return Selected.KERNEL.toString();
  }

  /**
   * The Vector API kernel, or {@code null} where the JVM was started without {@code --add-modules
   * jdk.incubator.vector}, its preferred vectors hold fewer than four doubles, or the property turns it off. It is
   * loaded by name so that this interface never links against the incubator module when it is absent.
   */
  static DenseKernel vectorOrNull() {
    if (!Boolean.parseBoolean(System.getProperty(VECTOR_PROPERTY, "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return null;
    }
    try {
      return (DenseKernel) Class.forName("org.splinewatch.regions.VectorDenseKernel")
          .getDeclaredMethod("createOrNull").invoke(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return null;
    }
  }

  /** Holder: the choice is made once, on first use. */
  final class Selected {
    static final DenseKernel KERNEL = choose();

    private Selected() {}

    private static DenseKernel choose() {
      DenseKernel vector = vectorOrNull();
      // the scalar loop until the JIT has compiled the vector kernel (which allocates until then)
      return vector != null ? WarmingDenseKernel.of(vector, new ScalarDenseKernel()) : new ScalarDenseKernel();
    }
  }
}
