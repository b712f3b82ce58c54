package org.splinewatch.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.splinewatch.alerts.AlertSettings;

/** The control endpoint's answers: 401, 400, 404, 202 and 200, and that only an accepted stop stops a run. */
class AlertWebhookTest {
  private static final String TOKEN = "0123456789abcdef0123";

  static String payload(String status, String severity, String run) {
    return payload(status, severity, run, "std_collapse");
  }

  static String payload(String status, String severity, String run, String rule) {
    return """
        {"version":"4","groupKey":"{}:{run=\\"%s\\"}","status":"%s","receiver":"splinewatch-stop",
         "groupLabels":{"run":"%s"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
         "alerts":[{"status":"%s","labels":{"alertname":"SplinewatchInProcessAlert","severity":"%s","run":"%s",
           "rule":"%s"},"annotations":{"summary":"splinewatch rule %s firing (%s)"},
           "startsAt":"2026-11-24T12:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"abc"}]}
        """.formatted(run, status, run, status, severity, run, rule, rule, run);
  }

  @Test
  void answersEveryCase() {
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    List<Map<String, Object>> events = new ArrayList<>();
    control.register("r1", settings("stop", "std_collapse"), stops::add);
    AlertWebhook w = new AlertWebhook(TOKEN, control, events::add);
    String firing = payload("firing", "critical", "r1");
    assertEquals(401, w.handle(null, firing).status());
    assertEquals(401, w.handle("Bearer wrong-token-wrong-token", firing).status());
    assertEquals(401, w.handle(TOKEN, firing).status(), "the scheme is required");
    assertTrue(stops.isEmpty(), "nothing stopped without the token");
    String auth = "Bearer " + TOKEN;
    assertEquals(400, w.handle(auth, "{not json").status());
    assertEquals(400, w.handle(auth, "{\"version\":\"3\",\"alerts\":[]}").status());
    assertEquals(400, w.handle(auth, "[1,2]").status());
    assertEquals(404, w.handle(auth, payload("firing", "critical", "other")).status());
    assertEquals(200, w.handle(auth, payload("resolved", "critical", "r1")).status());
    assertEquals(200, w.handle(auth, payload("firing", "warning", "r1")).status());
    assertTrue(stops.isEmpty(), "resolved and warning alerts stop nothing");
    AlertWebhook.Response notStopOn = w.handle(auth, payload("firing", "critical", "r1", "dim_collapse"));
    assertEquals(200, notStopOn.status());
    assertTrue(notStopOn.message().contains("rule dim_collapse is not in the stop-on rules of run 'r1'"),
        notStopOn.message());
    assertEquals(200, w.handle(auth, payload("firing", "critical", "r1", "")).status());
    assertTrue(stops.isEmpty(), "a critical alert of a rule outside stop-on, or of no rule, stops nothing");
    AlertWebhook.Response ok = w.handle(auth, firing);
    assertEquals(202, ok.status(), ok.message());
    assertEquals(List.of("Alertmanager alert SplinewatchInProcessAlert: splinewatch rule std_collapse firing (r1)"),
        stops);
    assertEquals("webhook_stop", events.get(0).get("type"));
  }

  @Test
  void theAlertsOfOneCollapseStopTheRunOnceWithOneLine() {
    // Alertmanager sends each firing stop-on rule of the collapse, and resends them every repeat interval
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    List<Map<String, Object>> events = new ArrayList<>();
    control.register("r1", settings("alertmanager", "std_collapse", "dim_collapse"), stops::add);
    AlertWebhook w = new AlertWebhook(TOKEN, control, events::add);
    String auth = "Bearer " + TOKEN;
    String both = payload("firing", "critical", "r1", "std_collapse").replace("}]}", "},"
        + "{\"status\":\"firing\",\"labels\":{\"alertname\":\"SplinewatchInProcessAlert\",\"severity\":\"critical\","
        + "\"run\":\"r1\",\"rule\":\"dim_collapse\"},\"annotations\":{\"summary\":\"dim\"}}]}");
    AlertWebhook.Response first = w.handle(auth, both);
    assertEquals(202, first.status(), first.message());
    assertEquals("stopping r1", first.message());
    AlertWebhook.Response again = w.handle(auth, payload("firing", "critical", "r1", "dim_collapse"));
    assertEquals(202, again.status(), again.message());
    assertEquals(1, stops.size(), "asked to stop once: " + stops);
    assertEquals(1, events.size(), "one webhook_stop event (one console line): " + events);
    assertEquals("std_collapse", events.get(0).get("rule"));
  }

