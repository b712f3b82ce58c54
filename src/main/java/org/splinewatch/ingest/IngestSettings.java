package org.splinewatch.ingest;

import com.typesafe.config.Config;
import java.time.Duration;
import org.splinewatch.snapshot.NpzArchive;

/** {@code splinewatch.ingest}: limits and defaults of HTTP snapshot ingestion on {@code ./monitor serve}. */
public record IngestSettings(boolean enabled, long maxRunBytes, long maxSnapshotBytes, int maxEntries, int maxLayers,
    int maxLayerWidth, int maxProbes, int maxRuns, String earlyStop, int hubBufferSize, Duration drainTimeout,
    Duration idleTimeout) {

  public IngestSettings {
    if (maxRunBytes < 1024 || maxSnapshotBytes < 1024 || maxRunBytes > Integer.MAX_VALUE - 64
        || maxSnapshotBytes > Integer.MAX_VALUE - 64) {
      throw new IllegalArgumentException("splinewatch.ingest.max-run-bytes and max-snapshot-bytes must be between"
          + " 1024 and 2^31 - 64");
    }
    if (maxEntries < 4 || maxLayers < 1 || maxLayerWidth < 1 || maxProbes < 10 || maxRuns < 1) {
      throw new IllegalArgumentException("splinewatch.ingest: max-entries must be at least 4, max-layers and max-runs"
          + " at least 1, max-probes at least 10");
    }
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("splinewatch.ingest.idle-timeout must be positive, got " + idleTimeout);
    }
    if (!earlyStop.equals("stop") && !earlyStop.equals("warn")) {
      throw new IllegalArgumentException("splinewatch.ingest.early-stop is '" + earlyStop + "'; expected stop or warn");
    }
  }

  public static IngestSettings fromConfig(Config root) {
    Config c = root.getConfig("splinewatch.ingest");
    return new IngestSettings(c.getBoolean("enabled"), c.getBytes("max-run-bytes"), c.getBytes("max-snapshot-bytes"),
        c.getInt("max-entries"), c.getInt("max-layers"), c.getInt("max-layer-width"), c.getInt("max-probes"), c.getInt("max-runs"),
        c.getString("early-stop"), root.getInt("splinewatch.hub.buffer-size"),
        root.getDuration("splinewatch.analysis.drain-timeout"), c.getDuration("idle-timeout"));
  }

  public NpzArchive.Limits runLimits() {
    return new NpzArchive.Limits(maxRunBytes, maxEntries);
  }

  public NpzArchive.Limits snapshotLimits() {
    return new NpzArchive.Limits(maxSnapshotBytes, maxEntries);
  }
}
