package org.splinewatch.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.splinewatch.settings.OwnerOnlyFiles;
import org.splinewatch.snapshot.IoErrors;

/**
 * The control endpoint {@code POST /api/v1/alerts}: accepts Alertmanager webhook payloads (version 4) and stops the
 * named run when a firing alert with {@code severity="critical"} arrives whose {@code rule} label is one the run
 * stops on ({@link RunControl#refusal}: its {@code stop-on}, unless {@code early-stop = warn}). Requires
 * {@code Authorization: Bearer <token>}. Answers 401 (no or wrong token), 400 (malformed payload), 202 (a stop
 * accepted; the answer also names the payload's runs this process does not have and its critical alerts without a
 * run label), 404 (nothing stopped and an alert names a run this process does not have), 200 (valid payload,
 * nothing to stop: resolved or non-critical alerts, or rules the run does not stop on, named in the answer). Nothing
 * else can stop a run remotely.
 */
public final class AlertWebhook {
  /** An HTTP answer. */
  public record Response(int status, String message) {
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private final byte[] token;
  private final RunControl control;
  private final Consumer<Map<String, Object>> onStop;
  /** The fewest characters a control token may have (inline, in a token file, or kept by a restarted monitor). */
  public static final int MIN_TOKEN_LENGTH = 16;

  /**
   * @param onStop receives an event (alert name, run, summary) for each accepted stop, e.g. for events.jsonl
   */
  public AlertWebhook(String token, RunControl control, Consumer<Map<String, Object>> onStop) {
    if (token == null || token.length() < MIN_TOKEN_LENGTH) {
      throw new IllegalArgumentException("the control token must have at least 16 characters");
    }
    this.token = token.getBytes(StandardCharsets.UTF_8);
    this.control = control;
    this.onStop = onStop;
  }

  /**
   * The token in a file (surrounding white space ignored); a missing file, a short token or a file that others than
   * its owner may read ({@link OwnerOnlyFiles}, as the cluster's key stores) is a one-line error.
   */
  public static String readTokenFile(Path file) {
    OwnerOnlyFiles.refuseOpenToOthers("splinewatch.control.token-file", file, "the deployment token, which stops any"
        + " run", "");
    String token;
    try {
      token = Files.readString(file).trim();
    } catch (IOException e) {
      throw new IllegalArgumentException("splinewatch.control.token-file: cannot read " + file + " (" + IoErrors.reason(e)
          + "); expected a file holding the deployment token");
    }
    if (token.length() < MIN_TOKEN_LENGTH) {
      throw new IllegalArgumentException("splinewatch.control.token-file: " + file + " holds " + token.length()
          + " characters; expected a token of at least 16 (e.g. openssl rand -hex 32)");
    }
    return token;
  }

  /** A fresh random token (256 bits, hex). */
  public static String newToken() {
    byte[] b = new byte[32];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Whether an {@code Authorization} header carries the token (checked before the body is read). */
  public boolean authorized(String authorization) {
    return authorization != null && authorization.startsWith("Bearer ")
        && MessageDigest.isEqual(token, authorization.substring(7).trim().getBytes(StandardCharsets.UTF_8));
  }

  public Response handle(String authorization, String body) {
    if (!authorized(authorization)) {
      return new Response(401, "missing or wrong bearer token");
    }
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (Exception e) {
      return new Response(400, "malformed payload: not JSON; expected an Alertmanager webhook payload (version 4)");
    }
    if (root == null || !root.isObject() || !"4".equals(root.path("version").asText())
        || !root.path("alerts").isArray()) {
      return new Response(400, "malformed payload: expected an Alertmanager webhook object with version \"4\" and an"
          + " alerts array");
    }
    List<JsonNode> stops = new ArrayList<>();
    // firing critical alerts without a run label: named in the answer, and they no longer refuse the payload whole
    // (which lost the stops of the labelled alerts in it)
    Set<String> unlabelled = new TreeSet<>();
    for (JsonNode a : root.get("alerts")) {
      if (!a.isObject() || !a.path("labels").isObject()) {
        return new Response(400, "malformed payload: each alert needs a labels object");
      }
      if ("firing".equals(a.path("status").asText()) && "critical".equals(a.path("labels").path("severity").asText())) {
        if (!a.path("labels").hasNonNull("run")) {
          unlabelled.add(a.path("labels").path("alertname").asText("alert"));
        } else {
          stops.add(a);
        }
      }
    }
    String noRunLabel = "firing alert" + (unlabelled.size() > 1 ? "s " : " ") + String.join(", ", unlabelled)
        + (unlabelled.size() > 1 ? " have" : " has") + " no run label";
    if (stops.isEmpty()) {
      return unlabelled.isEmpty() ? new Response(200, "no firing critical alert; nothing stopped")
          : new Response(400, "malformed payload: " + noRunLabel);
    }
    List<String> stopped = new ArrayList<>();
    List<String> refused = new ArrayList<>();
    // runs this process does not have (finished, or never here) are named in the answer; they no longer refuse the
    // payload whole, which lost the stops of the known runs in it
    Set<String> unknown = new TreeSet<>();
    for (JsonNode a : stops) {
      String run = a.path("labels").path("run").asText();
      if (!control.isLive(run)) {
        unknown.add(run);
        continue;
      }
      String name = a.path("labels").path("alertname").asText("alert");
      String rule = a.path("labels").path("rule").asText("");
      // only a rule the run itself stops on (its stop-on, unless early-stop = warn) stops it from here
      String refusal = control.refusal(run, rule);
      if (refusal != null) {
        refused.add(name + ": " + refusal);
        continue;
      }
      String summary = a.path("annotations").path("summary").asText("");
      String reason = "Alertmanager alert " + name + (summary.isEmpty() ? "" : ": " + summary);
      RunControl.Stop result = control.stop(run, rule, reason);
      if (result == RunControl.Stop.UNKNOWN_RUN) {
        unknown.add(run); // unregistered since the check above
      } else if (result == RunControl.Stop.ALREADY_STOPPING && !stopped.contains(run)) {
        stopped.add(run); // one console line and one event per stop, not one per alert of the collapse
      } else if (result == RunControl.Stop.STOPPING) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", "webhook_stop");
        event.put("run", run);
        event.put("alertname", name);
        event.put("rule", rule);
        event.put("summary", summary);
        event.put("time", System.currentTimeMillis());
        onStop.accept(event);
        stopped.add(run);
      }
    }
    List<String> parts = new ArrayList<>();
    if (!stopped.isEmpty()) {
      parts.add("stopping " + String.join(", ", stopped));
    } else if (!refused.isEmpty()) {
      parts.add("nothing stopped: " + String.join("; ", refused));
    }
    if (!unlabelled.isEmpty()) {
      parts.add(noRunLabel + ", not stopped");
    }
    if (!unknown.isEmpty()) {
      parts.add("unknown run" + (unknown.size() > 1 ? "s '" : " '") + String.join("', '", unknown)
          + "' (this process runs " + control.runIds() + "), not stopped");
    }
    // Alertmanager's webhook notifier takes any 2xx as delivered, retries a 5xx (the whole group again), and logs
    // another 4xx as a failed notification without retrying it. So a stop that was made is answered 202 even when
    // other alerts named unknown runs (a 5xx would resend them all, and an unknown run does not come back); the
    // unknown runs are 404 only when nothing was stopped, so the failure shows in Alertmanager's log and
    // alertmanager_notifications_failed_total.
    int status = !stopped.isEmpty() ? 202 : !unlabelled.isEmpty() ? 400 : !unknown.isEmpty() ? 404 : 200;
    return new Response(status, String.join("; ", parts));
  }
}
