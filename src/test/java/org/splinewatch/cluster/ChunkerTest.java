package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Chunker}: parts of at most chunk-bytes, in order, that {@link ChunkAssembler} joins back. */
class ChunkerTest {

  @Test
  void splitsIntoFullPartsAndARest() {
    Chunker c = new Chunker(4);
    List<byte[]> parts = c.split(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    assertEquals(3, parts.size());
    assertArrayEquals(new byte[] {1, 2, 3, 4}, parts.get(0));
    assertArrayEquals(new byte[] {5, 6, 7, 8}, parts.get(1));
    assertArrayEquals(new byte[] {9, 10}, parts.get(2));
    assertEquals(2, c.split(new byte[8]).size(), "an exact multiple has no empty tail");
    assertEquals(1, c.split(new byte[1]).size());
  }

  @Test
  void anEmptyPayloadIsOneEmptyPart() {
    List<byte[]> parts = new Chunker(4).split(new byte[0]);
    assertEquals(1, parts.size());
    assertEquals(0, parts.get(0).length);
  }

  @Test
  void refusesAChunkSizeBelowOne() {
    assertThrows(IllegalArgumentException.class, () -> new Chunker(0));
  }

  @Test
  void theAssemblerJoinsThePartsInAnyOrder() {
    Random r = new Random(7);
    for (int length : new int[] {1, 99, 100, 101, 1000}) {
      byte[] payload = new byte[length];
      r.nextBytes(payload);
      List<byte[]> parts = new Chunker(100).split(payload);
      ChunkAssembler a = new ChunkAssembler(100, 1000, 1000, 2, Duration.ofSeconds(30), System::nanoTime);
      ChunkAssembler.Outcome last = null;
      for (int i = parts.size() - 1; i >= 0; i--) { // last part first
        last = a.add("run", 5, i, parts.size(), parts.get(i), true);
      }
      assertArrayEquals(payload, assertInstanceOf(ChunkAssembler.Complete.class, last).payload(), "length " + length);
      assertEquals(0, a.partialBytes());
    }
  }
}
