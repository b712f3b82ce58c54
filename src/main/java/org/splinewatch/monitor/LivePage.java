package org.splinewatch.monitor;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEnd;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.pathSingleSlash;
import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;
import org.splinewatch.report.ReportWriter;
import org.splinewatch.report.RunData;

/**
 * The monitor's built-in live page and its JSON API, over the run directories under {@code out}:
 * <ul>
 *   <li>{@code GET /}: the page (uPlot inlined), polling the API every 2 s;</li>
 *   <li>{@code GET /api/runs}: {@code [{id, active, finished, step, method, dataset}]};</li>
 *   <li>{@code GET /api/runs/<id>}: {@code {charts, alerts, lastStep, planes}} of that run (the report's data, without
 *       pictures; the page shows {@code /planes/<k>/latest.svg} of the active run).</li>
 * </ul>
 */
public final class LivePage {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LivePage() {
  }

  static String page() {
    return ReportWriter.resource("/org/splinewatch/report/live.html")
        .replace("/*CSS*/", ReportWriter.resource(ReportWriter.uplotCss())
            + ReportWriter.resource("/org/splinewatch/report/report.css"))
        .replace("/*UPLOT*/", ReportWriter.resource(ReportWriter.uplotJs()))
        .replace("/*REPORTJS*/", ReportWriter.resource("/org/splinewatch/report/report.js"));
  }

  static List<Map<String, Object>> runs(Path out, String activeRun) throws IOException {
    List<Map<String, Object>> list = new ArrayList<>();
    if (!Files.isDirectory(out)) {
      return list;
    }
    try (Stream<Path> dirs = Files.list(out)) {
      for (Path d : dirs.filter(p -> Files.isRegularFile(p.resolve("metrics.jsonl"))).sorted().toList()) {
        RunData.Summary r = RunData.summarize(d);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.id());
        m.put("active", r.id().equals(activeRun));
        m.put("finished", r.finished());
        m.put("step", r.lastStep());
        m.put("method", r.config().getOrDefault("method", ""));
        m.put("dataset", r.config().getOrDefault("dataset", ""));
        list.add(m);
      }
    }
    return list;
  }

  public static Route route(Path out, String activeRun) {
    String html = page();
    return concat(
        pathSingleSlash(() -> get(() -> complete(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, html)))),
        pathPrefix("api", () -> pathPrefix("runs", () -> concat(
            pathSingleSlash(() -> get(() -> json(() -> runs(out, activeRun)))),
            path(segment(java.util.regex.Pattern.compile("[A-Za-z0-9._-]+")), id -> get(() -> {
              Path dir = out.resolve(id);
              if (!Files.isRegularFile(dir.resolve("metrics.jsonl"))) {
                return complete(StatusCodes.NOT_FOUND, "unknown run '" + id + "'\n");
              }
              return json(() -> {
                RunData r = RunData.read(dir);
                Map<String, Object> data = ReportWriter.data(List.of(r), false);
                data.put("planes", new ArrayList<>(r.pictures().keySet()));
                data.put("finished", r.finished());
                return data;
              });
            })),
            pathEnd(() -> get(() -> json(() -> runs(out, activeRun))))))));
  }

  private interface Body {
    Object get() throws IOException;
  }

  private static Route json(Body body) {
    try {
      return complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsString(body.get())));
    } catch (IOException | RuntimeException e) {
      return complete(StatusCodes.INTERNAL_SERVER_ERROR, "cannot read the run: " + e.getMessage() + "\n");
    }
  }
}
