package org.splinewatch.ingest;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.splinewatch.settings.ConfigBlock;
import org.splinewatch.settings.ConfigErrors;
import org.splinewatch.settings.OptionValues;
import org.splinewatch.snapshot.NpzArchive;

/**
 * {@code splinewatch.ingest}: limits and defaults of HTTP snapshot ingestion on {@code ./monitor serve}.
 *
 * @param maxBytesInFlight  body bytes all requests may hold at once while they are read and parsed
 *                          ({@code max-bytes-in-flight}); at least the largest body, so that one always fits
 * @param bodyStallTimeout  a request body of which no byte arrives for this long is answered 400 and lets go of its
 *                          share of {@code maxBytesInFlight} ({@code body-stall-timeout})
 * @param abortDrainTimeout how long a run finished early (stopped, failed, interrupted, or cut by the monitor's own
 *                          stop) waits for its in-flight analyses ({@code splinewatch.lifecycle.abort-drain-timeout})
 * @param analyseAfterStop  a run finished as stopped still analyses its queued snapshots, within {@code drainTimeout}
 *                          ({@code splinewatch.lifecycle.analyse-after-stop})
 */
public record IngestSettings(boolean enabled, long maxRunBytes, long maxSnapshotBytes, int maxEntries, int maxLayers,
    int maxLayerWidth, int maxProbes, int maxRuns, String earlyStop, int hubBufferSize, Duration drainTimeout,
    Duration idleTimeout, long maxBytesInFlight, Duration bodyStallTimeout, Duration abortDrainTimeout, boolean analyseAfterStop) {

  public IngestSettings {
    // the one out of range, in the options' common words (splinewatch.ingest.max-runs 0: expected at least 1)
    for (var bytes : List.of(Map.entry("max-run-bytes", maxRunBytes), Map.entry("max-snapshot-bytes",
        maxSnapshotBytes))) {
      if (bytes.getValue() < 1024 || bytes.getValue() > Integer.MAX_VALUE - 64) {
        throw new IllegalArgumentException("splinewatch.ingest." + bytes.getKey() + " " + bytes.getValue()
            + ": expected 1024-" + (Integer.MAX_VALUE - 64) + " (2^31 - 64)");
      }
    }
    ConfigBlock.requireAtLeast("splinewatch.ingest.max-entries", maxEntries, 4);
    ConfigBlock.requireAtLeast("splinewatch.ingest.max-layers", maxLayers, 1);
    ConfigBlock.requireAtLeast("splinewatch.ingest.max-layer-width", maxLayerWidth, 1);
    ConfigBlock.requireAtLeast("splinewatch.ingest.max-probes", maxProbes, 10);
    ConfigBlock.requireAtLeast("splinewatch.ingest.max-runs", maxRuns, 1);
    ConfigBlock.requirePositive("splinewatch.ingest.idle-timeout", idleTimeout);
    if (maxBytesInFlight < Math.max(maxRunBytes, maxSnapshotBytes)) {
      throw new IllegalArgumentException("splinewatch.ingest.max-bytes-in-flight " + maxBytesInFlight + ": expected"
          + " at least max-run-bytes and max-snapshot-bytes (" + Math.max(maxRunBytes, maxSnapshotBytes) + "), or auto");
    }
    if (!earlyStop.equals("stop") && !earlyStop.equals("warn")) {
      throw new IllegalArgumentException(OptionValues.named("splinewatch.ingest.early-stop", earlyStop)
          + ": expected stop or warn");
    }
  }

  public static IngestSettings fromConfig(Config root) {
    ConfigBlock c = ConfigBlock.of(root, "splinewatch.ingest");
    long maxRun = c.bytes("max-run-bytes");
    long maxSnapshot = c.bytes("max-snapshot-bytes");
    boolean auto = !c.config().hasPath("max-bytes-in-flight")
        || "auto".equals(c.config().getValue("max-bytes-in-flight").unwrapped());
    long inFlight = auto ? autoBytesInFlight(maxRun, maxSnapshot, Runtime.getRuntime().maxMemory())
        : c.bytes("max-bytes-in-flight");
    String earlyStop = c.config().getString("early-stop");
    if (!earlyStop.equals("stop") && !earlyStop.equals("warn")) { // named where it is set: a file's line, a -D, ...
      throw new IllegalArgumentException(ConfigErrors.setting(root, c.name("early-stop")) + ": expected stop or warn");
    }
    int hubBufferSize = ConfigBlock.of(root, "splinewatch.hub").integer("buffer-size");
    ConfigBlock.requireAtLeast("splinewatch.hub.buffer-size", hubBufferSize, 1);
    return new IngestSettings(c.config().getBoolean("enabled"), maxRun, maxSnapshot,
        c.integer("max-entries"), c.integer("max-layers"), c.integer("max-layer-width"), c.integer("max-probes"),
        c.integer("max-runs"), earlyStop, hubBufferSize,
        ConfigBlock.of(root, "splinewatch.analysis").positiveDuration("drain-timeout"),
        c.positiveDuration("idle-timeout"), inFlight, c.positiveDuration("body-stall-timeout"),
        ConfigBlock.of(root, "splinewatch.lifecycle").positiveDuration("abort-drain-timeout"),
        root.getBoolean("splinewatch.lifecycle.analyse-after-stop"));
  }

  /**
   * {@code max-bytes-in-flight = auto}: a twelfth of the maximum heap, at least the largest body. A snapshot being
   * parsed holds about four times its size on the heap (the bytes read, the float32 arrays unpacked from them, the
   * float64 weights of the network built to check it), so a twelfth keeps ingestion's peak near a third of the
   * heap, the rest left to the analyzers and the snapshots queued for them. With -Xmx1536m and the 64 MiB limits
   * that is 128 MiB: two of the largest bodies at once.
   */
  static long autoBytesInFlight(long maxRunBytes, long maxSnapshotBytes, long maxHeap) {
    return Math.max(Math.max(maxRunBytes, maxSnapshotBytes), maxHeap / 12);
  }

  public NpzArchive.Limits runLimits() {
    return new NpzArchive.Limits(maxRunBytes, maxEntries);
  }

  public NpzArchive.Limits snapshotLimits() {
    return new NpzArchive.Limits(maxSnapshotBytes, maxEntries);
  }
}
