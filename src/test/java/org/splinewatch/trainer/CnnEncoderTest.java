package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * The CNN encoder (conv + ReLU + average pooling) trains, and its snapshot — converted to the region engine's
 * Conv2D/AvgPool2D/Flatten layers — computes exactly what SameDiff computes, so regions of CNNs are analysable.
 */
class CnnEncoderTest {
  @Test
  void snapshotOfTheCnnMatchesSameDiff() {
    try (SimClrTrainer t = new SimClrTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 8, 16, 1e-3, 0.5, 3)) {
      WeightSnapshot s = trainTwoStepsAndSnapshot(t);
      INDArray x = inputs();
      INDArray expected = t.projectorOutput(x);
      PiecewiseLinearNet net = s.network();
      double[] got = net.forward(Layer.widen(x.data().asFloat()), 5);
      assertEquals(expected.length(), got.length);
      for (int i = 0; i < got.length; i++) {
        assertEquals(expected.getDouble(i), got[i], 1e-4 * Math.max(1, Math.abs(got[i])), "output " + i);
      }
      assertEquals(3, net.hiddenBlocks().size(), "conv, pool+conv, pool+flatten+dense");
      assertEquals(2, s.reprBlock(), "the representation is the dense layer after the convolutions");
      // the region engine partitions a plane of the CNN encoder
      double[][] a = new double[3][];
      for (int k = 0; k < 3; k++) {
        a[k] = Layer.widen(probe(k));
      }
      // a small domain and cap: a conv layer has one neuron per channel and pixel (here 4·28·28 in the first)
      Partition p = Partition.compute(s.regionNetwork(), Plane.throughAnchors(a[0], a[1], a[2], 0.05), 300);
      assertTrue(p.regionCount() > 1 && p.inconsistentFaces() == 0, "regions " + p.regionCount());
    }
  }

  @Test
  void supervisedCnnSnapshotMatchesDl4j() {
    SupervisedTrainer t = new SupervisedTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 16, 1e-3, 3);
    try {
      WeightSnapshot s = trainTwoStepsAndSnapshot(t);
      INDArray x = inputs();
      // the converted network computes DL4J's logits (softmax dropped: it does not move the argmax)
      INDArray probabilities = t.network().output(x);
      double[] logits = s.network().forward(Layer.widen(x.data().asFloat()), 5);
      for (int r = 0; r < 5; r++) {
        double max = Double.NEGATIVE_INFINITY;
        double sum = 0;
        for (int k = 0; k < 10; k++) {
          max = Math.max(max, logits[r * 10 + k]);
        }
        for (int k = 0; k < 10; k++) {
          sum += Math.exp(logits[r * 10 + k] - max);
        }
        for (int k = 0; k < 10; k++) {
          double p = Math.exp(logits[r * 10 + k] - max) / sum;
          assertEquals(probabilities.getDouble(r, k), p, 1e-4, "row " + r + " class " + k);
        }
      }
      assertEquals(2, s.reprBlock(), "the representation is the hidden dense layer after the convolutions");
    } finally {
      t.close();
    }
  }

  static final EncoderSpec SMALL_CNN = new EncoderSpec("cnn", new int[] {4, 6}, new int[] {12});

  /** Two steps, then a snapshot whose layers must be the converted CNN: conv stages, flatten, dense layers. */
  private static WeightSnapshot trainTwoStepsAndSnapshot(Trainer t) {
    double loss = t.step();
    t.step();
    assertTrue(Double.isFinite(loss));
    WeightSnapshot s = t.snapshot("cnn", 2, 0, loss, 0);
    List<String> kinds = s.layers().stream().map(l -> l.getClass().getSimpleName()).toList();
    assertEquals(List.of("Conv2D", "Activation", "AvgPool2D", "Conv2D", "Activation", "AvgPool2D", "Flatten",
        "Dense", "Activation", "Dense"), kinds);
    return s;
  }

  /** Five fixed random 28×28 inputs. */
  private static INDArray inputs() {
    Nd4j.getRandom().setSeed(5);
    return Nd4j.rand(DataType.FLOAT, 5, 784);
  }

  private static float[] probe(int i) {
    float[] out = new float[784];
    CollapseBehaviourTest.PROBES.image(i, out, 0);
    return out;
  }
}
