package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Peak heap, off-heap and resident memory, their gauges, the resident limit and the sizes it is given in. */
class MemoryWatchTest {
  private static final boolean LINUX = System.getProperty("os.name").toLowerCase().contains("linux");

  @Test
  void peaksCoverWhatWasAllocatedAndAreExported() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (MemoryWatch w = MemoryWatch.start(new MemorySettings(Duration.ofMillis(50), 0), r -> { })) {
      w.bind(registry, Tags.of("run", "r"));
      long before = w.peaks().heapUsed();
      byte[] big = new byte[64 << 20]; // 64 MiB live while the next peak is read
      big[big.length - 1] = 1;
      MemoryWatch.Peaks p = w.peaks();
      assertTrue(p.heapUsed() >= 64L << 20 && p.heapUsed() >= before, "heap peak " + p.heapUsed());
      assertTrue(p.heapCommitted() >= p.heapUsed(), "committed " + p.heapCommitted() + " < used " + p.heapUsed());
      assertEquals(Runtime.getRuntime().maxMemory(), p.heapMax());
      assertEquals(0, p.residentLimit());
      if (LINUX) {
        // off-heap is resident minus committed heap: 0 while the committed heap is not yet all touched
        assertTrue(p.resident() > p.offHeap() && p.offHeap() >= 0, p.toString());
        assertTrue(p.resident() >= MemoryWatch.statusKib("VmRSS:") / 2, "resident peak below the current RSS");
      }
      double heapGauge = registry.get("splinewatch.memory.peak.bytes").tags("run", "r", "area", "heap").gauge()
          .value();
      assertTrue(heapGauge >= 64L << 20, "gauge " + heapGauge);
      assertEquals(4, registry.find("splinewatch.memory.peak.bytes").gauges().size());
      assertTrue(p.describe().startsWith("peak memory: heap "), p.describe());
      assertEquals(p.resident(), ((Number) p.toEvent().get("resident_peak_bytes")).longValue());
      assertTrue(big[big.length - 1] == 1);
    }
  }

  @Test
  void statusFieldsAreReadFromTheKernelsText() {
    byte[] status = "Name:\tjava\nVmPeak:\t 9 kB\nVmHWM:\t  123456 kB\nVmRSS:\t     4567 kB\nThreads:\t40\n"
        .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    assertEquals(4567L * 1024, MemoryWatch.statusField(status, status.length, "VmRSS:"));
    assertEquals(123456L * 1024, MemoryWatch.statusField(status, status.length, "VmHWM:"));
    assertEquals(0, MemoryWatch.statusField(status, status.length, "VmSwap:"), "a field that is not there");
    int cut = new String(status, java.nio.charset.StandardCharsets.US_ASCII).indexOf("VmRSS:") + 4;
    assertEquals(0, MemoryWatch.statusField(status, cut, "VmRSS:"), "a field cut off by the buffer's end");
  }

  /** A sample reads /proc/self/status into a kept buffer: it made about 60 kB of garbage (two readAllLines). */
  @Test
  void aSampleMakesLittleGarbage() {
    if (!LINUX) {
      return;
    }
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    try (MemoryWatch w = MemoryWatch.start(new MemorySettings(Duration.ofHours(1), 0), r -> { })) {
      for (int i = 0; i < 200; i++) {
        w.peaks(); // warm
      }
      long before = threads.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < 200; i++) {
        w.peaks();
      }
      long perSample = (threads.getCurrentThreadAllocatedBytes() - before) / 200;
      assertTrue(perSample < 8_000, perSample + " bytes a sample");
      assertTrue(w.peaks().resident() > 0, "resident memory read");
    }
  }

  @Test
  void aRunAboveItsResidentLimitAfterAGcIsReportedOnce() throws Exception {
    if (!LINUX) {
      return; // resident memory is read from /proc
    }
    CompletableFuture<String> reason = new CompletableFuture<>();
    int[] calls = {0};
    try (MemoryWatch w = MemoryWatch.start(new MemorySettings(Duration.ofMillis(20), 1 << 20), r -> {
      calls[0]++;
      reason.complete(r);
    })) {
      String r = reason.get(10, TimeUnit.SECONDS);
      assertTrue(r.startsWith("resident memory ") && r.contains("exceeds the limit of 1 MiB after a GC")
          && r.contains("SPLINEWATCH_HEAP"), r);
      Thread.sleep(200);
      assertEquals(1, calls[0], "reported once");
    }
  }

  @Test
  void sizesAndSettings() {
    assertEquals(1536L << 20, MemorySettings.parseSize("1536m", "x"));
    assertEquals(2L << 30, MemorySettings.parseSize("2G", "x"));
    assertEquals(12345, MemorySettings.parseSize("12345", "x"));
    var e = assertThrows(IllegalArgumentException.class, () -> MemorySettings.parseSize("1.5g", "the limit"));
    assertEquals("the limit '1.5g' is not a size; expected e.g. 1536m or 2g", e.getMessage());
    var c = ConfigFactory.parseString("splinewatch.memory { sample-interval = 1s, max-resident = 2g }");
    assertEquals(new MemorySettings(Duration.ofSeconds(1), 2L << 30), MemorySettings.fromConfig(c));
    String old = System.getProperty(MemorySettings.JAVACPP_MAX_PHYSICAL);
    try {
      System.setProperty(MemorySettings.JAVACPP_MAX_PHYSICAL, "1536m");
      var zero = ConfigFactory.parseString("splinewatch.memory { sample-interval = 1s, max-resident = 0 }");
      assertEquals(1536L << 20, MemorySettings.fromConfig(zero).maxResident(), "JavaCPP's limit when 0");
    } finally {
      if (old == null) {
        System.clearProperty(MemorySettings.JAVACPP_MAX_PHYSICAL);
      } else {
        System.setProperty(MemorySettings.JAVACPP_MAX_PHYSICAL, old);
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new MemorySettings(Duration.ZERO, 0));
  }
}
