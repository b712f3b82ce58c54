package org.splinewatch.ingest;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;

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

  private HttpIngestion(ActorSystem<?> system, Config config, ClusterSettings cluster, String token) {
    this.system = system;
    this.alerts = IngestActor.Context.alertsByMode(config);
    this.analyzers = config.getStringList("splinewatch.analysis.enabled");
    this.cluster = cluster;
    this.settings = IngestSettings.fromConfig(config);
    this.route = settings.enabled() ? new IngestRoutes(system, token, actor::get, settings, active,
        finished).route()
        : Directives.reject();
  }

  public static HttpIngestion prepare(ActorSystem<?> system, Config config, ClusterSettings cluster, String token) {
    return new HttpIngestion(system, config, cluster, token);
  }

  public boolean enabled() {
    return settings.enabled();
  }

  public Route route() {
    return route;
  }

  /** Starts the ingestion actor; {@code baseUrl} is {@code http://host:port} of the endpoints. */
  public void start(ActorRef<MetricsNode.Command> node, Path out, String baseUrl) {
    if (settings.enabled()) {
      actor.set(system.systemActorOf(IngestActor.create(new IngestActor.Context(alerts, analyzers, settings, cluster, node, out,
          baseUrl, active, finished)), "http-ingest", Props.empty()));
    }
  }
}
