package org.splinewatch.ingest;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequestEntity;
import static org.apache.pekko.http.javadsl.server.Directives.extractMaterializer;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEnd;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.NpzArchive;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.SnapshotFormat;

/**
 * The ingestion endpoints beside {@code /metrics} (docs/snapshot-format.md): {@code POST /api/v1/runs},
 * {@code POST /api/v1/runs/<id>/snapshots}, {@code POST /api/v1/runs/<id>/finish}. Each request is checked in this
 * order, and answered with one line at the first failure: the bearer token (401), the run id (400) and, for
 * snapshots and finish, that the run is streaming here (404, or 409 once its end began), and that the body has no
 * Content-Encoding (415) — all before a byte of the body is read — then the body, read with a size limit (413) and
 * within the bytes all requests may hold at once (503), and parsed off the HTTP threads with checked sizes (400, or
 * 413 when an archive unpacks to more than the limit).
 */
public final class IngestRoutes {
  private static final long FINISH_BYTES = 65536;
  /**
   * What the registration route waits beyond the answer-timeout: for the ingestion actor to take the registration
   * (it may be busy with others, a resume reads its run directory) and for its answer to come back. With the default
   * answer-timeout (30 s) the route waits 40 s.
   */
  static final Duration REGISTRATION_MARGIN = Duration.ofSeconds(10);
  /** The keys a finish request may have: a misspelt one is refused rather than ignored. */
  private static final Set<String> FINISH_KEYS = Set.of("status", "reason", "step");
  private final byte[] token;
  private final Supplier<ActorRef<IngestActor.Command>> ingest;
  private final IngestSettings settings;
  private final Map<String, IngestActor.Shape> active;
  private final FinishedRuns finished;
  /**
   * The run ids of the registrations parsed and not yet answered, with how many: until the ingestion actor takes one,
   * the run is not active, and its snapshots were answered 404, on which the Python client sent another resume.
   */
  private final Map<String, Integer> registering = new java.util.concurrent.ConcurrentHashMap<>();
  /** Body bytes held by requests being read or parsed, all together (splinewatch.ingest.max-bytes-in-flight). */
  private final AtomicLong inFlight = new AtomicLong();
  private final ActorSystem<?> system;
  private final Executor parsing;
  private final Counter busy;
  private final Counter stalled;
  /** How long the registration route waits for the ingestion actor's answer before it answers 500. */
  private final Duration registrationWait;

  /** @param registrationWait {@link #registrationWait} of the monitor's answer-timeout */
  IngestRoutes(ActorSystem<?> system, String token, Supplier<ActorRef<IngestActor.Command>> ingest,
      IngestSettings settings, Map<String, IngestActor.Shape> active, FinishedRuns finished, MeterRegistry registry,
      Duration registrationWait) {
    this.system = system;
    this.registrationWait = registrationWait;
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.ingest = ingest;
    this.settings = settings;
    this.active = active;
    this.finished = finished;
    this.parsing = system.dispatchers().lookup(DispatcherSelector.blocking());
    Gauge.builder(MetricFamily.INGEST_IN_FLIGHT_BYTES.meterName(), inFlight, AtomicLong::get)
        .description(MetricFamily.INGEST_IN_FLIGHT_BYTES.help()).baseUnit(MetricFamily.INGEST_IN_FLIGHT_BYTES.unit())
        .register(registry);
    this.busy = Counter.builder(MetricFamily.INGEST_BUSY_TOTAL.meterName())
        .description(MetricFamily.INGEST_BUSY_TOTAL.help()).register(registry);
    this.stalled = Counter.builder(MetricFamily.INGEST_STALLED_TOTAL.meterName())
        .description(MetricFamily.INGEST_STALLED_TOTAL.help()).register(registry);
  }

