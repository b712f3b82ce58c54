package org.splinewatch.analysis;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.splinewatch.settings.ConfigBlock;

/**
 * Settings of the layer-geometry analyzer, from the {@code splinewatch.geometry} HOCON block.
 *
 * @param twonnBlocks    block counts {@code b} of the TwoNN block analysis (metrics.md §5.1 scale check); empty: off
 * @param twonnBlockSeed seed of its random split, drawn once per run and kept for every snapshot (metrics.md §9)
 * @param twonnBlocksEvery the block analysis runs on the first analysed snapshot and every this many after it
 *                       (metrics.md §9: TwoNN and its blocks every 5th snapshot)
 */
public record GeometrySettings(List<Integer> twonnBlocks, long twonnBlockSeed, int twonnBlocksEvery) {
  public GeometrySettings {
    ConfigBlock.requireAtLeast("splinewatch.geometry.twonn-blocks-every", twonnBlocksEvery, 1);
    twonnBlocks = List.copyOf(twonnBlocks);
    for (int b : twonnBlocks) {
      if (b < 1) {
        throw new IllegalArgumentException("splinewatch.geometry.twonn-blocks " + twonnBlocks
            + ": expected block counts of at least 1 (or [] for none)");
      }
    }
    if (twonnBlocks.stream().distinct().count() != twonnBlocks.size()) {
      throw new IllegalArgumentException("splinewatch.geometry.twonn-blocks: a block count is listed twice: "
          + twonnBlocks);
    }
  }

  public static GeometrySettings fromConfig(Config root) {
    ConfigBlock c = ConfigBlock.of(root, "splinewatch.geometry");
    return new GeometrySettings(c.integers("twonn-blocks"), c.longInteger("twonn-block-seed"),
        c.integer("twonn-blocks-every"));
  }

  /** The defaults of {@code reference.conf}. */
  public static GeometrySettings defaults() {
    return fromConfig(ConfigFactory.defaultReference());
  }

  /** The block counts as an array. */
  int[] blocks() {
    return twonnBlocks.stream().mapToInt(Integer::intValue).toArray();
  }
}
