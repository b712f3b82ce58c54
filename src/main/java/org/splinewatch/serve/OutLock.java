package org.splinewatch.serve;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
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
  /** What the monitor before this one on the directory recorded in the file ({@link #record}); "" when nothing. */
  private final String previous;

  private OutLock(FileChannel channel, FileLock lock, String previous) {
    this.channel = channel;
    this.lock = lock;
    this.previous = previous;
  }

  /** What the earlier monitor on this directory recorded ({@link #record}), "" when nothing (or unreadable). */
  String previous() {
    return previous;
  }

  /**
   * Records {@code text} in the lock file for the next monitor on this directory (it is read at {@link #acquire}):
   * what this one leaves behind if it is killed. Best effort: a failed write leaves the next monitor less to clean.
   */
  void record(String text) {
    try {
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), 0);
      channel.force(false);
    } catch (IOException e) {
      // the next monitor finds nothing recorded
    }
  }

  private static String read(FileChannel channel) {
    try {
      long size = Math.min(channel.size(), 1 << 16);
      ByteBuffer b = ByteBuffer.allocate((int) size);
      while (b.hasRemaining() && channel.read(b, b.position()) > 0) {
        // read it whole
      }
      return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /** Creates {@code out} where missing and locks it; an {@link IllegalArgumentException} when another node holds it. */
  static OutLock acquire(Path out) {
    Path file = out.resolve(FILE);
    FileChannel channel = null;
    try {
      Files.createDirectories(out);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return new OutLock(channel, lock, read(channel));
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
