package org.splinewatch.metrics;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Host;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BindFailedException;

/**
 * Serves {@code GET /metrics} (Prometheus text format, or OpenMetrics when the {@code Accept} header asks for it) on a
 * host and port, with a one-line error when the port is taken.
 */
public final class MetricsHttpServer {
  private final ServerBinding binding;
  private final ScrapeLog scrapes;

  private MetricsHttpServer(ServerBinding binding, ScrapeLog scrapes) {
    this.binding = binding;
    this.scrapes = scrapes;
  }

  /** Thrown when the port cannot be bound. */
  public static final class PortInUseException extends RuntimeException {
    public PortInUseException(String message) {
      super(message);
    }
  }

  /** {@code --metrics-host} names no address of this machine (another machine's, or a name that does not resolve). */
  public static final class NotAnAddressHereException extends RuntimeException {
    public NotAnAddressHereException(String message) {
      super(message);
    }
  }

  /**
   * Why {@code --metrics-host} cannot be listened on here, checked before anything is started or written, or empty: a
   * name that does not resolve, or an address of no interface of this machine. Wildcards, loopback and this machine's
   * addresses pass; binding still reports what this cannot see ({@link NotAnAddressHereException}).
   */
  public static Optional<String> notAnAddressHere(String host) {
    return BrowsableUrl.notAnAddressHere("--metrics-host", host, "e.g. 127.0.0.1 or 0.0.0.0");
  }

  public static MetricsHttpServer start(ActorSystem<?> system, PrometheusMeterRegistry registry, String host, int port) {
    return start(system, registry, host, port, null);
  }

  /** With {@code extra} routes (e.g. the control endpoint) served beside {@code /metrics}. */
  public static MetricsHttpServer start(ActorSystem<?> system, PrometheusMeterRegistry registry, String host, int port,
      Route extra) {
    return start(system, registry, host, port, extra, AllowedHosts.loopbackAnd(List.of(host)));
  }

  /**
   * Which {@code Host} headers the endpoint answers: IP literals, {@code localhost} and the configured names. A
   * request naming any other host (a DNS-rebinding page in a browser: its own name resolved to this address) is
   * refused with 421 before any route runs.
   */
  public record AllowedHosts(Set<String> names) {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** {@code localhost} plus {@code extra} (names or addresses; a wildcard bind address adds nothing). */
    public static AllowedHosts loopbackAnd(Collection<String> extra) {
      Set<String> names = new TreeSet<>();
      names.add("localhost");
      for (String n : extra) {
        if (n != null && !n.isBlank()) {
          names.add(normalise(n));
        }
      }
      return new AllowedHosts(Set.copyOf(names));
    }

    private static String normalise(String host) {
      String h = BrowsableUrl.unbracketed(host.trim().toLowerCase(Locale.ROOT));
      return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    /** Loopback plus the configured names, the advertised host and the bind host (empty ones ignored). */
    public static AllowedHosts of(List<String> allowed, String advertiseHost, String bindHost) {
      List<String> extra = new ArrayList<>(allowed);
      extra.add(advertiseHost);
      extra.add(bindHost);
      return loopbackAnd(extra);
    }

    /** Whether a request whose {@code Host} header names {@code host} (without the port) is answered. */
    public boolean allows(String host) {
      String h = normalise(host);
      // an address cannot be rebound by DNS; only names can
      return IPV4.matcher(h).matches() || h.contains(":") || names.contains(h);
    }
  }

  /**
   * A request no route takes: one line naming its method and path and what this server serves (Pekko's own answer,
   * "The requested resource could not be found.", named neither). Other rejections (a wrong method on a route: 405)
   * keep Pekko's answers.
   */
  private static final RejectionHandler NOT_FOUND = RejectionHandler.newBuilder().handleNotFound(extractRequest(req -> {
    String path = req.getUri().path();
    return complete(StatusCodes.NOT_FOUND, "no route " + req.method().value() + " "
        + (path.length() > 200 ? path.substring(0, 200) + "..." : path) + " here; expected GET /metrics, or GET / for"
        + " the live page and the routes it uses (docs/observing.md); snapshots over HTTP go to POST /api/v1/runs of a"
        + " ./monitor serve with splinewatch.ingest.enabled = true (docs/pytorch.md)\n");
  })).build();

