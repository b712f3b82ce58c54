package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.splinewatch.regions.Layer;

/**
 * The training session kept across steps (its array cache reused, gradients recycled, its graph walk kept) trains
 * exactly as {@code SameDiff.fit} called once per step: same losses, weights, Adam state and step count.
 */
class TrainingSessionTest {
  @Test
  void keptSessionReproducesFitStepByStep() {
    var train = CollapseBehaviourTest.TRAIN;
    List<Supplier<TwoViewTrainer>> makers = List.of(
        () -> new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 7),
        () -> new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, 7),
        () -> new ByolTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, 0.99, 100, true, 7),
        () -> new VicRegTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 25, 25, 1, 7));
    for (Supplier<TwoViewTrainer> make : makers) {
      try (TwoViewTrainer kept = make.get(); TwoViewTrainer fit = make.get()) {
        fit.reuseSession = false;
        String name = kept.getClass().getSimpleName();
        // past step 10, the second loss evaluation (step 1 is the first)
        for (int i = 1; i <= 12; i++) {
          assertEquals(fit.step(), kept.step(), name + " step " + i);
        }
        assertEquals(12, kept.iterationCount(), name);
        assertEquals(fit.iterationCount(), kept.iterationCount(), name);
        List<Layer> a = kept.snapshot("a", 12, 0, 0, 0).layers();
        List<Layer> b = fit.snapshot("b", 12, 0, 0, 0).layers();
        assertEquals(b.size(), a.size(), name);
        for (int l = 0; l < a.size(); l++) {
          if (a.get(l) instanceof Layer.Dense da) {
            Layer.Dense db = (Layer.Dense) b.get(l);
            assertArrayEquals(db.weights(), da.weights(), name + " layer " + l);
            assertArrayEquals(db.bias(), da.bias(), name + " layer " + l);
          }
        }
        Map<String, Map<String, INDArray>> adamKept = kept.optimizerState();
        Map<String, Map<String, INDArray>> adamFit = fit.optimizerState();
        assertEquals(adamFit.keySet(), adamKept.keySet(), name);
        for (String variable : adamFit.keySet()) {
          Map<String, INDArray> s = adamFit.get(variable);
          assertEquals(s.keySet(), adamKept.get(variable).keySet(), name + " " + variable);
          for (String key : s.keySet()) {
            assertArrayEquals(s.get(key).dup().data().asFloat(), adamKept.get(variable).get(key).dup().data().asFloat(),
                name + " " + variable + " " + key);
          }
        }
      }
    }
  }

  /**
   * An array the cache hands out again gets an id no new array takes: ND4J 1.0.0-M2.1's own cache gave it the id the
   * next new array then got too, and the session, which tells arrays apart by id, never gave that one back.
   */
  @Test
  void arrayFromTheCacheKeepsItsIdToItself() {
    var cache = new RecyclingTrainingSession.UniqueIdArrayCache();
    INDArray first = cache.allocate(false, DataType.FLOAT, 4, 4);
    cache.release(first);
    INDArray again = cache.allocate(false, DataType.FLOAT, 4, 4);
    assertSame(first, again);
    INDArray fresh = Nd4j.create(DataType.FLOAT, 4, 4);
    assertNotEquals(again.getId(), fresh.getId());
  }

  /**
   * Once the kept session's cache is warm, a step leaves almost no native memory for the collector: its arrays go back
   * to the cache and the targets and loss outputs made for one step are closed. Before, a SimCLR step of this network
   * left 0.34 MB of buffers (6.73 MB in 20 steps) that only a GC freed.
   */
  @Test
  void keptSessionLeavesLittleNativeMemoryForTheCollector() throws InterruptedException {
    var train = CollapseBehaviourTest.TRAIN;
    try (TwoViewTrainer t = new SimClrTrainer(train, EncoderSpec.mlp(64), 16, 64, 1e-3, 0.5, 7)) {
      for (int i = 0; i < 12; i++) {
        t.step();
      }
      NativeBufferCensus census = new NativeBufferCensus();
      for (int i = 0; i < 20; i++) {
        t.step();
        census.poll();
      }
      NativeBufferCensus.Counts counts = census.finish();
      assertTrue(counts.collectedUnclosedBytes() < 1_000_000, counts.toString());
    }
  }
}
