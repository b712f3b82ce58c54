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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
    // the write is held once its temporary is written and forced, until the clean-up has run: a 32 MiB write
    // raced the clean-up, which then found nothing to remove when the write had been renamed into place first
    CountDownLatch written = new CountDownLatch(1);
    CountDownLatch cleanedUp = new CountDownLatch(1);
    Path writtenIn = elsewhere.toRealPath();
    DurableFiles.beforeRename = temporaryFile -> {
      if (!temporaryFile.getParent().equals(writtenIn)) {
        return; // another test's write, still going on in this JVM
      }
      written.countDown();
      try {
        cleanedUp.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    try {
      CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
        try {
          DurableFiles.writeOutput(link, "<svg>new</svg>".getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
      assertTrue(written.await(30, TimeUnit.SECONDS), "the write reached its rename");
      Path temporary = temporaryIn(elsewhere);
      assertNotNull(temporary, "the write's temporary file, beside the picture the link names");
      DurableFiles.deleteOwnTemporaries(link); // as the signal's line does, while the write goes on
      assertFalse(Files.exists(temporary), "the clean-up removed " + temporary + " of the write in progress");
      cleanedUp.countDown();
      java.util.concurrent.CompletionException failed = assertThrows(java.util.concurrent.CompletionException.class,
          write::join);
      assertTrue(failed.getCause() instanceof UncheckedIOException, failed.toString()); // its temporary was removed
    } finally {
      DurableFiles.beforeRename = null;
      cleanedUp.countDown();
    }
    assertEquals(List.of(), Stream.of(elsewhere, link.getParent()).map(DurableFilesTest::temporaryIn)
        .filter(p -> p != null).toList(), "no temporary left");
    assertTrue(Files.isSymbolicLink(link), "the link stays a link");
    assertEquals("<svg/>", Files.readString(picture), "the picture is as it was");
    long size = Files.size(picture);
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
