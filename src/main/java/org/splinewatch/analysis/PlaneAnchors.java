package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The anchors of a run's planes, fixed at its start: each plane passes through three probe inputs of different
 * classes (the SplineCam convention), so every snapshot is measured on the same slices.
 */
public final class PlaneAnchors {
  private PlaneAnchors() {
  }

  /**
   * For each of {@code planes} planes, three probe indices of different classes drawn from {@code rnd} (a plane
   * whose three anchors are not found in {@code 10 n} draws is left out).
   */
  public static List<int[]> draw(int[] labels, int planes, SplittableRandom rnd) {
    int n = labels.length;
    List<int[]> out = new ArrayList<>();
    for (int p = 0; p < planes; p++) {
      int[] anchor = new int[3];
      int found = 0;
      for (int attempt = 0; attempt < 10 * n && found < 3; attempt++) {
        int i = rnd.nextInt(n);
        boolean distinct = true;
        for (int k = 0; k < found; k++) {
          distinct &= labels[anchor[k]] != labels[i];
        }
        if (distinct) {
          anchor[found++] = i;
        }
      }
      if (found == 3) {
        out.add(anchor);
      }
    }
    return out;
  }
}
