package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;
import org.yaml.snakeyaml.Yaml;

/**
 * Dashboard JSON sanity: valid JSON, unique uids, every datasource the provisioned one, every referenced variable
 * defined, every metric name one the project exports; and the docker/ compose stack's files.
 */
class DashboardJsonTest {
  @SuppressWarnings("unchecked")
  static String provisionedUid() throws Exception {
    Map<String, Object> y = new Yaml().load(Files.readString(
        Path.of("dashboards/grafana/provisioning/datasources/prometheus.yml")));
    return (String) ((List<Map<String, Object>>) y.get("datasources")).get(0).get("uid");
  }

  /** Every metric name the sources publish, with the suffixes Micrometer adds to counters and timers. */
  static Set<String> exportedNames() throws Exception {
    Set<String> names = new HashSet<>();
    try (Stream<Path> files = Files.walk(Path.of("src/main/java"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        names.addAll(Dashboards.metrics(Files.readString(f)));
        // Micrometer meters are registered with dots: splinewatch.analysis.failures -> splinewatch_analysis_failures
        var m = java.util.regex.Pattern.compile("\"(splinewatch(\\.[a-z_]+)+)\"").matcher(Files.readString(f));
        while (m.find()) {
          names.add(m.group(1).replace('.', '_'));
        }
      }
    }
    Set<String> out = new HashSet<>(names);
    for (String n : names) {
      for (String suffix : List.of("_total", "_seconds_count", "_seconds_sum", "_seconds_max", "_count", "_sum")) {
        out.add(n + suffix);
      }
    }
    return out;
  }

  @Test
  void dashboardsAreSaneAndConsistent() throws Exception {
    String uid = provisionedUid();
    Set<String> exported = exportedNames();
    Set<String> uids = new HashSet<>();
    List<Path> files = Dashboards.files();
    assertEquals(3, files.size(), "live, comparison and alerts dashboards");
    for (Path f : files) {
      JsonNode d = Dashboards.read(f);
      assertTrue(uids.add(d.path("uid").asText()), "duplicate dashboard uid in " + f);
      Set<String> defined = new HashSet<>();
      for (JsonNode v : d.path("templating").path("list")) {
        defined.add(v.path("name").asText());
        assertEquals(uid, v.path("datasource").path("uid").asText(), f + " variable " + v.path("name"));
      }
      Set<Integer> ids = new HashSet<>();
      for (JsonNode p : d.path("panels")) {
        assertTrue(ids.add(p.path("id").asInt()), f + ": duplicate panel id " + p.path("id"));
        if (p.has("targets")) {
          assertEquals(uid, p.path("datasource").path("uid").asText(), f + " panel " + p.path("title"));
          for (JsonNode t : p.path("targets")) {
            assertEquals(uid, t.path("datasource").path("uid").asText(), f + " target of " + p.path("title"));
          }
        }
      }
      for (Dashboards.Query q : Dashboards.queries(f)) {
        assertFalse(q.expr().isBlank(), q.where() + " has no expression");
        Set<String> used = Dashboards.variables(q.expr());
        used.removeIf(v -> v.startsWith("__"));
        assertTrue(defined.containsAll(used), q.dashboard() + " " + q.where() + " uses undefined variables " + used);
        for (String m : Dashboards.metrics(q.expr())) {
          assertTrue(exported.contains(m), q.dashboard() + " " + q.where() + ": unknown metric " + m);
        }
      }
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeStackFilesExistAndAgree() throws Exception {
    Path compose = Path.of("docker/docker-compose.yml");
    Map<String, Object> c = new Yaml().load(Files.readString(compose));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) c.get("services");
    assertEquals(Set.of("trainer", "prometheus", "alertmanager", "grafana"), services.keySet());
    for (var s : services.entrySet()) {
      for (Object v : (List<Object>) s.getValue().getOrDefault("volumes", List.of())) {
        String source = v.toString().split(":")[0];
        if (source.startsWith(".")) {
          Path p = compose.getParent().resolve(source).normalize();
          assertTrue(Files.exists(p) || source.equals("../runs"), s.getKey() + " mounts missing " + p);
        }
      }
    }
    Map<String, Object> build = (Map<String, Object>) services.get("trainer").get("build");
    assertTrue(Files.isRegularFile(compose.getParent().resolve((String) build.get("context"))
        .resolve((String) build.get("dockerfile")).normalize()), "Dockerfile");
    // ports agree with the monitor's defaults and with Prometheus/Alertmanager wiring
    assertTrue(((List<Object>) services.get("trainer").get("ports")).contains("9464:9464"));
    String am = Files.readString(Path.of("docker/alertmanager.yml"));
    assertTrue(am.contains("http://trainer:9464/api/v1/alerts"), "Alertmanager calls the trainer's control port");
    String prom = Files.readString(Path.of("docker/prometheus.yml"));
    assertTrue(prom.contains("alertmanager:9093") && prom.contains("/splinewatch/runs/prometheus-sd/*.json"));
    String conf = Files.readString(Path.of("src/main/resources/reference.conf"));
    assertTrue(conf.contains("port = 9464"), "monitor default port");
    List<Object> secrets = (List<Object>) services.get("alertmanager").get("secrets");
    assertTrue(am.contains("/run/secrets/" + secrets.get(0)), "Alertmanager reads the compose secret");
    // tools from the Debian packages, where installed
    if (TestTools.installed("promtool")) {
      DashboardQueriesTest.mustRun(List.of("promtool", "check", "config", "docker/prometheus.yml"));
    }
    if (TestTools.installed("amtool")) {
      DashboardQueriesTest.mustRun(List.of("amtool", "check-config", "docker/alertmanager.yml"));
      DashboardQueriesTest.mustRun(List.of("amtool", "check-config", "dashboards/alertmanager/alertmanager.yml"));
    }
    Set<String> provisioned = Files.readAllLines(Path.of("dashboards/grafana/provisioning/dashboards/splinewatch.yml"))
        .stream().filter(l -> l.contains("path:")).map(l -> l.substring(l.indexOf("path:") + 5).trim())
        .collect(Collectors.toSet());
    assertTrue(services.get("grafana").get("volumes").toString().contains(provisioned.iterator().next()),
        "Grafana mounts the dashboards where provisioning looks for them");
  }
}
