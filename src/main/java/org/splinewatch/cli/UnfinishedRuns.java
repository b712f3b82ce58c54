package org.splinewatch.cli;

import java.nio.file.Path;
import org.splinewatch.metrics.RunLock;

/**
 * What {@code report} and {@code detection} say of a run without {@code run_finished}: the run's files alone cannot
 * tell a run still writing from one whose process was killed ({@code still running, or it crashed}), but its
 * {@code .run-lock} can, as the live page reads it ({@link RunLock#probe}).
 */
final class UnfinishedRuns {
  static final String EITHER = "still running, or it crashed";

  private UnfinishedRuns() {
  }

  /** {@code text} with {@link #EITHER} replaced by what the lock of {@code runDir} tells, where it tells anything. */
  static String said(String text, Path runDir) {
    if (!text.contains(EITHER)) {
      return text;
    }
    return switch (RunLock.probe(runDir)) {
      case HELD -> text.replace(EITHER, "it is running now (a process holds its " + RunLock.FILE + ")");
      case LEFT -> text.replace(EITHER, "its process ended without one, crashed or killed (its " + RunLock.FILE
          + " is left behind, held by no process)");
      case NONE, UNKNOWN -> text;
    };
  }
}
