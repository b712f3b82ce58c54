package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;

/** What {@code monitor serve} prints when its HTTP endpoint listens on every interface. */
class MonitorServerConsoleTest {
  @TempDir
  Path tmp;

  /** A monitor's settings on a free cluster port, with a control token. */
  private static Config serveConfig() {
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", "0123456789abcdef0123456789abcdef");
    return TrainCommand.load(o, null);
  }

  @Test
  void aServerOnAllInterfacesPrintsAddressesABrowserCanOpen() throws Exception {
    Config c = serveConfig();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "0.0.0.0", 0, tmp,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      int port = server.metricsPort();
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertFalse(text.contains("http://0.0.0.0"), text);
      assertTrue(text.contains("  metrics: http://127.0.0.1:" + port + "/metrics (live page: http://127.0.0.1:" + port
          + "/)\n  listening on all interfaces (0.0.0.0:" + port + "); 127.0.0.1 is for this machine"), text);
      assertTrue(text.contains("  control: POST http://127.0.0.1:" + port + "/api/v1/alerts"), text);
      assertTrue(text.contains("  ingestion: POST http://127.0.0.1:" + port + "/api/v1/runs"), text);
      // the printed address answers
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      // HEAD, as uptime checks and load balancers probe: the GET's status, no body
      for (String path : new String[] {"/metrics", "/"}) {
        HttpResponse<String> head = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + path)).method("HEAD", HttpRequest.BodyPublishers.noBody())
            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, head.statusCode(), path);
        assertEquals("", head.body(), path);
      }
    }
  }

  @Test
  void aStopThroughTheControlEndpointNamesTheRunItStops() throws Exception {
    // a monitor serves many runs: its console line used to name only the alert ("...: SplinewatchInProcessAlert")
    String token = "0123456789abcdef0123456789abcdef";
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", token);
    Config c = TrainCommand.load(o, null);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      java.util.List<String> stops = new java.util.concurrent.CopyOnWriteArrayList<>();
      server.runControl().register("r7", org.splinewatch.alerts.AlertSettings.fromConfig(
          com.typesafe.config.ConfigFactory.parseMap(Map.of("splinewatch.alerts.early-stop", "alertmanager"))
              .withFallback(c)), stops::add);
      String payload = """
          {"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"SplinewatchInProcessAlert",
           "severity":"critical","run":"r7","rule":"std_collapse"},"annotations":{"summary":"rule std_collapse firing"}}]}
          """;
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + server.metricsPort() + "/api/v1/alerts"))
          .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(payload)).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(202, r.statusCode(), r.body());
      assertEquals(1, stops.size(), stops.toString());
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("stop requested through the control endpoint: run 'r7': SplinewatchInProcessAlert"
          + " rule std_collapse firing\n"), text);
    }
  }

  @Test
  void aSecondMetricsNodeOnTheSameOutIsRefusedAndTheFirstKeepsItsToken() throws Exception {
    Path out = tmp.resolve("runs");
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    Config c = TrainCommand.load(o, null); // a random token per node, written to <out>/control-token
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    try (MonitorServer first = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet)) {
      String token = Files.readString(out.resolve("control-token"));
      var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet));
      assertEquals("--out " + out + " is in use by another ./monitor serve (it holds " + out.resolve(".monitor-lock")
          + "); expected a --out of its own for each monitor, or stop the other one first", e.getMessage());
      assertEquals(token, Files.readString(out.resolve("control-token")), "the running node's token was replaced");
      // the first node still answers its own token
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + first.metricsPort() + "/api/v1/alerts"))
          .header("Authorization", "Bearer " + token.strip()).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"alerts\":[]}")).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertTrue(r.statusCode() != 401, r.statusCode() + " " + r.body());
    }
    // once the first has stopped, the directory is free again
    try (MonitorServer again = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet)) {
      assertTrue(again.metricsPort() > 0);
    }
  }

  @Test
  void aDeploymentTokenFileIsNamedAndNotCopiedUnderOut() throws Exception {
    Path tokenFile = org.splinewatch.TestTools.ownerOnlyFile(tmp.resolve("deployment-token"),
        "0123456789abcdef0123456789abcdef\n");
    Path out = tmp.resolve("runs");
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token-file", tokenFile.toString());
    Config c = TrainCommand.load(o, null);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("/api/v1/alerts (bearer token in " + tokenFile + ")"), text);
      assertFalse(Files.exists(out.resolve("control-token")), "the deployment's token was copied under --out");
    }
  }

  @Test
  void aServerWithTlsTellsTrainersToJoinWithACertificateOfItsCa() throws Exception {
    Path certs = tmp.resolve("certs");
    assertEquals(0, org.splinewatch.cli.Main.execute("monitor", "certs", certs.toString(), "--nodes", "monitor"));
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", 0);
    o.put("splinewatch.control.token", "0123456789abcdef0123456789abcdef");
    o.put("splinewatch.cluster.tls.enabled", true);
    o.put("splinewatch.cluster.tls.key-store", certs.resolve("monitor.p12").toString());
    o.put("splinewatch.cluster.tls.trust-store", certs.resolve("truststore.p12").toString());
    o.put("splinewatch.cluster.tls.password-file", certs.resolve("password").toString());
    Config c = TrainCommand.load(o, null);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0,
        tmp.resolve("runs"), new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      String text = bytes.toString(StandardCharsets.UTF_8);
      String address = org.splinewatch.cluster.ClusterNode.address(server.system());
      // the trainer needs the cluster's TLS too: the bare --monitor line would never get in
      assertTrue(text.contains("  trainers join with: ./trainer --monitor " + address + " --tls-dir " + certs
          + " --tls-name NAME   (NAME.p12 a certificate of this cluster's CA; Ctrl-C leaves the cluster and stops)"),
          text);
    }
  }

  /**
   * An OutOfMemoryError in one of the node's own background threads (its memory watch's, ...) is the trainer's one
   * line, as a warning on the console; the node goes on. It used to print "Exception in thread" and a stack trace.
   */
  @Test
  void anOutOfMemoryErrorInABackgroundThreadIsOneWarningLineWithoutAStackTrace() throws Exception {
    Config c = serveConfig();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stderr = System.err;
    Thread.UncaughtExceptionHandler outer = Thread.getDefaultUncaughtExceptionHandler();
    try (MonitorServer server = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, tmp,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      Thread t = new Thread(() -> {
        throw new OutOfMemoryError("Java heap space");
      }, "splinewatch-memory");
      t.start();
      t.join();
      String text = bytes.toString(StandardCharsets.UTF_8);
      java.util.List<String> warned = text.lines().filter(l -> l.startsWith("warning: ")).toList();
      assertEquals(1, warned.size(), text);
      assertTrue(warned.get(0).startsWith("warning: the splinewatch-memory thread ran out of memory (Java heap space)"
          + " with the Java heap's maximum of ") && warned.get(0).contains("; expected a larger heap (")
          && warned.get(0).endsWith(") or fewer runs streaming to this node at once, or fewer --analysis-threads"
          + " (docs/memory.md)"), warned.get(0));
      assertTrue(server.metricsPort() > 0, "the node goes on");
    } finally {
      System.setErr(stderr);
    }
    assertEquals("", err.toString(StandardCharsets.UTF_8), "no stack trace");
    assertEquals(outer, Thread.getDefaultUncaughtExceptionHandler(), "closed: the handler before is back");
  }

  /**
   * A monitor restarted on the same --out and cluster port while the previous one stops (writing its runs' ends: 58-66
   * s on a busy machine) waits for it, saying so in one line, and then starts on that port. It failed at once: "cluster
   * port ... is in use" (or, on another port, "--out ... is in use by another ./monitor serve"). The previous one's
   * stop is held here in its last phase, its cluster port still bound, until the restart says that it waits.
   */
  @Test
  void aMonitorRestartedWhileThePreviousOneStopsWaitsForItAndStartsOnItsPort() throws Exception {
    Path out = tmp.resolve("runs");
    HeldStop held = stopHeld(out, "waiting for the previous");
    Config c = held.config();
    int clusterPort = held.clusterPort();
    try (MonitorServer restarted = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        held.console())) {
      String text = held.said();
      assertTrue(text.startsWith("waiting for the previous ./monitor serve on " + out + " (pid "
          + ProcessHandle.current().pid() + ") to finish stopping: it writes the end of its runs and frees its ports"
          + " (up to "), text);
      assertTrue(text.contains("splinewatch monitor: cluster node 127.0.0.1:" + clusterPort + " "), text);
      assertFalse(Files.exists(out.resolve(OutLock.STOPPING_FILE)));
    } finally {
      held.stop().join(60_000);
    }
  }

  /**
   * A monitor started on another --out and the same cluster port while a monitor stops there waits for it, saying so
   * in one line, and then starts on that port: it failed at once with "cluster port ... is in use" (the stopping
   * monitor's .monitor-stopping is in its own --out, which the new one does not know). As above, the stop is held in
   * its last phase, its cluster port still bound, until the new monitor says that it waits.
   */
  @Test
  void aMonitorOnAnotherOutWaitsForAStoppingMonitorOnItsClusterPort() throws Exception {
    Path first = tmp.resolve("first");
    Path second = tmp.resolve("second");
    // its record by port is written just before .monitor-stopping
    HeldStop held = stopHeld(first, "waiting for the ./monitor serve stopping");
    Config c = held.config();
    int clusterPort = held.clusterPort();
    try (MonitorServer started = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, second,
        held.console())) {
      String text = held.said();
      assertTrue(text.startsWith("waiting for the ./monitor serve stopping on cluster port " + clusterPort + " (pid "
          + ProcessHandle.current().pid() + ", --out " + first.toAbsolutePath() + ") to free it: it writes the end of"
          + " its runs (up to "), text);
      assertTrue(text.contains("splinewatch monitor: cluster node 127.0.0.1:" + clusterPort + " "), text);
    } finally {
      held.stop().join(60_000);
    }
  }

  /**
   * A monitor started on another --out whose metrics port a stopping monitor still holds waits for it as for its
   * cluster port (the same wait, both ports asked for): it failed with "metrics port ... is in use". Here the stopping
   * monitor is its record and a bound socket, closed once the new monitor says that it waits.
   */
  @Test
  void aMonitorOnAnotherOutWaitsForAStoppingMonitorOnItsMetricsPort() throws Exception {
    Path first = tmp.resolve("first");
    Config c = serveConfig();
    try (java.net.ServerSocket held = new java.net.ServerSocket()) {
      held.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      int metricsPort = held.getLocalPort();
      try (StoppingMonitors.Record r = StoppingMonitors.forUser().record(0, metricsPort, first)) {
        r.stopping(Duration.ofMinutes(1));
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(text, true, StandardCharsets.UTF_8) {
          @Override
          public void println(String line) {
            super.println(line);
            if (line.startsWith("waiting for the ./monitor serve stopping")) {
              try {
                held.close(); // the stopping monitor has stopped
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            }
          }
        };
        try (MonitorServer started = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", metricsPort,
            tmp.resolve("second"), console)) {
          String said = text.toString(StandardCharsets.UTF_8);
          assertTrue(said.startsWith("waiting for the ./monitor serve stopping on metrics port " + metricsPort
              + " (pid " + ProcessHandle.current().pid() + ", --out " + first.toAbsolutePath() + ") to free it: it"
              + " writes the end of its runs (up to "), said);
          assertTrue(said.contains("  metrics: http://127.0.0.1:" + metricsPort + "/metrics"), said);
        }
      }
    }
  }

  /**
   * A monitor of the tests records its stop in the directory the tests are given ($SPLINEWATCH_STOPPING_DIR, under
   * target/), not in the user's own one, where the user's running monitors would wait for it (and it for them).
   */
  @Test
  void aStoppingMonitorIsRecordedInTheDirectoryTheVariableNames() throws Exception {
    String value = System.getenv(StoppingMonitors.DIR_VARIABLE);
    assertTrue(value != null, StoppingMonitors.DIR_VARIABLE + " unset; expected pom.xml to set it for the tests");
    Path given = Path.of(value);
    Path own = StoppingMonitors.forUser(null).directory();
    HeldStop held = stopHeld(tmp.resolve("runs"), "released");
    String record = ProcessHandle.current().pid() + "-" + held.clusterPort() + "-";
    try {
      assertTrue(recordsIn(given).stream().anyMatch(f -> f.startsWith(record)), record + " in " + given);
      assertTrue(recordsIn(own).stream().noneMatch(f -> f.startsWith(record)), record + " in " + own);
    } finally {
      held.console().println("released");
      held.stop().join(60_000);
    }
    assertTrue(recordsIn(given).stream().noneMatch(f -> f.startsWith(record)), "removed once stopped");
  }

  private static List<String> recordsIn(Path dir) throws java.io.IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (var files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).toList();
    }
  }

  /**
   * A monitor's stop on a thread of its own, held in its last phase (its cluster port still bound), and the console
   * for the monitor started meanwhile: what it said, and a line of it that lets the stop go on.
   */
  private record HeldStop(Config config, int clusterPort, Thread stop, PrintStream console,
      ByteArrayOutputStream text) {
    String said() {
      return text.toString(StandardCharsets.UTF_8);
    }
  }

  /**
   * Starts a monitor on {@code out} and a free cluster port, and stops it on a thread of its own, its stop held in
   * its last phase, the cluster port still bound, until the returned console prints a line starting with {@code
   * release} (8 s at most); returns once its {@code .monitor-stopping} is written.
   */
  private static HeldStop stopHeld(Path out, String release) throws Exception {
    java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
    int clusterPort;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      clusterPort = free.getLocalPort();
    }
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.port", clusterPort);
    o.put("splinewatch.control.token", "0123456789abcdef0123456789abcdef");
    Config c = TrainCommand.load(o, null);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    MonitorServer previous = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet);
    org.apache.pekko.actor.CoordinatedShutdown.get(previous.system()).addTask(
        org.apache.pekko.actor.CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "hold-the-stop",
        () -> java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            released.await(8, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return org.apache.pekko.Done.getInstance();
        }));
    Thread stop = new Thread(previous::close, "previous-monitor-stop");
    stop.start();
    long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!Files.exists(out.resolve(OutLock.STOPPING_FILE)) && System.nanoTime() < until) {
      Thread.sleep(5);
    }
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    PrintStream console = new PrintStream(text, true, StandardCharsets.UTF_8) {
      @Override
      public void println(String line) {
        super.println(line);
        if (line.startsWith(release)) {
          released.countDown();
        }
      }
    };
    return new HeldStop(c, clusterPort, stop, console, text);
  }

  /**
   * A port held by a monitor recorded as stopping whose stop should have ended long ago: one line naming it, not a
   * wait (here a real bound socket and a record with its end in the past).
   */
  @Test
  void aPortStillHeldByAMonitorPastItsStopIsNamedInTheError() throws Exception {
    StoppingMonitors stopping = new StoppingMonitors(tmp.resolve("user").resolve("stopping"));
    try (java.net.ServerSocket held = new java.net.ServerSocket()) {
      held.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      int port = held.getLocalPort();
      try (StoppingMonitors.Record r = stopping.record(port, 0, tmp.resolve("other"))) {
        r.stopping(OutLock.STOPPING_SLACK.negated().minusSeconds(1));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> stopping.awaitPorts(List.of(new StoppingMonitors.Port("cluster port", "127.0.0.1", port)),
                line -> { }));
        long pid = ProcessHandle.current().pid();
        assertEquals("cluster port " + port + " on 127.0.0.1 is still held by a ./monitor serve (pid " + pid
            + ", --out " + tmp.resolve("other").toAbsolutePath() + ") that is still stopping 15 s after its stop should"
            + " have ended; expected it to exit first: start again once it has (or end it with kill -KILL " + pid
            + "), or choose another port", e.getMessage());
      }
      // without a record, a port in use is left to the bind's own error, at once
      List<String> said = new java.util.ArrayList<>();
      stopping.awaitPorts(List.of(new StoppingMonitors.Port("cluster port", "127.0.0.1", port)), said::add);
      assertEquals(List.of(), said);
    }
  }

  /**
   * A restart that reads the stopping monitor's file while it is written must find it whole: written in place, an
   * empty or half-written file read as "no monitor stopping", and the restart failed as if --out were held for good
   * (seen once in CI). Here the holder rewrites it while another lock waits on it; every look must be a wait.
   */
  @Test
  void aRestartNeverReadsTheStoppingFileHalfWritten() throws Exception {
    Path out = tmp.resolve("runs");
    try (OutLock held = OutLock.acquire(out)) {
      held.stopping(Duration.ofMinutes(1));
      java.util.concurrent.atomic.AtomicBoolean writing = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread writer = new Thread(() -> {
        while (writing.get()) {
          held.stopping(Duration.ofMinutes(1));
        }
      }, "stopping-writer");
      writer.start();
      try {
        for (int look = 0; look < 2000; look++) {
          assertTrue(OutLock.stoppingHolder(out) != null, "look " + look + ": the stopping file read as absent");
        }
      } finally {
        writing.set(false);
        writer.join(10_000);
      }
    }
  }

  /** A stopping monitor that has not let go of --out long after its stop should have ended: one line that says so. */
  @Test
  void aPreviousMonitorStillStoppingPastItsTimeIsNamedInTheError() throws Exception {
    Path out = tmp.resolve("runs");
    try (OutLock held = OutLock.acquire(out)) {
      held.stopping(OutLock.STOPPING_SLACK.negated().minusSeconds(1)); // its stop should have ended a second ago
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> OutLock.acquire(out, line -> { }));
      long pid = ProcessHandle.current().pid();
      assertEquals("--out " + out + " is still held by the previous ./monitor serve (pid " + pid + "), which is still"
          + " stopping 15 s after its stop should have ended; expected it to exit first: start again once it has (or"
          + " end it with kill -KILL " + pid + ")", e.getMessage());
    }
  }
}
