package org.splinewatch.snapshot;

import java.util.List;

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

  /** Without a linear-probe training subset. */
  public RunInfo(String runId, String method, String dataset, int inputDim, int probeCount, float[] probeInputs,
      float[] probePairInputs, int[] probeLabels, int classes, List<int[]> planeAnchors) {
    this(runId, method, dataset, inputDim, probeCount, probeInputs, probePairInputs, probeLabels, classes,
        planeAnchors, new float[0], new int[0]);
  }

  public int fitCount() {
    return fitLabels.length;
  }
  /** {@link #probeInputs()} widened to float64 (the analyzers' precision). */
  public double[] probeInputsAsDouble() {
    return org.splinewatch.regions.Layer.widen(probeInputs);
  }

  /** {@link #probePairInputs()} widened to float64. */
  public double[] probePairInputsAsDouble() {
    return org.splinewatch.regions.Layer.widen(probePairInputs);
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
