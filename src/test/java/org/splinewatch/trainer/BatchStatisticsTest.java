package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;

/**
 * The training batch's outputs the trainer keeps from its loss evaluation ({@link Trainer#batchOutputs}): present
 * from the first step, by output, equal to a forward pass of the batch just trained on; and {@link BatchStatistics},
 * which turns them into the collapse samples off the training thread.
 */
class BatchStatisticsTest {
  private static double[] projector(TwoViewTrainer t) {
    return t.projectorOutput(t.lastBatch()).ravel().toDoubleVector();
  }

  @Test
  void theFirstStepsOutputsAreThoseOfItsBatch() {
    var train = CollapseBehaviourTest.TRAIN;
    try (TwoViewTrainer simclr = new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 7);
        TwoViewTrainer simsiam = new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, 7)) {
      assertTrue(simclr.batchOutputs().isEmpty(), "nothing before the first evaluation");
      simclr.step();
      assertEquals(Set.of("encoder", "projector"), simclr.batchOutputs().keySet());
      Trainer.BatchOutput p = simclr.batchOutputs().get("projector");
      assertEquals(32, p.rows());
      assertEquals(8, p.columns());
      assertTrue(p.spectral());
      assertArrayEquals(projector(simclr), p.values(), 1e-6);
      Trainer.BatchOutput e = simclr.batchOutputs().get("encoder");
      assertEquals(16, e.columns(), "the encoder output: the representation, 16 wide");
      assertFalse(e.spectral());
      assertTrue(Arrays.stream(e.values()).min().orElseThrow() >= 0, "after the encoder's last ReLU");
      // the projector output of the second view comes along (the cross-view statistics), the encoder's does not
      assertEquals(p.values().length, p.otherView().length);
      assertFalse(Arrays.equals(p.values(), p.otherView()), "the second view is another augmentation");
      assertNull(e.otherView());
      // SimSiam: the projector as the loss reads it (after its batch normalisation) and before the normalisation,
      // the first embedding of the graph
      simsiam.step();
      assertEquals(Set.of("encoder", "projector", "projector_pre_norm"), simsiam.batchOutputs().keySet());
      assertArrayEquals(projector(simsiam), simsiam.batchOutputs().get("projector_pre_norm").values(), 1e-6);
      assertNotNull(simsiam.batchOutputs().get("projector").otherView());
      assertNotNull(simsiam.batchOutputs().get("projector_pre_norm").otherView());
      // kept between evaluations, new every LOSS_EVERY steps
      var first = simclr.batchOutputs();
      for (int i = 1; i < TwoViewTrainer.LOSS_EVERY - 1; i++) {
        simclr.step();
      }
      assertTrue(first == simclr.batchOutputs(), "steps 2-9 keep the step-1 outputs");
      simclr.step();
      assertTrue(first != simclr.batchOutputs(), "step 10 evaluates new ones");
      assertArrayEquals(projector(simclr), simclr.batchOutputs().get("projector").values(), 1e-6);
    }
  }

  @Test
  void samplesAreTheBatchCollapseStatisticsOfEachOutput() {
    double[] z = new double[32 * 4];
    double[] r = new double[32 * 6];
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < z.length; i++) {
      z[i] = random.nextGaussian();
    }
    for (int i = 0; i < r.length; i++) {
      r[i] = Math.max(0, random.nextGaussian());
    }
    Map<String, Trainer.BatchOutput> outputs = Map.of("projector", new Trainer.BatchOutput(z, 32, 4, true),
        "encoder", new Trainer.BatchOutput(r, 32, 6, false));
    Map<String, Double> byKey = BatchStatistics.samples(40, outputs).stream().peek(s -> assertEquals(40, s.step()))
        .collect(Collectors.toMap(s -> s.name() + "/" + s.labels().get("output"), Sample::value));
    var p = EmbeddingMetrics.batchCollapse(z, 32, 4);
    var e = EmbeddingMetrics.batchCollapse(r, 32, 6, false);
    Map<String, Double> expected = new TreeMap<>(Map.of(
        MetricFamily.TRAINING_BATCH_STD_NORMALIZED.id() + "/projector", p.stdNormalized(),
        MetricFamily.TRAINING_BATCH_SCALE.id() + "/projector", p.scale(),
        MetricFamily.TRAINING_BATCH_EFFECTIVE_RANK.id() + "/projector", p.effectiveRank(),
        MetricFamily.TRAINING_BATCH_RANKME.id() + "/projector", p.rankMe(),
        MetricFamily.TRAINING_BATCH_STD_NORMALIZED.id() + "/encoder", e.stdNormalized(),
        MetricFamily.TRAINING_BATCH_SCALE.id() + "/encoder", e.scale()));
    assertEquals(expected, new TreeMap<>(byKey), "the encoder gets the O(n·d) statistics only");
  }

  @Test
  void anOutputWithItsSecondViewAlsoGetsTheCrossViewAndCrossImageCosines() {
    // rows (1, 0), (0, 1), (1, 1); the second view (1, 0), (0, 2), (-1, -1): cosines 1, 1, -1 with the first
    double[] z1 = {1, 0, 0, 1, 1, 1};
    double[] z2 = {1, 0, 0, 2, -1, -1};
    Map<String, Double> byKey = BatchStatistics.samples(20, Map.of("projector",
            new Trainer.BatchOutput(z1, 3, 2, false, z2))).stream()
        .collect(Collectors.toMap(s -> s.name() + "/" + s.labels().get("output"), Sample::value));
    assertEquals(1.0 / 3, byKey.get(MetricFamily.TRAINING_BATCH_CROSS_VIEW_COSINE.id() + "/projector"), 1e-12);
    // pairs of the first view: cos 0, 1/√2, 1/√2, each counted in both orders, over 3·2 ordered pairs
    assertEquals(Math.sqrt(2) / 3, byKey.get(MetricFamily.TRAINING_BATCH_CROSS_IMAGE_COSINE.id() + "/projector"),
        1e-12);
    assertThrows(IllegalArgumentException.class, () -> new Trainer.BatchOutput(z1, 3, 2, false, new double[4]),
        "a second view of another shape");
  }

  /**
   * The statistics thread publishes each batch's samples together; when it falls behind, at most
   * {@link BatchStatistics#PENDING} batches wait and the oldest waiting one is dropped; the end of a run drains what
   * is queued.
   */
  @Test
  void publishesOffTheCallersThreadBoundedAndDrainsAtTheEnd() throws Exception {
    CountDownLatch busy = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<List<Sample>> published = Collections.synchronizedList(new ArrayList<>());
    List<String> threads = Collections.synchronizedList(new ArrayList<>());
    BatchStatistics stats = new BatchStatistics(samples -> {
      threads.add(Thread.currentThread().getName());
      busy.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      published.add(samples);
    });
    try {
      Map<String, Trainer.BatchOutput> outputs = Map.of("projector",
          new Trainer.BatchOutput(new double[] {1, 0, 0, 1, 1, 1}, 3, 2, true));
      stats.submit(1, outputs);
      assertTrue(busy.await(10, TimeUnit.SECONDS), "the first batch is being computed");
      for (long step = 10; step <= 10L * (BatchStatistics.PENDING + 2); step += 10) {
        stats.submit(step, outputs); // returns at once although the thread is busy
      }
      stats.submit(99, Map.of()); // nothing to compute
      release.countDown();
      stats.drain(10_000);
      List<Long> steps = published.stream().map(s -> s.get(0).step()).toList();
      List<Long> expected = new ArrayList<>(List.of(1L));
      for (long step = 30; step <= 10L * (BatchStatistics.PENDING + 2); step += 10) {
        expected.add(step); // steps 10 and 20 waited longest and were dropped
      }
      assertEquals(expected, steps);
      assertTrue(published.stream().allMatch(s -> s.size() == 4), "one batch's four projector samples together");
      assertTrue(threads.stream().allMatch("splinewatch-batch-statistics"::equals), threads.toString());
    } finally {
      stats.close();
    }
  }
}