  public Route route() {
    return pathPrefix("api", () -> pathPrefix("v1", () -> pathPrefix("runs", () -> post(() ->
        optionalHeaderValueByName("Authorization", auth -> {
          if (!authorized(auth.orElse(null))) {
            return line(401, "missing or wrong bearer token; expected Authorization: Bearer <token> (the monitor's"
                + " control-token file or splinewatch.control.token)");
          }
          return concat(
              pathEnd(() -> body(settings.maxRunBytes(), "registration", "splinewatch.ingest.max-run-bytes",
                  this::register)),
              path(segment().slash("snapshots"), id -> known(id, "the snapshot", () ->
                  body(settings.maxSnapshotBytes(), "snapshot", "splinewatch.ingest.max-snapshot-bytes",
                      bytes -> snapshot(id, bytes)))),
              path(segment().slash("finish"), id -> known(id, "the finish request", () ->
                  body(FINISH_BYTES, "finish request", "a fixed 64 KiB", bytes -> finish(id, bytes)))));
        })))));
  }

  private boolean authorized(String header) {
    return header != null && header.startsWith("Bearer ")
        && MessageDigest.isEqual(token, header.substring(7).trim().getBytes(StandardCharsets.UTF_8));
  }

  private Route known(String id, String what, Supplier<Route> inner) {
    var problem = RunIds.problem(id);
    if (problem.isPresent()) {
      return line(400, problem.get());
    }
    if (!active.containsKey(id)) {
      IngestedRun.Reply gone = notActive(id);
      // a registration of the run is on its way to the ingestion actor (a resume after a restart, on a busy monitor):
      // the request is sent again in a moment, as to a run the metrics node is registering, not answered with a 404
      // or 410 on which its client resumes the run once more
      return complete(response(gone.status() != 409 && registering.containsKey(id)
          ? IngestedRun.stillRegistering(id, what) : gone));
    }
    return inner.get();
  }

  /** The answer for a run not streaming here: ended by this monitor (410, or as it ended), else unknown (404). */
  private IngestedRun.Reply notActive(String id) {
    FinishedRuns.Answer ended = finished.answer(id);
    return ended != null ? IngestedRun.Reply.error(ended.status(), ended.message())
        : IngestedRun.Reply.error(404, IngestActor.unknown(id, active.keySet()));
  }

  /**
   * Reads the body with {@code limit}. A declared length far over it is refused unread; a body a little over it (up
   * to {@link #DISCARD_FACTOR} times) is read and thrown away, not kept, so that the client, still sending, receives
   * the 413 instead of a reset connection. The bytes kept count against {@code max-bytes-in-flight}, shared by all
   * requests until each is answered: a declared length is reserved before reading, a chunked body as it arrives. A
   * body that does not fit is read and thrown away as well, and answered 503 with {@code Retry-After}. A body with a
   * {@code Content-Encoding} (gzip, ...) is refused unread (415): it is not decoded.
   */
  private Route body(long limit, String what, String setting, Function<byte[], CompletionStage<IngestedRun.Reply>> f) {
    return optionalHeaderValueByName("Content-Encoding", encoding -> {
      String coding = encoding.orElse("").strip();
      // a gzipped .npz was read as it came and refused as "not a .npz (zip) archive", which its client had sent
      if (!coding.isEmpty() && !coding.equalsIgnoreCase("identity")) {
        return line(415, what + " body has Content-Encoding " + SnapshotFormat.shorten(coding) + ", which the monitor"
            + " does not decode; expected the body as it is, without Content-Encoding (numpy.savez_compressed"
            + " compresses the arrays inside the .npz)");
      }
      return body(limit, DISCARD_FACTOR * limit, what, setting, f);
    });
  }

