package org.splinewatch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay's routing: each alert goes to the control endpoint of its {@code instance} when that target is in the
 * discovery directory, with the deployment token, and nowhere else; bad tokens and payloads are refused. The
 * endpoints here are two real {@link AlertWebhook}s behind JDK HTTP servers, one per "process", each with its runs.
 */
class AlertRelayIT {
  private static final String TOKEN = "relay-token-0123456789abcdef";
  @TempDir
  Path tmp;

  private static String payload(String... runAndInstance) {
    StringBuilder alerts = new StringBuilder();
    for (int i = 0; i < runAndInstance.length; i += 2) {
      alerts.append(i == 0 ? "" : ",").append("""
          {"status":"firing","labels":{"alertname":"SplinewatchInProcessAlert","severity":"critical",
           "rule":"std_collapse","run":"%s","instance":"%s"},"annotations":{"summary":"s"}}
          """.formatted(runAndInstance[i], runAndInstance[i + 1]));
    }
    return "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[" + alerts + "]}";
  }

  /** A process with a control endpoint for {@code runs}; records the runs it was asked to stop. */
  private static HttpServer endpoint(List<String> stopped, String... runs) throws Exception {
    RunControl control = new RunControl();
    var settings = AlertWebhookTest.settings("alertmanager", "std_collapse");
    for (String r : runs) {
      control.register(r, settings, reason -> stopped.add(r));
    }
    AlertWebhook webhook = new AlertWebhook(TOKEN, control, e -> { });
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
    s.createContext("/api/v1/alerts", x -> {
      AlertWebhook.Response r = webhook.handle(x.getRequestHeaders().getFirst("Authorization"),
          new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      byte[] b = r.message().getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(r.status(), b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    s.start();
    return s;
  }

  @Test
  void forwardsEachAlertToItsDiscoveredRunOnly() throws Exception {
    List<String> stopped = new CopyOnWriteArrayList<>();
    HttpServer embedded = endpoint(stopped, "a");
    HttpServer monitor = endpoint(stopped, "b", "c"); // like ./monitor serve: one endpoint, several runs
    Path sd = Files.createDirectories(tmp.resolve("prometheus-sd"));
    String a = "127.0.0.1:" + embedded.getAddress().getPort();
    String m = "127.0.0.1:" + monitor.getAddress().getPort();
    Files.writeString(sd.resolve("a.json"), "[{\"targets\":[\"" + a + "\"],\"labels\":{}}]");
    Files.writeString(sd.resolve("monitor-1.json"), "[{\"targets\":[\"" + m + "\"],\"labels\":{}}]");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (AlertRelay relay = new AlertRelay(TOKEN, sd, new PrintStream(log, true, StandardCharsets.UTF_8))) {
      String auth = "Bearer " + TOKEN;
      assertEquals(401, relay.handle("Bearer wrong-token-wrong-token", payload("a", a)).status());
      assertEquals(400, relay.handle(auth, "{\"version\":\"3\"}").status());
      // an empty alerts array says so (it was answered with an empty message)
      assertEquals("no alerts in the payload; nothing forwarded",
          relay.handle(auth, "{\"version\":\"4\",\"alerts\":[]}").message());
      // an undiscovered target gets nothing, not even the token
      AlertWebhook.Response stray = relay.handle(auth, payload("a", "127.0.0.1:1"));
      assertEquals(200, stray.status());
      assertTrue(stray.message().contains("127.0.0.1:1: not a discovered run"), stray.message());
      assertTrue(stopped.isEmpty());
      AlertWebhook.Response r = relay.handle(auth, payload("a", a, "c", m));
      assertEquals(202, r.status(), r.message());
      assertEquals(List.of("a", "c"), stopped.stream().sorted().toList());
      assertTrue(r.message().contains(m + ": 202 stopping c"), r.message());
      // liveness, without the token, as Prometheus and Alertmanager answer it
      relay.start("127.0.0.1", 0);
      var healthy = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + relay.port() + "/-/healthy")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, healthy.statusCode(), healthy.body());
      // a browser or a mistyped webhook URL: one line naming the request and what the relay serves
      var unknown = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + relay.port() + "/api/v2/alerts")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(404, unknown.statusCode(), unknown.body());
      assertEquals("no route GET /api/v2/alerts here; expected POST /api/v1/alerts (Alertmanager's webhook) or GET"
          + " /-/healthy\n", unknown.body());
    } finally {
      embedded.stop(0);
      monitor.stop(0);
    }
  }
  /**
   * Sends {@code head} and then {@code body} (possibly less than it declares) on {@code socket} and reads the answer's
   * status line and body (by its Content-length, not to the end of the connection).
   */
  private static String exchange(java.net.Socket socket, String head, byte[] body) throws Exception {
    socket.setSoTimeout(20_000); // a relay that waits for the rest of the body fails the test here
    var out = socket.getOutputStream();
    out.write(head.getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    var in = new java.io.DataInputStream(socket.getInputStream());
    StringBuilder headers = new StringBuilder();
    while (!headers.toString().endsWith("\r\n\r\n")) {
      headers.append((char) in.readUnsignedByte());
    }
    var length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(headers);
    byte[] answer = new byte[length.find() ? Integer.parseInt(length.group(1)) : 0];
    in.readFully(answer);
    return headers.toString().lines().findFirst().orElse("") + " | " + new String(answer, StandardCharsets.UTF_8).trim();
  }

  @Test
  void checksTheTokenBeforeReadingTheBodyLimitsItsSizeAndServesOthersMeanwhile() throws Exception {
    Path sd = Files.createDirectories(tmp.resolve("prometheus-sd"));
    try (AlertRelay relay = new AlertRelay(TOKEN, sd, new PrintStream(new ByteArrayOutputStream(), true,
        StandardCharsets.UTF_8)).start("127.0.0.1", 0);
        java.net.Socket held = new java.net.Socket("127.0.0.1", relay.port());
        java.net.Socket health = new java.net.Socket("127.0.0.1", relay.port());
        java.net.Socket large = new java.net.Socket("127.0.0.1", relay.port())) {
      // no token, a body of 1 GB declared and 1 kB sent: answered at once, without reading (or holding) the rest
      assertEquals("HTTP/1.1 401 Unauthorized | missing or wrong bearer token", exchange(held, "POST /api/v1/alerts"
          + " HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", new byte[1024]));
      // while that client keeps its connection open, others are answered (the one request thread waited for it)
      assertEquals("HTTP/1.1 200 OK | splinewatch relay is healthy", exchange(health, "GET /-/healthy HTTP/1.1\r\n"
          + "Host: x\r\n\r\n", new byte[0]));
      // with the token, a body over the limit: one line naming the limit, not "not JSON"
      byte[] big = new byte[AlertRelay.MAX_ALERT_BYTES + 1];
      java.util.Arrays.fill(big, (byte) ' ');
      assertEquals("HTTP/1.1 413 Request Entity Too Large | alert payload is over 1048576 bytes; expected an"
          + " Alertmanager webhook (version 4 JSON, a few kB)", exchange(large, "POST /api/v1/alerts HTTP/1.1\r\n"
          + "Host: x\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Length: " + big.length + "\r\n\r\n", big));
    }
  }
}
