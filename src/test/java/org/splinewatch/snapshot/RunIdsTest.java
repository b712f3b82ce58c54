package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RunIdsTest {
  @Test
  void acceptsOrdinaryIds() {
    for (String id : new String[] {"a", "simclr-mnist-20261124-120000", "run_1.v2", "0"}) {
      assertTrue(RunIds.isValid(id), id);
    }
  }

  @Test
  void rejectsTraversalHiddenSeparatorsAndOverlongIds() {
    for (String id : new String[] {"", ".", "..", ".hidden", "-x", "a/b", "a\\b", "../x", "a b", "é", "a\nb",
        "x".repeat(RunIds.MAX_LENGTH + 1)}) {
      assertFalse(RunIds.isValid(id), id);
    }
    assertFalse(RunIds.isValid(null));
    assertTrue(RunIds.isValid("x".repeat(RunIds.MAX_LENGTH)));
  }

  @Test
  void rejectsTheMonitorsOwnFileNamesInOut() {
    for (String id : new String[] {"prometheus-sd", "control-token", "Control-Token", "PROMETHEUS-SD"}) {
      String p = RunIds.problem(id).orElseThrow(() -> new AssertionError(id + " accepted"));
      assertTrue(p.contains("is reserved") && p.contains("prometheus-sd, control-token") && !p.contains("\n"), p);
    }
    assertTrue(RunIds.isValid("prometheus-sd-2"));
    assertTrue(RunIds.isValid("control-token.run"));
    assertThrows(IllegalArgumentException.class, () -> RunIds.runDirectory(Path.of("runs"), "control-token"));
  }

  @Test
  void runDirectoryLiesDirectlyUnderOut() {
    Path out = Path.of("runs");
    assertEquals(out.toAbsolutePath().normalize().resolve("a"), RunIds.runDirectory(out, "a"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunIds.runDirectory(out, ".."));
    assertTrue(e.getMessage().contains("'..'") && !e.getMessage().contains("\n"), e.getMessage());
  }
}
