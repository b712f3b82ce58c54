package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code --ablate-from} on the command line: without an ablation or below 0 it is a one-line error, exit code 2. */
class AblateFromCliTest {
  @Test
  void anOnsetNeedsAnAblationAndAStepOfAtLeastZero() {
    String none = CliTest.run(2, "train", "--method", "simclr", "--ablate-from", "600");
    assertTrue(none.contains("--ablate-from 600 needs an ablation option of simclr; expected one of"), none);
    String healthy = CliTest.run(2, "train", "--method", "simsiam", "--ablate-from", "600");
    assertTrue(healthy.contains("needs an ablation option of simsiam"), healthy);
    String negative = CliTest.run(2, "train", "--method", "vicreg", "--vicreg-std-coeff", "0", "--ablate-from", "-5");
    assertTrue(negative.contains("--ablate-from -5 is negative; expected a step >= 0"), negative);
  }
}
