package org.splinewatch.monitor;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.splinewatch.snapshot.RunIds;

/**
 * HTTP routes beside {@code /metrics}: the control endpoint {@code POST /api/v1/alerts} (see {@link AlertWebhook}) and
 * {@code GET /planes/<k>/latest.svg}, the newest partition picture of plane {@code k} (for dashboards), and
 * {@code GET /runs/<run>/planes/<k>/latest.svg} for any run under the output directory.
 */
public final class ControlRoutes {
  private static final ContentType SVG = ContentTypes.create(MediaTypes.IMAGE_SVG_XML);

  private ControlRoutes() {
  }

  /** The newest {@code plane-<k>-step-*.svg} in {@code planesDir}, or null. */
  static Path latestPicture(Path planesDir, int plane) {
    if (!Files.isDirectory(planesDir)) {
      return null;
    }
    String prefix = "plane-" + plane + "-step-";
    try (Stream<Path> files = Files.list(planesDir)) {
      // zero-padded steps: the lexicographically greatest name is the newest
      return files.filter(f -> f.getFileName().toString().startsWith(prefix)
          && f.getFileName().toString().endsWith(".svg")).max(Comparator.comparing(Path::toString)).orElse(null);
    } catch (IOException e) {
      return null;
    }
  }

  /** {@code GET /planes/<k>/latest.svg} from {@code planesDir}; 404 while no picture exists. */
  public static Route planes(Path planesDir) {
    return pathPrefix("planes", () -> path(segment(java.util.regex.Pattern.compile("[0-9]{1,4}"))
        .slash("latest.svg"), plane -> get(() -> {
          Path file = latestPicture(planesDir, Integer.parseInt(plane));
          if (file == null) {
            return complete(StatusCodes.NOT_FOUND, "no picture of plane " + plane + " yet\n");
          }
          try {
            return complete(HttpResponse.create().withEntity(HttpEntities.create(SVG, Files.readAllBytes(file)))
                .addHeader(RawHeader.create("Cache-Control", "no-store")));
          } catch (IOException e) {
            return complete(StatusCodes.NOT_FOUND, "picture of plane " + plane + " unreadable\n");
          }
        })));
  }

  /**
   * {@code GET /runs/<run>/planes/<k>/latest.svg}: the newest picture of plane {@code k} of any run under {@code out}
   * (what the Grafana picture panel asks for, following its {@code $run} variable); 404 for an unknown run or plane.
   */
  public static Route runPlanes(Path out) {
    return pathPrefix("runs", () -> pathPrefix(segment(), run -> {
      if (!RunIds.isValid(run)) {
        return complete(StatusCodes.NOT_FOUND, "invalid run id\n");
      }
      return planes(RunIds.runDirectory(out, run).resolve("planes"));
    }));
  }

  public static Route route(AlertWebhook webhook) {
    return pathPrefix("api", () -> pathPrefix("v1", () -> path("alerts", () -> post(() ->
        optionalHeaderValueByName("Authorization", auth -> entity(Unmarshaller.entityToString(), body -> {
          AlertWebhook.Response r = webhook.handle(auth.orElse(null), body);
          return complete(StatusCodes.get(r.status()), r.message() + "\n");
        }))))));
  }
}
