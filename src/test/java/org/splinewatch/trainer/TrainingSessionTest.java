package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SessionMemMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.shade.guava.collect.Table;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.regions.Layer;

/**
 * The training session kept across steps (its array cache reused, gradients recycled, its graph walk kept) trains
 * exactly as {@code SameDiff.fit} called once per step: same losses, weights, Adam state and step count.
 */
class TrainingSessionTest {
  @Test
  void keptSessionReproducesFitStepByStep() {
    var train = CollapseBehaviourTest.TRAIN;
    for (Supplier<TwoViewTrainer> make : allMethods(train)) {
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
   * The kept sessions (training, and {@code SameDiff.output}'s) hold no more after 60 steps than after 20: no map or
   * set in them, their dependency trackers or their array caches grows with the steps. {@code
   * InferenceSession.freedArrays}, the ids of the arrays a session gave back, grew by 80-170 ids a training step
   * until it was emptied at the start of each step; the cache kept two more scalars a SimCLR step, which it never
   * handed out again. A collection runs after every step: how many arrays the cache keeps depends on when the last
   * one ran (ND4J closes an array given back while another still holds its buffer), and SimSiam's cache held 77-82
   * arrays after a collection past step 20 against 76 in steps 1-20 without one.
   */
  @Test
  void keptSessionsDoNotGrowWithTheSteps() throws ReflectiveOperationException {
    var train = CollapseBehaviourTest.TRAIN;
    for (Supplier<TwoViewTrainer> make : allMethods(train)) {
      try (TwoViewTrainer t = make.get()) {
        String name = t.getClass().getSimpleName();
        Map<String, Integer> largest = new HashMap<>();
        for (int i = 1; i <= 20; i++) {
          t.step();
          System.gc();
          collectionSizes(t).forEach((k, v) -> largest.merge(k, v, Math::max));
        }
        assertTrue(largest.containsKey("training InferenceSession.freedArrays"), name + " " + largest.keySet());
        for (int i = 21; i <= 60; i++) {
          t.step();
          System.gc();
          for (Map.Entry<String, Integer> e : collectionSizes(t).entrySet()) {
            assertTrue(e.getValue() <= largest.getOrDefault(e.getKey(), 0), name + " step " + i + ": "
                + e.getKey() + " holds " + e.getValue() + ", at most " + largest.get(e.getKey()) + " in steps 1-20");
          }
        }
      }
    }
  }

  /**
   * {@code SameDiff.output}'s kept sessions replay their first walk of the graph: every output of every graph of the
   * four methods (BYOL's target network too) is, bit for bit, what a session that walks the graph afresh computes,
   * before the first step (SimSiam's first output runs before {@code fit} builds the gradient function) and after.
   */
  @Test
  void keptOutputWalksGiveWhatAFreshWalkGives() {
    var train = CollapseBehaviourTest.TRAIN;
    for (Supplier<TwoViewTrainer> make : allMethods(train)) {
      try (TwoViewTrainer t = make.get()) {
        String name = t.getClass().getSimpleName();
        for (int i = 0; i <= 12; i++) {
          if (i > 0) {
            t.step();
          }
          for (SameDiff graph : t.checkpointGraphs()) {
            Map<String, INDArray> placeholders = new HashMap<>();
            for (String p : graph.inputs()) {
              long[] shape = graph.getVariable(p).placeholderShape();
              long[] batch = shape == null ? new long[0] : Arrays.stream(shape).map(d -> d < 0 ? 32 : d).toArray();
              placeholders.put(p, Nd4j.rand(DataType.FLOAT, batch));
            }
            // the variables that no op reads: the loss, BYOL's target projection, and any other end of the graph
            String[] outputs = graph.variables().stream()
                .filter(v -> v.getVariableType() == VariableType.ARRAY)
                .filter(v -> graph.getVariables().get(v.name()).getInputsForOp() == null
                    || graph.getVariables().get(v.name()).getInputsForOp().isEmpty())
                .map(SDVariable::name).toArray(String[]::new);
            assertTrue(outputs.length > 0, name);
            Map<String, INDArray> kept = graph.output(placeholders, outputs);
            Map<String, INDArray> replayed = graph.output(placeholders, outputs);
            Map<String, INDArray> fresh = new InferenceSession(graph).output(List.of(outputs), placeholders, null,
                List.of(), List.of(), At.defaultAt(Operation.INFERENCE));
            for (String o : outputs) {
              float[] expected = fresh.get(o).dup().data().asFloat();
              assertArrayEquals(expected, kept.get(o).dup().data().asFloat(), name + " step " + i + " " + o);
              assertArrayEquals(expected, replayed.get(o).dup().data().asFloat(), name + " step " + i + " " + o);
            }
          }
        }
      }
    }
  }

  private static List<Supplier<TwoViewTrainer>> allMethods(LabeledImages train) {
    return List.of(
        () -> new SimClrTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5, 7),
        () -> new SimSiamTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, true, true, 7),
        () -> new ByolTrainer(train, EncoderSpec.mlp(16), 8, 8, 32, 1e-3, 0.99, 100, true, 7),
        () -> new VicRegTrainer(train, EncoderSpec.mlp(16), 8, 32, 1e-3, 25, 25, 1, 7));
  }

  /** The size of every map, collection and table in the trainer's kept sessions, by session and field. */
  private static Map<String, Integer> collectionSizes(TwoViewTrainer t) throws ReflectiveOperationException {
    Map<String, Integer> sizes = new HashMap<>();
    if (t.session() != null) {
      collectionSizes("training ", t.session(), sizes, new IdentityHashMap<>());
    }
    for (Map.Entry<Long, InferenceSession> e : t.sd.getSessions().entrySet()) {
      collectionSizes("output thread " + e.getKey() + " ", e.getValue(), sizes, new IdentityHashMap<>());
    }
    return sizes;
  }

  /** Adds the sizes of {@code o}'s collections, and those inside its dependency trackers and array cache. */
  private static void collectionSizes(String prefix, Object o, Map<String, Integer> sizes,
      IdentityHashMap<Object, Boolean> visited) throws ReflectiveOperationException {
    if (visited.put(o, true) != null) {
      return;
    }
    for (Class<?> c = o.getClass(); c != null && !c.getName().startsWith("java."); c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers())) {
          continue;
        }
        f.setAccessible(true);
        Object v = f.get(o);
        String name = prefix + c.getSimpleName() + "." + f.getName();
        if (v instanceof Map<?, ?> m) {
          sizes.put(name, m.size());
        } else if (v instanceof Collection<?> col) {
          sizes.put(name, col.size());
        } else if (v instanceof Table<?, ?, ?> table) {
          sizes.put(name, table.size());
        } else if (v instanceof SessionMemMgr
            || v != null && v.getClass().getName().startsWith("org.nd4j.autodiff.samediff.internal.")
            || v != null && v.getClass().getName().startsWith(RecyclingTrainingSession.class.getName() + "$")) {
          collectionSizes(name + ".", v, sizes, visited);
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
   * An array the cache hands out again shares its id with no array another thread makes meanwhile. The cache used to
   * leave the id it had just given to the handed-out array for the next new array until it took one more id from the
   * counter itself: an array another thread made in between (the augmentation thread makes the views in a tight loop)
   * got the same id.
   */
  @Test
  void arrayFromTheCacheSharesItsIdWithNoOtherThreadsArray() throws InterruptedException {
    var cache = new RecyclingTrainingSession.UniqueIdArrayCache();
    long[] madeElsewhere = new long[100_000];
    AtomicInteger made = new AtomicInteger();
    Thread other = new Thread(() -> {
      for (int i = 0; i < madeElsewhere.length; i++) {
        INDArray a = Nd4j.createUninitialized(DataType.FLOAT, 1);
        madeElsewhere[i] = a.getId();
        a.close();
        made.set(i + 1);
      }
    }, "allocates-meanwhile");
    INDArray array = cache.allocate(false, DataType.FLOAT, 4, 4);
    long[] handedOut = new long[2_000_000];
    int n = 0;
    other.start();
    // hands the same array out again for as long as the other thread makes arrays
    while (made.get() < madeElsewhere.length && n < handedOut.length) {
      cache.release(array);
      array = cache.allocate(false, DataType.FLOAT, 4, 4);
      handedOut[n++] = array.getId();
    }
    other.join();
    Set<Long> ids = new HashSet<>();
    for (int i = 0; i < n; i++) {
      ids.add(handedOut[i]);
    }
    int shared = 0;
    for (long id : madeElsewhere) {
      shared += ids.contains(id) ? 1 : 0;
    }
    assertEquals(n, ids.size(), "ids handed out twice");
    assertEquals(0, shared, "ids that " + n + " arrays the cache handed out share with the " + madeElsewhere.length
        + " arrays another thread made meanwhile");
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
