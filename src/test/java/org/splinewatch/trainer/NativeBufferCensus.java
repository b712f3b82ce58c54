package org.splinewatch.trainer;

import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.memory.Deallocatable;
import org.nd4j.linalg.api.memory.deallocation.DeallocatableReference;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which native objects ND4J created while it was watching, and how each went: closed by the code that made it (its
 * memory freed at once), or left for the collector (freed only when a GC finds its owner dead). Reads the references
 * ND4J's deallocator service keeps for every data buffer and op context ({@code DeallocatorService.referenceMap}).
 * Call {@link #poll()} after every step: a buffer closed and collected between two polls counts as left for the
 * collector.
 */
final class NativeBufferCensus {
  /** What is known of one native object created while watching. */
  private static final class Seen {
    final WeakReference<Deallocatable> owner;
    final boolean buffer;
    final long bytes;
    boolean closed;

    Seen(Deallocatable d) {
      owner = new WeakReference<>(d);
      buffer = d instanceof DataBuffer;
      bytes = buffer ? ((DataBuffer) d).length() * ((DataBuffer) d).getElementSize() : 0;
    }
  }

  /** The counts of a census: buffers and their bytes by fate, op contexts left for the collector. */
  record Counts(int created, long createdBytes, int closed, long closedBytes, int collectedUnclosed,
      long collectedUnclosedBytes, int alive, long aliveBytes, int opContextsCollected) {
    @Override
    public String toString() {
      return String.format("buffers created %d (%.2f MB): closed %d (%.2f MB), only a GC freed %d (%.2f MB), "
          + "alive %d (%.2f MB); op contexts only a GC freed %d", created, createdBytes / 1e6, closed,
          closedBytes / 1e6, collectedUnclosed, collectedUnclosedBytes / 1e6, alive, aliveBytes / 1e6,
          opContextsCollected);
    }
  }

  private final Map<String, ?> references;
  private final Map<String, Seen> seen = new HashMap<>();
  private final Set<String> before;

  @SuppressWarnings("unchecked")
  NativeBufferCensus() {
    try {
      Field f = Nd4j.getDeallocatorService().getClass().getDeclaredField("referenceMap");
      f.setAccessible(true);
      references = (Map<String, ?>) f.get(Nd4j.getDeallocatorService());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("ND4J's deallocator service has no referenceMap field", e);
    }
    before = new HashSet<>(references.keySet());
  }

  /** Records the objects created since the last poll and which of those seen are closed now. */
  void poll() {
    for (Map.Entry<String, ?> e : references.entrySet()) {
      if (!before.contains(e.getKey()) && !seen.containsKey(e.getKey())) {
        Deallocatable d = ((DeallocatableReference) e.getValue()).get();
        if (d != null) {
          seen.put(e.getKey(), new Seen(d));
        }
      }
    }
    for (Seen s : seen.values()) {
      Deallocatable d = s.owner.get();
      if (s.buffer && d != null && ((DataBuffer) d).wasClosed()) {
        s.closed = true;
      }
    }
  }

  /** Polls once more, collects the garbage and counts. */
  Counts finish() throws InterruptedException {
    poll();
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    int created = 0;
    long createdBytes = 0;
    int closed = 0;
    long closedBytes = 0;
    int unclosed = 0;
    long unclosedBytes = 0;
    int alive = 0;
    long aliveBytes = 0;
    int contexts = 0;
    for (Seen s : seen.values()) {
      boolean collected = s.owner.get() == null;
      if (!s.buffer) {
        contexts += collected ? 1 : 0;
        continue;
      }
      created++;
      createdBytes += s.bytes;
      if (s.closed) {
        closed++;
        closedBytes += s.bytes;
      } else if (collected) {
        unclosed++;
        unclosedBytes += s.bytes;
      } else {
        alive++;
        aliveBytes += s.bytes;
      }
    }
    return new Counts(created, createdBytes, closed, closedBytes, unclosed, unclosedBytes, alive, aliveBytes,
        contexts);
  }
}
