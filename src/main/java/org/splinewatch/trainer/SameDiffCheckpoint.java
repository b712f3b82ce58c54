package org.splinewatch.trainer;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;

/**
 * The checkpoint files of a SameDiff trainer, in one directory: every trainable variable of each graph, one ND4J
 * binary file each ({@code g<i>-<name>.bin}, {@code i} the graph's index: the trained graph, then BYOL's target
 * network), and the optimiser state of the trained graph: Adam's moments ({@code adam-<variable>-<key>.bin}) and its
 * iteration count ({@code adam-iteration.txt}), so that {@code --resume} continues the optimiser exactly
 * ({@code CheckpointTest}). A checkpoint written before the first step has no optimiser state.
 */
final class SameDiffCheckpoint {
  private static final String ITERATION = "adam-iteration.txt";

  private SameDiffCheckpoint() {
  }

  /** Writes the variables of {@code graphs} and the optimiser state of {@code trained} to {@code dir}. */
  static void save(Path dir, List<SameDiff> graphs, SameDiff trained) throws IOException {
    for (int g = 0; g < graphs.size(); g++) {
      for (SDVariable v : graphs.get(g).variables()) {
        if (v.getVariableType() == VariableType.VARIABLE) {
          Nd4j.saveBinary(v.getArr(), variableFile(dir, g, v).toFile());
        }
      }
    }
    var updaters = trained.getUpdaterMap();
    if (updaters != null && !updaters.isEmpty()) {
      for (var e : updaters.entrySet()) {
        for (var st : stateOf(e.getValue()).entrySet()) {
          Nd4j.saveBinary(st.getValue(), stateFile(dir, e.getKey(), st.getKey()).toFile());
        }
      }
      Files.writeString(dir.resolve(ITERATION), Integer.toString(trained.getTrainingConfig().getIterationCount()));
    }
  }

  /**
   * Restores what {@link #save} wrote into the same graphs (built with the same method and widths).
   *
   * @throws IOException naming the file when one is missing or has another shape
   */
  static void load(Path dir, List<SameDiff> graphs, SameDiff trained) throws IOException {
    for (int g = 0; g < graphs.size(); g++) {
      for (SDVariable v : graphs.get(g).variables()) {
        if (v.getVariableType() != VariableType.VARIABLE) {
          continue;
        }
        Path f = variableFile(dir, g, v);
        if (!Files.isRegularFile(f)) {
          throw new IOException(f + " missing; the checkpoint is from another method or network");
        }
        INDArray a = readArray(f);
        if (!Arrays.equals(a.shape(), v.getArr().shape())) {
          throw new IOException(f + " has shape " + Arrays.toString(a.shape()) + "; expected "
              + Arrays.toString(v.getArr().shape()) + " (different --hidden or --projection-dim?)");
        }
        v.getArr().assign(a);
      }
    }
    loadOptimizerState(dir, trained);
  }

  /**
   * One array file of a checkpoint; a truncated or foreign file is an {@link IOException} naming it and its size (ND4J's
   * own errors name neither: "java.io.EOFException").
   */
  static INDArray readArray(Path f) throws IOException {
    try {
      return Nd4j.readBinary(f.toFile());
    } catch (IOException | RuntimeException e) {
      throw new IOException(f + " (" + Files.size(f) + " bytes) is not a readable ND4J array file ("
          + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + "); expected the file a checkpoint"
          + " writes: this checkpoint is damaged", e);
    }
  }

  /** Restores Adam's moments and iteration count, when the checkpoint has them. */
  private static void loadOptimizerState(Path dir, SameDiff sd) throws IOException {
    Path iteration = dir.resolve(ITERATION);
    if (!Files.isRegularFile(iteration)) {
      return; // a checkpoint written before any step
    }
    try {
      // SameDiff creates its updaters lazily on the first fit; create them now so their state can be set
      Method init = SameDiff.class.getDeclaredMethod("initializeTraining");
      init.setAccessible(true);
      init.invoke(sd);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IOException("cannot restore the optimiser state: " + e, e);
    }
    for (var e : sd.getUpdaterMap().entrySet()) {
      for (var st : stateOf(e.getValue()).entrySet()) {
        Path f = stateFile(dir, e.getKey(), st.getKey());
        if (!Files.isRegularFile(f)) {
          throw new IOException(f + " missing; the checkpoint's optimiser state is incomplete");
        }
        INDArray a = readArray(f);
        if (!Arrays.equals(a.shape(), st.getValue().shape())) {
          throw new IOException(f + " has shape " + Arrays.toString(a.shape()) + "; expected "
              + Arrays.toString(st.getValue().shape()));
        }
        st.getValue().assign(a);
      }
    }
    sd.getTrainingConfig().setIterationCount(Integer.parseInt(Files.readString(iteration).trim()));
  }

  /** The optimiser's state arrays of {@code sd} by variable and key (empty before the first step). */
  static Map<String, Map<String, INDArray>> optimizerState(SameDiff sd) {
    Map<String, Map<String, INDArray>> out = new TreeMap<>();
    if (sd.getUpdaterMap() != null) {
      sd.getUpdaterMap().forEach((k, u) -> out.put(k, stateOf(u)));
    }
    return out;
  }

  private static Path variableFile(Path dir, int graph, SDVariable v) {
    return dir.resolve("g" + graph + "-" + v.name() + ".bin");
  }

  private static Path stateFile(Path dir, String variable, String key) {
    return dir.resolve("adam-" + variable + "-" + key + ".bin");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, INDArray> stateOf(GradientUpdater<?> updater) {
    return (Map<String, INDArray>) updater.getState();
  }
}