  /**
   * A payload naming a known run and a run this process does not have (finished, or never here) stops the known one:
   * it was refused whole with 404, so Alertmanager's one call for the group stopped nothing.
   */
  @Test
  void aStopIsNotLostToAnAlertOfAnUnknownRunInTheSamePayload() {
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    List<Map<String, Object>> events = new ArrayList<>();
    control.register("r1", settings("alertmanager", "std_collapse"), stops::add);
    control.register("w", settings("warn", "std_collapse"), stops::add);
    AlertWebhook w = new AlertWebhook(TOKEN, control, events::add);
    String auth = "Bearer " + TOKEN;
    AlertWebhook.Response mixed = w.handle(auth, payload("firing", "critical", "gone").replace("}]}", "},"
        + alert("r1", "std_collapse") + "," + alert("never", "std_collapse") + "," + alert("gone", "dim_collapse")
        + "]}"));
    // 2xx: Alertmanager retries 5xx, so a stop that succeeded is not asked again for the alerts of runs it cannot find
    assertEquals(202, mixed.status(), mixed.message());
    assertEquals("stopping r1; unknown runs 'gone', 'never' (this process runs [r1, w]), not stopped",
        mixed.message());
    assertEquals(1, stops.size(), "r1 asked to stop: " + stops);
    assertEquals("r1", events.get(0).get("run"));
    // a rule outside stop-on still stops nothing, and a payload with nothing stopped and an unknown run stays a 404
    AlertWebhook.Response refused = w.handle(auth, payload("firing", "critical", "gone").replace("}]}", "},"
        + alert("w", "std_collapse") + "]}"));
    assertEquals(404, refused.status(), refused.message());
    assertEquals("nothing stopped: SplinewatchInProcessAlert: run 'w' does not stop on alerts (early-stop is warn);"
        + " unknown run 'gone' (this process runs [r1, w]), not stopped", refused.message());
    AlertWebhook.Response unknown = w.handle(auth, payload("firing", "critical", "gone"));
    assertEquals(404, unknown.status(), unknown.message());
    assertEquals("unknown run 'gone' (this process runs [r1, w]), not stopped", unknown.message());
    assertEquals(1, stops.size(), "only r1 stopped: " + stops);
  }

  @Test
  void aStopIsNotLostToAnAlertWithoutARunLabelInTheSamePayload() {
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    control.register("r1", settings("alertmanager", "std_collapse"), stops::add);
    AlertWebhook w = new AlertWebhook(TOKEN, control, e -> { });
    String auth = "Bearer " + TOKEN;
    String unlabelled = "{\"status\":\"firing\",\"labels\":{\"alertname\":\"HandMade\",\"severity\":\"critical\"}}";
    AlertWebhook.Response mixed = w.handle(auth, "{\"version\":\"4\",\"alerts\":[" + unlabelled + ","
        + alert("r1", "std_collapse") + "]}");
    assertEquals(202, mixed.status(), mixed.message());
    assertEquals("stopping r1; firing alert HandMade has no run label, not stopped", mixed.message());
    assertEquals(1, stops.size(), "r1 asked to stop: " + stops);
    // with nothing to stop, a critical alert without a run label is still a malformed payload
    AlertWebhook.Response alone = w.handle(auth, "{\"version\":\"4\",\"alerts\":[" + unlabelled + "]}");
    assertEquals(400, alone.status(), alone.message());
    assertEquals("malformed payload: firing alert HandMade has no run label", alone.message());
  }

