package org.splinewatch.run;

import java.util.List;
import java.util.SplittableRandom;
import org.splinewatch.analysis.PlaneAnchors;
import org.splinewatch.data.LabeledImages;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.trainer.Augmenter;
import org.splinewatch.trainer.RunSettings;

/**
 * What every snapshot of a run is measured on, fixed at its start (seeded): the probe batch (the first {@code
 * probeSize} test images) with a fixed augmented view each, the anchors of the planes (probes of distinct classes),
 * and the linear probe's training subset.
 */
public final class ProbeSampler {
  private ProbeSampler() {
  }

  /** The run's {@link RunInfo}: probes, their views and labels, planes, the linear probe's fit set, class count. */
  public static RunInfo runInfo(String runId, RunSettings s, LabeledImages test, LabeledImages train) {
    int n = Math.min(s.probeSize(), test.count());
    int d = test.pixelsPerImage();
    float[] probes = new float[n * d];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      test.image(i, probes, i * d);
      labels[i] = test.labels()[i];
    }
    float[] pairs = new float[n * d];
    SplittableRandom rnd = new SplittableRandom(s.seed() ^ 0x9a1e5L);
    Augmenter aug = new Augmenter(test.rows(), test.cols());
    for (int i = 0; i < n; i++) {
      aug.augment(probes, i * d, pairs, i * d, rnd);
    }
    List<int[]> planes = PlaneAnchors.draw(labels, s.planes(), rnd);
    // the linear probe's training subset: evenly spaced training images (deterministic, class-balanced in
    // expectation)
    int m = Math.min(s.probeTrainSize(), train.count());
    float[] fit = new float[m * d];
    int[] fitLabels = new int[m];
    for (int i = 0; i < m; i++) {
      int idx = (int) ((long) i * train.count() / m);
      train.image(idx, fit, i * d);
      fitLabels[i] = train.labels()[idx];
    }
    return new RunInfo(runId, s.method(), s.dataset(), d, n, probes, pairs, labels, classes(train, test), planes, fit,
        fitLabels);
  }

  /** The number of classes: one more than the largest label of the training and test images (10 for MNIST). */
  static int classes(LabeledImages... sets) {
    int max = -1;
    for (LabeledImages set : sets) {
      for (int label : set.labels()) {
        max = Math.max(max, label);
      }
    }
    return max + 1;
  }
}
