package org.splinewatch.embedding;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.Random;
import org.splinewatch.geometry.IntrinsicDimension;

/**
 * Peak heap and time of the pairwise metrics (uniformity and kNN in {@link EmbeddingMetrics#compute}, TwoNN in
 * {@link IntrinsicDimension#twoNn}) on random probe embeddings, run by hand (docs/memory.md), e.g.
 * <pre>
 * java -Xmx3g -Xmn16m -cp target/classes:target/test-classes:DEPS org.splinewatch.embedding.PairwiseMetricsHarness \
 *     peak current embedding 10000 512
 * java -Xmx3g -cp ... org.splinewatch.embedding.PairwiseMetricsHarness compare 1024,4096,10000 128,512
 * </pre>
 * {@code peak IMPL METRIC N D}: one metric ({@code embedding} or {@code twonn}) by one implementation
 * ({@code current}: the project's code; {@code reference}: {@link FullMatrixReference}, the full {@code n × n} matrices
 * as before), then the peak heap: the sum of the heap pools' peaks since the inputs were made (a bound that exceeds the
 * true peak by at most the young generation, hence {@code -Xmn16m}). {@code compare NS DS}: both implementations side
 * by side in this JVM, alternated (twice up to n = 4096, else once), and whether their results are equal bit for bit.
 * Also run by {@code PairwiseMemoryTest} in a child JVM with a small heap ({@code check N D}: exits 0 when both
 * metrics finish).
 */
public final class PairwiseMetricsHarness {
  private PairwiseMetricsHarness() {
  }

  /** Probe-like embeddings: 10 Gaussian classes, the pairs a noisy copy; labels in {@code labels}. */
  static double[][] data(int n, int d, long seed, int[] labels) {
    Random r = new Random(seed);
    double[][] centres = new double[10][d];
    for (double[] c : centres) {
      for (int k = 0; k < d; k++) {
        c[k] = r.nextGaussian();
      }
    }
    double[] z = new double[n * d];
    double[] p = new double[n * d];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 10;
      for (int k = 0; k < d; k++) {
        z[i * d + k] = centres[labels[i]][k] + 1.5 * r.nextGaussian();
        p[i * d + k] = z[i * d + k] + 0.3 * r.nextGaussian();
      }
    }
    return new double[][] {z, p};
  }

  public static void main(String[] args) {
    switch (args[0]) {
      case "peak" -> peak(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "compare" -> compare(ints(args[1]), ints(args[2]));
      case "check" -> check(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
      default -> throw new IllegalArgumentException("peak, compare or check");
    }
  }

  private static void peak(String impl, String metric, int n, int d) {
    int[] labels = new int[n];
    double[][] zp = data(n, d, 1, labels);
    System.gc();
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        pool.resetPeakUsage();
      }
    }
    long t0 = System.nanoTime();
    String result = run(impl, metric, zp, n, d, labels);
    double s = (System.nanoTime() - t0) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf("%s %s n=%d d=%d: %.2f s, peak heap %d MiB (inputs %d MiB; max %d MiB) %s%n", impl, metric, n,
        d, s, peak >> 20, (2L * n * d * 8) >> 20, Runtime.getRuntime().maxMemory() >> 20, result);
  }

  private static String run(String impl, String metric, double[][] zp, int n, int d, int[] labels) {
    boolean current = impl.equals("current");
    if (metric.equals("embedding")) {
      return (current ? EmbeddingMetrics.compute(zp[0], zp[1], n, d, labels, 10)
          : FullMatrixReference.compute(zp[0], zp[1], n, d, labels, 10)).toString();
    }
    return (current ? IntrinsicDimension.twoNn(zp[0], n, d) : FullMatrixReference.twoNn(zp[0], n, d)).toString();
  }

  private static void compare(int[] ns, int[] ds) {
    System.out.printf("%d processors%n", Runtime.getRuntime().availableProcessors());
    for (int d : ds) {
      for (int n : ns) {
        int[] labels = new int[n];
        double[][] zp = data(n, d, 1, labels);
        for (String metric : new String[] {"embedding", "twonn"}) {
          run("current", metric, zp, Math.min(n, 512), d, labels); // warm-up
          run("reference", metric, zp, Math.min(n, 512), d, labels);
          double[] sec = new double[2];
          String[] res = new String[2];
          int reps = n > 4096 ? 1 : 2;
          for (int rep = 0; rep < reps; rep++) { // alternated: reference, current, current, reference
            for (int j = 0; j < 2; j++) {
              int which = rep == 0 ? j : 1 - j;
              System.gc();
              long t0 = System.nanoTime();
              res[which] = run(which == 0 ? "reference" : "current", metric, zp, n, d, labels);
              sec[which] += (System.nanoTime() - t0) / 1e9;
            }
          }
          System.out.printf("%-9s n=%5d d=%3d: before %.3f s, after %.3f s, after/before %.3f, equal %s%n", metric,
              n, d, sec[0] / reps, sec[1] / reps, sec[1] / sec[0], res[0].equals(res[1]));
        }
      }
    }
  }

  private static void check(int n, int d) {
    int[] labels = new int[n];
    double[][] zp = data(n, d, 2, labels);
    System.out.println(run("current", "embedding", zp, n, d, labels));
    System.out.println(run("current", "twonn", zp, n, d, labels));
  }

  private static int[] ints(String s) {
    return java.util.Arrays.stream(s.split(",")).mapToInt(Integer::parseInt).toArray();
  }
}
