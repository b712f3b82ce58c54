package org.splinewatch.ingest;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.ReportChain;

/**
 * HTTP ingestion on a metrics node, in two steps: {@link #prepare} before the HTTP port is bound (its routes go
 * beside {@code /metrics}), {@link #start} once the metrics node exists. Until then registrations answer 503.
 */
public final class HttpIngestion {
  private final ActorSystem<?> system;
  private final Map<String, AlertSettings> alerts;
  private final List<String> analyzers;
  private final ClusterSettings cluster;
  private final IngestSettings settings;
  private final Map<String, IngestActor.Shape> active = new ConcurrentHashMap<>();
  private final FinishedRuns finished = new FinishedRuns();
  private final AtomicReference<ActorRef<IngestActor.Command>> actor = new AtomicReference<>();
  private final Route route;
  /** The metrics node's registry: each run's coverage is read from its meters there at the run's end. */
  private final MeterRegistry registry;

  private HttpIngestion(ActorSystem<?> system, Config config, ClusterSettings cluster, String token,
      MeterRegistry registry) {
    this.system = system;
    this.alerts = IngestActor.Context.alertsByMode(config);
    this.analyzers = config.getStringList("splinewatch.analysis.enabled");
    this.cluster = cluster;
    this.settings = IngestSettings.fromConfig(config);
    this.registry = registry;
    this.route = settings.enabled() ? new IngestRoutes(system, token, actor::get, settings, active,
        finished, registry, IngestRoutes.registrationWait(cluster.answerTimeout())).route()
        : Directives.reject();
  }

  /**
   * Routes for {@code /api/v1/runs}; their own meters (bytes in flight, requests told to retry) go to
   * {@code registry}, the metrics node's, where the runs' coverage (analyses, drops) is read at their end.
   */
  public static HttpIngestion prepare(ActorSystem<?> system, Config config, ClusterSettings cluster, String token,
      MeterRegistry registry) {
    return new HttpIngestion(system, config, cluster, token, registry);
  }

  public boolean enabled() {
    return settings.enabled();
  }

  public Route route() {
    return route;
  }

  /** The bound of an ask the ingestion actor answers at once (it only fails to when its actor system is gone). */
  private static final Duration BRIEF = Duration.ofSeconds(5);

  /**
   * What {@link #finishAll} did: the runs it finished as interrupted ({@code runs}), those whose end had begun before
   * ({@code ending}: their clients had finished them, or their idle timeout had) and that ended as they were ending,
   * and those of both that did not record their end within the time given (all of them when the ingestion actor could
   * not say which).
   */
  public record Cut(List<String> runs, List<String> ending, List<String> unended) {
  }

  /**
   * The monitor is stopping: finishes every live run as interrupted with {@code reason}, except those already ending,
   * then waits at most {@code timeout} for all their {@code run_finished} and reports. No run is cut when ingestion is
   * off or none is live.
   */
  public Cut finishAll(String reason, Duration timeout) {
    ActorRef<IngestActor.Command> a = actor.get();
    if (a == null) {
      return new Cut(List.of(), List.of(), List.of());
    }
    IngestActor.Stopping stopping = new IngestActor.Stopping(List.of(), List.of());
    List<String> ids = List.of();
    try { // answered at once: not bounded by the wait for the runs' ends, which may be short
      stopping = AskPattern.<IngestActor.Command, IngestActor.Stopping>ask(a, r -> new IngestActor.FinishAll(reason, r),
          BRIEF, system.scheduler()).toCompletableFuture().get(BRIEF.toMillis(), TimeUnit.MILLISECONDS);
      ids = Stream.concat(stopping.interrupted().stream(), stopping.ending().stream()).sorted().toList();
      if (!ids.isEmpty()) {
        AskPattern.<IngestActor.Command, Done>ask(a, IngestActor.AwaitEnded::new, timeout, system.scheduler())
            .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      return new Cut(stopping.interrupted(), stopping.ending(), List.of());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Cut(stopping.interrupted(), stopping.ending(), ids);
    } catch (ExecutionException | TimeoutException | RuntimeException e) { // RuntimeException: system terminated
      // stopping anyway: a run left keeps what it wrote, without run_finished
      return new Cut(stopping.interrupted(), stopping.ending(), stillLive(a, ids));
    }
  }

  /** Which of {@code ids} are still live. */
  private List<String> stillLive(ActorRef<IngestActor.Command> a, List<String> ids) {
    try {
      List<String> live = AskPattern.<IngestActor.Command, List<String>>ask(a, IngestActor.Live::new, BRIEF,
          system.scheduler()).toCompletableFuture().get(BRIEF.toMillis(), TimeUnit.MILLISECONDS);
      return ids.stream().filter(live::contains).toList();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ids;
    } catch (ExecutionException | TimeoutException | RuntimeException e) {
      return ids; // cannot tell which: all of them
    }
  }

  /**
   * The HTTP runs an earlier monitor on this {@code --out} left without an end (it was killed, or its machine went
   * down), which {@link #start} marked interrupted, one line for each it could not mark, and one for each marked run
   * whose recorded snapshots are not all analysed.
   */
  public record Left(List<String> runs, List<String> problems, List<String> unanalysed) {
  }

  /**
   * Marks the runs an earlier monitor left without an end ({@link LeftRuns}), then starts the ingestion actor;
   * {@code baseUrl} is {@code http://host:port} of the endpoints. Until then registrations answer 503, so a client
   * resuming a left run finds it marked. The marked runs' reports are then written on the blocking dispatcher on
   * {@code reports}, the node's chain, where the reports of the runs that end on {@code node} are written: one
   * report in memory at a time, and neither the start nor ingestion waits for them. A client resuming one of them
   * meanwhile is answered 503 until its report is written, and a report that cannot be written is one {@code warn}
   * line.
   */
  public Left start(ActorRef<MetricsNode.Command> node, Path out, String baseUrl, ReportChain reports,
      Consumer<String> warn) {
    LeftRuns.Marked marked = LeftRuns.mark(out);
    finished.left(marked.runs());
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    for (String runId : marked.runs()) {
      Path dir = out.resolve(runId);
      reports.write(dir, blocking).handle((ok, failure) -> {
        if (failure != null) {
          Throwable e = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause()
              : failure;
          warn.accept("cannot write the report of run " + runId + ", marked interrupted: " + (e instanceof
              OutOfMemoryError ? "out of memory (the run's samples do not fit the heap)" : e.getMessage())
              + "; ./monitor report " + dir + " writes it");
        }
        finished.reported(runId);
        return null;
      });
    }
    if (settings.enabled()) {
      actor.set(system.systemActorOf(IngestActor.create(new IngestActor.Context(alerts, analyzers, settings, cluster,
          node, out, baseUrl, active, finished, registry)), "http-ingest", Props.empty()));
    }
    return new Left(marked.runs(), marked.problems(), marked.unanalysed());
  }
}
