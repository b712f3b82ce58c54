package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Each loss against a hand computation on a tiny batch; BYOL's EMA; SimSiam's stop-gradient checked directly. */
class SslLossesTest {
  private static INDArray a(double[][] rows) {
    return Nd4j.createFromArray(rows).castTo(DataType.FLOAT);
  }

  private static double eval(SameDiff sd, SDVariable v) {
    return sd.output(Map.of(), v.name()).get(v.name()).getDouble(0);
  }

  @Test
  void negativeCosineAndByol() {
    SameDiff sd = SameDiff.create();
    SDVariable p = sd.constant(a(new double[][] {{1, 0}, {0, 1}}));
    SDVariable t = sd.constant(a(new double[][] {{2, 0}, {1, 1}}));
    // cosines 1 and 1/√2
    double mean = (1 + 1 / Math.sqrt(2)) / 2;
    assertEquals(-mean, eval(sd, SslLosses.negativeCosine(p, t)), 1e-6);
    assertEquals(2 - 2 * mean, eval(sd, SslLosses.byol(p, t)), 1e-6);
  }

  @Test
  void aZeroRowHasAFiniteCosineGradient() {
    // p's first row and t's second are zero (a dead predictor output, a zero target): with ‖z‖ from norm2 both
    // gradients were NaN (norm2 back-propagates z/‖z‖ = 0/0), and Adam spread the NaN to every weight in one step
    SameDiff sd = SameDiff.create();
    sd.var("p", a(new double[][] {{0, 0, 0}, {1, 2, 2}}));
    sd.var("t", a(new double[][] {{1, 0, 0}, {0, 0, 0}}));
    SDVariable loss = SslLosses.negativeCosine(sd.getVariable("p"), sd.getVariable("t"));
    sd.setLossVariables(loss);
    assertEquals(0, eval(sd, loss), 1e-12, "a zero row has cosine 0 with anything");
    Map<String, INDArray> g = sd.calculateGradients(Map.of(), "p", "t");
    for (String v : new String[] {"p", "t"}) {
      for (double x : g.get(v).data().asDouble()) {
        assertTrue(Double.isFinite(x), v + " gradient " + g.get(v));
      }
    }
    // away from zero the rows are unit vectors as before: (1, 2, 2)/3
    SDVariable n = SslLosses.normalize(sd.getVariable("p"));
    INDArray rows = sd.output(Map.of(), n.name()).get(n.name());
    assertEquals(1 / 3.0, rows.getDouble(1, 0), 1e-6);
    assertEquals(2 / 3.0, rows.getDouble(1, 2), 1e-6);
    assertEquals(0, rows.getDouble(0, 0), 0);
  }

  @Test
  void ntXentOnTwoOrthogonalPairs() {
    SameDiff sd = SameDiff.create();
    SDVariable z = sd.constant(a(new double[][] {{1, 0}, {0, 1}}));
    SDVariable z2 = sd.constant(a(new double[][] {{3, 0}, {0, 2}}));
    // τ = 1: each embedding has similarity 1 with its pair and 0 with the two others: loss = log(2 + e) − 1
    assertEquals(Math.log(2 + Math.E) - 1, eval(sd, SslLosses.ntXent(sd, z, z2, 2, 1.0)), 1e-5);
  }

  @Test
  void vicregByHand() {
    SameDiff sd = SameDiff.create();
    SDVariable z1 = sd.constant(a(new double[][] {{0, 0}, {2, 2}}));
    SDVariable z2 = sd.constant(a(new double[][] {{0, 1}, {2, 1}}));
    // invariance: mean of (z1 − z2)² = (0 + 1 + 0 + 1)/4 = 0.5
    // variance: z1 columns have std √(2 + 1e-4) > 1 → 0; z2 column 1 is constant: 1 − √(1e-4) = 0.99 → (0 + 0.99/2)/2
    // covariance: C(z1) = [[2, 2], [2, 2]], off-diagonal squares 8, /d = 4; C(z2) off-diagonal 0
    double expected = 25 * 0.5 + 25 * (0 + 0.99 / 2) / 2 + 1 * 4;
    assertEquals(expected, eval(sd, SslLosses.vicreg(sd, z1, z2, 2, 2, 25, 25, 1)), 1e-4);
    assertEquals(25 * 0.5 + 4, eval(sd, SslLosses.vicreg(sd, z1, z2, 2, 2, 25, 0, 1)), 1e-4, "μ = 0");
  }

