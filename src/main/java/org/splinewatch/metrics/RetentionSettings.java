package org.splinewatch.metrics;

import com.typesafe.config.Config;
import java.util.List;
import java.util.Map;
import org.splinewatch.settings.ConfigBlock;

/**
 * How much of a long run stays on disk ({@code splinewatch.retention}, docs/durability.md): {@code metrics.jsonl} is
 * rotated into gzip segments of {@code metricsSegmentBytes} (0: never) of which the newest {@code metricsMaxSegments}
 * are kept (0: all); of the partition pictures of each plane, and of the embedding views of each layer, the newest
 * {@code planesKeepLast} and every {@code planesKeepEvery}-th analysed snapshot's are kept (0 and 0: all).
 */
public record RetentionSettings(long metricsSegmentBytes, int metricsMaxSegments, int planesKeepLast,
    int planesKeepEvery) {

  /** Everything kept, nothing rotated (tests and tools that write small runs). */
  public static final RetentionSettings KEEP_ALL = new RetentionSettings(0, 0, 0, 0);

  public RetentionSettings {
    // the one out of range, in the options' common words (it listed all four, and said "is" for segment bytes)
    if (metricsSegmentBytes < 0 || (metricsSegmentBytes > 0 && metricsSegmentBytes < 4096)) {
      throw new IllegalArgumentException("splinewatch.retention.metrics-segment-bytes " + metricsSegmentBytes
          + ": expected 0 (no rotation) or at least 4096");
    }
    for (var count : List.of(Map.entry("metrics-max-segments", metricsMaxSegments),
        Map.entry("planes-keep-last", planesKeepLast), Map.entry("planes-keep-every", planesKeepEvery))) {
      if (count.getValue() < 0) {
        throw new IllegalArgumentException("splinewatch.retention." + count.getKey() + " " + count.getValue()
            + ": expected at least 0 (0: no limit)");
      }
    }
  }

  public static RetentionSettings fromConfig(Config config) {
    ConfigBlock c = ConfigBlock.of(config, "splinewatch.retention");
    return new RetentionSettings(c.bytes("metrics-segment-bytes"), c.integer("metrics-max-segments"),
        c.integer("planes-keep-last"), c.integer("planes-keep-every"));
  }

  /** Whether the picture of the {@code index}-th analysed snapshot (0-based) is kept once {@code newer} came after. */
  public boolean keepPicture(long index, long newer) {
    if (planesKeepLast == 0 && planesKeepEvery == 0) {
      return true;
    }
    // the newest always stays: it is what the live page and latest.svg show
    return newer == 0 || newer < planesKeepLast || (planesKeepEvery > 0 && index % planesKeepEvery == 0);
  }
}
