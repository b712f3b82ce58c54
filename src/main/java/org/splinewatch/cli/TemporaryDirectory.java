package org.splinewatch.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A new temporary directory for a benchmark's files, removed with everything in it when closed, or when the JVM
 * shuts down before that (Ctrl-C, SIGTERM), so that neither a finished nor an interrupted benchmark leaves it behind.
 * At shutdown, {@code stopBeforeRemoval} runs first in the same hook (e.g. stopping a child process still writing
 * there: separate hooks would run concurrently); where it answers false (something may still write there, and it said
 * so), the directory is left as it is: a removal racing the writer left part of it with a misleading warning.
 */
final class TemporaryDirectory implements AutoCloseable {
  private final Path dir;
  private final Thread hook;

  TemporaryDirectory(String prefix) throws IOException {
    this(prefix, () -> true);
  }

  TemporaryDirectory(String prefix, BooleanSupplier stopBeforeRemoval) throws IOException {
    dir = Files.createTempDirectory(prefix);
    hook = new Thread(() -> {
      if (stopBeforeRemoval.getAsBoolean()) {
        delete();
      }
    }, "remove-" + prefix);
    Runtime.getRuntime().addShutdownHook(hook);
  }

  Path path() {
    return dir;
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      return; // the JVM is shutting down: the hook removes it
    }
    delete();
  }

  private void delete() {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      if (Files.exists(dir)) { // a file written meanwhile, or one this user cannot remove
        System.err.println("warning: could not remove the temporary directory " + dir + ": " + e.getMessage());
      }
    }
  }
}
