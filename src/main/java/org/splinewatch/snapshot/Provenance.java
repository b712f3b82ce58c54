package org.splinewatch.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Version and source revision recorded with every run. */
public final class Provenance {
  private Provenance() {
  }

  public static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v != null ? v : "0.1.0-SNAPSHOT";
  }

  /** The git commit of the working directory, or null when there is none (no git, not a checkout). */
  public static String gitCommit() {
    try {
      Process p = new ProcessBuilder("git", "rev-parse", "HEAD").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0 && out.matches("[0-9a-f]{40}")) {
        return out;
      }
    } catch (Exception e) {
      // no git: no commit recorded
    }
    return null;
  }

  /**
   * Whether the working directory has uncommitted changes to tracked files ({@code git status --porcelain
   * --untracked-files=no} is not empty), or null without git.
   */
  public static Boolean gitDirty() {
    try {
      Process p = new ProcessBuilder("git", "status", "--porcelain", "--untracked-files=no")
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
        return !out.isEmpty();
      }
    } catch (Exception e) {
      // no git: unknown
    }
    return null;
  }
}
