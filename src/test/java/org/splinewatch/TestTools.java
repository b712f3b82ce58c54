package org.splinewatch;

import java.io.IOException;
import java.net.ServerSocket;

/** Helpers shared by the tests that start servers or external programs. */
public final class TestTools {
  private TestTools() {
  }

  /** Whether {@code binary --version} runs and exits 0 (tests skip where a Debian package is missing). */
  public static boolean installed(String binary) {
    try {
      return new ProcessBuilder(binary, "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** A loopback port that was free a moment ago. */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
