package org.splinewatch.snapshot;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.splinewatch.regions.Layer;

/**
 * What is fixed for a whole run and shared by every analyzer: labels, the probe inputs (held-out images, no
 * augmentation), their fixed augmented views (positive pairs for alignment), and the plane anchors.
 *
 * @param probeInputs     {@code probeCount × inputDim}, row-major, in [0, 1]
 * @param probePairInputs a fixed augmented view of each probe input (same shape), drawn once per run
 * @param planeAnchors    for each plane, the indices of its three anchor probes (of different classes)
 * @param fitInputs       a fixed labelled subset of the training set on which the linear probe is fitted
 * @param fitLabels       its labels
 */
public record RunInfo(String runId, String method, String dataset, int inputDim, int probeCount, float[] probeInputs,
    float[] probePairInputs, int[] probeLabels, int classes, List<int[]> planeAnchors, float[] fitInputs,
    int[] fitLabels) {

  /** At most this many classes (labels and class-mean matrices are sized by it). */
  public static final int MAX_CLASSES = 100_000;

  /**
   * Checks the shapes agree before any analyzer sizes arrays by them (a run description arrives from the network):
   * a valid run id, {@code probeCount × inputDim} probe values (checked multiplication), labels in
   * {@code [0, classes)}, three anchors per plane among the probes, {@code fitCount × inputDim} fit values. A
   * violation is an {@link IllegalArgumentException} naming the field.
   */
  public RunInfo {
    RunIds.require(runId);
    if (method == null || dataset == null || probeInputs == null || probePairInputs == null || probeLabels == null
        || planeAnchors == null || fitInputs == null || fitLabels == null) {
      throw new IllegalArgumentException("run description of " + runId + " has a missing field");
    }
    if (inputDim < 1 || probeCount < 0 || classes < 1 || classes > MAX_CLASSES) {
      throw new IllegalArgumentException("run description of " + runId + ": input size " + inputDim + ", "
          + probeCount + " probes and " + classes + " classes; expected a positive input size, probes >= 0 and 1 to "
          + MAX_CLASSES + " classes");
    }
    long probeValues = (long) probeCount * inputDim;
    if (probeInputs.length != probeValues || probePairInputs.length != probeValues
        || probeLabels.length != probeCount) {
      throw new IllegalArgumentException("run description of " + runId + ": " + probeInputs.length + " probe values, "
          + probePairInputs.length + " pair values and " + probeLabels.length + " labels; expected " + probeValues
          + ", " + probeValues + " and " + probeCount);
    }
    if ((long) fitLabels.length * inputDim != fitInputs.length) {
      throw new IllegalArgumentException("run description of " + runId + ": " + fitInputs.length + " fit values for "
          + fitLabels.length + " labels of size " + inputDim);
    }
    for (int[] labels : new int[][] {probeLabels, fitLabels}) {
      for (int y : labels) {
        if (y < 0 || y >= classes) {
          throw new IllegalArgumentException("run description of " + runId + ": label " + y + " outside [0, "
              + classes + ")");
        }
      }
    }
    for (int[] a : planeAnchors) {
      if (a == null || a.length != 3) {
        throw new IllegalArgumentException("run description of " + runId + ": a plane needs three anchors");
      }
      for (int i : a) {
        if (i < 0 || i >= probeCount) {
          throw new IllegalArgumentException("run description of " + runId + ": anchor " + i + " is not one of the "
              + probeCount + " probes");
        }
      }
    }
    planeAnchors = List.copyOf(planeAnchors);
  }

  /** Without a linear-probe training subset. */
  public RunInfo(String runId, String method, String dataset, int inputDim, int probeCount, float[] probeInputs,
      float[] probePairInputs, int[] probeLabels, int classes, List<int[]> planeAnchors) {
    this(runId, method, dataset, inputDim, probeCount, probeInputs, probePairInputs, probeLabels, classes,
        planeAnchors, new float[0], new int[0]);
  }

  public int fitCount() {
    return fitLabels.length;
  }
  /**
   * The float64 copies of probe inputs, one per float array while its run description is alive (weak keys: arrays
   * compare by identity). The analyzers of a run all read the same probes; one copy each was four 6.4 MB arrays for
   * the default run's 1,024 probes, held for the whole run (docs/memory.md).
   */
  private static final Map<float[], double[]> WIDENED = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * {@link #probeInputs()} widened to float64 (the analyzers' precision). Every call for this run description returns
   * the same array: callers must not write into it.
   */
  public double[] probeInputsAsDouble() {
    return WIDENED.computeIfAbsent(probeInputs, Layer::widen);
  }

  /** {@link #probePairInputs()} widened to float64; shared as {@link #probeInputsAsDouble()} is: read-only. */
  public double[] probePairInputsAsDouble() {
    return WIDENED.computeIfAbsent(probePairInputs, Layer::widen);
  }

  /** Probe {@code i} as a float64 input vector. */
  public double[] probe(int i) {
    double[] x = new double[inputDim];
    for (int k = 0; k < inputDim; k++) {
      x[k] = probeInputs[i * inputDim + k];
    }
    return x;
  }
}
