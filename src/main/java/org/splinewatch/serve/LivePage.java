package org.splinewatch.serve;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEnd;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiPredicate;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.splinewatch.metrics.RunLock;
import org.splinewatch.report.EmbeddingViewData;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.RunIds;

/**
 * The monitor's built-in live page and its JSON API, over the run directories under {@code out}:
 * <ul>
 *   <li>{@code GET /}: the page (uPlot inlined), polling the API every 2 s;</li>
 *   <li>{@code GET /api/runs}: {@code [{id, active, trainingEnded, finished, ending, endStep, step, method,
 *       dataset, state}]}, {@code step} the step the run is at ({@link RunData.Summary#lastStep}), {@code state} the
 *       words the page lists it with;</li>
 *   <li>{@code GET /api/runs/<id>}: {@code {charts, alerts, lastStep, step, planes, finished, cursor, delta}} of that
 *       run (the report's data, without pictures; the page shows {@code /runs/<id>/planes/<k>/latest.svg} of an active
 *       run; {@code step} as in the list, {@code lastStep} the charts' last); {@code ?after=<cursor>} (an earlier
 *       answer's) gives charts of only the samples written since, with {@code delta} true, so a page polling a long
 *       run downloads what is new, not the whole run every 2 s.</li>
 * </ul>
 */
public final class LivePage {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LivePage() {
  }

  /** The live page: live.html with uPlot, report.js and the stylesheets inlined. */
  public static String page() {
    return ReportWriter.resource("/org/splinewatch/report/live.html")
        .replace("/*CSS*/", ReportWriter.resource(ReportWriter.uplotCss())
            + ReportWriter.resource("/org/splinewatch/report/report.css"))
        .replace("/*UPLOT*/", ReportWriter.resource(ReportWriter.uplotJs()))
        .replace("/*REPORTJS*/", ReportWriter.resource(ReportWriter.reportJs()));
  }

  /**
   * Run summaries by directory, each read again only when one of the run's files changed (its size, modification
   * time or file): the page lists the runs every 2 s, and a finished run does not change. With 500 runs under
   * {@code --out}, reading each run's config, events and the end of its samples took 0.3–1.4 s a listing.
   */
  static final class Summaries {
    /** A summary and the attributes of the run's files it was read from ({@link #stamp}). */
    private record Entry(List<Object> stamp, RunData.Summary summary) {
    }

    private Map<Path, Entry> entries = new HashMap<>();
    private long reads;
    /** The last {@link RunLock#probe} of each unfinished run and when it was made ({@link System#nanoTime}). */
    private final Map<Path, Probe> probes = new HashMap<>();
    private long probeCount;

    private record Probe(long at, RunLock.Hold hold) {
    }

    /** How often an unfinished run's lock is probed at most: the page lists the runs every 2 s. */
    static final long PROBE_NANOS = 2_000_000_000L;

    /**
     * Whether a process holds the run directory {@code dir} now ({@link RunLock#probe}): a plain {@code ./trainer}
     * writing into this monitor's {@code --out} is no run of this monitor's, yet runs. Probed at most every 2 s a run.
     */
    synchronized RunLock.Hold hold(Path dir) {
      long now = System.nanoTime();
      Probe p = probes.get(dir);
      if (p == null || now - p.at() >= PROBE_NANOS) {
        p = new Probe(now, RunLock.probe(dir));
        probeCount++;
        probes.put(dir, p);
      }
      return p.hold();
    }

    /** How many locks were probed (tests). */
    synchronized long probes() {
      return probeCount;
    }

    /** The summary of {@code dir}, read again where its files changed since the last call. */
    synchronized RunData.Summary of(Path dir) {
      List<Object> stamp = stamp(dir);
      Entry e = entries.get(dir);
      if (e == null || !e.stamp().equals(stamp)) {
        e = new Entry(stamp, RunData.summarize(dir));
        reads++;
        entries.put(dir, e);
      }
      return e.summary();
    }

    /** Forgets the runs not in {@code dirs} (deleted or moved). */
    synchronized void retain(Set<Path> dirs) {
      entries.keySet().retainAll(dirs);
      probes.keySet().retainAll(dirs);
    }

    /** How many summaries were read (tests). */
    synchronized long reads() {
      return reads;
    }

