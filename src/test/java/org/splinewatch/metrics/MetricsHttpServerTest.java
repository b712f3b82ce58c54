package org.splinewatch.metrics;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The metrics port's answers to requests its routes do not take. */
class MetricsHttpServerTest {
  private static ActorSystem<Void> system;
  private static MetricsHttpServer http;
  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    system = ActorSystem.create(Behaviors.empty(), "metrics-http-server-test");
    http = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "127.0.0.1", 0,
        path("control", () -> post(() -> complete("ok"))), MetricsHttpServer.AllowedHosts.of(List.of(), "trainer",
            "127.0.0.1"));
  }

  @AfterAll
  static void stop() {
    http.stop();
    system.terminate();
  }

  private static HttpResponse<String> send(String method, String path) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
        .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Pekko's own answer was "The requested resource could not be found.", naming neither the request nor the routes. */
  @Test
  void aRequestNoRouteTakesIsOneLineNamingItAndWhatIsServed() throws Exception {
    HttpResponse<String> r = send("POST", "/api/v1/runs");
    assertEquals(404, r.statusCode());
    assertEquals("no route POST /api/v1/runs here; expected GET /metrics, or GET / for the live page and the routes it"
        + " uses (docs/observing.md); snapshots over HTTP go to POST /api/v1/runs of a ./monitor serve with"
        + " splinewatch.ingest.enabled = true (docs/pytorch.md)", r.body().strip());
    assertEquals(1, r.body().strip().lines().count());
    String longPath = "/" + "x".repeat(500);
    assertTrue(send("GET", longPath).body().startsWith("no route GET /" + "x".repeat(199) + "... here;"));
  }

  @Test
  void theRoutesAndAWrongMethodKeepTheirAnswers() throws Exception {
    assertEquals(200, send("GET", "/metrics").statusCode());
    assertEquals("ok", send("POST", "/control").body());
    HttpResponse<String> wrongMethod = send("GET", "/control");
    assertEquals(405, wrongMethod.statusCode(), wrongMethod.body());
  }

  private static void scrape(String scraperTimeout) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/metrics"));
    if (scraperTimeout != null) {
      b.header(MetricsHttpServer.SCRAPE_TIMEOUT, scraperTimeout);
    }
    assertEquals(200, CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode());
  }

  /** Prometheus drops a scrape that ends after the timeout it sends: a stopped run must not count it as seen. */
  @Test
  void aScrapeLongerThanHalfTheScrapersTimeoutIsServedButNotCountedInTime() throws Exception {
    ScrapeLog log = http.scrapes();
    long count = log.count();
    long inTime = log.inTime();
    scrape("0.000000001"); // no scrape is that fast
    assertEquals(count + 1, log.count());
    assertEquals(inTime, log.inTime(), log.toString());
    scrape("10");
    scrape(null); // no timeout known
    scrape("soon"); // not a number: as not known
    assertEquals(count + 4, log.count());
    assertEquals(inTime + 3, log.inTime(), log.toString());
  }

  /**
   * A run about to end answers scrapes with Connection: close, so that the scraper's connection ends after the
   * response is written, not aborted under it by the server's termination (Prometheus then recorded up 0 and lost
   * the stop's sample); once stopped, nothing answers.
   */
  @Test
  void scrapesOfARunAboutToEndCloseTheirConnectionAndTheStoppedServerTakesNoMore() throws Exception {
    MetricsHttpServer own = MetricsHttpServer.start(system, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
        "127.0.0.1", 0, null, MetricsHttpServer.AllowedHosts.of(List.of(), "trainer", "127.0.0.1"));
    URI uri = URI.create("http://127.0.0.1:" + own.port() + "/metrics");
    HttpResponse<String> before = CLIENT.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(before.headers().firstValue("connection").isEmpty(), before.headers().toString());
    own.scrapes().closeConnections();
    HttpResponse<String> last = CLIENT.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, last.statusCode());
    assertEquals("close", last.headers().firstValue("connection").orElse(""), last.headers().toString());
    own.stopAfterInFlight(java.time.Duration.ofSeconds(2));
    try (java.net.Socket s = new java.net.Socket()) {
      assertThrows(java.net.ConnectException.class, () -> s.connect(new java.net.InetSocketAddress("127.0.0.1",
          own.port()), 2000));
    }
  }
}
