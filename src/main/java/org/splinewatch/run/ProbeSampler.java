package org.splinewatch.run;

import java.util.ArrayList;
import java.util.Collections;
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

  /**
   * The run's {@link RunInfo}: probes, their views and labels, planes, the linear probe's fit set, class count. First
   * the settings that need the loaded data are checked ({@link RunSettings#checkAgainstData}).
   */
  public static RunInfo runInfo(String runId, RunSettings s, LabeledImages test, LabeledImages train) {
    s.checkAgainstData(train.count(), test.count()); // before config.json: a probe batch or onset the data cannot hold
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
    int classes = classes(train, test);
    int[] chosen = fitIndices(train.labels(), classes, Math.min(s.probeTrainSize(), train.count()));
    float[] fit = new float[chosen.length * d];
    int[] fitLabels = new int[chosen.length];
    for (int i = 0; i < chosen.length; i++) {
      train.image(chosen[i], fit, i * d);
      fitLabels[i] = train.labels()[chosen[i]];
    }
    return new RunInfo(runId, s.method(), s.dataset(), d, n, probes, pairs, labels, classes, planes, fit, fitLabels);
  }

  /**
   * The linear probe's training subset: {@code m} training images, class-stratified (classes take turns, each in a
   * fixed shuffled order, the same for every run), so the subset is balanced whatever the data set's order. Evenly
   * spaced indices were not: Fashion-MNIST's training images cycle through the classes, and a stride of 12 picked
   * only the even classes.
   */
  static int[] fitIndices(int[] labels, int classes, int m) {
    List<List<Integer>> byClass = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      byClass.add(new ArrayList<>());
    }
    for (int i = 0; i < labels.length; i++) {
      byClass.get(labels[i]).add(i);
    }
    SplittableRandom shuffle = new SplittableRandom(0x5eedf17L);
    for (List<Integer> members : byClass) {
      for (int i = members.size() - 1; i > 0; i--) {
        Collections.swap(members, i, shuffle.nextInt(i + 1));
      }
    }
    int[] out = new int[m];
    int taken = 0;
    for (int k = 0; taken < m; k++) {
      for (int c = 0; c < classes && taken < m; c++) {
        if (k < byClass.get(c).size()) {
          out[taken++] = byClass.get(c).get(k);
        }
      }
    }
    return out;
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
