package org.splinewatch.monitor;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/** HTTP routes of the control endpoint: {@code POST /api/v1/alerts} (see {@link AlertWebhook}). */
public final class ControlRoutes {
  private ControlRoutes() {
  }

  public static Route route(AlertWebhook webhook) {
    return pathPrefix("api", () -> pathPrefix("v1", () -> path("alerts", () -> post(() ->
        optionalHeaderValueByName("Authorization", auth -> entity(Unmarshaller.entityToString(), body -> {
          AlertWebhook.Response r = webhook.handle(auth.orElse(null), body);
          return complete(StatusCodes.get(r.status()), r.message() + "\n");
        }))))));
  }
}
