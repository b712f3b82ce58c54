package org.splinewatch.regions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * A continuous piecewise-affine network: a list of {@link Layer}s compiled into blocks, each an affine chain followed
 * by one activation. Hidden blocks end in ReLU or LeakyReLU; a trailing identity block is the output head (logits or
 * an embedding). BatchNorm is folded into the preceding affine operator where there is one (regions.md §1.1, case A);
 * otherwise it stays a per-feature affine operator in the next chain, which is case B written without folding.
 *
 * <p>Immutable and safe to share between threads.
 *
 * <p>Over 300 lines because it also compiles the layer list (dense, convolution, pooling, BatchNorm) into the affine
 * blocks every analyzer uses.
 */
public final class PiecewiseLinearNet {

  /** An affine chain followed by one activation. */
  public record Block(List<AffineOp> ops, Layer.Activation activation, int inDim, int outDim) {
    public boolean hidden() {
      return activation.kind() != Layer.Activation.Kind.IDENTITY;
    }

    /** Applies the affine chain (not the activation) to {@code rows} row vectors. */
    public double[] affine(double[] in, int rows) {
      return affine(in, rows, null);
    }

    /**
     * {@link #affine(double[], int)} writing the chain's output into {@code out} when it holds at least
     * {@code rows × outDim} values (the rest of it is left as it was), else into a new array; returns the array
     * written. Only a chain of several operators allocates, for its intermediate values.
     */
    public double[] affine(double[] in, int rows, double[] out) {
      double[] cur = in;
      for (int i = 0; i < ops.size(); i++) {
        AffineOp op = ops.get(i);
        boolean last = i == ops.size() - 1;
        double[] next = last && out != null && out.length >= rows * op.outDim() ? out : new double[rows * op.outDim()];
        op.apply(cur, next, rows);
        cur = next;
      }
      return cur;
    }

    /** Supplies the array operator {@code op} of a chain writes: at least {@code size} values, kept by the caller. */
    public interface OpArrays {
      double[] array(int op, int size);
    }

    /**
     * {@link #affine(double[], int)} writing every operator's output, the intermediate ones too, into an array of
     * {@code arrays}; returns the last one (its first {@code rows × outDim} values). Same values: each operator writes
     * every value it is read for.
     */
    public double[] affineInto(double[] in, int rows, OpArrays arrays) {
      double[] cur = in;
      for (int i = 0; i < ops.size(); i++) {
        AffineOp op = ops.get(i);
        double[] next = arrays.array(i, rows * op.outDim());
        op.apply(cur, next, rows);
        cur = next;
      }
      return cur;
    }

    /**
     * {@link #affine(double[], int)} with the rows split into {@code parts} chunks run on {@code pool} (the caller's
     * thread waits). Falls back to one thread for small batches or when {@code pool} is null.
     */
    public double[] affine(double[] in, int rows, Executor pool, int parts) {
      return affine(in, rows, pool, parts, null);
    }

    /**
     * The parallel {@link #affine(double[], int, Executor, int)}, writing into {@code into} as
     * {@link #affine(double[], int, double[])} does.
     */
    public double[] affine(double[] in, int rows, Executor pool, int parts, double[] into) {
      if (pool == null || parts <= 1 || rows < 64 * parts) {
        return affine(in, rows, into);
      }
      double[] out = into != null && into.length >= rows * outDim ? into : new double[rows * outDim];
      CompletableFuture<?>[] futures = new CompletableFuture<?>[parts];
      for (int p = 0; p < parts; p++) {
        int from = (int) ((long) rows * p / parts);
        int to = (int) ((long) rows * (p + 1) / parts);
        futures[p] = CompletableFuture.runAsync(() -> {
          double[] chunk = affine(Arrays.copyOfRange(in, from * inDim, to * inDim), to - from);
          System.arraycopy(chunk, 0, out, from * outDim, (to - from) * outDim);
        }, pool);
      }
      CompletableFuture.allOf(futures).join();
      return out;
    }

    /** Applies the activation in place. */
    public void activate(double[] z) {
      activate(z, z.length);
    }

    /** Applies the activation in place to the first {@code length} values. */
    public void activate(double[] z, int length) {
      double slope = activation.negativeSlope();
      if (slope == 1) {
        return;
      }
      for (int i = 0; i < length; i++) {
        if (z[i] <= 0) {
          z[i] *= slope;
        }
      }
    }
  }

  private final int inputDim;
  private final List<Layer> layers;
  private final List<Block> blocks;

  public PiecewiseLinearNet(int inputDim, List<Layer> layers) {
    this.inputDim = inputDim;
    this.layers = List.copyOf(layers);
    this.blocks = compile(inputDim, this.layers);
  }

  /** A prefix sharing this network's compiled blocks: they are immutable, so nothing is widened again. */
  private PiecewiseLinearNet(int inputDim, List<Layer> layers, List<Block> blocks) {
    this.inputDim = inputDim;
    this.layers = List.copyOf(layers);
    this.blocks = blocks;
  }

  public int inputDim() {
    return inputDim;
  }

  public List<Layer> layers() {
    return layers;
  }

