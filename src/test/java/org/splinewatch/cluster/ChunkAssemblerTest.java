package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link ChunkAssembler}: reassembly, and every refusal with the reason {@link Rejections} counts. */
class ChunkAssemblerTest {
  private final AtomicLong nanos = new AtomicLong();

  /** chunks of up to 10 bytes, transfers of up to 30 (4 parts), 45 bytes pending overall, 2 transfers per run. */
  private ChunkAssembler assembler() {
    return new ChunkAssembler(10, 30, 45, 2, Duration.ofSeconds(10), nanos::get);
  }

  private static String refused(ChunkAssembler.Outcome o) {
    return assertInstanceOf(ChunkAssembler.Refused.class, o).reason();
  }

  @Test
  void joinsATransferOnceEveryPartArrived() {
    ChunkAssembler a = assembler();
    assertInstanceOf(ChunkAssembler.Pending.class, a.add("r", 1, 1, 2, new byte[] {3}, false));
    assertEquals(1, a.partialBytes());
    assertEquals(1, a.partialTransfers("r"));
    var done = assertInstanceOf(ChunkAssembler.Complete.class, a.add("r", 1, 0, 2, new byte[] {1, 2}, false));
    assertArrayEquals(new byte[] {1, 2, 3}, done.payload());
    assertEquals(0, a.partialBytes());
    assertEquals(0, a.partialTransfers("r"));
  }

  @Test
  void refusesMalformedChunks() {
    ChunkAssembler a = assembler();
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 1, null, false)));
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 1, new byte[0], false)));
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 1, new byte[11], false)), "over chunk-bytes");
    assertEquals("bad_chunk", refused(a.add("r", -1, 0, 1, new byte[1], false)), "negative transfer");
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 5, new byte[1], false)), "more parts than 30 / 10 + 1");
    assertEquals("bad_chunk", refused(a.add("r", 1, 2, 2, new byte[1], false)), "index beyond count");
    assertEquals("bad_chunk", refused(a.add("r", 1, -1, 2, new byte[1], false)));
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 0, new byte[1], false)));
    assertEquals(0, a.partialBytes(), "nothing kept");
    assertEquals(0, a.partialTransfers("r"));
  }

  @Test
  void refusesRepeatedAndContradictingChunks() {
    ChunkAssembler a = assembler();
    a.add("r", 1, 0, 3, new byte[5], false);
    assertEquals("bad_chunk", refused(a.add("r", 1, 0, 3, new byte[5], false)), "repeated");
    assertEquals("bad_chunk", refused(a.add("r", 1, 1, 2, new byte[5], false)), "another count");
    assertEquals(5, a.partialBytes());
  }

  @Test
  void refusesASecondDescription() {
    ChunkAssembler a = assembler();
    assertEquals("bad_chunk", refused(a.add("r", 0, 0, 1, new byte[1], true)));
    assertInstanceOf(ChunkAssembler.Complete.class, a.add("r", 0, 0, 1, new byte[1], false));
  }

  @Test
  void limitsPartialTransfersPerRunAndBytesOverAllRuns() {
    ChunkAssembler a = assembler();
    a.add("r", 1, 0, 2, new byte[10], false);
    a.add("r", 2, 0, 2, new byte[10], false);
    assertEquals("too_many_transfers", refused(a.add("r", 3, 0, 2, new byte[10], false)));
    a.add("s", 1, 0, 4, new byte[10], false);
    a.add("s", 1, 1, 4, new byte[10], false);
    assertEquals(40, a.partialBytes());
    assertEquals("buffer_full", refused(a.add("s", 1, 2, 4, new byte[10], false)), "40 + 10 bytes > 45");
    assertEquals(40, a.partialBytes());
    a.forget("r");
    assertEquals(20, a.partialBytes(), "a closed run's partial transfers are released");
    assertEquals(0, a.partialTransfers("r"));
    assertInstanceOf(ChunkAssembler.Pending.class, a.add("s", 1, 2, 4, new byte[10], false));
  }

  @Test
  void dropsATransferOverTheSnapshotLimit() {
    // 4 parts of up to 10 bytes may declare 40 bytes; the transfer limit is 30
    ChunkAssembler a = new ChunkAssembler(10, 30, 100, 2, Duration.ofSeconds(10), nanos::get);
    a.add("r", 1, 0, 4, new byte[10], false);
    a.add("r", 1, 1, 4, new byte[10], false);
    a.add("r", 1, 2, 4, new byte[10], false);
    assertEquals("too_large", refused(a.add("r", 1, 3, 4, new byte[1], false)));
    assertEquals(0, a.partialBytes(), "the whole transfer is dropped");
    assertEquals(0, a.partialTransfers("r"));
  }

  @Test
  void expiresTransfersOlderThanTheTimeout() {
    ChunkAssembler a = assembler();
    a.add("r", 1, 0, 2, new byte[4], false);
    nanos.set(Duration.ofSeconds(6).toNanos());
    a.add("r", 2, 0, 2, new byte[3], false);
    assertEquals(List.of(), a.expire());
    nanos.set(Duration.ofSeconds(11).toNanos());
    List<ChunkAssembler.Expired> expired = a.expire();
    assertEquals(1, expired.size());
    assertEquals("r", expired.get(0).runId());
    assertEquals(1, expired.get(0).transfer());
    assertTrue(expired.get(0).detail().contains("incomplete after 10 s"), expired.get(0).detail());
    assertEquals(3, a.partialBytes());
    assertEquals(1, a.partialTransfers("r"));
  }

  /** A sub-second timeout is named as it is (0.5 s), where toSeconds() said "incomplete after 0 s". */
  @Test
  void aSubSecondTimeoutIsNamedAsItIs() {
    ChunkAssembler a = new ChunkAssembler(10, 30, 45, 2, Duration.ofMillis(500), nanos::get);
    a.add("r", 1, 0, 2, new byte[4], false);
    nanos.set(Duration.ofMillis(600).toNanos());
    List<ChunkAssembler.Expired> expired = a.expire();
    assertEquals(1, expired.size());
    assertEquals("transfer 1 of run r incomplete after 0.5 s", expired.get(0).detail());
  }
}
