package org.splinewatch.cluster;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Cuts an encoded payload (a run description or a snapshot) into parts of at most {@code chunk-bytes}, the sending
 * half of the cluster transport; {@link ChunkAssembler} is the receiving half. An empty payload is one empty part.
 */
final class Chunker {
  private final int chunkBytes;

  Chunker(int chunkBytes) {
    if (chunkBytes < 1) {
      throw new IllegalArgumentException("chunk size must be at least 1 byte, got " + chunkBytes);
    }
    this.chunkBytes = chunkBytes;
  }

  /** How many parts a payload of {@code length} bytes takes (at least 1). */
  int count(int length) {
    return Math.max(1, (length + chunkBytes - 1) / chunkBytes);
  }

  /** The parts in order: all but the last {@code chunk-bytes} long. */
  List<byte[]> split(byte[] payload) {
    int count = count(payload.length);
    List<byte[]> parts = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int from = i * chunkBytes;
      parts.add(Arrays.copyOfRange(payload, from, Math.min(payload.length, from + chunkBytes)));
    }
    return parts;
  }
}
