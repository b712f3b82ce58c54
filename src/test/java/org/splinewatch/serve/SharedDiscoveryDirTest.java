package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs with one run id on different {@code --out}s and one shared {@code metrics.sd-dir}: each keeps a discovery file
 * of its own (they wrote one file: the second run's target replaced the first's, and the first to end removed the
 * other's), stable across a resume, and a run's end removes only the file it wrote.
 */
class SharedDiscoveryDirTest {
  @TempDir
  Path tmp;

  @Test
  void runsWithOneIdOnTwoOutsKeepAFileEachAndRemoveOnlyTheirOwn() throws Exception {
    Path sd = tmp.resolve("sd");
    DiscoverySettings shared = new DiscoverySettings(sd, "", List.of());
    Path a = Files.createDirectories(tmp.resolve("A"));
    Path b = Files.createDirectories(tmp.resolve("B"));
    Path fileA = ServiceDiscovery.register(shared, a, "same", "127.0.0.1", 19501);
    String writtenA = ServiceDiscovery.left(fileA);
    Path fileB = ServiceDiscovery.register(shared, b, "same", "127.0.0.1", 19502);
    String writtenB = ServiceDiscovery.left(fileB);
    assertNotEquals(fileA, fileB, "two runs wrote one discovery file");
    assertTrue(Files.readString(fileA).contains("127.0.0.1:19501"), "run A's target was overwritten");
    assertTrue(fileA.getFileName().toString().matches("same\\.A-[0-9a-f]{8}\\.json"), fileA.toString());
    assertTrue(fileB.getFileName().toString().matches("same\\.B-[0-9a-f]{8}\\.json"), fileB.toString());
    // a resumed run (same --out, same id) writes the same file again
    assertEquals(fileA, ServiceDiscovery.register(shared, a, "same", "127.0.0.1", 19503));
    writtenA = ServiceDiscovery.left(fileA);

    ServiceDiscovery.unregister(fileA, writtenA);
    assertFalse(Files.exists(fileA));
    assertTrue(Files.exists(fileB), "run A's end removed run B's discovery file");
    ServiceDiscovery.unregister(fileB, writtenB);
    assertFalse(Files.exists(fileB));
  }

  @Test
  void theOutsOwnDirectoryKeepsTheRunIdAsTheName() {
    DiscoverySettings own = new DiscoverySettings(null, "", List.of());
    Path file = ServiceDiscovery.register(own, tmp.resolve("runs"), "r1", "127.0.0.1", 19504);
    assertEquals(tmp.resolve("runs/prometheus-sd/r1.json"), file);
  }

  @Test
  void aRunsEndLeavesAFileAnotherProcessWroteSince() throws Exception {
    Path sd = tmp.resolve("sd");
    Path ours = ServiceDiscovery.register(sd, "r1", "127.0.0.1", 19505);
    String written = ServiceDiscovery.left(ours);
    ServiceDiscovery.register(sd, "r1", "127.0.0.1", 19506); // another process, same name: a new file
    ServiceDiscovery.unregister(ours, written);
    assertTrue(Files.readString(ours).contains("19506"), "a run's end removed another process's target");
    ServiceDiscovery.unregister(ours, ""); // identity unknown: removed as it is
    assertFalse(Files.exists(ours));
  }
}
