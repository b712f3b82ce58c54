package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class TwoViewTrainerFailureTest {
  @Test
  void aFailureOfTheAugmentationThreadEndsTheNextStepWithItsReason() {
    // 20 images cannot fill a batch of 32: the augmentation thread's sampler refuses (the CLI refuses such a run
    // before it starts; a trainer built directly still must not wait for views that never come)
    try (Trainer t = new SimClrTrainer(CollapseBehaviourTest.TRAIN.head(20), EncoderSpec.mlp(16), 8, 32, 1e-3, 0.5,
        1)) {
      var e = assertThrows(IllegalStateException.class, t::step);
      assertEquals("the augmentation thread failed: the training set has 20 images, fewer than the batch size 32",
          e.getMessage());
    }
  }
}
