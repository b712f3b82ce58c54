package org.splinewatch.control;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.splinewatch.snapshot.RunIds;

/**
 * HTTP routes beside {@code /metrics}: the control endpoint {@code POST /api/v1/alerts} (see {@link AlertWebhook}) and
 * {@code GET /planes/<k>/latest.svg}, the newest partition picture of plane {@code k} (for dashboards), and
 * {@code GET /runs/<run>/planes/<k>/latest.svg} for any run under the output directory.
 */
public final class ControlRoutes {
  private static final ContentType SVG = ContentTypes.create(MediaTypes.IMAGE_SVG_XML);
  /** The largest alert payload taken: Alertmanager groups of hundreds of alerts stay far below it. */
  static final long MAX_ALERT_BYTES = 1 << 20;
  private static final String TOO_LARGE = "alert payload is over " + MAX_ALERT_BYTES + " bytes; expected an"
      + " Alertmanager webhook (version 4 JSON, a few kB)\n";

  private ControlRoutes() {
  }

  /**
   * The newest picture of each plane in a planes directory, listed again only when the directory changed (its
   * modification time moves with every picture written or deleted), not per request.
   */
  static final class LatestPictures {
    private final Path dir;
    private FileTime listed;
    private Map<Integer, Path> latest = Map.of();
    private int listings;

    LatestPictures(Path dir) {
      this.dir = dir;
    }

    /** The newest {@code plane-<k>-step-*.svg}, or null. */
    synchronized Path latest(int plane) {
      try {
        FileTime m = Files.getLastModifiedTime(dir);
        // a change within the file system's timestamp resolution may keep the time: list again while it is recent
        if (!m.equals(listed) || System.currentTimeMillis() - m.toMillis() < 2000) {
          latest = list(dir);
          listed = m;
          listings++;
        }
      } catch (IOException e) {
        return null; // no planes directory (yet)
      }
      return latest.get(plane);
    }

    synchronized int listings() {
      return listings;
    }

    /**
     * Per plane the picture drawn last (the latest modification time; of equal times the greatest step, the names'
     * steps being zero-padded): the highest step while a run goes forward, and after a resume from an earlier
     * checkpoint the resumed run's newest, not the last picture of the trajectory it left.
     */
    private static Map<Integer, Path> list(Path dir) throws IOException {
      Map<Integer, Path> out = new HashMap<>();
      Map<Integer, FileTime> drawn = new HashMap<>();
      Pattern name = Pattern.compile("plane-(\\d{1,4})-step-\\d+\\.svg");
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Matcher m = name.matcher(f.getFileName().toString());
          if (!m.matches()) {
            continue;
          }
          FileTime t;
          try {
            t = Files.getLastModifiedTime(f);
          } catch (IOException gone) { // deleted by picture retention since the listing
            continue;
          }
          int plane = Integer.parseInt(m.group(1));
          Path best = out.get(plane);
          int newer = best == null ? 1 : t.compareTo(drawn.get(plane));
          if (newer > 0 || newer == 0 && f.toString().compareTo(best.toString()) > 0) {
            out.put(plane, f);
            drawn.put(plane, t);
          }
        }
      }
      return out;
    }
  }

  /** {@code GET /planes/<k>/latest.svg} from {@code planesDir}; 404 while no picture exists. */
  public static Route planes(Path planesDir) {
    LatestPictures pictures = new LatestPictures(planesDir);
    return pathPrefix("planes", () -> path(segment(Pattern.compile("[0-9]{1,4}"))
        .slash("latest.svg"), plane -> get(() -> {
          Path file = pictures.latest(Integer.parseInt(plane));
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
    // one route (and its cached directory state) per existing run, so a request never lists planes/ again
    Map<String, Route> byRun = new ConcurrentHashMap<>();
    return pathPrefix("runs", () -> pathPrefix(segment(), run -> {
      if (!RunIds.isValid(run)) {
        return complete(StatusCodes.NOT_FOUND, "invalid run id\n");
      }
      Path dir = RunIds.runDirectory(out, run);
      if (!byRun.containsKey(run) && !Files.isDirectory(dir)) {
        return complete(StatusCodes.NOT_FOUND, "no run '" + run + "'\n");
      }
      return byRun.computeIfAbsent(run, r -> planes(dir.resolve("planes")));
    }));
  }

  public static Route route(AlertWebhook webhook) {
    return pathPrefix("api", () -> pathPrefix("v1", () -> path("alerts", () -> post(() ->
        optionalHeaderValueByName("Authorization", auth -> {
          // the token first: a request without it is answered before any of its body is read
          if (!webhook.authorized(auth.orElse(null))) {
            return complete(StatusCodes.UNAUTHORIZED, "missing or wrong bearer token\n");
          }
          // an Alertmanager webhook is a few kB; a body over the limit gets one line, not Pekko's paragraph
          return handleRejections(RejectionHandler.newBuilder().handle(MalformedRequestContentRejection.class,
              m -> m.getCause() instanceof EntityStreamSizeException ? complete(StatusCodes.PAYLOAD_TOO_LARGE, TOO_LARGE)
                  : complete(StatusCodes.BAD_REQUEST, "alert payload cannot be read: "
                  + String.valueOf(m.message()).lines().findFirst().orElse("") + "\n")).build(),
              () -> withSizeLimit(MAX_ALERT_BYTES, () -> entity(Unmarshaller.entityToString(), body -> {
                AlertWebhook.Response r = webhook.handle(auth.orElse(null), body);
                return complete(StatusCodes.get(r.status()), r.message() + "\n");
              })));
        })))));
  }
}
