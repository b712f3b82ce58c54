package org.splinewatch.trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;

/**
 * Times the region engine on the default run's encoder (784-256-256, ReLU after each layer) read from a checkpoint
 * directory of a finished {@code ./trainer} run, on planes through MNIST training images (pad 0: 1.5× the anchors'
 * extent, as the analyzers): regions, vertices, time and the workspace's bytes. Run by hand (docs/regions-engine.md):
 * {@code java -cp target/classes:target/test-classes:target/lib/* org.splinewatch.trainer.DefaultPlaneHarness
 * CHECKPOINT_DIR MNIST_TRAIN_IMAGES [planes] [repeats]}.
 */
public final class DefaultPlaneHarness {
  private DefaultPlaneHarness() {
  }

  static Layer.Dense dense(Path dir, String name) throws java.io.IOException {
    INDArray w = Nd4j.readBinary(dir.resolve("g0-" + name + "_w.bin").toFile());
    INDArray b = Nd4j.readBinary(dir.resolve("g0-" + name + "_b.bin").toFile());
    return new Layer.Dense((int) w.size(0), (int) w.size(1), w.dup('c').data().asFloat(),
        b.dup('c').data().asFloat());
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    byte[] images = Files.readAllBytes(Path.of(args[1]));
    int planes = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    PiecewiseLinearNet net = new PiecewiseLinearNet(784, List.of(dense(dir, "enc0"), Layer.Activation.relu(),
        dense(dir, "enc1"), Layer.Activation.relu()));
    for (int k = 0; k < planes; k++) {
      Partition.Workspace ws = new Partition.Workspace();
      double[][] a = new double[3][784];
      for (int i = 0; i < 3; i++) {
        for (int p = 0; p < 784; p++) {
          a[i][p] = (images[16 + (int) (3 * k + i) * 784 + p] & 0xff) / 255.0;
        }
      }
      Plane plane = Plane.throughAnchors(a[0], a[1], a[2], 0);
      for (int r = 0; r < repeats; r++) {
        System.gc();
        long t0 = System.nanoTime();
        Partition part = Partition.compute(net, plane, 1_000_000, null, 1, ws);
        double ms = (System.nanoTime() - t0) / 1e6;
        long t1 = System.nanoTime();
        Partition first = Partition.compute(net.prefix(1), plane, 1_000_000, null, 1, new Partition.Workspace());
        System.out.printf("  layer 1 alone: %d regions, %d vertices, %.0f ms%n", first.regionCount(),
            first.vertexCount(), (System.nanoTime() - t1) / 1e6);
        t1 = System.nanoTime();
        org.splinewatch.regions.PartitionStats stats = org.splinewatch.regions.PartitionStats.of(part, false);
        long t2 = System.nanoTime();
        String svg = org.splinewatch.regions.SvgRenderer.render(part, "plane", 480,
            org.splinewatch.regions.SvgRenderer.MIN_FACE_PIXELS, false);
        long t3 = System.nanoTime();
        System.out.printf("  stats %.0f ms, svg %.0f ms (%d chars, %d regions)%n", (t2 - t1) / 1e6, (t3 - t2) / 1e6,
            svg.length(), stats.regions());
        System.out.printf("plane %d run %d: %d regions, %d vertices (%.2f per region), %.0f ms, engine peak %.1f MiB,"
            + " heap used %.0f MiB%n", k, r, part.regionCount(), part.vertexCount(),
            part.vertexCount() / (double) part.regionCount(), ms, ws.peakBytes() / 1048576.0,
            (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1048576.0);
      }
    }
  }
}
