package org.splinewatch.dashboards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.splinewatch.TestTools;
import org.splinewatch.metrics.MetricsHttpServer;
import org.yaml.snakeyaml.Yaml;

/**
 * The trainer's healthchecks (docker-compose.yml and the image's HEALTHCHECK) run as written against the real
 * metrics endpoint: the compose stack starts Prometheus, Alertmanager and Grafana only once the trainer is healthy,
 * so a check the endpoint refuses keeps the whole stack from coming up.
 */
class DockerHealthcheckTest {
  private static ActorSystem<Void> system;
  private static MetricsHttpServer http;

  @BeforeAll
  static void start() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Gauge.builder("splinewatch_training_step", () -> 1.0).tag("run", "r").register(registry);
    system = ActorSystem.create(Behaviors.empty(), "docker-healthcheck");
    http = MetricsHttpServer.start(system, registry, "127.0.0.1", 0, null,
        MetricsHttpServer.AllowedHosts.of(List.of(), "trainer", "0.0.0.0"));
  }

  @AfterAll
  static void stop() {
    http.stop();
    system.terminate();
  }

  /** Runs {@code bash -c script} with the trainer's port 9464 replaced by the test server's; its exit code. */
  private static int run(String script) throws Exception {
    assertTrue(script.contains("/9464"), "the check reaches the metrics port: " + script);
    Process p = new ProcessBuilder("bash", "-c", script.replace("/9464", "/" + http.port()))
        .redirectErrorStream(true).start();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeHealthcheckPassesAgainstTheMetricsEndpoint() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(TestTools.installed("bash"), "bash");
    Map<String, Object> c = new Yaml().load(Files.readString(Path.of("docker/docker-compose.yml")));
    Map<String, Object> trainer = ((Map<String, Map<String, Object>>) c.get("services")).get("trainer");
    List<String> test = (List<String>) ((Map<String, Object>) trainer.get("healthcheck")).get("test");
    assertEquals(List.of("CMD", "bash", "-c"), test.subList(0, 3));
    assertEquals(0, run(test.get(3)), "the compose healthcheck of the trainer passes: " + test.get(3));
  }

  @Test
  @SuppressWarnings("unchecked")
  void composeGivesTheTrainerItsSignalGraceBeforeKillingIt() throws Exception {
    Map<String, Object> c = new Yaml().load(Files.readString(Path.of("docker/docker-compose.yml")));
    Map<String, Object> trainer = ((Map<String, Map<String, Object>>) c.get("services")).get("trainer");
    // docker's default is 10 s, then SIGKILL: it would kill a run still writing its checkpoint, run_finished, report
    Object period = trainer.get("stop_grace_period");
    assertTrue(period instanceof String s && s.matches("[0-9]+s"), "stop_grace_period in whole seconds: " + period);
    java.time.Duration grace = java.time.Duration.ofSeconds(Long.parseLong(((String) period).replace("s", "")));
    java.time.Duration signalGrace = com.typesafe.config.ConfigFactory.load()
        .getDuration("splinewatch.lifecycle.signal-grace");
    assertTrue(grace.compareTo(signalGrace.plusSeconds(5)) >= 0, "stop_grace_period " + period
        + " leaves the run less than its signal-grace " + signalGrace + " and 5 s for the JVM to end");
  }

  @Test
  void imageHealthcheckPassesAgainstTheMetricsEndpoint() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(TestTools.installed("bash"), "bash");
    List<String> lines = Files.readAllLines(Path.of("docker/Dockerfile"), StandardCharsets.UTF_8);
    StringBuilder instr = new StringBuilder();
    boolean in = false;
    for (String l : lines) {
      if (l.startsWith("HEALTHCHECK")) {
        in = true;
      }
      if (in) {
        boolean more = l.endsWith("\\");
        instr.append(more ? l.substring(0, l.length() - 1) : l);
        if (!more) {
          break;
        }
      }
    }
    String json = instr.substring(instr.indexOf(" CMD ") + 5).trim();
    List<String> cmd = new ArrayList<>();
    new ObjectMapper().readTree(json).forEach(n -> cmd.add(n.asText()));
    assertEquals(List.of("bash", "-c"), cmd.subList(0, 2));
    assertEquals(0, run(cmd.get(2)), "the image's HEALTHCHECK passes: " + cmd.get(2));
  }
}