    /** Size, modification time and file key of the run's metrics, events and config ("missing" for one absent). */
    private static List<Object> stamp(Path dir) {
      List<Object> files = new ArrayList<>();
      for (String f : new String[] {"metrics.jsonl", "events.jsonl", "config.json"}) {
        try {
          BasicFileAttributes a = Files.readAttributes(dir.resolve(f), BasicFileAttributes.class);
          files.add(List.of(a.size(), a.lastModifiedTime(), String.valueOf(a.fileKey())));
        } catch (IOException e) {
          files.add("missing");
        }
      }
      return files;
    }
  }

  /** The run list ({@code GET /api/runs}) of runs none of which is draining its analyses. */
  static List<Map<String, Object>> runs(Path out, Predicate<String> active, Summaries summaries) throws IOException {
    return runs(out, active, id -> null, summaries);
  }

  /**
   * The run list ({@code GET /api/runs}); {@code trainingEnded} says how an active run's training ended while its last
   * analyses drain (null while it trains).
   */
  static List<Map<String, Object>> runs(Path out, Predicate<String> active, Function<String, String> trainingEnded,
      Summaries summaries) throws IOException {
    List<Map<String, Object>> list = new ArrayList<>();
    if (!Files.isDirectory(out)) {
      summaries.retain(Set.of());
      return list;
    }
    try (Stream<Path> dirs = Files.list(out)) {
      List<Path> runDirs = dirs.filter(p -> Files.isRegularFile(p.resolve("metrics.jsonl"))).sorted().toList();
      summaries.retain(Set.copyOf(runDirs));
      for (Path d : runDirs) {
        Map<String, Object> m = new LinkedHashMap<>();
        String id = d.getFileName().toString();
        m.put("id", id);
        boolean isActive = active.test(id);
        m.put("active", isActive);
        // an active run whose client or trainer ended its training: the monitor still analyses its last snapshots
        m.put("trainingEnded", isActive ? Objects.toString(trainingEnded.apply(id), "") : "");
        try {
          RunData.Summary r = summaries.of(d);
          m.put("finished", r.finished());
          m.put("ending", r.ending()); // an interrupted, stopped or failed run is listed so, not as finished
          m.put("endStep", r.endStep());
          m.put("step", r.lastStep());
          m.put("method", r.config().getOrDefault("method", ""));
          m.put("dataset", r.config().getOrDefault("dataset", ""));
          m.put("state", isActive ? activeState((String) m.get("trainingEnded"))
              : r.finished() ? ReportWriter.listedEnding(r.ending(), r.endStep()) : unfinishedState(summaries.hold(d)));
        } catch (RuntimeException e) {
          // one unreadable run is listed as such; the others are still served
          m.put("finished", false);
          m.put("ending", "");
          m.put("endStep", 0);
          m.put("step", 0);
          m.put("method", "");
          m.put("dataset", "");
          m.put("error", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).lines().findFirst()
              .orElse(""));
          m.put("state", "unreadable: " + m.get("error"));
        }
        list.add(m);
      }
    }
    return list;
  }

  /**
   * An active run's state in the list: {@code active}, or, where its training ended and the monitor still analyses
   * its last snapshots (up to its drain timeout) before run_finished, that and how its training ended.
   */
  static String activeState(String trainingEnded) {
    return trainingEnded.isEmpty() ? "active" : "analysing its last snapshots (" + trainingEnded + ")";
  }

  /**
   * The list's state of a run that is not this monitor's and has no run_finished, by its lock ({@link RunLock}):
   * {@code running} where a process holds it (a plain ./trainer writing into this --out), {@code not finished
   * (crashed or killed)} where its process ended without closing it, else {@code incomplete} (no lock file: a run of a
   * release before the lock, or on a file system without locks).
   */
  static String unfinishedState(RunLock.Hold hold) {
    return switch (hold) {
      case HELD -> "running";
      case LEFT -> "not finished (crashed or killed)";
      case NONE, UNKNOWN -> "incomplete";
    };
  }

  /**
   * Buckets of steps per chart sent to the page: about this many steps per chart when its series share their steps
   * (each series' last sample per bucket, every non-finite value and the ends are kept; ReportWriter#thinned); a long
   * run's every sample, on every poll, was megabytes.
   */
  static final int CHART_BUCKETS = 1000;

  /**
   * Incremental readers of the runs the page shows, the most recently used few: at most {@link #SIZE}, and together
   * holding samples of at most {@code budget} bytes, though the run just read always stays. A million-step run holds
   * about 87 MB of samples: eight of them do not fit in an embedded run's 640 MiB heap, which its training shares.
   */
  static final class Cache {
    private static final int SIZE = 8;
    private final long budget;
    private final Map<Path, RunData.Incremental> readers = new LinkedHashMap<>(16, 0.75f, true);

    /** A cache of readers holding at most {@code budget} bytes of samples, or only the newest where it holds more. */
    Cache(long budget) {
      this.budget = budget;
    }

    /** Drops the least recently used readers but {@code kept} while there are too many or they hold too much. */
    private void trim(Path kept) {
      long held = 0;
      for (RunData.Incremental r : readers.values()) {
        held += r.heldBytes();
      }
      for (var it = readers.entrySet().iterator(); it.hasNext() && (held > budget || readers.size() > SIZE);) {
        var e = it.next();
        if (!e.getKey().equals(kept)) {
          held -= e.getValue().heldBytes();
          it.remove();
        }
      }
    }

    /** The runs read now (tests). */
    synchronized Set<Path> held() {
      return Set.copyOf(readers.keySet());
    }

    /**
     * Which embedding views belong to the trajectory the run is on ({@link RunData#currentViews}), from its reader read
     * to its end first. Decided under the lock: the reader's series are shared with its next refresh, which another
     * request (the page's poll) may make at any time.
     */
    synchronized BiPredicate<String, Long> currentViews(Path dir) {
      try {
        return readers.computeIfAbsent(dir, RunData.Incremental::new).refresh().currentViews();
      } finally {
        trim(dir);
      }
    }

    /**
     * The run's data; with {@code after} (an earlier answer's cursor) its charts hold only the samples written since,
     * unless the run was read afresh since (a rotation or a resume): then all of it, with {@code delta} false. A whole
     * answer's long charts are thinned ({@link #CHART_BUCKETS}); the samples after a cursor are sent as they are.
     */
    synchronized Map<String, Object> data(Path dir, Optional<String> after) {
      try {
        return read(dir, after);
      } finally {
        trim(dir); // also when the read failed: its reader is in the map
      }
    }

    private Map<String, Object> read(Path dir, Optional<String> after) {
      RunData.Incremental reader = readers.computeIfAbsent(dir, RunData.Incremental::new);
      RunData r = reader.refresh();
      long from = after.isPresent() ? reader.writtenAfter(after.get()) : -1;
      Map<String, Object> data;
      if (from < 0) {
        data = ReportWriter.data(List.of(r), false, CHART_BUCKETS);
      } else {
        data = ReportWriter.data(List.of(r.writtenFrom(from)), false);
        data.put("lastStep", r.lastStep()); // the run's, not that of the samples since
      }
      data.put("planes", new ArrayList<>(r.pictures().keySet()));
      data.put("finished", r.finished());
      // a finished run's status as the report words it; a running one is incomplete by nature, so none
      data.put("status", r.finished() ? ReportWriter.status(r) : "");
      data.put("notes", r.notes());
      data.put("cursor", reader.cursor());
      data.put("delta", from >= 0);
      return data;
    }
  }

  /** The routes of an embedded run's page ({@code activeRun} trains), reading on the calling thread (tests). */
  public static Route route(Path out, String activeRun) {
    return route(out, activeRun::equals, Runnable::run);
  }

  /**
   * The routes; {@code active} tells the runs that stream now (one for an embedded run, any number on
   * {@code monitor serve}). Run directories are read on {@code blocking} (the actor system's blocking-IO dispatcher),
   * never on the threads that serve HTTP and run the actors. A run's page parses only what was appended since its
   * last poll.
   */
  public static Route route(Path out, Predicate<String> active, Executor blocking) {
    return route(out, active, id -> null, blocking);
  }

  /**
   * As {@link #route(Path, Predicate, Executor)}; {@code trainingEnded} says how an active run's training ended while
   * the monitor drains its analyses (null while it trains): {@code monitor serve}'s runs stay active for that time.
   */
  public static Route route(Path out, Predicate<String> active, Function<String, String> trainingEnded,
      Executor blocking) {
    return route(out, active, trainingEnded, blocking, new Cache(Runtime.getRuntime().maxMemory() / 8));
  }

  /** The routes, with {@code cache} (tests give it a budget of their own). */
  static Route route(Path out, Predicate<String> active, Executor blocking, Cache cache) {
    return route(out, active, id -> null, blocking, cache);
  }

  private static Route route(Path out, Predicate<String> active, Function<String, String> trainingEnded,
      Executor blocking, Cache cache) {
    String html = page();
    Summaries summaries = new Summaries();
    Route list = get(() -> json(blocking, "", () -> runs(out, active, trainingEnded, summaries)));
    return concat(
        pathSingleSlash(() -> get(() -> complete(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, html)))),
        pathPrefix("api", () -> pathPrefix("runs", () -> concat(
            pathSingleSlash(() -> list),
            pathPrefix(segment(Pattern.compile("[A-Za-z0-9._-]+")), id -> path("embeddings", () -> get(() ->
                embeddings(out, id, blocking, cache)))),
            path(segment(Pattern.compile("[A-Za-z0-9._-]+")), id -> get(() -> parameterOptional("after", after -> {
              if (!RunIds.isValid(id)) {
                return complete(StatusCodes.NOT_FOUND, unknownRun(id));
              }
              if (after.isPresent() && !RunData.Incremental.isCursor(after.get())) {
                return complete(StatusCodes.BAD_REQUEST, "after: '" + after.get() + "' is not a cursor; expected the"
                    + " cursor field of an earlier answer of this run (segments.resumes.samples, e.g. 1.0.4210)\n");
              }
              Path dir = out.resolve(id);
              return json(blocking, unknownRun(id), () -> {
                if (!Files.isRegularFile(dir.resolve("metrics.jsonl"))) {
                  return null;
                }
                Map<String, Object> data = cache.data(dir, after);
                // the step the run is at, as the run list has it (the charts' lastStep is their last sample's)
                data.put("step", summaries.of(dir).lastStep());
                return data;
              });
            }))),
            pathEnd(() -> list)))));
  }

  /**
   * {@code GET /api/runs/<id>/embeddings}: the embedding views of a run under {@code out} (at most
   * {@link #EMBEDDING_STEPS} steps per layer, spread over the run), for the page's embedding panel; 404 for an unknown
   * run. Of a resumed run only those of the trajectory it is on ({@link RunData#currentViews}), from its cached reader.
   */
  private static Route embeddings(Path out, String id, Executor blocking, Cache cache) {
    if (!RunIds.isValid(id)) {
      return complete(StatusCodes.NOT_FOUND, "invalid run id\n");
    }
    Path dir = RunIds.runDirectory(out, id);
    if (!Files.isDirectory(dir)) {
      return complete(StatusCodes.NOT_FOUND, "unknown run\n");
    }
    return json(blocking, "unknown run\n", () -> EmbeddingViewData.read(dir, id, EMBEDDING_STEPS,
        RunData.earliestResume(dir).isEmpty() || !Files.isRegularFile(dir.resolve("metrics.jsonl"))
            ? (layer, step) -> true : cache.currentViews(dir)));
  }

  /** Steps per layer the embedding panel gets at most. */
  static final int EMBEDDING_STEPS = 30;

  private static String unknownRun(String id) {
    return "unknown run '" + id + "'; expected a run directory with metrics.jsonl under this monitor's --out (GET"
        + " /api/runs lists them)\n";
  }

  interface Body {
    Object get() throws IOException;
  }

  /**
   * The body as JSON, computed on {@code blocking}; null is 404 with {@code notFound}, a failure 500 for this request
   * only. Also the embedding views' route.
   */
  static Route json(Executor blocking, String notFound, Body body) {
    CompletableFuture<HttpResponse> response = CompletableFuture.supplyAsync(() -> {
      try {
        Object value = body.get();
        if (value == null) {
          return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND).withEntity(notFound);
        }
        return HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
            JSON.writeValueAsString(value)));
      } catch (IOException | RuntimeException e) {
        return HttpResponse.create().withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
            .withEntity("cannot read the run: " + e.getMessage() + "\n");
      }
    }, blocking);
    return completeWithFuture(response);
  }
}
