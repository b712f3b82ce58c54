package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.splinewatch.embedding.EmbeddingMetrics;

/**
 * The collapse statistics the trainer computes with the loss ({@link Trainer#batchCollapse}): present from the first
 * step, by output, and equal to {@link EmbeddingMetrics#batchCollapse} of the projector output of the batch just
 * trained on.
 */
class BatchStatisticsTest {
  private static EmbeddingMetrics.BatchCollapse direct(TwoViewTrainer t) {
    INDArray z = t.projectorOutput(t.lastBatch());
    return EmbeddingMetrics.batchCollapse(z.ravel().toDoubleVector(), (int) z.size(0), (int) z.size(1));
  }

  @Test
  void theFirstStepsStatisticsAreThoseOfItsBatchProjectorOutput() {
    var train = CollapseBehaviourTest.TRAIN;
    try (TwoViewTrainer simclr = new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 7);
        TwoViewTrainer simsiam = new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, 7)) {
      assertTrue(simclr.batchCollapse().isEmpty(), "nothing before the first evaluation");
      simclr.step();
      assertEquals(Set.of("projector"), simclr.batchCollapse().keySet());
      var s = simclr.batchCollapse().get("projector");
      var expected = direct(simclr);
      assertEquals(expected.stdNormalized(), s.stdNormalized(), 1e-6);
      assertEquals(expected.effectiveRank(), s.effectiveRank(), 1e-6);
      assertTrue(s.stdNormalized() > 0 && s.stdNormalized() < 2, "std " + s.stdNormalized());
      assertTrue(s.effectiveRank() >= 1 && s.effectiveRank() <= 8, "rank " + s.effectiveRank());
      // SimSiam: the projector as the loss reads it (after its batch normalisation) and before the normalisation,
      // the first embedding of the graph
      simsiam.step();
      assertEquals(Set.of("projector", "projector_pre_norm"), simsiam.batchCollapse().keySet());
      assertEquals(direct(simsiam).stdNormalized(), simsiam.batchCollapse().get("projector_pre_norm").stdNormalized(),
          1e-6);
      // the normalised projector output is centred per dimension: no common direction, a spread near 1
      assertTrue(simsiam.batchCollapse().get("projector").stdNormalized() > 0.8,
          "batch-normalised z: " + simsiam.batchCollapse().get("projector"));
      // kept between evaluations, recomputed every LOSS_EVERY steps
      var first = simclr.batchCollapse();
      for (int i = 1; i < TwoViewTrainer.LOSS_EVERY - 1; i++) {
        simclr.step();
      }
      assertTrue(first == simclr.batchCollapse(), "steps 2-9 keep the step-1 statistics");
      simclr.step();
      assertTrue(first != simclr.batchCollapse(), "step 10 computes new ones");
      assertEquals(direct(simclr).stdNormalized(), simclr.batchCollapse().get("projector").stdNormalized(), 1e-6);
    }
  }
}
