package org.splinewatch.metrics;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes that survive a crash at any moment: a file is written beside its target under a hidden temporary name,
 * forced to disk, renamed over the target (atomic on POSIX file systems) and its directory forced, so a reader sees
 * either the old or the new content, never a mix. {@link #sync} forces what is already written.
 */
public final class DurableFiles {
  private DurableFiles() {
  }

  /** Replaces {@code target} with {@code content} atomically and durably. */
  public static void writeAtomically(Path target, byte[] content) throws IOException {
    writeAtomically(target, content, false);
  }

  /**
   * As above; {@code ownerOnly}: the file is readable and writable by its owner only from the moment it exists
   * (a secret), where the file system has POSIX permissions.
   */
  public static void writeAtomically(Path target, byte[] content, boolean ownerOnly) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    String prefix = "." + target.getFileName() + ".";
    // temporaries of writes a crash interrupted
    try (Stream<Path> old = Files.list(dir)) {
      for (Path p : old.filter(p -> p.getFileName().toString().startsWith(prefix)
          && p.getFileName().toString().endsWith(".tmp")).toList()) {
        Files.deleteIfExists(p);
      }
    }
    // created like any new file (the umask decides its mode; owner-only for a secret), under a name no other
    // writer uses
    Path tmp = dir.resolve(prefix + Long.toHexString(System.nanoTime()) + "-" + ProcessHandle.current().pid() + ".tmp");
    try {
      try (FileChannel ch = open(tmp, ownerOnly)) {
        var buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static FileChannel open(Path tmp, boolean ownerOnly) throws IOException {
    Set<StandardOpenOption> options = EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    if (ownerOnly) {
      try {
        return FileChannel.open(tmp, options, PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        // no POSIX permissions here: as any new file
      }
    }
    return FileChannel.open(tmp, options);
  }

  /** Forces a file's written content (and length) to disk; a missing file is skipped. */
  public static void sync(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      return;
    }
    // fsync acts on the file, not the descriptor: this also forces what other writers of the file have written
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  /** Forces every file below {@code dir}, then the directories themselves (their entries). */
  public static void syncTree(Path dir) throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.walk(dir)) {
      all = s.toList();
    }
    for (Path p : all) {
      if (Files.isRegularFile(p)) {
        sync(p);
      }
    }
    for (Path p : all) {
      if (Files.isDirectory(p)) {
        syncDirectory(p);
      }
    }
  }

  /**
   * Forces a directory's entries (a rename or a new file in it) to disk. Linux allows opening a directory for reading
   * and forcing it; where the platform refuses, there is nothing more to do.
   */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // not supported here (e.g. Windows): renames are as durable as the file system makes them
    }
  }
}