  /** With the {@code Host} allow-list {@code allowed}. */
  public static MetricsHttpServer start(ActorSystem<?> system, PrometheusMeterRegistry registry, String host, int port,
      Route extra, AllowedHosts allowed) {
    ScrapeLog scrapes = new ScrapeLog();
    Route base = concat(
        path("metrics", () -> get(() -> optionalHeaderValueByName("Accept", accept -> optionalHeaderValueByName(
            SCRAPE_TIMEOUT, timeout -> scrape(registry, accept.orElse(""), timeout.orElse(null), scrapes))))),
        pathSingleSlash(() -> get(() -> complete("splinewatch: metrics at /metrics\n"))));
    Route routes = extra == null ? base : concat(extra, base);
    Route route = extractRequest(req -> {
      Optional<Host> h = req.getHeader(Host.class);
      if (h.isPresent() && !h.get().host().isEmpty() && !allowed.allows(h.get().host().address())) {
        return complete(StatusCodes.MISDIRECTED_REQUEST, "host '" + h.get().host().address() + "' is not served here;"
            + " expected localhost, an IP address or a name in splinewatch.metrics.allowed-hosts\n");
      }
      return handleRejections(NOT_FOUND, () -> routes);
    });
    try {
      ServerBinding b = Http.get(system).newServerAt(host, port).bind(route).toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      return new MetricsHttpServer(b, scrapes);
    } catch (ExecutionException e) {
      String why = bindFailure(e.getCause());
      if (why.contains("in use")) {
        throw new PortInUseException("metrics port " + port + " on " + host + " is already in use; choose another "
            + "with --metrics-port P");
      }
      String message = "cannot serve /metrics on " + host + ":" + port + ": " + why
          + "; expected --metrics-host to name an address of this machine (e.g. 127.0.0.1 or 0.0.0.0)";
      if (why.contains("Cannot assign requested address") || why.equals("unknown host")) { // a bad argument
        throw new NotAnAddressHereException(message);
      }
      throw new IllegalStateException(message, e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new IllegalStateException("binding " + host + ":" + port + " did not complete", e);
    }
  }

  /**
   * Why a bind failed, in a few words, from the innermost cause that says (Pekko wraps it): "Address already in use",
   * "Cannot assign requested address" (no such address here), "unknown host" (a name that does not resolve).
   */
  static String bindFailure(Throwable failure) {
    String why = null;
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof UnresolvedAddressException) {
        return "unknown host";
      }
      String m = t.getMessage();
      if (m != null && !m.isBlank() && !(t instanceof BindFailedException)) {
        // "[/127.0.0.1:9464] Address already in use": the endpoint is already in the caller's message
        why = m.replaceFirst("^\\[[^]]*]\\s*", "");
      }
    }
    return why != null ? why : String.valueOf(failure);
  }

  /** OpenMetrics 1.0 when the client asks for it (Prometheus does), else the Prometheus text format 0.0.4. */
  static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
  static final String TEXT = "text/plain; version=0.0.4; charset=utf-8";

  /** How long a server whose last scrape is served waits, unbound, before it closes what connections are left. */
  static final java.time.Duration LINGER = java.time.Duration.ofMillis(500);

  /** The header in which Prometheus says how long it waits for a scrape, in seconds ("1", "9.5"). */
  static final String SCRAPE_TIMEOUT = "X-Prometheus-Scrape-Timeout-Seconds";

  private static Route scrape(PrometheusMeterRegistry registry, String accept, String scraperTimeout,
      ScrapeLog scrapes) {
    long start = System.nanoTime();
    String type = accept.contains("application/openmetrics-text") ? OPENMETRICS : TEXT;
    String body = ScrapeConsistency.scrape(() -> registry.scrape(type));
    boolean last = scrapes.closing();
    scrapes.served(java.time.Duration.ofNanos(System.nanoTime() - start), seconds(scraperTimeout));
    var entity = HttpEntities.create(ContentTypes.parse(type), body.getBytes(StandardCharsets.UTF_8));
    // a run about to end closes the scraper's connection itself, after the response is written: the server's
    // termination aborts a connection whose response is still on its way (akka-http issue 4060), which Prometheus
    // records as a failed scrape (up 0), the stop's sample with it
    return last ? complete(org.apache.pekko.http.javadsl.model.HttpResponse.create().withEntity(entity)
        .addHeader(org.apache.pekko.http.javadsl.model.headers.Connection.create("close"))) : complete(entity);
  }

  /** A header's seconds ("1", "9.5") as a duration; null where absent or not a positive number. */
  static java.time.Duration seconds(String header) {
    try {
      double s = header == null ? Double.NaN : Double.parseDouble(header.trim());
      return s > 0 && s < 1e9 ? java.time.Duration.ofNanos((long) (s * 1e9)) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  /** The {@code /metrics} scrapes served so far. */
  public ScrapeLog scrapes() {
    return scrapes;
  }

  /**
   * Stops accepting connections, waits {@link #LINGER} for the response just served (a scrape after
   * {@link ScrapeLog#closeConnections()}, which closes its connection once written) to go out, then lets what requests
   * are still in flight finish, {@code grace} at most.
   */
  public void stopAfterInFlight(java.time.Duration grace) {
    try {
      // no new connection; the one whose response said Connection: close closes itself once that response is out
      binding.unbind().toCompletableFuture().get(grace.toMillis() + 5_000, TimeUnit.MILLISECONDS);
      Thread.sleep(LINGER.toMillis());
      binding.terminate(grace).toCompletableFuture().get(grace.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // the actor system terminates next and closes the socket anyway
    }
  }

  /** Unbinds; a failure here (e.g. a client's connection torn down mid-request) must not hide the run's outcome. */
  public void stop() {
    try {
      binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // the actor system terminates next and closes the socket anyway
    }
  }
}
