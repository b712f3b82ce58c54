package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live page of {@code monitor serve} for runs streamed over HTTP: a run is {@code active} while it streams and
 * not once it has finished, and the partition pictures the page shows for an active run are served at the path it
 * asks for ({@code /runs/<id>/planes/<k>/latest.svg}).
 */
class ServedLivePageTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  private static JsonNode listed(ServedMonitor m, String id) throws Exception {
    for (JsonNode r : JSON.readTree(m.get("/api/runs").body())) {
      if (r.get("id").asText().equals(id)) {
        return r;
      }
    }
    return null;
  }

  @Test
  void aStreamingRunIsActiveWithItsPicturesUntilItFinishes() throws Exception {
    try (ServedMonitor m = new ServedMonitor(tmp, List.of("regions"), Map.of("splinewatch.regions.max-regions",
        5000))) {
      assertEquals(201, m.post("/api/v1/runs", TestNpz.run("live1", 40, 8, 4, "")).statusCode());
      assertEquals(202, m.post("/api/v1/runs/live1/snapshots",
          TestNpz.snapshot(TestNpz.cnn(1, 8, 4), 0, 2.0, -1).bytes()).statusCode());
      IngestHttpTest.waitFor(() -> String.valueOf(listed(m, "live1")), s -> s.contains("\"active\":true"));
      String picture = IngestHttpTest.waitFor(() -> {
        HttpResponse<String> r = m.get("/runs/live1/planes/0/latest.svg");
        return r.statusCode() == 200 ? r.body() : "";
      }, s -> s.startsWith("<svg"));
      assertTrue(picture.contains("live1"), "the picture of the streamed run");
      String page = m.get("/").body();
      assertTrue(page.contains("\"/runs/\" + encodeURIComponent(run) + \"/planes/\""),
          "the page asks for the pictures where this monitor serves them");

      assertEquals(202, m.post("/api/v1/runs/live1/finish", "{\"status\": \"done\"}".getBytes()).statusCode());
      // run_finished is written just before the run leaves the node's live runs
      IngestHttpTest.waitFor(() -> String.valueOf(listed(m, "live1")),
          s -> s.contains("\"finished\":true") && s.contains("\"active\":false"));
    }
  }
}
