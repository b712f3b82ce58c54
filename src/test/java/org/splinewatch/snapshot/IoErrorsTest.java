package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoErrorsTest {
  @TempDir
  Path tmp;

  @Test
  void aFileSystemExceptionWithoutItsReasonGetsOne() throws IOException {
    assertEquals("/runs/x/config.json: permission denied",
        IoErrors.reason(new AccessDeniedException("/runs/x/config.json")));
    assertEquals("/a: No space left on device", IoErrors.reason(new FileSystemException("/a", null,
        "No space left on device")));
    assertEquals("plain", IoErrors.reason(new IOException("plain")));
    // the real thing: writing under a missing directory
    IOException missing = assertThrows(IOException.class,
        () -> Files.writeString(tmp.resolve("nodir").resolve("x.html.tmp"), "x"));
    assertTrue(IoErrors.reason(missing).endsWith("x.html.tmp: no such file or directory"), IoErrors.reason(missing));
  }

  /** A file where a directory is to be created: "already exists" alone did not say it is a file that is in the way. */
  @Test
  void aFileInTheWayOfADirectoryIsNamedAsAFile() throws IOException {
    Path file = Files.writeString(tmp.resolve("planes"), "x");
    IOException e = assertThrows(IOException.class, () -> Files.createDirectories(file));
    assertEquals(file + ": already exists, as a file", IoErrors.reason(e));
    Path dir = Files.createDirectory(tmp.resolve("d"));
    IOException d = assertThrows(IOException.class, () -> Files.createDirectory(dir));
    assertEquals(dir + ": already exists", IoErrors.reason(d));
  }
}
