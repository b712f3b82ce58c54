package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.RetentionSettings;

/** Partition pictures on disk: the newest N and every K-th stay per plane, also across an analyzer restart. */
class PictureRetentionTest {
  private static Path picture(Path dir, int plane, long step) throws Exception {
    return Files.writeString(dir.resolve(String.format("plane-%d-step-%08d.svg", plane, step)), "<svg/>");
  }

  private static List<String> steps(Path dir, int plane) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("plane-" + plane + "-")).sorted()
          .map(n -> n.replaceAll("plane-\\d+-step-0*(\\d+)\\.svg", "$1")).toList();
    }
  }

  @Test
  void keepsTheNewestAndEveryKthOfEachPlane(@TempDir Path dir) throws Exception {
    RetentionSettings keep = new RetentionSettings(0, 0, 3, 4);
    PictureRetention r = new PictureRetention(keep, dir);
    for (int i = 0; i < 10; i++) {
      r.written(0, picture(dir, 0, i * 10L));
      r.written(1, picture(dir, 1, i * 10L));
    }
    // pictures 0..9: every 4th (0, 4, 8) and the newest 3 (7, 8, 9)
    assertEquals(List.of("0", "40", "70", "80", "90"), steps(dir, 0));
    assertEquals(steps(dir, 0), steps(dir, 1));
    assertEquals(5, r.kept(0));
    // a restarted analyzer leaves what is there alone (numbered 0..4) and thins its own pictures (5, 6, ...)
    PictureRetention again = new PictureRetention(keep, dir);
    for (long step = 100; step <= 140; step += 10) {
      again.written(0, picture(dir, 0, step));
    }
    // of 5..9 (steps 100..140): 8 (every 4th) and the newest 7, 8, 9
    assertEquals(List.of("0", "40", "70", "80", "90", "120", "130", "140"), steps(dir, 0));
  }
}
