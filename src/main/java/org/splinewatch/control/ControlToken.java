package org.splinewatch.control;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.splinewatch.snapshot.IoErrors;

/** The control token written beside a run (or a monitor's runs) for the tools that call the control endpoint. */
public final class ControlToken {
  private ControlToken() {
  }

  /** Writes the token, readable by the owner only (where the file system has POSIX permissions). */
  public static void write(Path file, String token) {
    try {
      Files.deleteIfExists(file);
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        Files.createFile(file);
      }
      Files.writeString(file, token + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the control token to " + file + ": " + IoErrors.reason(e), e);
    }
  }
}
