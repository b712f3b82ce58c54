package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.analysis.EmbeddingViews;
import org.splinewatch.serve.MonitorServer;

/**
 * {@code ./monitor serve} (metrics role) serves what the Grafana picture panel and the live page's embedding view ask
 * for, for any run under its output directory, and the process-health families on its {@code /metrics}.
 */
@ExtendWith(LogCapturingExtension.class)
class MonitorServeRoutesIT {
  @TempDir
  Path tmp;

  @Test
  void picturesEmbeddingsAndProcessMetricsOfAnyRun() throws Exception {
    Path out = tmp.resolve("runs");
    Path run = Files.createDirectories(out.resolve("finished-run").resolve("planes"));
    Files.writeString(run.resolve("plane-0-step-00000100.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    Files.writeString(run.resolve("plane-0-step-00000200.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"><g/></svg>");
    EmbeddingViews.write(out.resolve("finished-run").resolve(EmbeddingViews.DIR), "repr", 200,
        new double[] {0, 0, 1, 0, 0, 2}, 3, new int[] {0, 1, 2});
    HttpClient http = HttpClient.newHttpClient();
    try (MonitorServer node = ClusterRunIT.node(List.of("metrics"), "", out,
        new PrintStream(java.io.OutputStream.nullOutputStream()))) {
      String base = "http://127.0.0.1:" + node.metricsPort();
      HttpResponse<String> svg = get(http, base + "/runs/finished-run/planes/0/latest.svg");
      assertEquals(200, svg.statusCode());
      assertEquals("<svg xmlns=\"http://www.w3.org/2000/svg\"><g/></svg>", svg.body(), "the newest picture");
      assertEquals(404, get(http, base + "/runs/finished-run/planes/1/latest.svg").statusCode());
      assertEquals(404, get(http, base + "/runs/other/planes/0/latest.svg").statusCode());
      HttpResponse<String> views = get(http, base + "/api/runs/finished-run/embeddings");
      assertEquals(200, views.statusCode());
      assertTrue(views.body().contains("\"layer\":\"repr\"") && views.body().contains("\"steps\":[200]")
          && views.body().contains("\"labels\":[0,1,2]"), views.body());
      assertEquals(404, get(http, base + "/api/runs/nosuchrun/embeddings").statusCode());
      String metrics = get(http, base + "/metrics").body();
      assertTrue(metrics.contains("jvm_memory_used_bytes{") && metrics.contains("process_files_open_files")
          && metrics.contains("splinewatch_javacpp_allocated_bytes"), "process health on the monitor's /metrics");
    }
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
