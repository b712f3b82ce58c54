package org.splinewatch.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes that survive a crash at any moment: a file is written beside its target under a hidden temporary name,
 * forced to disk, renamed over the target (atomic on POSIX file systems) and its directory forced, so a reader sees
 * either the old or the new content, never a mix. {@link #sync} forces what is already written.
 */
public final class DurableFiles {
  private DurableFiles() {
  }

  /**
   * This process's writes in progress: the temporary files of each, under the path the write was named for
   * ({@link #writeOutput}'s {@code target}, whose temporary is beside the end of a symbolic link, not beside the link).
   * A signal's clean-up ({@link #deleteOwnTemporaries}) finds them here, in whichever directory they are.
   */
  private static final java.util.Map<Path, Set<Path>> WRITING = new java.util.HashMap<>();
  /** The paths {@link #deleteOwnTemporaries} was called for: a write to them starting afterwards is refused. */
  private static final Set<Path> ABANDONED = new java.util.HashSet<>();
  /** Test hook: run with a write's temporary file once it is written and forced, before it is renamed; or null. */
  static volatile java.util.function.Consumer<Path> beforeRename;

  /** Replaces {@code target} with {@code content} atomically and durably. */
  public static void writeAtomically(Path target, byte[] content) throws IOException {
    writeAtomically(target, content, false);
  }

  /**
   * As above; {@code ownerOnly}: the file is readable and writable by its owner only from the moment it exists
   * (a secret), where the file system has POSIX permissions.
   */
  public static void writeAtomically(Path target, byte[] content, boolean ownerOnly) throws IOException {
    writeAtomically(target, target, content, ownerOnly);
  }

  /** As above, the write named for {@code named} (a link to {@code target}, or {@code target} itself). */
  private static void writeAtomically(Path named, Path target, byte[] content, boolean ownerOnly) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    String prefix = "." + target.getFileName() + ".";
    deleteTemporaries(dir, prefix, ".tmp"); // temporaries of writes a crash interrupted
    // created like any new file (the umask decides its mode; owner-only for a secret), under a name no other
    // writer uses
    Path tmp = dir.resolve(prefix + Long.toHexString(System.nanoTime()) + "-" + ProcessHandle.current().pid() + ".tmp");
    Path key = named.toAbsolutePath().normalize();
    FileChannel ch;
    synchronized (WRITING) { // created and recorded at once: a signal's clean-up sees every temporary that exists
      if (ABANDONED.contains(key)) { // a signal is ending the process: a file begun now would be left behind
        throw new IOException("the process is ending: " + named + " is left as it was");
      }
      ch = open(tmp, ownerOnly);
      WRITING.computeIfAbsent(key, k -> new java.util.HashSet<>()).add(tmp);
    }
    try {
      try (ch) {
        var buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      java.util.function.Consumer<Path> hook = beforeRename;
      if (hook != null) {
        hook.accept(tmp);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
      synchronized (WRITING) {
        Set<Path> open = WRITING.get(key);
        open.remove(tmp);
        if (open.isEmpty()) {
          WRITING.remove(key);
        }
      }
    }
  }

  /**
   * Removes the temporary files this process is writing for {@code target} (named as the write was: through a
   * symbolic link they lie beside the file it names), e.g. when a signal ends it mid-write, and refuses a write to
   * {@code target} that starts afterwards (the picture or report still being rendered when the signal came), so none
   * is left behind; the write in progress then fails and {@code target} is as it was. What cannot be removed stays
   * (the next write removes it).
   */
  public static void deleteOwnTemporaries(Path target) {
    Path key = target.toAbsolutePath().normalize();
    List<Path> temporaries;
    synchronized (WRITING) {
      ABANDONED.add(key);
      temporaries = List.copyOf(WRITING.getOrDefault(key, Set.of()));
    }
    for (Path tmp : temporaries) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException | RuntimeException e) {
        // left for the next write to remove
      }
    }
  }

  /** Deletes the files in {@code dir} named {@code prefix…suffix}: temporaries of {@link #writeAtomically}. */
  private static void deleteTemporaries(Path dir, String prefix, String suffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(prefix)
          && p.getFileName().toString().endsWith(suffix)).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Writes an output the user named (a report, a picture): a regular (or new) file is replaced atomically, and through
   * a symbolic link the file it names, created where the link dangles (as a shell's {@code >} does); a character
   * device or a FIFO ({@code /dev/null}, a pipe, which a rename would replace instead of writing to) is written to as
   * it is. {@link #outputTargetProblem} says which others are refused.
   */
  public static void writeOutput(Path target, byte[] content) throws IOException {
    if (!Files.exists(target) && Files.isSymbolicLink(target)) { // dangling: its target is created, as by a shell
      writeAtomically(target, linkEnd(target), content, false);
      return;
    }
    if (Files.exists(target) && !Files.isRegularFile(target) && !Files.isDirectory(target)) {
      try (var out = Files.newOutputStream(target, StandardOpenOption.WRITE)) {
        out.write(content);
      }
      return;
    }
    // through a link, the temporary lies beside the file it names (a rename within its directory), and the link stays
    writeAtomically(target, Files.exists(target) ? target.toRealPath() : target, content, false);
  }

  /**
   * A kind of output file the user names ({@code report --out}, {@code regions --svg}): what such a file is
   * ({@code "an HTML file"}), what it may replace ({@code "an .html report"}), a file name for the examples, and the
   * names such files have (matched whole, case-insensitively).
   */
  public record OutputKind(String kind, String replaces, String example, Pattern names) {
    /** Whether {@code p}'s last name is one such a file has. */
    boolean named(Path p) {
      return p.getFileName() != null && names.matcher(p.getFileName().toString()).matches();
    }
  }

  /**
   * Why {@code target}, given as {@code option}, cannot take an output of this kind, as the error line after
   * {@code "error: "}, or null. An output replaces only a file of its own kind (by name), never a directory or any
   * other file, also not through a symbolic link to one, whose target {@link #writeOutput} would replace: a mistyped
   * path must not lose data. A new file needs an existing directory this user can write (as does a replaced one, whose
   * replacement is written beside it), also the file a dangling link names (written
   * there, the link kept). A character device or a FIFO is written through, a block device or a socket refused
   * ({@link #outputTargetProblem}).
   */
  public static String outputFileProblem(String option, Path target, OutputKind kind) {
    if (target.toString().isEmpty()) {
      return option + " is empty; expected a file, e.g. " + kind.example();
    }
    String at = option + " " + target + ": ";
    if (Files.isDirectory(target)) { // moving the output there would replace an empty directory
      return at + "is a directory; expected a file, e.g. " + target.resolve(kind.example());
    }
    Path dir = target.toAbsolutePath().getParent();
    if (dir != null && !Files.isDirectory(dir)) { // a path through a file was "directory … does not exist"
      return at + (Files.exists(dir) ? dir + " is a file, not a directory" : "directory " + dir + " does not exist")
          + "; expected a file in an existing directory";
    }
    if (!Files.exists(target) && Files.isSymbolicLink(target)) {
      String dangling = danglingLinkProblem(at, target);
      return dangling != null ? dangling : unwritableDirectoryProblem(at, target);
    }
    if (!Files.exists(target)) {
      return unwritableDirectoryProblem(at, target);
    }
    if (!Files.isRegularFile(target)) {
      String special = outputTargetProblem(target);
      return special == null ? null : at + special;
    }
    String expected = "; expected a new file or " + kind.replaces() + " to replace";
    if (!kind.named(target)) {
      return at + "exists and is not " + kind.kind() + expected;
    }
    try {
      Path real = target.toRealPath();
      if (!kind.named(real)) {
        return at + "is a link to " + real + ", which is not " + kind.kind() + expected;
      }
    } catch (IOException e) {
      return at + "cannot be checked (" + e.getMessage() + ")" + expected;
    }
    return unwritableDirectoryProblem(at, target);
  }

  /**
   * Why the directory a new or replaced output file is written in (through a link: its end's) cannot take it, or
   * null: {@link #writeOutput} writes a temporary file beside it, which a read-only or foreign directory refuses, and
   * that was found only after the work (a partition of minutes) was done, with exit code 1.
   */
  private static String unwritableDirectoryProblem(String at, Path target) {
    Path dir;
    try {
      dir = linkEnd(target).toAbsolutePath().getParent();
    } catch (IOException e) {
      return null; // judged by the link checks
    }
    if (dir != null && Files.isDirectory(dir) && !Files.isWritable(dir)) {
      return at + "cannot write in " + dir + " (read-only or not this user's); expected a file in a directory this"
          + " user can write";
    }
    return null;
  }

  /**
   * Why a dangling symbolic link cannot take an output, or null: its target is a new file, written there (the link is
   * kept), so it needs an existing directory as any new file does; a loop of links is refused.
   */
  private static String danglingLinkProblem(String at, Path link) {
    try {
      Path end = linkEnd(link);
      Path dir = end.toAbsolutePath().getParent();
      if (dir != null && !Files.isDirectory(dir)) {
        return at + "is a link to " + end + ", whose directory " + dir + " does not exist; expected a link to a"
            + " file in an existing directory";
      }
      return null;
    } catch (FileSystemLoopException e) {
      return at + "is a loop of symbolic links; expected a file or a link to one";
    } catch (IOException e) {
      return at + "is a link that cannot be followed (" + e.getMessage() + "); expected a file or a link to one";
    }
  }

  /**
   * The file a write through {@code link} lands on: the end of its chain of symbolic links, each resolved against the
   * directory of the link that names it, whether that file exists or not.
   */
  static Path linkEnd(Path link) throws IOException {
    Path p = link;
    for (int hops = 0; Files.isSymbolicLink(p); hops++) {
      if (hops == 40) { // Linux's ELOOP limit
        throw new FileSystemLoopException(link.toString());
      }
      p = p.toAbsolutePath().getParent().resolve(Files.readSymbolicLink(p));
    }
    return p;
  }

  /**
   * Why an existing {@code target} that is neither a regular file nor a directory cannot take an output, or null: a
   * character device or a FIFO is written through ({@link #writeOutput}), as other Unix tools do; a block device or a
   * socket is refused. Null also for a regular file, a directory or a missing file, which the caller judges.
   */
  public static String outputTargetProblem(Path target) {
    if (!Files.exists(target) || Files.isRegularFile(target) || Files.isDirectory(target)) {
      return null;
    }
    String kind = specialKind(target);
    return kind == null || kind.equals("a character device") || kind.equals("a FIFO") ? null
        : "is " + kind + "; expected a file, a FIFO or a character device such as /dev/null";
  }

  /**
   * What kind of file other than a regular file or a directory {@code p} is ("a character device", "a FIFO",
   * "a block device", "a socket"), from its POSIX mode, or null where the file system does not say.
   */
  public static String specialKind(Path p) {
    int mode;
    try {
      mode = (Integer) Files.getAttribute(p, "unix:mode");
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return null;
    }
    return switch (mode & 0170000) {
      case 0020000 -> "a character device";
      case 0010000 -> "a FIFO";
      case 0060000 -> "a block device";
      case 0140000 -> "a socket";
      default -> null;
    };
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
