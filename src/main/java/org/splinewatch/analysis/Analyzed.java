package org.splinewatch.analysis;

/** Reply to {@link Analyze}: the step, the time it took, and an error message or null. */
public record Analyzed(String analyzer, long step, double seconds, String error) {
  /** Prefix of {@link #error} when the analysis could not write the run directory (see {@link #writeFailed}). */
  public static final String WRITE_FAILED = "cannot write run files: ";

  /** The failure of an analysis that did not answer within {@code timeout} ({@code splinewatch.analysis.timeout}). */
  public static String timedOut(java.time.Duration timeout) {
    return "no result within " + org.splinewatch.settings.ConfigBlock.describe(timeout)
        + " (splinewatch.analysis.timeout); the analysis counts as failed and its late results are left out";
  }

  /** The analysis ran but could not write its files (disk full, unwritable directory): the run cannot go on. */
  public boolean writeFailed() {
    return error != null && error.startsWith(WRITE_FAILED);
  }
}
