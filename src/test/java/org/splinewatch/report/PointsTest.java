package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Points}: a series' points in primitive arrays, and what a long run's samples cost in the heap. */
class PointsTest {
  @TempDir
  Path tmp;

  @Test
  void behavesAsAListOfPoints() {
    Points p = new Points();
    List<double[]> plain = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      double[] x = {i * 10L, i % 7 == 0 ? Double.NaN : Math.sin(i), i % 5 == 0 ? Double.NaN : 1.7e12 + i, i};
      p.add(x);
      plain.add(x);
    }
    assertEquals(plain.size(), p.size());
    for (int i = 0; i < plain.size(); i++) {
      assertArrayEquals(plain.get(i), p.get(i));
      assertEquals(i * 10L, p.step(i));
    }
    p.get(3)[1] = 42; // a copy
    assertArrayEquals(plain.get(3), p.get(3));
    assertTrue(p.removeIf(x -> x[0] > 5000 && x[3] < 900));
    plain.removeIf(x -> x[0] > 5000 && x[3] < 900);
    assertEquals(plain.size(), p.size());
    for (int i = 0; i < plain.size(); i++) {
      assertArrayEquals(plain.get(i), p.get(i));
    }
    assertFalse(p.removeIf(x -> false));
    p.trimToSize();
    p.add(new double[] {1e6, 1, 2, 3});
    assertArrayEquals(new double[] {1e6, 1, 2, 3}, p.get(p.size() - 1));
    assertArrayEquals(plain.get(0), p.remove(0));
    assertEquals(plain.size(), p.size());
    assertThrows(IndexOutOfBoundsException.class, () -> p.get(p.size()));
    assertThrows(IllegalArgumentException.class, () -> p.add(new double[] {1, 2}));
    // steps and orders of a very long run stay exact
    Points big = new Points();
    big.add(new double[] {(1L << 52) + 1, 0, 0, (1L << 52) + 3});
    assertEquals((1L << 52) + 1, big.step(0));
    assertEquals((double) ((1L << 52) + 3), big.get(0)[3]);
  }

  /**
   * A long run's samples in the heap: 400,000 of them, read whole, hold about 32 bytes each (a list of
   * {@code double[4]} held about 52, so that three runs of a million steps did not fit the report's 640 MiB heap).
   */
  @Test
  void aLongRunsSamplesTakeAboutThirtyTwoBytesEach() throws IOException {
    int steps = 100_000;
    Path dir = tmp.resolve("long");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), "{\"run_id\":\"long\"}");
    try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      for (int s = 0; s < steps; s++) {
        for (String name : List.of("splinewatch_training_loss", "splinewatch_training_step",
            "splinewatch_training_learning_rate", "splinewatch_training_steps_per_second")) {
          w.write("{\"name\":\"" + name + "\",\"labels\":{\"run\":\"long\"},\"step\":" + s + ",\"value\":"
              + (1.0 / (s + 1)) + ",\"time\":" + (1_700_000_000_000L + s) + "}\n");
        }
      }
    }
    long before = usedAfterGc();
    RunData r = RunData.read(dir);
    long after = usedAfterGc();
    long samples = r.series().values().stream().mapToLong(s -> s.points().size()).sum();
    assertEquals(4L * steps, samples);
    double perSample = (after - before) / (double) samples;
    assertTrue(perSample < 40, String.format("%.1f bytes per sample held (expected about %d)", perSample,
        Points.BYTES_PER_POINT));
    assertEquals(steps - 1, r.lastStep()); // and keep it reachable until here
  }

  private static long usedAfterGc() {
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 4; i++) {
      System.gc();
      best = Math.min(best, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return best;
  }
}
