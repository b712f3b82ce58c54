package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.VariableType;
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

  /**
   * SimSiam with the CNN encoder on a tiny batch: the loss (a negative cosine, so in [−1, 1]) is finite on the steps
   * it is evaluated (1, 11, 21) and falls, and every trained variable stays finite.
   */
  @Test
  void simSiamWithTheCnnEncoderTrainsToAFiniteFallingLoss() {
    try (SimSiamTrainer t = new SimSiamTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 8, 8, 8, 1e-3, true, true, 3)) {
      double[] losses = new double[3];
      for (int step = 1; step <= 21; step++) {
        double loss = t.step();
        if ((step - 1) % TwoViewTrainer.LOSS_EVERY == 0) {
          losses[(step - 1) / TwoViewTrainer.LOSS_EVERY] = loss;
        }
      }
      for (double loss : losses) {
        assertTrue(Double.isFinite(loss) && loss >= -1 - 1e-6 && loss <= 1 + 1e-6, Arrays.toString(losses));
      }
      assertTrue(losses[2] < losses[0], "the loss falls: " + Arrays.toString(losses));
      assertAllFinite(t);
    }
  }

  /**
   * A predictor output that is exactly zero on the first step (its last layer zeroed: p = 0 for every row) used to
   * make every weight NaN at once, so the loss was NaN from step 1: the cosine's norm back-propagated 0/0.
   */
  @Test
  void aZeroPredictorOutputDoesNotTurnTheCnnWeightsNaN() {
    try (SimSiamTrainer t = new SimSiamTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 8, 8, 8, 1e-3, true, true, 3)) {
      t.graph().getVariable("pred1_w").getArr().assign(0);
      double loss = t.step();
      assertTrue(Double.isFinite(loss) && Math.abs(loss) <= 1 + 1e-6, "step 1: " + loss);
      assertAllFinite(t);
      for (int step = 2; step <= 11; step++) {
        loss = t.step();
      }
      assertTrue(Double.isFinite(loss), "step 11: " + loss);
    }
  }

  /**
   * BYOL's target network copies the whole online encoder, its convolution stages too. It used to copy only the dense
   * layers and feed them raw pixels: with {@code --cnn-channels 4,6} the first training step failed (matmul 784 vs
   * 294), and with the default 8,16 (16·7·7 = 784 = the pixels) it trained against a target that was no EMA of the
   * online network.
   */
  @Test
  void byolsTargetNetworkIsACopyOfTheWholeCnnEncoder() {
    try (ByolTrainer t = new ByolTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 8, 8, 16, 1e-3, 0.99, 10, true,
        3)) {
      assertEquals(4, t.targetParams().size(), "two convolution stages, one dense layer, the projector");
      assertEquals(List.of(3L, 3L, 1L, 4L), Arrays.stream(t.targetParams().get(0)[0].shape()).boxed().toList());
      assertTrue(Double.isFinite(t.step()) && Double.isFinite(t.step()));
      assertAllFinite(t);
    }
    EncoderSpec defaults = new EncoderSpec("cnn", new int[] {8, 16}, new int[] {12});
    try (ByolTrainer t = new ByolTrainer(CollapseBehaviourTest.TRAIN, defaults, 8, 8, 16, 1e-3, 0.99, 10, true, 3)) {
      INDArray x = inputs();
      INDArray online = t.projectorOutput(x);
      INDArray target = t.targetProjection(x);
      assertTrue(online.equalsWithEps(target, 1e-5), "before the first step the target is the online network: "
          + online + " vs " + target);
    }
  }

  /** The two-view methods refuse a batch of one image, whose batch statistics are degenerate. */
  @Test
  void aBatchOfOneIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new SimSiamTrainer(CollapseBehaviourTest.TRAIN, SMALL_CNN, 8, 8, 1, 1e-3, true, true, 3));
    assertTrue(e.getMessage().contains("batch size 1: the self-supervised methods need at least 2"), e.getMessage());
  }

  private static void assertAllFinite(TwoViewTrainer t) {
    for (SDVariable v : t.graph().variables()) {
      if (v.getVariableType() == VariableType.VARIABLE) {
        for (double x : v.getArr().data().asDouble()) {
          assertTrue(Double.isFinite(x), v.name() + " holds " + x);
        }
      }
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
