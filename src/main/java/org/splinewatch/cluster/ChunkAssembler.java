package org.splinewatch.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Reassembles the chunks of the cluster transport on an analyzer node, for every open run at once, and checks each
 * chunk before it keeps anything: its size (1 to {@code chunk-bytes}), index and count (at most
 * {@code max-snapshot-bytes / chunk-bytes + 1} parts), that it neither contradicts nor repeats an earlier chunk, at
 * most {@code maxTransfersPerRun} partial transfers per run, a total of at most {@code max-partial-bytes} over all
 * runs and at most {@code max-snapshot-bytes} per transfer. A refused chunk is reported as a {@link Refused} with the
 * reason {@link Rejections} counts; partial transfers older than {@code snapshot-timeout} are dropped by
 * {@link #expire()}. Transfer 0 of a run is its description; the others are snapshots. Not thread-safe: one actor
 * owns it.
 */
final class ChunkAssembler {

  /** What {@link #add} made of a chunk. */
  sealed interface Outcome permits Pending, Complete, Refused {
  }

  /** Kept; the transfer still misses parts. */
  record Pending() implements Outcome {
  }

  /** The chunk completed its transfer: the parts joined in order. */
  record Complete(byte[] payload) implements Outcome {
  }

  /** Refused ({@code reason} as counted by {@link Rejections}); nothing of it is kept. */
  record Refused(String reason, String detail) implements Outcome {
  }

  /** A partial transfer dropped by {@link #expire()}. */
  record Expired(String runId, long transfer, String detail) {
  }

  private static final Pending PENDING = new Pending();

  /** A transfer being reassembled. */
  private static final class Partial {
    final byte[][] parts;
    final long startedNanos;
    int received;
    long bytes;

    Partial(int count, long startedNanos) {
      this.parts = new byte[count][];
      this.startedNanos = startedNanos;
    }
  }

  private final int chunkBytes;
  private final int maxChunks;
  private final long maxSnapshotBytes;
  private final long maxPartialBytes;
  private final int maxTransfersPerRun;
  private final Duration timeout;
  private final LongSupplier nanoClock;
  private final Map<String, Map<Long, Partial>> runs = new HashMap<>();
  private long partialBytes; // over all runs; bounded by maxPartialBytes

  ChunkAssembler(int chunkBytes, long maxSnapshotBytes, long maxPartialBytes, int maxTransfersPerRun,
      Duration timeout, LongSupplier nanoClock) {
    this.chunkBytes = chunkBytes;
    this.maxChunks = (int) (maxSnapshotBytes / chunkBytes + 1);
    this.maxSnapshotBytes = maxSnapshotBytes;
    this.maxPartialBytes = maxPartialBytes;
    this.maxTransfersPerRun = maxTransfersPerRun;
    this.timeout = timeout;
    this.nanoClock = nanoClock;
  }

  /** With the limits of the cluster settings: the partial transfers of {@code in-flight-per-analyzer + 1} per run. */
  static ChunkAssembler of(ClusterSettings limits) {
    return new ChunkAssembler(limits.chunkBytes(), limits.maxSnapshotBytes(), limits.maxPartialBytes(),
        limits.inFlightPerAnalyzer() + 1, limits.snapshotTimeout(), System::nanoTime);
  }

  /**
   * Adds part {@code index} of {@code count} of a transfer of a run.
   *
   * @param descriptionReceived whether the run's description (transfer 0) has already been received, so that a
   *                            second one is refused
   */
  Outcome add(String runId, long transfer, int index, int count, byte[] data, boolean descriptionReceived) {
    if (data == null || data.length == 0 || data.length > chunkBytes) {
      return new Refused("bad_chunk", "chunk of run " + runId + " with " + (data == null ? "no" : data.length)
          + " bytes; expected 1 to chunk-bytes = " + chunkBytes);
    }
    if (transfer < 0 || count < 1 || count > maxChunks || index < 0 || index >= count) {
      return new Refused("bad_chunk", "chunk " + index + "/" + count + " of transfer " + transfer + " of run "
          + runId + "; expected a transfer >= 0 and 0 <= index < count <= " + maxChunks);
    }
    Map<Long, Partial> partial = runs.computeIfAbsent(runId, r -> new HashMap<>());
    Partial p = partial.get(transfer);
    if (p == null) {
      if (partial.size() >= maxTransfersPerRun) {
        return new Refused("too_many_transfers", "run " + runId + " already has " + partial.size()
            + " partial transfers");
      }
      if (transfer == 0 && descriptionReceived) {
        return new Refused("bad_chunk", "run " + runId + " sent its description twice");
      }
      p = new Partial(count, nanoClock.getAsLong());
      partial.put(transfer, p);
    }
    if (p.parts.length != count || p.parts[index] != null) {
      return new Refused("bad_chunk", "chunk " + index + "/" + count + " of transfer " + transfer
          + " contradicts or repeats an earlier one");
    }
    if (partialBytes + data.length > maxPartialBytes) {
      return new Refused("buffer_full", "incomplete transfers hold " + partialBytes + " bytes, the limit of"
          + " splinewatch.cluster.max-partial-bytes");
    }
    if (p.bytes + data.length > maxSnapshotBytes) {
      drop(partial, transfer);
      return new Refused("too_large", "transfer " + transfer + " of run " + runId + " exceeds max-snapshot-bytes = "
          + maxSnapshotBytes);
    }
    p.parts[index] = data;
    p.bytes += data.length;
    partialBytes += data.length;
    if (++p.received < p.parts.length) {
      return PENDING;
    }
    drop(partial, transfer);
    return new Complete(join(p.parts, p.bytes));
  }

  /** Drops every partial transfer of a run (closed, or opened anew). */
  void forget(String runId) {
    Map<Long, Partial> partial = runs.remove(runId);
    if (partial != null) {
      partial.values().forEach(p -> partialBytes -= p.bytes);
    }
  }

  /** Drops the partial transfers older than {@code snapshot-timeout} and returns them. */
  List<Expired> expire() {
    long limit = timeout.toNanos();
    long now = nanoClock.getAsLong();
    List<Expired> expired = new ArrayList<>();
    for (var run : runs.entrySet()) {
      for (Iterator<Map.Entry<Long, Partial>> it = run.getValue().entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        if (now - e.getValue().startedNanos > limit) {
          it.remove();
          partialBytes -= e.getValue().bytes;
          expired.add(new Expired(run.getKey(), e.getKey(), "transfer " + e.getKey() + " of run " + run.getKey()
              + " incomplete after " + MonitorLink.seconds(timeout)));
        }
      }
    }
    return expired;
  }

  /** Bytes held in incomplete transfers, over all runs. */
  long partialBytes() {
    return partialBytes;
  }

  /** Incomplete transfers of a run. */
  int partialTransfers(String runId) {
    Map<Long, Partial> partial = runs.get(runId);
    return partial == null ? 0 : partial.size();
  }

  private void drop(Map<Long, Partial> partial, long transfer) {
    Partial p = partial.remove(transfer);
    if (p != null) {
      partialBytes -= p.bytes;
    }
  }

  /** The parts in order; {@code total} (their summed length) is at most max-snapshot-bytes, so it fits an int. */
  private static byte[] join(byte[][] parts, long total) {
    byte[] all = new byte[Math.toIntExact(total)];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