  /** One firing critical alert of {@code run} and {@code rule}, as an element of a payload's alerts array. */
  private static String alert(String run, String rule) {
    return "{\"status\":\"firing\",\"labels\":{\"alertname\":\"SplinewatchInProcessAlert\",\"severity\":"
        + "\"critical\",\"run\":\"" + run + "\",\"rule\":\"" + rule + "\"},\"annotations\":{\"summary\":\""
        + rule + "\"}}";
  }

  @Test
  void aRunThatOnlyWarnsIsNotStoppedByAnyRule() {
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    control.register("w", settings("warn", "std_collapse"), stops::add);
    AlertWebhook.Response r = new AlertWebhook(TOKEN, control, e -> { })
        .handle("Bearer " + TOKEN, payload("firing", "critical", "w"));
    assertEquals(200, r.status());
    assertTrue(r.message().contains("early-stop is warn"), r.message());
    assertTrue(stops.isEmpty());
  }

  @Test
  void aRunWhoseTrainingEndedRefusesAStopInsteadOfRecordingOne() {
    // registered until its analyses drain: a stop then would be recorded (webhook_stop) and change nothing
    RunControl control = new RunControl();
    List<String> stops = new ArrayList<>();
    List<Map<String, Object>> events = new ArrayList<>();
    String[] ended = {null};
    control.register("r", settings("stop", "std_collapse"), stops::add, () -> ended[0]);
    AlertWebhook w = new AlertWebhook(TOKEN, control, events::add);
    ended[0] = "finished training at step 200";
    AlertWebhook.Response r = w.handle("Bearer " + TOKEN, payload("firing", "critical", "r"));
    assertEquals(200, r.status());
    assertEquals("nothing stopped: SplinewatchInProcessAlert: run 'r' finished training at step 200; nothing to stop",
        r.message());
    assertTrue(stops.isEmpty() && events.isEmpty(), stops + " " + events);
  }

  static AlertSettings settings(String earlyStop, String... stopOn) {
    return AlertSettings.fromConfig(ConfigFactory.parseMap(Map.of("splinewatch.alerts.early-stop", earlyStop,
        "splinewatch.alerts.stop-on", List.of(stopOn))).withFallback(ConfigFactory.load()));
  }

  /**
   * The deployment token stops any run: its file is refused when others than its owner may read it, as the cluster's
   * key stores and password files are (it was read at any mode, e.g. rw-r--r-- from a redirect under umask 022).
   */
  @Test
  void aDeploymentTokenFileOpenToOthersIsRefused(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("control-token"), TOKEN + "\n");
    for (String mode : new String[] {"rw-r--r--", "rw-rw----", "rw-------"}) {
      java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
      if (mode.equals("rw-------")) {
        assertEquals(TOKEN, AlertWebhook.readTokenFile(file));
        continue;
      }
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AlertWebhook.readTokenFile(file));
      assertEquals("splinewatch.control.token-file '" + file + "' is open to others than its owner (mode " + mode
          + "), so they may read the deployment token, which stops any run; expected an owner-only file (rw-------):"
          + " chmod 600 " + file + " (the rule for a file owned by root when this runs as root; only a file owned by"
          + " root may also be readable by its group (rw-r-----), for a process of another user: on Kubernetes, a"
          + " secret volume's defaultMode: 0400, or 0440 with the pod's fsGroup for a pod not running as root)",
          e.getMessage());
    }
    // read-only for its owner is owner-only too
    java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString(
        "r--------"));
    assertEquals(TOKEN, AlertWebhook.readTokenFile(file));
  }

  @Test
  void tokensAreLongAndRandom() {
    String a = AlertWebhook.newToken();
    assertEquals(64, a.length());
    assertTrue(!a.equals(AlertWebhook.newToken()));
    assertThrows(IllegalArgumentException.class, () -> new AlertWebhook("short", new RunControl(), e -> { }));
  }
}
