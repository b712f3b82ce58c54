package org.splinewatch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code latest.svg}: the newest picture per plane, with the directory listed only when it changed. */
class LatestPicturesTest {
  @Test
  void theDirectoryIsListedOnlyWhenItChanged(@TempDir Path planes) throws Exception {
    ControlRoutes.LatestPictures pictures = new ControlRoutes.LatestPictures(planes);
    for (long step : new long[] {0, 100, 2000}) {
      Files.writeString(planes.resolve(String.format("plane-0-step-%08d.svg", step)), "<svg/>");
    }
    Files.writeString(planes.resolve("plane-1-step-00000100.svg"), "<svg/>");
    Files.writeString(planes.resolve("plane-1-step-00000200.svg.tmp"), "<sv");
    // a directory last changed a minute ago: one listing serves every request
    Files.setLastModifiedTime(planes, FileTime.from(Instant.now().minusSeconds(60)));
    for (int i = 0; i < 20; i++) {
      assertEquals("plane-0-step-00002000.svg", pictures.latest(0).getFileName().toString());
      assertEquals("plane-1-step-00000100.svg", pictures.latest(1).getFileName().toString());
      assertNull(pictures.latest(2));
    }
    assertEquals(1, pictures.listings());
    // a new picture changes the directory: listed again, the new one is served
    Files.writeString(planes.resolve("plane-1-step-00000300.svg"), "<svg/>");
    Files.setLastModifiedTime(planes, FileTime.from(Instant.now().minusSeconds(30)));
    assertEquals("plane-1-step-00000300.svg", pictures.latest(1).getFileName().toString());
    assertEquals(2, pictures.listings());
  }

  @Test
  void afterAResumeFromAnEarlierCheckpointTheResumedRunsNewestPictureIsServed(@TempDir Path planes) throws Exception {
    ControlRoutes.LatestPictures pictures = new ControlRoutes.LatestPictures(planes);
    Instant now = Instant.now();
    long[][] drawn = {{0, 50}, {100, 40}, {2000, 30}}; // step, seconds ago
    for (long[] d : drawn) {
      Path f = Files.writeString(planes.resolve(String.format("plane-0-step-%08d.svg", d[0])), "<svg/>");
      Files.setLastModifiedTime(f, FileTime.from(now.minusSeconds(d[1])));
    }
    Files.setLastModifiedTime(planes, FileTime.from(now.minusSeconds(25)));
    assertEquals("plane-0-step-00002000.svg", pictures.latest(0).getFileName().toString());
    // resumed from the checkpoint of step 0 (best): step 100 drawn again; 2000 is the left trajectory's last picture
    Path again = Files.writeString(planes.resolve("plane-0-step-00000100.svg"), "<svg>again</svg>");
    Files.setLastModifiedTime(again, FileTime.from(now.minusSeconds(10)));
    Files.setLastModifiedTime(planes, FileTime.from(now.minusSeconds(10)));
    assertEquals("plane-0-step-00000100.svg", pictures.latest(0).getFileName().toString()); // was step 2000's
  }
}
