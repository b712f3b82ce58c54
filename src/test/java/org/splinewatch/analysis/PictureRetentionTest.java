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
    // a restarted analyzer numbers what is there 0..4 in step order; the newest 3 of them (70, 80, 90: indices 2..4)
    // were not thinned yet and are now, as its own pictures (5, 6, ...) arrive; the older ones stay
    PictureRetention again = new PictureRetention(keep, dir);
    assertEquals(3, again.kept(0));
    for (long step = 100; step <= 140; step += 10) {
      again.written(0, picture(dir, 0, step));
    }
    // of 2..9: every 4th (4: step 90, 8: step 130) and the newest 7, 8, 9 (120, 130, 140)
    assertEquals(List.of("0", "40", "90", "120", "130", "140"), steps(dir, 0));
    // plane 1, untouched since, is thinned from its own window when it gets pictures again
    assertEquals(List.of("0", "40", "70", "80", "90"), steps(dir, 1));
  }

  @Test
  void resumedRunsStayBoundedAndAStepWrittenAgainIsKept(@TempDir Path dir) throws Exception {
    RetentionSettings keep = new RetentionSettings(0, 0, 4, 0);
    long step = 0;
    for (int segment = 0; segment < 5; segment++) {
      PictureRetention r = new PictureRetention(keep, dir);
      for (int i = 0; i < 6; i++) {
        r.written(0, picture(dir, 0, step));
        step += 10;
      }
      // a hard bound of keep-last, however many segments came before
      assertEquals(4, steps(dir, 0).size(), "segment " + segment);
    }
    assertEquals(List.of("260", "270", "280", "290"), steps(dir, 0));
    // resumed from an earlier checkpoint: step 270 analysed again; its new file must not be deleted as the old one
    PictureRetention r = new PictureRetention(keep, dir);
    r.written(0, picture(dir, 0, 270));
    r.written(0, picture(dir, 0, 280));
    r.written(0, picture(dir, 0, 290));
    // three writes after the four found: the oldest found (260) is one of the newest four no more
    assertEquals(List.of("270", "280", "290"), steps(dir, 0));
    r.written(0, picture(dir, 0, 300));
    assertEquals(List.of("270", "280", "290", "300"), steps(dir, 0));
  }

  @Test
  void keepAllLeavesEverythingAndOddNamesAreIgnored(@TempDir Path dir) throws Exception {
    for (int i = 0; i < 5; i++) {
      picture(dir, 0, i);
    }
    Files.writeString(dir.resolve("plane-0-step-99999999999999999999999.svg"), "<svg/>");
    Files.writeString(dir.resolve("latest.svg"), "<svg/>");
    PictureRetention r = new PictureRetention(RetentionSettings.KEEP_ALL, dir);
    assertEquals(0, r.kept(0));
    r.written(0, picture(dir, 0, 5));
    assertEquals(7, steps(dir, 0).size());
  }
}
