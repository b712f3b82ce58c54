package org.splinewatch.snapshot;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * What went wrong with a file, for one-line errors. A {@link FileSystemException} from {@code java.nio.file} often
 * carries only the path as its message (an {@link AccessDeniedException} says "/runs/x/config.json", not why), so
 * "cannot write X: " + its message would lose the reason.
 */
public final class IoErrors {
  private IoErrors() {
  }

  /** The exception's message with the reason it lacks: "/runs/x/config.json: permission denied". */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f && f.getReason() == null) {
      String why = f instanceof AccessDeniedException ? "permission denied"
          : f instanceof NoSuchFileException ? "no such file or directory"
          : f instanceof FileAlreadyExistsException ? existing(f.getFile())
          : f instanceof DirectoryNotEmptyException ? "is a directory that is not empty"
          : f instanceof NotDirectoryException ? "not a directory"
          : f.getClass().getSimpleName();
      return (f.getMessage() != null ? f.getMessage() + ": " : "") + why;
    }
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  /**
   * What is in the way: most often a file where a directory was to be created ({@code Files.createDirectories}
   * reports only that the path "already exists").
   */
  private static String existing(String file) {
    if (file != null && Files.isRegularFile(Path.of(file), LinkOption.NOFOLLOW_LINKS)) {
      return "already exists, as a file";
    }
    return "already exists";
  }
}