  public List<Block> blocks() {
    return blocks;
  }

  /** Hidden (ReLU/LeakyReLU) blocks, in order. */
  public List<Block> hiddenBlocks() {
    return blocks.stream().filter(Block::hidden).toList();
  }

  /** The output head, or null when the network ends with an activation. */
  public Block head() {
    Block last = blocks.get(blocks.size() - 1);
    return last.hidden() ? null : last;
  }

  public int outputDim() {
    return blocks.get(blocks.size() - 1).outDim();
  }

  /** Total number of hidden neurons {@code N}. */
  public int hiddenNeurons() {
    int n = 0;
    for (Block b : blocks) {
      if (b.hidden()) {
        n += b.outDim();
      }
    }
    return n;
  }

  /** Output of the whole network for {@code rows} row vectors. */
  public double[] forward(double[] x, int rows) {
    return forwardTo(x, rows, blocks.size());
  }

  /** Output (after activation) of the first {@code blockCount} blocks. */
  public double[] forwardTo(double[] x, int rows, int blockCount) {
    return forwardBlocks(x, rows, 0, blockCount);
  }

  /**
   * Blocks {@code from} (inclusive) to {@code to} (exclusive) applied to {@code h}, the output of block
   * {@code from − 1} (or the input when {@code from} is 0): continues a forward pass without repeating its start.
   */
  public double[] forwardBlocks(double[] h, int rows, int from, int to) {
    double[] cur = h;
    for (int i = from; i < to; i++) {
      Block b = blocks.get(i);
      cur = b.affine(cur, rows);
      b.activate(cur);
    }
    return cur;
  }

  /** Pre-activations of every hidden block (for activation patterns), {@code rows × outDim} each. */
  public List<double[]> preActivations(double[] x, int rows) {
    List<double[]> out = new ArrayList<>();
    double[] cur = x;
    for (Block b : blocks) {
      double[] z = b.affine(cur, rows);
      if (b.hidden()) {
        out.add(z.clone());
      }
      b.activate(z);
      cur = z;
    }
    return out;
  }

