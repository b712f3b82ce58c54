package org.splinewatch.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * One stable Alertmanager receiver for every run: accepts webhook payloads (version 4) on {@code POST
 * /api/v1/alerts} with the deployment token, and forwards each alert to the control endpoint of the process that
 * exports its series, named by the alert's {@code instance} label (the scrape target), with the same token. It only
 * forwards to targets listed in the Prometheus discovery directory (the files every run and {@code monitor serve}
 * write there), so the token never goes to a host that is not one of this deployment's runs. The run's control
 * endpoint then decides ({@link AlertWebhook}: critical, a rule in that run's stop-on). So the shipped Alertmanager
 * configuration stops any of several concurrent runs, embedded ones on different ports and runs on {@code monitor
 * serve}, without an edit per run.
 */
public final class AlertRelay implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Requests answered at once; Alertmanager sends one group per call, so a few are plenty. */
  static final int REQUEST_THREADS = 8;
  /** The largest webhook body read, as the control endpoint's ({@link ControlRoutes#MAX_ALERT_BYTES}). */
  static final int MAX_ALERT_BYTES = (int) ControlRoutes.MAX_ALERT_BYTES;
  private static final String TOO_LARGE = "alert payload is over " + MAX_ALERT_BYTES + " bytes; expected an"
      + " Alertmanager webhook (version 4 JSON, a few kB)";
  private final byte[] token;
  private final String tokenText;
  private final Path sdDir;
  private final PrintStream log;
  /** How long a forward waits to connect to a run's control endpoint, and then for each read of its answer. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);
  private HttpServer server;
  private java.util.concurrent.ExecutorService executor;

  /** @param token the deployment token: required from Alertmanager and sent on to the runs */
  public AlertRelay(String token, Path sdDir, PrintStream log) {
    if (token == null || token.length() < AlertWebhook.MIN_TOKEN_LENGTH) {
      throw new IllegalArgumentException("the control token must have at least 16 characters");
    }
    this.tokenText = token;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.sdDir = sdDir;
    this.log = log;
  }

  /** Starts listening; port 0 picks a free one ({@link #port()}). */
  public AlertRelay start(String host, int port) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 16);
    server.createContext("/api/v1/alerts", exchange -> {
      AlertWebhook.Response r;
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      if (!"POST".equals(exchange.getRequestMethod())) {
        r = new AlertWebhook.Response(405, "POST an Alertmanager webhook payload");
      } else if (!authorized(authorization)) {
        // the token first, as the control endpoint: the whole body was read before, so anyone who reached the
        // port could make the relay hold hundreds of MB (an OutOfMemoryError and a reset connection, no word)
        r = new AlertWebhook.Response(401, "missing or wrong bearer token");
      } else {
        byte[] body = exchange.getRequestBody().readNBytes(MAX_ALERT_BYTES + 1);
        r = body.length > MAX_ALERT_BYTES ? new AlertWebhook.Response(413, TOO_LARGE)
            : handle(authorization, new String(body, StandardCharsets.UTF_8));
      }
      byte[] answer = (r.message() + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(r.status(), answer.length);
      exchange.getResponseBody().write(answer);
      exchange.close();
    });
    // liveness for a process supervisor or a load balancer, as Prometheus and Alertmanager answer it
    server.createContext("/-/healthy", exchange -> answer(exchange, 200, "splinewatch relay is healthy"));
    // any other path (the JDK's answer was an HTML page naming neither the request nor what the relay serves)
    server.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getRawPath();
      exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      answer(exchange, 404, "no route " + exchange.getRequestMethod() + " "
          + (path.length() > 200 ? path.substring(0, 200) + "..." : path) + " here; expected POST /api/v1/alerts"
          + " (Alertmanager's webhook) or GET /-/healthy");
    });
    // request threads of their own: on the one server thread, a client that declared a body and sent less of it held
    // every other request (Alertmanager's, /-/healthy) until it went away; RelayCommand bounds such a client's time
    executor = java.util.concurrent.Executors.newFixedThreadPool(REQUEST_THREADS, r -> {
      Thread t = new Thread(r, "relay-request");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.start();
    return this;
  }

  /** Answers {@code line} and a newline with {@code status}; a HEAD request gets the status without the body. */
  private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String line)
      throws IOException {
    byte[] body = (line + "\n").getBytes(StandardCharsets.UTF_8);
    boolean head = "HEAD".equals(exchange.getRequestMethod());
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      exchange.getResponseBody().write(body);
    }
    exchange.close();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The scrape targets ({@code host:port}) of the discovery files in the directory now. */
  Set<String> discoveredTargets() {
    Set<String> targets = new TreeSet<>();
    if (!Files.isDirectory(sdDir)) {
      return targets;
    }
    try (Stream<Path> files = Files.list(sdDir)) {
      for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".json")
          && !f.getFileName().toString().startsWith(".")).toList()) {
        try {
          for (JsonNode group : JSON.readTree(f.toFile())) {
            group.path("targets").forEach(t -> targets.add(t.asText()));
          }
        } catch (IOException e) {
          // a file being replaced or removed: its run is starting or gone
        }
      }
    } catch (IOException e) {
      return targets;
    }
    return targets;
  }

  /** Whether an {@code Authorization} header carries the deployment token. */
  private boolean authorized(String authorization) {
    return authorization != null && authorization.startsWith("Bearer ")
        && MessageDigest.isEqual(token, authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8));
  }

  /** Answers one webhook call: 401, 400, or the forwarding outcome (202 when some run accepted a stop, else 200). */
  public AlertWebhook.Response handle(String authorization, String body) {
    if (!authorized(authorization)) {
      return new AlertWebhook.Response(401, "missing or wrong bearer token");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return new AlertWebhook.Response(400, "malformed payload: not JSON; expected an Alertmanager webhook payload"
          + " (version 4)");
    }
    if (root == null || !root.isObject() || !"4".equals(root.path("version").asText())
        || !root.path("alerts").isArray()) {
      return new AlertWebhook.Response(400, "malformed payload: expected an Alertmanager webhook object with version"
          + " \"4\" and an alerts array");
    }
    if (root.get("alerts").isEmpty()) {
      return new AlertWebhook.Response(200, "no alerts in the payload; nothing forwarded");
    }
    Map<String, ArrayNode> byTarget = new LinkedHashMap<>();
    List<String> outcomes = new ArrayList<>();
    for (JsonNode a : root.get("alerts")) {
      String instance = a.path("labels").path("instance").asText("");
      if (instance.isEmpty()) {
        outcomes.add(a.path("labels").path("alertname").asText("alert") + ": no instance label, no run to reach");
        continue;
      }
      byTarget.computeIfAbsent(instance, k -> JSON.createArrayNode()).add(a);
    }
    Set<String> discovered = discoveredTargets();
    boolean accepted = false;
    for (var e : byTarget.entrySet()) {
      if (!discovered.contains(e.getKey())) {
        outcomes.add(e.getKey() + ": not a discovered run (finished, or not in " + sdDir + "); not forwarded");
        continue;
      }
      ObjectNode forward = ((ObjectNode) root).deepCopy();
      forward.set("alerts", e.getValue());
      try {
        Forwarded r = forward(e.getKey(), forward.toString());
        accepted |= r.status() == 202;
        outcomes.add(e.getKey() + ": " + r.status() + " " + r.body().trim());
      } catch (IOException ex) {
        outcomes.add(e.getKey() + ": unreachable (" + ex.getMessage() + ")");
      }
    }
    outcomes.forEach(o -> log.println("relay: " + o));
    return new AlertWebhook.Response(accepted ? 202 : 200, String.join("; ", outcomes));
  }

  /** A run's answer to a forwarded alert: its status and its text. */
  private record Forwarded(int status, String body) {
  }

  /**
   * POSTs {@code json} to the control endpoint of {@code target} ({@code host:port}) with the deployment token,
   * directly (never through a proxy: the token goes to the run only). With {@link HttpURLConnection}, not JDK 17's
   * {@code HttpClient}: that one has no close, and its selector thread, waiting in {@code epoll_wait} for the life
   * of the process, made every exit of the relay wait 300 ms more (the JVM waits for threads in native code).
   */
  private Forwarded forward(String target, String json) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create("http://" + target + "/api/v1/alerts").toURL()
        .openConnection(Proxy.NO_PROXY);
    try {
      c.setConnectTimeout((int) CONNECT_TIMEOUT.toMillis());
      c.setReadTimeout((int) ANSWER_TIMEOUT.toMillis());
      c.setInstanceFollowRedirects(false);
      c.setRequestMethod("POST");
      c.setRequestProperty("Authorization", "Bearer " + tokenText);
      c.setRequestProperty("Content-Type", "application/json");
      byte[] body = json.getBytes(StandardCharsets.UTF_8);
      c.setDoOutput(true);
      c.setFixedLengthStreamingMode(body.length);
      try (OutputStream out = c.getOutputStream()) {
        out.write(body);
      }
      int status = c.getResponseCode();
      InputStream answer = status >= 400 ? c.getErrorStream() : c.getInputStream();
      // a run answers one line; more than an alert's size is not read
      String text = answer == null ? "" : new String(answer.readNBytes(MAX_ALERT_BYTES), StandardCharsets.UTF_8);
      if (answer != null) {
        answer.close();
      }
      return new Forwarded(status, text);
    } finally {
      c.disconnect();
    }
  }

  /**
   * Stops listening and lets the request threads go; once it returns no thread of the relay waits in native code, so
   * the JVM exits at once. Called again (the shutdown hook closed it first), it does nothing.
   */
  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
      server = null;
    }
  }
}
