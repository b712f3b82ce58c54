package org.splinewatch.serve;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.splinewatch.report.EmbeddingViewData;
import org.splinewatch.snapshot.RunIds;

/**
 * {@code GET /api/runs/<id>/embeddings}: the embedding views of a run under {@code out} (at most {@link #MAX_STEPS}
 * steps per layer, spread over the run), for the live page's embedding panel; 404 for an unknown run. The files are
 * read on {@code blocking} (the actor system's blocking-IO dispatcher), as the live page's are, never on the threads
 * that serve HTTP and run the actors.
 */
public final class EmbeddingRoutes {
  static final int MAX_STEPS = 30;

  private EmbeddingRoutes() {
  }

  public static Route route(Path out, Executor blocking) {
    return pathPrefix("api", () -> pathPrefix("runs", () -> pathPrefix(segment(), id ->
        path("embeddings", () -> get(() -> {
          if (!RunIds.isValid(id)) {
            return complete(StatusCodes.NOT_FOUND, "invalid run id\n");
          }
          Path dir = RunIds.runDirectory(out, id);
          if (!Files.isDirectory(dir)) {
            return complete(StatusCodes.NOT_FOUND, "unknown run\n");
          }
          return LivePage.json(blocking, "unknown run\n", () -> EmbeddingViewData.read(dir, id, MAX_STEPS));
        })))));
  }
}
