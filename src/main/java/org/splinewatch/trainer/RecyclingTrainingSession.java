package org.splinewatch.trainer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.Listener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.InferenceFactory;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.config.ExecutionResult;
import org.nd4j.autodiff.samediff.config.SDValue;
import org.nd4j.autodiff.samediff.internal.FrameIter;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.autodiff.samediff.internal.SessionMemMgr;
import org.nd4j.autodiff.samediff.internal.TrainingSession;
import org.nd4j.autodiff.samediff.internal.memory.ArrayCacheMemoryMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.BaseNDArray;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * A SameDiff training session kept for the whole run, one optimisation step per {@link #step}. {@code SameDiff.fit}
 * builds a new session, and with it an empty array cache, on every call: one call per step allocated every activation
 * and gradient afresh (a quarter of the training thread's time, in page faults and zeroing), and the buffers were
 * freed only when the GC ran. A session kept across steps reuses them, as {@code fit} does within one call over an
 * iterator; {@link #step} is the body of that loop (SameDiff 1.0.0-M2.1 {@code fitHelper}) without listeners. In
 * addition it gives each step's gradient arrays back to its array cache once the updater has applied them: the
 * session returns gradients as requested outputs and so never frees them itself; without this, every step allocated
 * them anew. It also keeps its first walk of the graph ({@link #initSubgraph}), and allocates through
 * {@link UniqueIdArrayCache}, without which it never gave back some arrays and their buffers waited for the collector,
 * and forgets the ids of the arrays it gave back at the start of each step ({@link #startExecution}).
 * {@code TrainingSessionTest} checks that it reproduces {@code fit} step by step.
 */
final class RecyclingTrainingSession extends TrainingSession {
  private final SameDiff graph;
  /** The graph's trainable variables, in declaration order. */
  private final Set<String> trainable = new LinkedHashSet<>();
  /** The names of their gradients. */
  private final Set<String> gradientNames = new HashSet<>();
  private final List<INDArray> applied = new ArrayList<>();
  /** The first walk of the graph for each list of requested variables ({@link #initSubgraph}). */
  private final KeptWalks walks = new KeptWalks();

  /** A session over {@code sd}'s gradient function (which the first {@code fit} created). */
  RecyclingTrainingSession(SameDiff sd) {
    super(sd.getFunction("grad"));
    this.graph = sd;
    setMmgr(new UniqueIdArrayCache());
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.VARIABLE) {
        trainable.add(v.name());
        if (v.getGradient() != null) {
          gradientNames.add(v.getGradient().name());
        }
      }
    }
  }

  /** One optimisation step on {@code batch}, whose features are the training config's placeholders in order. */
  void step(MultiDataSet batch) {
    TrainingConfig config = graph.getTrainingConfig();
    List<String> names = config.getDataSetFeatureMapping();
    Map<String, INDArray> placeholders = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      placeholders.put(names.get(i), batch.getFeatures(i));
    }
    At at = At.builder().epoch(config.getEpochCount()).iteration(config.getIterationCount()).trainingThreadNum(0)
        .javaThreadNum(Thread.currentThread().getId()).operation(Operation.TRAINING).build();
    trainingIteration(config, placeholders, trainable, graph.getUpdaterMap(), batch, graph.getLossVariables(),
        List.of(), at);
    recycleGradients();
    config.incrementIterationCount();
  }

  /** Called once at the start of every step ({@code AbstractSession.output}), before any array is given back. */
  @Override
  protected Map<String, INDArray> preprocessPlaceholders(Map<String, INDArray> placeholders, At at) {
    startExecution(freedArrays, getMmgr());
    return super.preprocessPlaceholders(placeholders, at);
  }

  @Override
  public ExecutionResult getOutputs(Pair<SameDiffOp, OpContext> opPair, FrameIter frameIter, Set<VarId> opInputs,
      Set<VarId> allIterInputs, Set<String> constAndPhInputs, List<Listener> listeners, At at, MultiDataSet batch,
      Set<String> allReqVariables, Map<String, SDValue> otherPlaceHolders) {
    // the parent applies the updater to a gradient as soon as the op computing it has run
    ExecutionResult out = super.getOutputs(opPair, frameIter, opInputs, allIterInputs, constAndPhInputs, listeners,
        at, batch, allReqVariables, otherPlaceHolders);
    List<String> names = opPair.getFirst().getOutputsOfOp();
    for (int i = 0; i < names.size(); i++) {
      if (gradientNames.contains(names.get(i)) && out.resultAt(i) != null) {
        applied.add(out.resultAt(i));
      }
    }
    return out;
  }

  /** Replays the first walk for the same requested variables instead of walking the graph again ({@link KeptWalks}). */
  @Override
  protected void initSubgraph(Set<String> variables) {
    walks.initSubgraph(sameDiff, variables, () -> super.initSubgraph(variables), subgraph, subgraphOps,
        zeroInputOpsInSubgraph);
  }

  /**
   * SameDiff's array cache with an array id that no other array has. The session tells arrays apart by
   * {@code getId()} (which it has released, {@code InferenceSession.freedArrays}), but ND4J 1.0.0-M2.1 hands out ids
   * from one counter two ways: a new array takes the counter's value and then increments it, an array the cache hands
   * out again increments it and takes the new value ({@code BaseNDArray.assignNewId}), so the next new array gets the
   * same id. The session then took that array for one it had already released and never released it: its buffer waited
   * for the collector. This cache gives every array it returns a fresh id the way a new array takes one (the counter's
   * value, then incremented, in one atomic step), so no array made before or after, on any thread, has it. Taking one
   * more id from the counter after the allocation instead (as this cache first did) left the id to another thread's
   * new array made in between.
   */
  static final class UniqueIdArrayCache extends ArrayCacheMemoryMgr {
    /** {@code BaseNDArray.arrayId}, which ND4J sets only in its constructors and in {@code assignNewId}. */
    private static final VarHandle ARRAY_ID;
    /** {@code BaseNDArray.arrayCounter}, the counter from which every array takes its id. */
    private static final AtomicLong ARRAY_COUNTER;

    static {
      try {
        MethodHandles.Lookup nd4j = MethodHandles.privateLookupIn(BaseNDArray.class, MethodHandles.lookup());
        ARRAY_ID = nd4j.findVarHandle(BaseNDArray.class, "arrayId", long.class);
        ARRAY_COUNTER = (AtomicLong) nd4j.findStaticVarHandle(BaseNDArray.class, "arrayCounter", AtomicLong.class)
            .get();
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError("ND4J's BaseNDArray has no arrayId and arrayCounter fields (expected"
            + " those of ND4J 1.0.0-M2.1, whose array cache this class fixes): " + e);
      }
    }

    /** What is counted of each type and shape asked for or given back, found without building a key. */
    private final ShapeTable shapes = new ShapeTable();

    @Override
    public INDArray allocate(boolean detached, DataType dataType, long... shape) {
      shapes.get(dataType, shape).ask();
      return withFreshId(super.allocate(detached, dataType, shape));
    }

    @Override
    public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
      shapes.get(descriptor.dataType(), descriptor.getShape()).ask();
      return withFreshId(super.allocate(detached, descriptor));
    }

    /**
     * Closes {@code array} instead of keeping it when the cache already holds as many arrays of its type and shape as
     * one execution ever asked for: such an array would never be handed out again. Without this, arrays of a shape the
     * session gives back but never allocates (two scalars a SimCLR step) piled up in the cache for the whole run: it
     * keeps arrays up to a limit in bytes (a share of the machine's memory), which scalars never reach.
     */
    @Override
    public void release(INDArray array) {
      ShapeCount shape = shapes.get(array.dataType(), array.shape());
      if (isEnableCache() && array.closeable() && heldCount(shape) >= shape.mostAsked
          && !getLruCache().contains(array.getId())) {
        array.close();
        return;
      }
      super.release(array);
    }

    /**
     * How many arrays of {@code shape} the cache holds: the size of ND4J's list of them, which it creates when it first
     * keeps one and never replaces, so its key string is built until then and not after.
     */
    private int heldCount(ShapeCount shape) {
      if (shape.held == null) {
        shape.held = getArrays().get(shape.dataType, Arrays.toString(shape.shape));
      }
      return shape.held == null ? 0 : shape.held.size();
    }

    /**
     * {@code array} with an id taken from ND4J's counter as a new array takes it. A new array already had such an id
     * (telling it from a cached one would cost a lookup), and the cache removed a cached one from its id-keyed sets
     * before handing it out: changing the id touches no record of it.
     */
    private static INDArray withFreshId(INDArray array) {
      ARRAY_ID.set((BaseNDArray) array, ARRAY_COUNTER.getAndIncrement());
      return array;
    }

    /** Starts counting what a new execution (a training step, an output call) asks for. */
    void newExecution() {
      shapes.newExecution();
    }
  }

  /** What a {@link UniqueIdArrayCache} counts of one data type and shape. */
  private static final class ShapeCount {
    final DataType dataType;
    final long[] shape;
    /** How many arrays of it the current execution asked for. */
    int asked;
    /** The most arrays of it one execution asked for. */
    int mostAsked;
    /** ND4J's list of the arrays of it that the cache holds, once there is one. */
    List<INDArray> held;

    ShapeCount(DataType dataType, long[] shape) {
      this.dataType = dataType;
      this.shape = shape.clone();
    }

    void ask() {
      mostAsked = Math.max(mostAsked, ++asked);
    }
  }

  /**
   * The {@link ShapeCount}s of one cache by data type and shape, in an open-addressing table: a look-up compares the
   * shape in place, where a map keyed by {@code dataType + Arrays.toString(shape)} built two strings for each of the
   * hundreds of allocations and releases of a step. A session asks for a few dozen shapes in all.
   */
  private static final class ShapeTable {
    private ShapeCount[] slots = new ShapeCount[64];
    private final List<ShapeCount> all = new ArrayList<>();

    ShapeCount get(DataType dataType, long[] shape) {
      int mask = slots.length - 1;
      for (int i = hash(dataType, shape) & mask; ; i = (i + 1) & mask) {
        ShapeCount s = slots[i];
        if (s == null) {
          return add(new ShapeCount(dataType, shape));
        }
        if (s.dataType == dataType && Arrays.equals(s.shape, shape)) {
          return s;
        }
      }
    }

    void newExecution() {
      for (ShapeCount s : all) {
        s.asked = 0;
      }
    }

    private ShapeCount add(ShapeCount shape) {
      all.add(shape);
      if (2 * all.size() > slots.length) {
        slots = new ShapeCount[2 * slots.length];
        for (ShapeCount s : all) {
          place(s);
        }
      } else {
        place(shape);
      }
      return shape;
    }

    private void place(ShapeCount shape) {
      int mask = slots.length - 1;
      int i = hash(shape.dataType, shape.shape) & mask;
      while (slots[i] != null) {
        i = (i + 1) & mask;
      }
      slots[i] = shape;
    }

    private static int hash(DataType dataType, long[] shape) {
      int h = 31 * dataType.ordinal() + Arrays.hashCode(shape);
      return h ^ (h >>> 16);
    }
  }

  /**
   * Makes {@code SameDiff.output} run in sessions with the same cache ({@link UniqueIdArrayCache}): each graph keeps
   * one inference session per thread, which gives its arrays back by id as the training session does. They keep their
   * walks of the graph too ({@link KeptWalks}): BYOL's target network and SimSiam's targets are outputs every step.
   * Idempotent; binds SameDiff's factory for every graph in the JVM (only the two-view trainers use SameDiff).
   */
  static void uniqueIdsForInference() {
    SameDiff.bindInferenceFactory(UNIQUE_ID_INFERENCE);
  }

  private static final InferenceFactory UNIQUE_ID_INFERENCE = sd -> {
    InferenceSession session = new InferenceSession(sd) {
      private final KeptWalks walks = new KeptWalks();

      @Override
      protected Map<String, INDArray> preprocessPlaceholders(Map<String, INDArray> placeholders, At at) {
        startExecution(freedArrays, getMmgr());
        return super.preprocessPlaceholders(placeholders, at);
      }

      @Override
      protected void initSubgraph(Set<String> variables) {
        walks.initSubgraph(sameDiff, variables, () -> super.initSubgraph(variables), subgraph, subgraphOps,
            zeroInputOpsInSubgraph);
      }
    };
    session.setMmgr(new UniqueIdArrayCache());
    return session;
  };

  /**
   * Starts an execution (a training step, or one {@code SameDiff.output} call) of a kept session, the training one or
   * an inference one: its {@link UniqueIdArrayCache} ({@code memory}) starts counting what this execution asks for, and
   * the session's {@code InferenceSession.freedArrays} ({@code freedIds}) is emptied. The session adds the id of every
   * array it gives back to its cache and checks the set only to skip giving the same array back twice; nothing ever
   * removed an id, so a session kept for the whole run grew by 80-170 ids a step (about 70 bytes of heap each). An old
   * id can match nothing: {@code preprocessPlaceholders} also empties the array use tracker, whose newly satisfied
   * arrays are the only ones the session gives back ({@code getOutputs}, {@code postProcessOutputValues}), so every
   * array given back in this execution was made in it, and {@link UniqueIdArrayCache} gives each such array an id that
   * no earlier array had, also one taken back out of the cache. Ids given back within the execution are still kept
   * until its end, so an array that two values share is given back once. {@code SameDiff.fit}, one new session a step,
   * started every step with the set empty too; and the cache itself refuses an array given back while it still holds
   * it.
   */
  private static void startExecution(Set<Long> freedIds, SessionMemMgr memory) {
    freedIds.clear();
    ((UniqueIdArrayCache) memory).newExecution();
  }

  /**
   * A session's first walk of its graph for each list of requested variables ({@code AbstractSession.initSubgraph}),
   * replayed instead of walking again: SameDiff walks back from them on every execution, and every variable it visits
   * compiles a regular expression afresh ({@code VariableUtils.stripVarSuffix}), a third of the training thread's
   * allocation. The walk reads only the graph's ops and variables, so it is kept for as long as their counts stay the
   * same: SimSiam's first {@code SameDiff.output} runs before the first {@code fit} builds the gradient function. The
   * session's sets are refilled in the order the walk filled them.
   */
  private static final class KeptWalks {
    private final Map<WalkKey, KeptWalk> walks = new HashMap<>();

    /** Fills the three sets as {@code walk} (the session's own {@code initSubgraph}) would for {@code variables}. */
    void initSubgraph(SameDiff graph, Set<String> variables, Runnable walk, Set<String> subgraph,
        Set<String> subgraphOps, Set<String> zeroInputOps) {
      WalkKey key = new WalkKey(List.copyOf(variables), graph.getOps().size(), graph.getVariables().size());
      KeptWalk kept = walks.get(key);
      if (kept == null) {
        walk.run();
        walks.put(key, new KeptWalk(List.copyOf(subgraph), List.copyOf(subgraphOps), List.copyOf(zeroInputOps)));
        return;
      }
      subgraph.addAll(kept.variables());
      subgraphOps.addAll(kept.ops());
      zeroInputOps.addAll(kept.zeroInputOps());
    }
  }

  /** The requested variables of a walk, and the counts of the graph's ops and variables when it was made. */
  private record WalkKey(List<String> requested, int ops, int variables) {
  }

  /** What {@code initSubgraph} put into the session's sets, in their order. */
  private record KeptWalk(List<String> variables, List<String> ops, List<String> zeroInputOps) {
  }

  /** Whether an array in this session's cache holds {@code buffer}. */
  boolean caches(DataBuffer buffer) {
    for (INDArray a : ((ArrayCacheMemoryMgr) getMmgr()).getLruCacheValues().values()) {
      if (a.data() == buffer) {
        return true;
      }
    }
    return false;
  }

  private void recycleGradients() {
    Set<Long> seen = new HashSet<>();
    for (INDArray a : applied) {
      if (seen.add(a.getId())) {
        getMmgr().release(a);
      }
    }
    applied.clear();
  }
}
