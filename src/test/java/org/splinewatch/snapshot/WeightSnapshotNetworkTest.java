package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;

/** The compiled network shared by the analyzers of one snapshot. */
class WeightSnapshotNetworkTest {

  private static float[] random(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static WeightSnapshot snapshot(long step) {
    Random r = new Random(5);
    List<Layer> layers = List.of(new Layer.Dense(64, 128, random(r, 64 * 128), random(r, 128)),
        Layer.Activation.relu(), new Layer.Dense(128, 32, random(r, 128 * 32), random(r, 32)),
        Layer.Activation.relu(), new Layer.Dense(32, 8, random(r, 32 * 8), random(r, 8)));
    return new WeightSnapshot("run", step, 0, 0L, 64, layers, 0, false, 1.0, 0.1, 1.0);
  }

  @Test
  void theAnalyzersOfOneSnapshotShareOneCompiledNetwork() {
    // each analyzer's network() compiled the float32 weights to float64 again: the same values, allocated anew
    WeightSnapshot s = snapshot(100);
    PiecewiseLinearNet first = s.network();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) { // the least of a few: the first call's class loading allocates too
      long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
      assertSame(first, s.network());
      assertSame(first.blocks().get(0), s.regionNetwork().blocks().get(0)); // the prefix shares the blocks
      least = Math.min(least, threads.getThreadAllocatedBytes(Thread.currentThread().getId()) - before);
    }
    long weights = 8L * (64 * 128 + 128 * 32 + 32 * 8);
    assertTrue(least < weights / 10, least + " bytes for a second network(); the weights widened are " + weights);
    // another snapshot (equal weights, another step) compiles its own, with the same values
    WeightSnapshot other = snapshot(200);
    PiecewiseLinearNet second = other.network();
    assertNotSame(first, second);
    double[] x = new double[64 * 3];
    for (int i = 0; i < x.length; i++) {
      x[i] = Math.sin(i);
    }
    assertArrayEquals(first.forward(x, 3), second.forward(x, 3), 0.0);
    assertSame(second, other.network());
  }
}
