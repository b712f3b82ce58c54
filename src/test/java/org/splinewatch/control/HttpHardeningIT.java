package org.splinewatch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.server.Directives;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.metrics.MetricsHttpServer;
import org.splinewatch.serve.LivePage;
import org.splinewatch.metrics.RunLog;
import org.splinewatch.snapshot.Sample;

/**
 * The monitor's HTTP surface over real HTTP (raw sockets, so the Host header and a body that never comes can be
 * sent): the Host allow-list, the token checked before the body is read, one unreadable run beside good ones, and a
 * live page that inserts no run text as HTML.
 */
class HttpHardeningIT {
  private static final String TOKEN = "0123456789abcdef0123";
  @TempDir
  static Path out;
  private static ActorSystem<Void> system;
  private static MetricsHttpServer http;
  private static final List<String> stops = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() throws IOException {
    // a good run whose config carries markup, and runs whose files are damaged
    Path good = out.resolve("good");
    RunLog.writeConfig(good, Map.of("run_id", "good", "method", "<img src=x onerror=alert(1)>", "dataset",
        "</script><script>alert(2)</script>"));
    try (RunLog log = new RunLog(good)) {
      log.append(List.of(Sample.of("splinewatch_training_loss", 0.5, 10)), Map.of("run", "good"));
    }
    Path bad = out.resolve("bad");
    Files.createDirectories(bad);
    Files.write(bad.resolve("config.json"), new byte[] {'{', (byte) 0xC3});
    Files.write(bad.resolve("metrics.jsonl"), ("{\"step\":99999999999999999999999,\"name\":1}\n").getBytes(
        StandardCharsets.UTF_8));
    Files.write(bad.resolve("events.jsonl"), new byte[] {(byte) 0xFF, (byte) 0xFE, '\n'});
    system = ActorSystem.create(Behaviors.empty(), "http-hardening");
    RunControl control = new RunControl();
    control.register("good", AlertWebhookTest.settings("stop", "std_collapse"), stops::add);
    AlertWebhook webhook = new AlertWebhook(TOKEN, control, e -> { });
    http = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "127.0.0.1", 0,
        Directives.concat(ControlRoutes.route(webhook), LivePage.route(out, "good"::equals,
            system.dispatchers().lookup(DispatcherSelector.blocking()))),
        MetricsHttpServer.AllowedHosts.loopbackAnd(List.of("monitor.example.org")));
  }

  @AfterAll
  static void stop() {
    http.stop();
    system.terminate();
  }

  /** One HTTP/1.1 request on a fresh connection; returns the status line and the body. */
  private static String[] request(String head, byte[] body, boolean sendBody) throws IOException {
    try (Socket s = new Socket("127.0.0.1", http.port())) {
      s.setSoTimeout(10_000);
      OutputStream o = s.getOutputStream();
      o.write(head.getBytes(StandardCharsets.US_ASCII));
      if (sendBody) {
        o.write(body);
      }
      o.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      // Connection: close on every request: the answer ends with the connection
      while ((n = in.read(buf)) >= 0) {
        all.write(buf, 0, n);
      }
      String text = all.toString(StandardCharsets.UTF_8);
      int split = text.indexOf("\r\n\r\n");
      return new String[] {text.substring(0, text.indexOf("\r\n")), split < 0 ? "" : text.substring(split + 4)};
    }
  }

  private static String[] get(String path, String host) throws IOException {
    return request("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n", new byte[0],
        false);
  }

  @Test
  void onlyAllowedHostNamesAreAnswered() throws IOException {
    String port = ":" + http.port();
    for (String host : List.of("localhost" + port, "127.0.0.1" + port, "LOCALHOST", "[::1]" + port,
        "monitor.example.org" + port, "10.1.2.3")) {
      assertTrue(get("/metrics", host)[0].contains(" 200 "), host);
    }
    for (String host : List.of("attacker.example" + port, "localhost.attacker.example", "example.org")) {
      String[] r = get("/api/runs", host);
      assertTrue(r[0].contains(" 421 "), host + ": " + r[0]);
      assertTrue(r[1].contains("splinewatch.metrics.allowed-hosts"), r[1]);
      assertTrue(get("/metrics", host)[0].contains(" 421 "), host);
    }
  }

  @Test
  void aRequestWithoutTheTokenIsAnsweredBeforeItsBodyIsSent() throws IOException {
    // 8 MiB declared and never sent: an endpoint that read the body first would wait until the socket timeout
    // (10 s). One request first, untimed, so that the bound below times the answer, not a cold server's first request
    // on a busy machine
    assertTrue(get("/metrics", "localhost")[0].contains(" 200 "));
    long t0 = System.nanoTime();
    String[] r = request("POST /api/v1/alerts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: 8000000\r\nConnection: close\r\n\r\n", new byte[0], false);
    assertTrue(r[0].contains(" 401 "), r[0]);
    assertTrue((System.nanoTime() - t0) / 1e9 < 5, "answered at once");
    r = request("POST /api/v1/alerts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer wrong-wrong-wrong-wrong\r\n"
        + "Content-Length: 8000000\r\nConnection: close\r\n\r\n", new byte[0], false);
    assertTrue(r[0].contains(" 401 "), r[0]);
    // with the token the body is read and handled as before
    byte[] body = AlertWebhookTest.payload("firing", "critical", "good").getBytes(StandardCharsets.UTF_8);
    r = request("POST /api/v1/alerts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TOKEN + "\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n",
        body, true);
    assertTrue(r[0].contains(" 202 "), r[0] + " " + r[1]);
    assertEquals(1, stops.size());
  }

  @Test
  void anOversizedAlertPayloadIsOneLine() throws IOException {
    byte[] body = new byte[(int) ControlRoutes.MAX_ALERT_BYTES + 1000];
    java.util.Arrays.fill(body, (byte) ' ');
    String[] r = request("POST /api/v1/alerts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TOKEN + "\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n",
        body, true);
    assertTrue(r[0].contains(" 413 "), r[0]);
    assertEquals("alert payload is over 1048576 bytes; expected an Alertmanager webhook (version 4 JSON, a few kB)",
        r[1].strip());
  }

  @Test
  void oneUnreadableRunDoesNotHideTheOthers() throws IOException {
    String[] r = get("/api/runs", "localhost");
    assertTrue(r[0].contains(" 200 "), r[0] + r[1]);
    assertTrue(r[1].contains("\"id\":\"bad\"") && r[1].contains("\"id\":\"good\""), r[1]);
    assertTrue(r[1].contains("\"step\":10"), r[1]);
    String[] good = get("/api/runs/good", "localhost");
    assertTrue(good[0].contains(" 200 "), good[0]);
    assertTrue(good[1].contains("Training loss"), good[1]);
    String[] bad = get("/api/runs/bad", "localhost");
    assertTrue(bad[0].contains(" 200 "), "a damaged run is read leniently: " + bad[0] + bad[1]);
    String[] none = get("/api/runs/nothing-here", "localhost");
    assertTrue(none[0].contains(" 404 "), none[0]);
    assertEquals("unknown run 'nothing-here'; expected a run directory with metrics.jsonl under this monitor's --out"
        + " (GET /api/runs lists them)", none[1].strip());
    assertTrue(get("/api/runs/..", "localhost")[0].contains(" 404 "));
  }

  @Test
  void theLivePageInsertsRunTextOnlyAsText() throws IOException {
    String page = get("/", "localhost")[1];
    assertTrue(page.contains("splinewatch live"));
    String script = page.substring(page.lastIndexOf("<script>"));
    assertFalse(script.contains("innerHTML") || script.contains("insertAdjacentHTML")
        || script.contains("document.write"), "the live page's own script builds its DOM with textContent");
    assertTrue(script.contains("textContent"));
    // the JSON the page reads carries the markup as data; Jackson escapes nothing HTML-wise, so the page must not
    String runs = get("/api/runs", "localhost")[1];
    assertTrue(runs.contains("<img src=x onerror=alert(1)>"), runs);
  }
}
