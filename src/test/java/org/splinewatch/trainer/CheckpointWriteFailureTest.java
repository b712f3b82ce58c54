package org.splinewatch.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint whose write fails (a full disk) leaves no temporary directory behind: on a full disk its partial files
 * held the space that the run's {@code run_finished} event and report needed, and both were lost.
 */
class CheckpointWriteFailureTest {
  @TempDir
  Path tmp;

  /** A trainer whose checkpoint writes one array file and then finds the disk full. */
  private static Trainer diskFullAfterOneFile() {
    return (Trainer) Proxy.newProxyInstance(Trainer.class.getClassLoader(), new Class<?>[] {Trainer.class},
        (proxy, method, args) -> {
          if (method.getName().equals("saveCheckpoint")) {
            Files.write(((Path) args[0]).resolve("g0-enc0_w.bin"), new byte[4096]);
            throw new IOException("No space left on device");
          }
          throw new UnsupportedOperationException(method.getName());
        });
  }

  @Test
  void aFailedWriteRemovesItsTemporaryDirectoryAndKeepsTheCheckpointBefore() throws Exception {
    Path checkpoints = Files.createDirectories(tmp.resolve("run/checkpoints"));
    Path latest = Files.createDirectories(checkpoints.resolve("latest"));
    Files.writeString(latest.resolve("meta.json"), "{\"step\":100}");

    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> Checkpoints.write(diskFullAfterOneFile(),
        checkpoints, "latest", new Checkpoints.Meta(200, 1, 4.8, "simclr")));

    assertEquals("cannot write checkpoint " + checkpoints.resolve("latest") + ": No space left on device",
        e.getMessage());
    List<String> left;
    try (Stream<Path> s = Files.list(checkpoints)) {
      left = s.map(p -> p.getFileName().toString()).toList();
    }
    assertEquals(List.of("latest"), left, "only the checkpoint written before stays: " + left);
    assertTrue(Files.readString(latest.resolve("meta.json")).contains("\"step\":100"));
  }
}
