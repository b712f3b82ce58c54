package org.splinewatch.ingest;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.ReportChain;
import org.splinewatch.serve.MonitorServer;

/**
 * A {@code monitor serve} node on loopback for the tests of runs streamed over HTTP: its run directories under
 * {@code out}, the test token, {@code analyzers} only, analysis at normal priority (SCHED_IDLE analysis may wait for
 * minutes on a machine busy with other work), and authorised POSTs to it.
 */
final class ServedMonitor implements AutoCloseable {
  static final String TOKEN = "0123456789abcdef0123456789abcdef";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  final MonitorServer server;
  final String base;

  ServedMonitor(Path out, List<String> analyzers, Map<String, Object> extra) {
    this(out, analyzers, extra, ReportChain.REPORT);
  }

  /** As above, the node's reports written by {@code reportWriter}. */
  ServedMonitor(Path out, List<String> analyzers, Map<String, Object> extra, Consumer<Path> reportWriter) {
    Map<String, Object> o = new HashMap<>(extra);
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", TOKEN);
    o.put("splinewatch.analysis.enabled", analyzers);
    o.put("splinewatch-analysis-dispatcher.executor", "thread-pool-executor");
    Config c = TrainCommand.load(o, null);
    server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(new ByteArrayOutputStream()), reportWriter);
    base = "http://127.0.0.1:" + server.metricsPort();
  }

  static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return HTTP.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** POST {@code path} (from the root, e.g. /api/v1/runs) with the token. */
  HttpResponse<String> post(String path, byte[] body) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  HttpResponse<String> get(String path) throws Exception {
    return send(HttpRequest.newBuilder(URI.create(base + path)));
  }

  @Override
  public void close() {
    server.close();
  }
}
