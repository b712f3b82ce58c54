package org.splinewatch.analysis;

import com.typesafe.config.Config;
import java.util.List;
import org.splinewatch.settings.ConfigBlock;

/**
 * Analyzers served first on the shared analysis thread ({@code splinewatch.analysis.priority}, in order) and the
 * number of un-analysed snapshots each of them keeps ({@code splinewatch.hub.priority-buffer-size}). The collapse
 * rules read the embedding analyzer: when it queues behind a region analysis of several seconds and drops snapshots,
 * alerts come late, so by default it goes first and keeps every snapshot of a burst. It costs about a second per
 * snapshot against the region analyzer's several.
 */
public record AnalysisPriority(List<String> analyzers, int bufferSize) {
  public AnalysisPriority {
    analyzers = List.copyOf(analyzers);
    ConfigBlock.requireAtLeast("splinewatch.hub.priority-buffer-size", bufferSize, 1);
  }

  /** From the whole configuration; without the keys nothing has priority. */
  public static AnalysisPriority fromConfig(Config root) {
    List<String> names = root.hasPath("splinewatch.analysis.priority")
        ? root.getStringList("splinewatch.analysis.priority") : List.of();
    int buffer = root.hasPath("splinewatch.hub.priority-buffer-size")
        ? ConfigBlock.of(root, "splinewatch.hub").integer("priority-buffer-size") : 1;
    return new AnalysisPriority(names, buffer);
  }

  /** Whether an analyzer (by its name, e.g. {@code embedding}) has priority. */
  public boolean has(String analyzer) {
    return analyzers.contains(analyzer);
  }

  /**
   * Rank of an analyzer actor on the analysis thread, lower first: the position in the list of the priority analyzer
   * whose name ends the actor's name after a dash ({@code analyzer-embedding}, {@code run-a-1234-embedding}), else
   * the list's size.
   */
  public int rank(String actorName) {
    for (int i = 0; i < analyzers.size(); i++) {
      if (actorName.endsWith("-" + analyzers.get(i))) {
        return i;
      }
    }
    return analyzers.size();
  }
}
