package org.splinewatch.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import org.splinewatch.embedding.Pca2;
import org.splinewatch.snapshot.IoErrors;

/**
 * The embedding view: per analysed snapshot and layer, the 2D PCA of the probe embeddings with each probe's class,
 * written to {@code runs/<run-id>/embeddings/<layer>-step-<step>.json} as
 * {@code {"step", "layer", "scale", "labels": [...], "xy": [x0, y0, x1, y1, ...]}} with coordinates divided by
 * {@code scale} (the largest magnitude) and rounded to four decimals. About 20 KB per file; the report and the live
 * page draw them with a step slider.
 */
public final class EmbeddingViews {
  public static final String DIR = "embeddings";

  private EmbeddingViews() {
  }

  /** The file of one layer at one step. */
  public static String fileName(String layer, long step) {
    return String.format(Locale.ROOT, "%s-step-%08d.json", layer, step);
  }

  /**
   * Projects {@code z} ({@code n × d}) and writes the view atomically (readers never see half a file); returns the
   * file.
   */
  public static Path write(Path dir, String layer, long step, double[] z, int n, int[] labels) {
    double[] xy = Pca2.project(z, n, z.length / n);
    double scale = 0;
    for (double v : xy) {
      scale = Math.max(scale, Math.abs(v));
    }
    StringBuilder sb = new StringBuilder(24 * n);
    sb.append("{\"step\":").append(step).append(",\"layer\":\"").append(layer).append("\",\"scale\":")
        .append(Double.isFinite(scale) ? String.format(Locale.ROOT, "%.6g", scale) : "0").append(",\"labels\":[");
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : ",").append(labels[i]);
    }
    sb.append("],\"xy\":[");
    for (int i = 0; i < xy.length; i++) {
      double v = scale > 0 && Double.isFinite(scale) ? xy[i] / scale : 0;
      sb.append(i == 0 ? "" : ",").append(Math.round(v * 1e4) / 1e4);
    }
    sb.append("]}\n");
    try {
      Path file = dir.resolve(fileName(layer, step));
      // forced to disk before the rename, as the partition pictures are; a failed write leaves no temporary
      org.splinewatch.snapshot.DurableFiles.writeAtomically(file, sb.toString().getBytes(StandardCharsets.UTF_8));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the embedding view of step " + step + ": " + IoErrors.reason(e), e);
    }
  }
}