  private Route body(long limit, long discard, String what, String setting,
      Function<byte[], CompletionStage<IngestedRun.Reply>> f) {
    return extractRequestEntity(e -> {
      OptionalLong declared = e.getContentLengthOption();
      if (declared.isPresent() && declared.getAsLong() > discard) {
        return line(413, tooLarge(what, "of " + declared.getAsLong(), limit, setting));
      }
      Capped body = new Capped();
      body.busy = !reserve(body, declared.isPresent() ? Math.min(declared.getAsLong(), limit) : 0);
      return extractMaterializer(mat -> {
        // a client that stops sending held its declared length in max-bytes-in-flight until the connection's idle
        // timeout (60 s), other runs' bodies answered 503 meanwhile
        CompletionStage<Capped> read = e.withoutSizeLimit().getDataBytes().idleTimeout(settings.bodyStallTimeout())
            .runFold(body, (acc, bytes) -> {
              acc.total += bytes.size();
              if (acc.total > discard) {
                throw new IllegalStateException("over the discard limit");
              }
              if (acc.total <= limit && !acc.busy) {
                acc.busy = !reserve(acc, acc.total - acc.reserved);
                if (acc.busy) {
                  acc.kept = null; // thrown away: the rest is read and not kept
                } else {
                  acc.kept.append(bytes);
                }
              }
              return acc;
            }, mat);
        CompletionStage<HttpResponse> answer = read.handle((acc, err) -> err).thenCompose(err -> {
          if (err != null && body.total <= discard) {
            boolean stopped = stalled(err);
            if (stopped) {
              stalled.increment();
            }
            return CompletableFuture.completedFuture(response(IngestedRun.Reply.error(stopped ? 408 : 400,
                truncated(err, body, declared))));
          }
          if (err != null || body.total > limit) {
            String size = err != null ? "of more than " + discard : "of " + body.total;
            return CompletableFuture.completedFuture(response(IngestedRun.Reply.error(413, tooLarge(what, size, limit,
                setting))));
          }
          if (body.busy) {
            return CompletableFuture.completedFuture(busy());
          }
          byte[] bytes = body.kept.result().toArray();
          body.kept = null;
          return f.apply(bytes).exceptionally(IngestRoutes::failure).thenApply(IngestRoutes::response);
        });
        // the bytes are released once the request is answered: parsing has let go of them by then
        answer.whenComplete((r, t) -> inFlight.addAndGet(-body.reserved));
        return completeWithFuture(answer);
      });
    });
  }

  /** The 413 line: the body's size ({@code "of N"}), the limit, and how to raise it where a setting allows. */
  static String tooLarge(String what, String size, long limit, String setting) {
    String less = switch (what) {
      case "snapshot" -> "a smaller network";
      case "registration" -> "fewer or smaller probes (and probe_pairs, fit inputs)";
      default -> "a shorter body";
    };
    String raise = setting.startsWith("splinewatch.") ? ", or raise " + setting + " in a --config file of"
        + " ./monitor serve" : "";
    return what + " body " + size + " bytes is over the limit of " + limit + " bytes (" + setting + "); expected at"
        + " most " + limit + " bytes: " + less + raise;
  }

  private static final long DISCARD_FACTOR = 4;
  private static final long RETRY_AFTER_SECONDS = 1;

  /** A body being read: the bytes kept (up to the limit, null once thrown away), the total seen and reserved. */
  private static final class Capped {
    ByteStringBuilder kept = ByteString.createBuilder();
    long total;
    long reserved;
    boolean busy;
  }

  /** Reserves {@code bytes} more for {@code body} within max-bytes-in-flight; false (nothing reserved) if over. */
  private boolean reserve(Capped body, long bytes) {
    if (bytes <= 0) {
      return true;
    }
    long max = settings.maxBytesInFlight();
    long now = inFlight.get();
    while (true) {
      if (now + bytes > max) {
        return false;
      }
      if (inFlight.compareAndSet(now, now + bytes)) {
        body.reserved += bytes;
        return true;
      }
      now = inFlight.get();
    }
  }

  private HttpResponse busy() {
    busy.increment();
    return response(IngestedRun.Reply.error(503, "the monitor is reading or parsing as many request bodies as it"
        + " holds at once (" + settings.maxBytesInFlight() + " bytes, splinewatch.ingest.max-bytes-in-flight); send"
        + " it again after Retry-After")).addHeader(HttpHeader.parse("Retry-After",
        String.valueOf(RETRY_AFTER_SECONDS)));
  }

  /** Whether a body's stream failed because no byte arrived for {@code body-stall-timeout} (answered 408). */
  private static boolean stalled(Throwable err) {
    return cause(err) instanceof org.apache.pekko.stream.StreamIdleTimeoutException;
  }

