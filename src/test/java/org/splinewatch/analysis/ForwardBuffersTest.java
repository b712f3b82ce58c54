package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;

/** Forward passes in kept arrays: the values of the network's own (allocating) passes, in the same arrays. */
class ForwardBuffersTest {

  /**
   * 6×6 images: conv 3×3 + ReLU, then average pooling and a dense layer in one block (a chain of two operators) +
   * LeakyReLU, then a BatchNorm that no affine layer precedes (its own operator in the head's chain) and the head.
   */
  private static PiecewiseLinearNet cnn(long seed) {
    Random r = new Random(seed);
    return new PiecewiseLinearNet(36, List.of(
        new Layer.Conv2D(1, 6, 6, 2, 3, 3, 1, 1, TestSnapshots.randn(r, 18, 0.6), TestSnapshots.randn(r, 2, 0.1)),
        Layer.Activation.relu(),
        new Layer.AvgPool2D(2, 6, 6, 2, 2),
        new Layer.Flatten(18),
        new Layer.Dense(18, 10, TestSnapshots.randn(r, 180, 0.4), TestSnapshots.randn(r, 10, 0.1)),
        Layer.Activation.leakyRelu(0.1),
        new Layer.BatchNorm(TestSnapshots.randn(r, 10, 1), TestSnapshots.randn(r, 10, 0.3),
            TestSnapshots.randn(r, 10, 0.2), new float[] {0.5f, 1, 2, 0.1f, 1.5f, 0.7f, 1, 1, 0.3f, 2}, 1e-5),
        new Layer.Dense(10, 4, TestSnapshots.randn(r, 40, 0.5), TestSnapshots.randn(r, 4, 0.1))));
  }

  private static double[] inputs(Random r, int size) {
    double[] x = new double[size];
    for (int i = 0; i < size; i++) {
      x[i] = r.nextDouble();
    }
    return x;
  }

  @Test
  void passesEqualTheNetworksOwnBitForBitAndReuseTheirArrays() {
    Random r = new Random(3);
    ForwardBuffers buffers = new ForwardBuffers();
    double[] previous = null;
    for (long seed = 1; seed <= 3; seed++) { // snapshots of one architecture
      PiecewiseLinearNet net = cnn(seed);
      assertTrue(net.blocks().get(1).ops().size() > 1 && net.blocks().get(2).ops().size() > 1, "operator chains");
      double[] x = inputs(r, 25 * 36);
      double[] h = buffers.forwardTo(net, x, 25, 2);
      assertArrayEquals(net.forwardTo(x, 25, 2), h, "seed " + seed);
      // continuing from a kept output leaves it intact
      double[] hCopy = h.clone();
      assertArrayEquals(net.forwardBlocks(hCopy, 25, 2, 3), buffers.forwardBlocks(net, h, 25, 2, 3), "seed " + seed);
      assertArrayEquals(hCopy, h);
      if (previous != null) {
        assertSame(previous, h, "the same architecture and rows write into the same array");
      }
      previous = h;
    }
    // other rows: arrays of the new size, the same values
    PiecewiseLinearNet net = cnn(4);
    double[] x = inputs(r, 7 * 36);
    double[] out = buffers.forwardTo(net, x, 7, 3);
    assertArrayEquals(net.forward(x, 7), out);
    assertNotSame(previous, buffers.forwardTo(net, x, 7, 2));
  }

  @Test
  void outputsOverTheLimitAreNotKeptAndHaveTheSameValues() {
    Random r = new Random(9);
    // 25 rows: the convolution's output is 25 × 72 doubles (14,400 bytes), the dense block's 25 × 10 (2,000 bytes)
    ForwardBuffers buffers = new ForwardBuffers(8_000);
    PiecewiseLinearNet net = cnn(1);
    double[] x = inputs(r, 25 * 36);
    double[] conv = buffers.forwardTo(net, x, 25, 1);
    assertArrayEquals(net.forwardTo(x, 25, 1), conv);
    assertNotSame(conv, buffers.forwardTo(net, x, 25, 1), "over the limit: a new array each pass");
    double[] dense = buffers.forwardTo(net, x, 25, 2);
    assertArrayEquals(net.forwardTo(x, 25, 2), dense);
    assertSame(dense, buffers.forwardTo(net, x, 25, 2), "under the limit: kept");
    assertTrue(ForwardBuffers.KEEP_MAX_BYTES >= 1024L * 256 * 8, "the default MLP's probe outputs are kept");
  }

  @Test
  void aDenseNetworkMatchesToo() {
    Random r = new Random(5);
    ForwardBuffers buffers = new ForwardBuffers();
    for (long seed = 1; seed <= 2; seed++) {
      PiecewiseLinearNet net = TestSnapshots.classifier(seed, 0).network();
      double[] x = inputs(r, 30 * TestSnapshots.DIM);
      assertArrayEquals(net.forward(x, 30), buffers.forwardTo(net, x, 30, net.blocks().size()));
    }
  }
}