  /**
   * The network made of the first {@code blockCount} blocks (e.g. an encoder without its projection head): the
   * layers up to and including the {@code blockCount}-th non-identity activation, or all layers when there are fewer.
   */
  public PiecewiseLinearNet prefix(int blockCount) {
    if (blockCount <= 0) {
      throw new IllegalArgumentException("a prefix needs at least one block, got " + blockCount);
    }
    if (blockCount >= blocks.size()) {
      return this;
    }
    int seen = 0;
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i) instanceof Layer.Activation a && a.kind() != Layer.Activation.Kind.IDENTITY
          && ++seen == blockCount) {
        // block k ends at the k-th activation that is not the identity, so the prefix's blocks are this one's first
        // blockCount (compiling the layers again widened every weight anew: several MB a snapshot per analyzer)
        return new PiecewiseLinearNet(inputDim, layers.subList(0, i + 1), blocks.subList(0, blockCount));
      }
    }
    return this;
  }

  /** Throws if any weight is NaN or infinite, naming the layer. */
  public PiecewiseLinearNet requireFinite() {
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      float[][] arrays;
      if (l instanceof Layer.Dense d) {
        arrays = new float[][] {d.weights(), d.bias()};
      } else if (l instanceof Layer.Conv2D c) {
        arrays = new float[][] {c.weights(), c.bias()};
      } else if (l instanceof Layer.BatchNorm bn) {
        arrays = new float[][] {bn.gamma(), bn.beta(), bn.mean(), bn.variance()};
      } else {
        arrays = new float[0][];
      }
      for (float[] a : arrays) {
        for (float v : a) {
          if (!Float.isFinite(v)) {
            throw new IllegalArgumentException(
                "layer " + i + " (" + typeName(layers.get(i)) + ") has a non-finite weight (" + v
                    + "); expected finite numbers");
          }
        }
      }
    }
    return this;
  }

  /** A layer's type as the snapshot format's {@code layers} list names it: dense, conv2d, ..., relu, leaky_relu. */
  static String typeName(Layer layer) {
    if (layer instanceof Layer.Dense) {
      return "dense";
    } else if (layer instanceof Layer.Conv2D) {
      return "conv2d";
    } else if (layer instanceof Layer.AvgPool2D) {
      return "avgpool2d";
    } else if (layer instanceof Layer.Flatten) {
      return "flatten";
    } else if (layer instanceof Layer.BatchNorm) {
      return "batchnorm";
    } else if (layer instanceof Layer.Activation a) {
      return a.kind().name().toLowerCase(java.util.Locale.ROOT);
    }
    return layer.getClass().getSimpleName();
  }

  private static List<Block> compile(int inputDim, List<Layer> layers) {
    if (layers.isEmpty()) {
      throw new IllegalArgumentException("a network needs at least one layer");
    }
    List<Block> blocks = new ArrayList<>();
    List<AffineOp> chain = new ArrayList<>();
    int dim = inputDim;
    int chainIn = inputDim;
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      String where = "layer " + i + " (" + typeName(layer) + ")";
      if (layer instanceof Layer.Dense d) {
        requireDim(where, d.in(), dim);
        chain.add(AffineOp.dense(d.in(), d.out(), Layer.widen(d.weights()), Layer.widen(d.bias())));
        dim = d.out();
      } else if (layer instanceof Layer.Conv2D c) {
        requireDim(where, c.inChannels() * c.inHeight() * c.inWidth(), dim);
        chain.add(new AffineOp.ConvOp(c.inChannels(), c.inHeight(), c.inWidth(), c.outChannels(), c.kernelH(),
            c.kernelW(), c.stride(), c.padding(), Layer.widen(c.weights()), Layer.widen(c.bias())));
        dim = c.outChannels() * c.outHeight() * c.outWidth();
      } else if (layer instanceof Layer.AvgPool2D p) {
        requireDim(where, p.channels() * p.inHeight() * p.inWidth(), dim);
        chain.add(new AffineOp.AvgPoolOp(p.channels(), p.inHeight(), p.inWidth(), p.kernel(), p.stride()));
        dim = p.channels() * p.outHeight() * p.outWidth();
      } else if (layer instanceof Layer.Flatten f) {
        requireDim(where, f.size(), dim);
      } else if (layer instanceof Layer.BatchNorm bn) {
        AffineOp previous = chain.isEmpty() ? null : chain.get(chain.size() - 1);
        chain.add(foldBatchNorm(where, bn, previous, dim, chain));
      } else if (layer instanceof Layer.Activation a) {
        if (a.kind() == Layer.Activation.Kind.IDENTITY) {
          continue;
        }
        if (chain.isEmpty()) {
          Layer before = null; // the last layer before this one that is not an identity
          for (int k = i - 1; k >= 0 && before == null; k--) {
            before = layers.get(k) instanceof Layer.Activation b && b.kind() == Layer.Activation.Kind.IDENTITY ? null
                : layers.get(k);
          }
          throw new IllegalArgumentException(where + (before instanceof Layer.Activation
              ? " follows another activation" : blocks.isEmpty() ? " comes before any affine layer"
              : " has no affine layer after the previous activation") + "; expected a dense, conv2d, avgpool2d or"
              + " batchnorm layer before each activation");
        }
        blocks.add(new Block(List.copyOf(chain), a, chainIn, dim));
        chain.clear();
        chainIn = dim;
      }
    }
    if (!chain.isEmpty()) {
      blocks.add(new Block(List.copyOf(chain), Layer.Activation.identity(), chainIn, dim));
    }
    if (blocks.isEmpty()) {
      throw new IllegalArgumentException("the network has no affine layer");
    }
    return Collections.unmodifiableList(blocks);
  }

  /**
   * Folds BN into {@code previous} when it is Dense or Conv2D (row convention: {@code W' = W·diag(s)},
   * {@code b' = (b − μ) ⊙ s + β}); returns the replacement op, having removed {@code previous} from the chain.
   */
  private static AffineOp foldBatchNorm(String where, Layer.BatchNorm bn, AffineOp previous, int dim,
      List<AffineOp> chain) {
    int n = bn.gamma().length;
    double[] s = new double[n];
    double[] t = new double[n];
    for (int j = 0; j < n; j++) {
      s[j] = bn.gamma()[j] / Math.sqrt(bn.variance()[j] + bn.epsilon());
      t[j] = bn.beta()[j] - bn.mean()[j] * s[j];
    }
    if (previous instanceof AffineOp.DenseOp d && d.outDim() == n) {
      chain.remove(chain.size() - 1);
      double[] w = d.w().clone();
      double[] b = new double[n];
      for (int k = 0; k < d.inDim(); k++) {
        for (int j = 0; j < n; j++) {
          w[k * n + j] *= s[j];
        }
      }
      for (int j = 0; j < n; j++) {
        b[j] = d.b()[j] * s[j] + t[j];
      }
      return AffineOp.dense(d.inDim(), n, w, b);
    }
    if (previous instanceof AffineOp.ConvOp c && c.oc() == n) {
      chain.remove(chain.size() - 1);
      double[] w = c.weights().clone();
      double[] b = new double[n];
      int per = c.c() * c.kh() * c.kw();
      for (int o = 0; o < n; o++) {
        for (int q = 0; q < per; q++) {
          w[o * per + q] *= s[o];
        }
        b[o] = c.bias()[o] * s[o] + t[o];
      }
      return new AffineOp.ConvOp(c.c(), c.h(), c.w(), c.oc(), c.kh(), c.kw(), c.stride(), c.pad(), w, b);
    }
    if (n != dim) {
      throw new IllegalArgumentException(where + " has " + n + " features, expected " + dim);
    }
    return new AffineOp.ScaleShiftOp(s, t);
  }

  private static void requireDim(String where, int expected, int actual) {
    if (expected != actual) {
      throw new IllegalArgumentException(where + " expects " + expected + " inputs but receives " + actual);
    }
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder().append(inputDim);
    for (Block b : blocks) {
      sb.append(" -> ").append(b.outDim()).append(b.hidden() ? " " + b.activation().kind() : " (head)");
    }
    return sb.toString();
  }
}
