package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A signal's clean-up of the temporary files of {@link DurableFiles#writeOutput}. */
@Timeout(120)
class DurableFilesTest {
  @TempDir
  Path tmp;

  /**
   * {@code regions --svg link.svg}, the link naming a picture in another directory, stopped by Ctrl-C mid-write: the
   * temporary file lies beside the picture the link names, where the clean-up did not look (it looked beside the
   * link), so the exit left it behind. Now the clean-up finds it wherever it is, the link stays a link, and a write to
   * it that starts after the clean-up (a picture still being rendered when the signal came) is refused.
   */
  @Test
  void aSignalsCleanUpRemovesTheTemporaryOfAWriteThroughALinkWhereverItIs() throws Exception {
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    Path picture = Files.writeString(elsewhere.resolve("pic.svg"), "<svg/>");
    Path link = Files.createSymbolicLink(Files.createDirectories(tmp.resolve("here")).resolve("link.svg"), picture);
    byte[] big = new byte[32 << 20]; // written and forced to disk in tens of milliseconds: the clean-up comes meanwhile
    CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
      try {
        DurableFiles.writeOutput(link, big);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    Path temporary = null;
    while (temporary == null && !write.isDone()) {
      temporary = temporaryIn(elsewhere);
    }
    assertNotNull(temporary, "the write's temporary file, beside the picture the link names");
    DurableFiles.deleteOwnTemporaries(link); // as the signal's line does, while the write goes on
    boolean left = Files.exists(temporary); // unless the write had already been renamed into place
    try {
      write.join();
    } catch (java.util.concurrent.CompletionException e) {
      assertTrue(e.getCause() instanceof UncheckedIOException, e.toString()); // its temporary was removed
    }
    assertFalse(left, "the clean-up removed " + temporary + " of the write in progress");
    assertEquals(List.of(), Stream.of(elsewhere, link.getParent()).map(DurableFilesTest::temporaryIn)
        .filter(p -> p != null).toList(), "no temporary left");
    assertTrue(Files.isSymbolicLink(link), "the link stays a link");
    long size = Files.size(picture);
    assertTrue(size == 6 || size == big.length, "the picture is as it was or the whole new one: " + size);
    IOException refused = assertThrows(IOException.class, () -> DurableFiles.writeOutput(link,
        "<svg>new</svg>".getBytes(StandardCharsets.UTF_8)));
    assertEquals("the process is ending: " + link + " is left as it was", refused.getMessage());
    assertEquals(size, Files.size(picture));
    assertEquals(null, temporaryIn(elsewhere));
  }

  /** The first temporary file of a write in {@code dir}, or null. */
  private static Path temporaryIn(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".tmp")).findFirst().orElse(null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