  /** What failed: the cause a {@link CompletionException} wraps, else {@code t} itself. */
  private static Throwable cause(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  /**
   * A body whose stream failed: it stalled, ended early (the client closed or half-closed), or could not be read.
   */
  private String truncated(Throwable err, Capped body, OptionalLong declared) {
    Throwable c = cause(err);
    if (stalled(err)) {
      return "no byte of the request body arrived for " + settings.bodyStallTimeout().toSeconds() + " s after "
          + body.total + (declared.isPresent() ? " of " + declared.getAsLong() : "") + " bytes; expected the whole"
          + " body without such a pause (splinewatch.ingest.body-stall-timeout)";
    }
    if (declared.isPresent() && body.total < declared.getAsLong()) {
      return "the request body ended after " + body.total + " of " + declared.getAsLong() + " bytes (Content-Length);"
          + " expected the whole body";
    }
    return "the request body could not be read after " + body.total + " bytes (" + c.getClass().getSimpleName() + ": "
        + c.getMessage() + "); expected a complete body";
  }

  private CompletionStage<IngestedRun.Reply> register(byte[] body) {
    return CompletableFuture.supplyAsync(() -> SnapshotFormat.parseRun(body, settings.runLimits(),
        settings.maxProbes()), parsing).thenCompose(spec -> {
          String id = spec.runId();
          registering.merge(id, 1, Integer::sum);
          return ask(r -> new IngestActor.Register(spec, r), registrationWait)
              .whenComplete((r, t) -> registering.computeIfPresent(id, (k, n) -> n > 1 ? n - 1 : null));
        }).exceptionally(IngestRoutes::failure);
  }

  /**
   * How long the registration route waits for its answer: the metrics node's {@code answerTimeout} ({@code
   * splinewatch.cluster.answer-timeout}, which the run waits for the node to register it) and {@link
   * #REGISTRATION_MARGIN}, so that the route never gives up (500) on a run the node still registers. A fixed 40 s
   * did, with an answer-timeout over 40 s.
   */
  static Duration registrationWait(Duration answerTimeout) {
    return registrationWait(answerTimeout, REGISTRATION_MARGIN);
  }

  /** As above with {@code margin} instead of {@link #REGISTRATION_MARGIN} (a test's, in seconds, not 10 s). */
  static Duration registrationWait(Duration answerTimeout, Duration margin) {
    return answerTimeout.plus(margin);
  }

  /**
   * How long a registration may still register its run on this monitor after it was sent: the route waits {@link
   * #registrationWait} (then answers 500), and a run the ingestion actor took just before that asks its metrics node
   * for up to {@code answerTimeout} more. Told to the client in the registration's answer, which treats a resume
   * answered 500 or not at all as possibly registering for this long.
   */
  static Duration registrationBound(Duration answerTimeout) {
    return registrationWait(answerTimeout).plus(answerTimeout);
  }

  private CompletionStage<IngestedRun.Reply> snapshot(String id, byte[] body) {
    IngestActor.Shape shape = active.get(id);
    if (shape == null) { // ended while its body was read (the monitor stopping, an idle timeout): as known() answers
      return CompletableFuture.completedFuture(notActive(id));
    }
    return CompletableFuture.supplyAsync(() -> SnapshotFormat.parseSnapshot(body, settings.snapshotLimits(),
        shape.inputShape(), shape.classes(), shape.classifier(), settings.maxLayers(), settings.maxLayerWidth()),
        parsing)
        .thenCompose(snap -> ask(r -> new IngestActor.Snapshot(id, snap, r), Duration.ofSeconds(10)))
        .handle((reply, t) -> {
          // non-finite weights: refused (400), but the run records the step and loss and raises divergence
          Throwable c = cause(t);
          if (c instanceof SnapshotFormat.NonFinite nf && nf.scalars() != null) {
            return ask(r -> new IngestActor.NonFiniteWeights(id, nf.scalars(), nf.entry(), nf.getMessage(), r),
                Duration.ofSeconds(10));
          }
          return t == null ? CompletableFuture.completedFuture(reply) : CompletableFuture.completedFuture(failure(t));
        })
        .thenCompose(Function.identity())
        .exceptionally(IngestRoutes::failure);
  }

  private CompletionStage<IngestedRun.Reply> finish(String id, byte[] body) {
    String status = null; // none said: the run decides (stopped if a stop was asked of it, else done)
    String reason = null;
    long step = -1; // none said: the run's last snapshot's step
    if (body.length > 0) {
      try {
        JsonNode doc = Json.mapper().readTree(body);
        if (doc == null || !doc.isObject()) {
          throw new IOException("not an object");
        }
        for (Iterator<String> keys = doc.fieldNames(); keys.hasNext(); ) {
          String key = keys.next();
          if (!FINISH_KEYS.contains(key)) {
            // a misspelt "status" would otherwise finish the run as done without a word
            return CompletableFuture.completedFuture(IngestedRun.Reply.error(400, "finish request has the key '"
                + (key.length() > 40 ? key.substring(0, 40) + "…" : key)
                + "'; expected only status, reason and step"));
          }
        }
        JsonNode reached = doc.path("step");
        if (!reached.isMissingNode() && !reached.isNull()) {
          if (!reached.isIntegralNumber() || !reached.canConvertToLong() || reached.asLong() < 0) {
            return CompletableFuture.completedFuture(IngestedRun.Reply.error(400, "finish step is " + reached
                + "; expected a JSON integer at or after the run's last snapshot's step, or null"));
          }
          step = reached.asLong();
        }
        JsonNode said = doc.path("status");
        status = said.isMissingNode() || said.isNull() ? null : said.asText();
        JsonNode why = doc.path("reason");
        if (!why.isMissingNode() && !why.isNull() && !why.isTextual()) {
          // asText() of an object or a list is "": the reason would be lost without a word
          return CompletableFuture.completedFuture(IngestedRun.Reply.error(400, "finish reason is "
              + (why.isNumber() ? "a number" : why.isBoolean() ? "a boolean" : why.isArray() ? "a list" : "an object")
              + "; expected a string or null"));
        }
        reason = why.isTextual() ? why.asText() : null;
      } catch (IOException e) {
        return CompletableFuture.completedFuture(IngestedRun.Reply.error(400, "finish request is not a JSON object;"
            + " expected {\"status\": \"done\" | \"stopped\" | \"failed\" | \"interrupted\", \"reason\": ...,"
            + " \"step\": ...}"));
      }
    }
    if (status != null && !IngestedRun.FINISH_STATUSES.contains(status)) {
      return CompletableFuture.completedFuture(IngestedRun.Reply.error(400, "finish status '" + status
          + "'; expected done, stopped, failed or interrupted"));
    }
    String s = status;
    String why = reason == null ? null : reason.length() > 1000 ? reason.substring(0, 1000) : reason;
    long reachedStep = step;
    return ask(r -> new IngestActor.Finish(id, s, why, reachedStep, r), Duration.ofSeconds(10))
        .exceptionally(IngestRoutes::failure);
  }

  private CompletionStage<IngestedRun.Reply> ask(Function<ActorRef<IngestedRun.Reply>, IngestActor.Command> message,
      Duration timeout) {
    ActorRef<IngestActor.Command> ref = ingest.get();
    if (ref == null) {
      return CompletableFuture.completedFuture(IngestedRun.Reply.error(503, "the monitor is still starting; try"
          + " again in a moment"));
    }
    return AskPattern.ask(ref, message::apply, timeout, system.scheduler());
  }

  private static IngestedRun.Reply failure(Throwable t) {
    Throwable c = cause(t);
    if (c instanceof NpzArchive.FormatException f) {
      return IngestedRun.Reply.error(f.tooLarge() ? 413 : 400, f.getMessage());
    }
    if (c instanceof IllegalArgumentException || c instanceof ArithmeticException) {
      return IngestedRun.Reply.error(400, "malformed body: " + c.getMessage());
    }
    return IngestedRun.Reply.error(500, "the monitor could not handle the request: " + c);
  }

  private static HttpResponse response(IngestedRun.Reply r) {
    String body = r.body().replace('\n', ' ') + "\n";
    HttpResponse response = HttpResponse.create().withStatus(StatusCodes.get(r.status())).withEntity(
        HttpEntities.create(r.json() ? ContentTypes.APPLICATION_JSON : ContentTypes.TEXT_PLAIN_UTF8, body));
    return r.retryAfterSeconds() > 0 ? response.addHeader(HttpHeader.parse("Retry-After",
        String.valueOf(r.retryAfterSeconds()))) : response;
  }

  private static Route line(int status, String message) {
    return complete(response(IngestedRun.Reply.error(status, message)));
  }
}
