package org.splinewatch.control;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.IoErrors;

/**
 * The control token written beside a run (or a monitor's runs) for the tools that call the control endpoint; and
 * other secrets a run keeps in a file of its own ({@link #writeSecret}).
 */
public final class ControlToken {
  private ControlToken() {
  }

  /** Writes the token, readable by the owner only (where the file system has POSIX permissions). */
  public static void write(Path file, String token) {
    writeSecret(file, token, "the control token");
  }

  /**
   * Writes {@code secret} and a newline to {@code file}, readable by the owner only; {@code what} names it in errors.
   * Through a temporary file renamed over {@code file} ({@link DurableFiles}): a crash leaves the old file or the new
   * one, never an empty or half-written one.
   */
  public static void writeSecret(Path file, String secret, String what) {
    try {
      DurableFiles.writeAtomically(file, (secret + "\n").getBytes(StandardCharsets.US_ASCII), true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + what + " to " + file + ": " + IoErrors.reason(e), e);
    }
  }
}
