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
import java.time.Duration;
import java.util.function.Consumer;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;

/**
 * A metrics node's hold on its {@code --out}: one {@code monitor serve} a directory, so a second one cannot replace
 * the first one's {@code control-token} (its clients would get 401) or write into the same run directories, and the
 * token there is always this directory's monitor's, which a later one keeps ({@link KeptToken}). The
 * operating system releases the lock when the process ends, however it ends; the file itself stays.
 */
final class OutLock implements AutoCloseable {
  static final String FILE = ".monitor-lock";
  /**
   * Written by a monitor whose stop has begun ({@link #stopping}): its process id and the time by which its stop ends
   * (milliseconds since the epoch); removed before it lets go of the lock. A restart on the same {@code --out} waits
   * for it instead of failing.
   */
  static final String STOPPING_FILE = ".monitor-stopping";
  /** How long past its announced end a restart still waits for a stopping monitor (on a busy machine, its exit). */
  static final Duration STOPPING_SLACK = Duration.ofSeconds(15);
  private static final long RETRY_MILLIS = 100;

  private final FileChannel channel;
  private final FileLock lock;
  /** What the monitor before this one on the directory recorded in the file ({@link #record}); "" when nothing. */
  private final String previous;

  private final Path out;
  /** Whether this lock created {@code out} and its lock file: a monitor that fails to start removes them again. */
  private final boolean createdOut;
  private final boolean createdFile;

  private OutLock(Path out, FileChannel channel, FileLock lock, String previous, boolean createdOut,
      boolean createdFile) {
    this.out = out;
    this.createdOut = createdOut;
    this.createdFile = createdFile;
    this.channel = channel;
    this.lock = lock;
    this.previous = previous;
  }

  /**
   * This monitor's stop has begun and ends within {@code within}: a monitor started meanwhile on the same directory
   * waits for it ({@link #acquire(Path, Consumer)}). Best effort: without the file, that one fails as before.
   */
  void stopping(Duration within) {
    // written aside and moved into place: a restart reading it meanwhile finds it whole or not at all (written in
    // place, it could read it empty, as no monitor stopping, and fail)
    try {
      DurableFiles.writeAtomically(out.resolve(STOPPING_FILE), (ProcessHandle.current().pid() + " "
          + (System.currentTimeMillis() + within.toMillis()) + "\n").getBytes(StandardCharsets.UTF_8), false);
    } catch (IOException e) {
      // a restart meanwhile is refused at once, as before
    }
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
    return acquire(out, line -> { });
  }

  /**
   * As above; where the monitor that holds it is stopping ({@link #stopping}), waits for its stop to end, at most until
   * the time it announced and {@link #STOPPING_SLACK}, having said so in one line on {@code waiting}. A monitor
   * restarted at once used to fail, on its cluster port or on this lock, while the stopping one wrote its runs' ends.
   */
  static OutLock acquire(Path out, Consumer<String> waiting) {
    Path file = out.resolve(FILE);
    boolean told = false;
    while (true) {
      OutLock lock = tryAcquire(out, file);
      if (lock != null) {
        try {
          Files.deleteIfExists(out.resolve(STOPPING_FILE)); // a monitor killed while it stopped left it
        } catch (IOException e) {
          // read again only while the lock is held by another
        }
        return lock;
      }
      long[] stopping = stoppingHolder(out); // its pid and the end of its stop, or null
      long now = System.currentTimeMillis();
      if (stopping == null) {
        throw new IllegalArgumentException("--out " + out + " is in use by another ./monitor serve (it holds " + file
            + "); expected a --out of its own for each monitor, or stop the other one first");
      }
      if (now > stopping[1] + STOPPING_SLACK.toMillis()) {
        throw new IllegalArgumentException("--out " + out + " is still held by the previous ./monitor serve (pid "
            + stopping[0] + "), which is still stopping " + MonitorLink.seconds(STOPPING_SLACK) + " after its stop"
            + " should have ended; expected it to exit first: start again once it has (or end it with kill -KILL "
            + stopping[0] + ")");
      }
      if (!told) {
        waiting.accept("waiting for the previous ./monitor serve on " + out + " (pid " + stopping[0] + ") to finish"
            + " stopping: it writes the end of its runs and frees its ports (up to "
            + MonitorLink.seconds(Duration.ofSeconds((stopping[1] + STOPPING_SLACK.toMillis() - now + 999) / 1000))
            + ")");
        told = true;
      }
      try {
        Thread.sleep(RETRY_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the previous ./monitor serve on " + out
            + " to stop");
      }
    }
  }

  /** The lock, or null when another node holds it. */
  private static OutLock tryAcquire(Path out, Path file) {
    FileChannel channel = null;
    try {
      boolean createdOut = !Files.isDirectory(out);
      boolean createdFile = !Files.exists(file);
      Files.createDirectories(out);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return new OutLock(out, channel, lock, read(channel), createdOut, createdFile);
      }
    } catch (OverlappingFileLockException e) {
      // held by another node of this process (tests start several)
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot use --out " + out + ": " + IoErrors.reason(e), e);
    }
    closeQuietly(channel);
    return null;
  }

  /** What the holder's {@link #stopping} wrote: its pid and the end of its stop; null when none is stopping. */
  static long[] stoppingHolder(Path out) {
    try {
      String[] parts = Files.readString(out.resolve(STOPPING_FILE), StandardCharsets.UTF_8).trim().split(" ");
      long[] read = {Long.parseLong(parts[0]), Long.parseLong(parts[1])};
      // a file a killed monitor left, while another one (not stopping) holds the lock: not this one's
      return ProcessHandle.of(read[0]).map(ProcessHandle::isAlive).orElse(false) ? read : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public void close() {
    try {
      Files.deleteIfExists(out.resolve(STOPPING_FILE)); // before the lock: a restart then finds no stop to wait for
    } catch (IOException e) {
      // the next monitor removes it
    }
    try {
      lock.release();
    } catch (IOException e) {
      // released with the channel below
    }
    closeQuietly(channel);
  }

  /**
   * Lets go of the lock of a monitor that did not start (its cluster node failed: a seed that never answered, a port
   * in use) and removes what taking it created, the lock file and {@code out} itself where it was missing and is
   * still empty: a monitor that failed to start leaves nothing behind.
   */
  void abandon() {
    close();
    try {
      if (createdFile) {
        Files.deleteIfExists(out.resolve(FILE));
      }
      if (createdOut) {
        try (var left = Files.list(out)) {
          if (left.findAny().isEmpty()) {
            Files.deleteIfExists(out);
          }
        }
      }
    } catch (IOException e) {
      // left as it was: the next monitor takes the lock as usual
    }
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