  @Test
  void byolTargetIsTheExponentialMovingAverage() {
    assertEquals(0.996, ByolTrainer.tau(0.996, 0, 100), 1e-12);
    assertEquals(0.998, ByolTrainer.tau(0.996, 50, 100), 1e-12);
    assertEquals(1.0, ByolTrainer.tau(0.996, 100, 100), 1e-12);
    ByolTrainer t = new ByolTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(16), 8, 8, 32, 1e-2, 0.9, 1000, true, 5);
    try (t) {
      INDArray before = t.targetParams().get(0)[0].dup();
      t.step();
      INDArray online = t.backbone.get(0)[0].getArr();
      double tau = ByolTrainer.tau(0.9, 1, 1000);
      INDArray expected = before.mul(tau).addi(online.mul(1 - tau));
      assertTrue(expected.equalsWithEps(t.targetParams().get(0)[0], 1e-6), "θ' = τθ' + (1−τ)θ");
      assertTrue(!before.equalsWithEps(online, 1e-6), "the online network moved");
    }
  }

  @Test
  void simSiamStopGradientSendsNoGradientThroughTheTargets() {
    Nd4j.getRandom().setSeed(9);
    INDArray v1 = Nd4j.rand(DataType.FLOAT, 16, 784);
    INDArray v2 = Nd4j.rand(DataType.FLOAT, 16, 784);
    double[] stopped = gradientVersusDifferences(true, v1, v2);
    double[] live = gradientVersusDifferences(false, v1, v2);
    // stopped: the analytic gradient equals the finite difference with the targets held fixed, not the full one
    assertEquals(stopped[1], stopped[0], 0.05 * Math.abs(stopped[1]) + 1e-4, "stop-gradient gradient");
    assertTrue(Math.abs(stopped[2] - stopped[1]) > 0.2 * Math.abs(stopped[1]),
        "the targets do depend on the weight: " + stopped[1] + " vs " + stopped[2]);
    // without stop-gradient the analytic gradient is the full one
    assertEquals(live[2], live[0], 0.05 * Math.abs(live[2]) + 1e-4, "full gradient");
  }

  /** {analytic dL/dθ, finite difference with fixed targets, finite difference with recomputed targets}. */
  private static double[] gradientVersusDifferences(boolean stopGradient, INDArray v1, INDArray v2) {
    SimSiamTrainer t = new SimSiamTrainer(CollapseBehaviourTest.TRAIN, EncoderSpec.mlp(16), 8, 8, 16, 1e-3, stopGradient,
        true, 7);
    try (t) {
      INDArray[] targets = t.extraInputs(v1, v2);
      INDArray w = t.graph().getVariable("enc0_b").getArr();
      INDArray g = t.gradients(v1, v2, targets, "enc0_b").get("enc0_b");
      int j = (int) Transforms.abs(g).argMax().getDouble(0);
      double h = 1e-2;
      double orig = w.getDouble(j);
      w.putScalar(j, orig + h);
      double fixedPlus = t.loss(v1, v2, targets);
      double fullPlus = t.loss(v1, v2, t.extraInputs(v1, v2));
      w.putScalar(j, orig - h);
      double fixedMinus = t.loss(v1, v2, targets);
      double fullMinus = t.loss(v1, v2, t.extraInputs(v1, v2));
      w.putScalar(j, orig);
      return new double[] {g.getDouble(j), (fixedPlus - fixedMinus) / (2 * h), (fullPlus - fullMinus) / (2 * h)};
    }
  }
}
