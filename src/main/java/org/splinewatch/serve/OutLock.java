package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.splinewatch.snapshot.IoErrors;

/**
 * A metrics node's hold on its {@code --out}: one {@code monitor serve} a directory, so a second one cannot replace
 * the first one's {@code control-token} (its clients would get 401) or write into the same run directories, and the
 * token there is always this directory's monitor's, which a later one keeps ({@link KeptToken}). The
 * operating system releases the lock when the process ends, however it ends; the file itself stays.
 */
final class OutLock implements AutoCloseable {
  static final String FILE = ".monitor-lock";

  private final FileChannel channel;
  private final FileLock lock;

  private OutLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /** Creates {@code out} where missing and locks it; an {@link IllegalArgumentException} when another node holds it. */
  static OutLock acquire(Path out) {
    Path file = out.resolve(FILE);
    FileChannel channel = null;
    try {
      Files.createDirectories(out);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return new OutLock(channel, lock);
      }
    } catch (OverlappingFileLockException e) {
      // held by another node of this process (tests start several)
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot use --out " + out + ": " + IoErrors.reason(e), e);
    }
    closeQuietly(channel);
    throw new IllegalArgumentException("--out " + out + " is in use by another ./monitor serve (it holds " + file
        + "); expected a --out of its own for each monitor, or stop the other one first");
  }

  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // released with the channel below
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // nothing held
      }
    }
  }
}
