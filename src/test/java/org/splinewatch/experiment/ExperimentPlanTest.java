package org.splinewatch.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The plan's runs and the line that describes it. */
class ExperimentPlanTest {
  @Test
  void overriddenLongStepsAreTheOnesTheLongRunsTrainAndThePlanStates() {
    ExperimentPlan plan = ExperimentPlan.of(true, List.of(42), List.of("mnist"), List.of("supervised"), 40, 60);
    ExperimentPlan.Run long0 = plan.runs().stream().filter(r -> r.role() == ExperimentPlan.Role.LONG).findFirst()
        .orElseThrow();
    assertEquals("60", long0.args().get(long0.args().indexOf("--max-steps") + 1));
    assertTrue(plan.describe().contains(": 40 steps,") && plan.describe().contains("long supervised runs of 60 steps"),
        plan.describe());
    assertTrue(ExperimentPlan.of(true, List.of(42), List.of("mnist"), List.of("supervised")).describe()
        .contains("long supervised runs of 2000 steps"));
  }
}
