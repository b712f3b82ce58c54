package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The linear probe's training subset is class-balanced whatever the order of the training set. */
class ProbeSamplerTest {
  private static int[] perClass(int[] labels, int[] chosen, int classes) {
    int[] counts = new int[classes];
    for (int i : chosen) {
      counts[labels[i]]++;
    }
    return counts;
  }

  @Test
  void classesThatCycleThroughTheTrainingSetAreAllSampled() {
    // Fashion-MNIST's order: image i has class i % 10; evenly spaced indices with stride 12 took only even classes
    int[] labels = new int[60_000];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % 10;
    }
    int[] chosen = ProbeSampler.fitIndices(labels, 10, 5_000);
    int[] expected = new int[10];
    Arrays.fill(expected, 500);
    assertArrayEquals(expected, perClass(labels, chosen, 10));
    assertEquals(5_000, Arrays.stream(chosen).distinct().count(), "no image twice");
  }

  @Test
  void aRareClassGivesWhatItHasAndTheOthersFillUp() {
    Random r = new Random(1);
    int[] labels = new int[1_000];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i < 5 ? 2 : r.nextInt(2); // class 2 has 5 images
    }
    int[] chosen = ProbeSampler.fitIndices(labels, 3, 100);
    int[] counts = perClass(labels, chosen, 3);
    assertEquals(5, counts[2]);
    assertEquals(100, counts[0] + counts[1] + counts[2]);
    assertArrayEquals(chosen, ProbeSampler.fitIndices(labels, 3, 100), "the same subset every time");
  }
}
