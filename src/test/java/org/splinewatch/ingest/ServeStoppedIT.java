package org.splinewatch.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * {@code ./monitor serve} stopped with SIGTERM while runs stream to it over HTTP: its own shutdown hook finishes them,
 * leaves the cluster and terminates the node. Pekko's Artery has a JVM hook of its own, which waited for that only as
 * long as CoordinatedShutdown's phase timeouts add up to (35 s; at least 3 s), then stopped the transport under it:
 * "CoordinatedShutdown took longer than [35000 milliseconds]. Shutting down [...] via shutdownHook", and on a machine
 * at a load average of 15-33 a {@code TimeoutException} stack trace 23 s later. Here the phase timeouts are shrunk, so
 * that the 3 s floor stands for the 35 s, and finishing runs whose analyses are under way outlasts it.
 */
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServeStoppedIT {
  @TempDir
  Path tmp;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    started.forEach(Process::destroyForcibly);
  }

  private static HttpResponse<String> post(int port, String path, byte[] body, Path out) throws Exception {
    String token = Files.readString(out.resolve("control-token")).strip();
    return ServedMonitor.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Authorization", "Bearer " + token).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  @Test
  void sigtermWhileRunsStreamFinishesThemWithoutArterysHookOrAStackTrace() throws Exception {
    Path out = tmp.resolve("runs");
    Path log = tmp.resolve("serve.log");
    int port = TestTools.freePort();
    // a slow analysis in progress at the signal, which the runs' end waits for (abort-drain-timeout): the hook then
    // takes seconds, as finishing runs does on a loaded machine
    Path config = Files.writeString(tmp.resolve("serve.conf"), "splinewatch.analysis.enabled = [regions]\n"
        + "splinewatch-analysis-dispatcher.executor = thread-pool-executor\n"
        + "splinewatch.regions.grid = 400\n"
        + "splinewatch.lifecycle { abort-drain-timeout = 20s, signal-grace = 30s }\n");
    List<String> cmd = TestTools.mainCommand("-Xmx512m", "monitor", "serve", "--port", "0", "--metrics-port",
        String.valueOf(port), "--out", out.toString(), "--config", config.toString());
    // every phase that has tasks at 100 ms: Artery's hook would wait its floor of 3 s
    cmd.addAll(1, List.of("-Dpekko.coordinated-shutdown.default-phase-timeout=100ms",
        "-Dpekko.coordinated-shutdown.phases.cluster-exiting.timeout=100ms",
        "-Dpekko.coordinated-shutdown.phases.actor-system-terminate.timeout=100ms"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(p);
    for (int i = 0; i < 1200 && !Files.readString(log).contains("trainers join with"); i++) {
      assertTrue(p.isAlive(), "the monitor exited early: " + Files.readString(log));
      Thread.sleep(100);
    }
    int runs = 2;
    for (int r = 0; r < runs; r++) {
      String id = "s" + r;
      HttpResponse<String> reg = post(port, "/api/v1/runs", TestNpz.run(id, 64, 28, 4, ""), out);
      assertEquals(201, reg.statusCode(), reg.body());
      for (long step : new long[] {0, 10}) {
        assertEquals(202, post(port, "/api/v1/runs/" + id + "/snapshots", TestNpz.snapshot(TestNpz.cnn(step + r, 28,
            4), step, 1.0, -1).bytes(), out).statusCode());
      }
    }
    Thread.sleep(2000); // the first analyses under way
    p.destroy(); // SIGTERM
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), Files.readString(log));
    String printed = Files.readString(log);
    assertTrue(printed.contains("finished " + runs + " run(s) streamed over HTTP as interrupted"), printed);
    assertFalse(printed.contains("via shutdownHook"), "Artery's hook stopped the transport first: " + printed);
    assertFalse(printed.contains("Exception"), printed);
    assertTrue(printed.contains("peak memory"), "the hook ran to its end: " + printed);
  }
}
