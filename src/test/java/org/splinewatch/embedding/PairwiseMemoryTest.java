package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pairwise metrics of the largest probe set the ingestion accepts ({@code max-probes}, 10,000) fit a small heap:
 * uniformity, kNN ({@link EmbeddingMetrics#compute}) and TwoNN in a child JVM with {@code -Xmx256m}
 * ({@link PairwiseMetricsHarness}, {@code check}). With the full {@code n × n} matrices (800 MB each) it ran out of
 * memory.
 */
class PairwiseMemoryTest {
  @Test
  void tenThousandProbesFitInA256MiBHeap() throws IOException, InterruptedException {
    List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
        "-XX:ActiveProcessorCount=1", "-cp", System.getProperty("java.class.path"),
        PairwiseMetricsHarness.class.getName(), "check", "10000", "16");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child JVM still running");
    String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), text);
    assertTrue(text.contains("knnAccuracy=") && text.contains("TwoNn[dimension="), text);
  }
}
