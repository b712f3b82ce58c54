package org.splinewatch.metrics;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.splinewatch.snapshot.IoErrors;

/**
 * A run's hold on its run directory while it runs: one process at a time writes a run directory. Two runs started
 * at the same time with the same run id (or the same default one, {@code method-dataset-time}, in the same second)
 * both found the directory free and wrote into it, their metrics and events interleaved. The operating system
 * releases the lock when the process ends, however it ends. {@link #close} deletes the lock file, and the
 * directories {@link #acquire} created when the run wrote nothing else there (its start-up ended early). {@code
 * ./monitor experiment} holds its directory the same way, with a lock file of its own.
 */
public final class RunLock implements AutoCloseable {
  /** The lock file in the run directory, there only while a run holds it (or after a process was killed). */
  public static final String FILE = ".run-lock";

  /** Another run holds the directory. */
  public static final class InUse extends RuntimeException {
    public InUse(String message) {
      super(message);
    }
  }

  /** The lock files this process holds. */
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  /**
   * Taken while this process opens a lock file ({@link #acquire}, {@link #probe}): a probe that opened and closed a
   * file this process had just locked would let go of the operating system's lock, which is the process's.
   */
  private static final Object OPENING = new Object();

  /** What {@link #probe} found of a run directory's lock. */
  public enum Hold {
    /** A process (this one or another) holds it: the run is running now. */
    HELD,
    /** Its lock file is there and no process holds it: the run's process ended without closing it (killed). */
    LEFT,
    /** No lock file: no run holds it, and the last one closed it (or was of a release before the lock). */
    NONE,
    /** The file system has no locks (some network mounts): running or not cannot be told. */
    UNKNOWN
  }

  /**
   * Whether a run holds {@code dir} now ({@link Hold}). Locks the lock file for an instant where no process holds it,
   * so a run starting at that instant tries again ({@link #lock}); the live page probes each unfinished run at most
   * every 2 s.
   */
  public static Hold probe(Path dir) {
    Path file = dir.resolve(FILE).toAbsolutePath().normalize();
    synchronized (OPENING) {
      if (HELD.contains(file)) {
        return Hold.HELD; // not opened: closing another channel on it would let go of this process's lock
      }
      if (!Files.exists(file)) {
        return Hold.NONE;
      }
      // WRITE without CREATE: an exclusive lock needs it, and a lock file deleted meanwhile is not made again
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        FileLock lock = channel.tryLock();
        if (lock == null) {
          return Hold.HELD;
        }
        lock.release();
        return Hold.LEFT;
      } catch (NoSuchFileException e) {
        return Hold.NONE; // its run closed it just now
      } catch (OverlappingFileLockException e) {
        return Hold.HELD;
      } catch (IOException e) {
        return Hold.UNKNOWN;
      }
    }
  }

  /** The lock file, absolute and normalised: the key of {@link #HELD}. */
  private final Path file;
  private final FileChannel channel;
  /** Null where the file system has no locks. */
  private final FileLock lock;
  /** The directories {@link #acquire} created, deepest first: removed at close if the run left them empty. */
  private final List<Path> created;
  private boolean closed;

  private RunLock(Path file, FileChannel channel, FileLock lock, List<Path> created) {
    this.file = file;
    this.channel = channel;
    this.lock = lock;
    this.created = created;
  }

  /**
   * Creates {@code dir} (and its missing parents) and locks it.
   *
   * @throws InUse when another run (of this process or another) holds it
   * @throws UncheckedIOException when the directory or the lock file cannot be created
   */
  public static RunLock acquire(Path dir) {
    return acquire(dir, FILE, "run directory " + dir + " is in use by a run that is running now (it holds " + FILE
        + " there); expected a run id of its own for each run (--run-id), or this run started once that one has"
        + " ended");
  }

  /**
   * Creates {@code dir} and locks it with the lock file {@code name} there (another command's hold on its directory,
   * e.g. ./monitor experiment's).
   *
   * @throws InUse with {@code inUse} when another process (or another holder in this one) has it
   */
  public static RunLock acquire(Path dir, String name, String inUse) {
    List<Path> created = new ArrayList<>();
    for (Path p = dir.toAbsolutePath().normalize(); p != null && !Files.exists(p); p = p.getParent()) {
      created.add(p);
    }
    Path file = dir.resolve(name).toAbsolutePath().normalize();
    // held in this process: not opened again, as closing another channel on the file would let go of the
    // operating system's lock, which is the process's, not the channel's
    if (!HELD.add(file)) {
      throw new InUse(inUse);
    }
    try {
      synchronized (OPENING) {
        return lock(dir, file, inUse, created);
      }
    } catch (RuntimeException e) {
      HELD.remove(file);
      throw e;
    }
  }

  private static RunLock lock(Path dir, Path file, String inUse, List<Path> created) {
    try {
      Files.createDirectories(dir);
      // the run before this one deletes the file before it lets go of it: a lock on a deleted file holds nothing
      for (int attempt = 0; attempt < 100; attempt++) {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
          lock = tryLock(channel);
        } catch (OverlappingFileLockException e) {
          lock = null; // held in this process after all
        } catch (IOException e) { // a file system without locks (some network mounts): used unguarded, as before
          System.err.println("warning: cannot lock " + file + " (" + IoErrors.reason(e) + "): processes started"
              + " together on " + dir + " are not kept apart there");
          return new RunLock(file, channel, null, created);
        }
        if (lock == null) {
          channel.close();
          throw new InUse(inUse);
        }
        if (Files.exists(file)) {
          return new RunLock(file, channel, lock, created);
        }
        channel.close();
      }
      throw new InUse(dir + ": cannot lock " + file.getFileName() + " there (it was deleted 100 times while this process locked"
          + " it); expected one process at a time in it");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the run directory " + dir + ": " + IoErrors.reason(e), e);
    }
  }

  /**
   * The lock of {@code channel}, or null where another process holds it: tried again for up to 1 s, as a monitor's
   * {@link #probe} of another process holds it for an instant (a running run holds it all along); 1 s, not the
   * instant, since a loaded machine can leave the monitor's thread waiting for a core while it holds the lock.
   */
  private static FileLock tryLock(FileChannel channel) throws IOException {
    for (int attempt = 0; ; attempt++) {
      FileLock lock = channel.tryLock();
      if (lock != null || attempt == PROBE_RETRIES) {
        return lock;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }

  private static final int PROBE_RETRIES = 100;

  /** Deletes the lock file (before letting go of it) and the directories it created that the run left empty. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // left behind: the next run on the directory locks it again
    }
    try {
      if (lock != null) {
        lock.release();
      }
    } catch (IOException e) {
      // released with the channel below
    }
    try {
      channel.close();
    } catch (IOException e) {
      // nothing held
    }
    HELD.remove(file);
    for (Path p : created) {
      try {
        Files.delete(p);
      } catch (DirectoryNotEmptyException | NoSuchFileException e) {
        return; // the run wrote here, or another process did: nothing above it is removed either
      } catch (IOException e) {
        return;
      }
    }
  }
}
