package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.cli.MonitorCommand;
import org.splinewatch.serve.MonitorServer;
import picocli.CommandLine;

/**
 * Mutual TLS on loopback: certificates from {@code monitor certs}; a trainer with a certificate of the cluster's CA
 * joins and its run reaches {@code /metrics}; a node with a certificate of another CA, one with no key, and one
 * speaking plain TCP never become members, and the monitor logs the refused handshakes. A trainer or {@code monitor
 * serve} process whose TLS setting differs from its seed's (TLS on one side only) fails in seconds with one line that
 * names the mismatch, not after the 30 s join timeout.
 */
@ExtendWith(LogCapturingExtension.class)
class ClusterTlsIT {
  @TempDir
  Path tmp;

  private static Map<String, Object> tls(Path dir, String keyStore) {
    Map<String, Object> o = new HashMap<>();
    o.put("splinewatch.cluster.tls.enabled", true);
    o.put("splinewatch.cluster.tls.key-store", dir.resolve(keyStore).toString());
    o.put("splinewatch.cluster.tls.trust-store", dir.resolve("truststore.p12").toString());
    o.put("splinewatch.cluster.tls.password-file", dir.resolve("password").toString());
    return o;
  }

  /** A trust store holding {@code caCert}, under the password of the certificates in {@code dir}. */
  private static Path trusting(Path caCert, Path dir) throws Exception {
    char[] password = java.nio.file.Files.readAllLines(dir.resolve("password")).get(0).strip().toCharArray();
    java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
    store.load(null, password);
    try (var in = java.nio.file.Files.newInputStream(caCert)) {
      store.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(in));
    }
    Path file = dir.resolve("trusts-cluster-ca.p12");
    try (var out = java.nio.file.Files.newOutputStream(file)) {
      store.store(out, password);
    }
    return file;
  }

  @Test
  void onlyNodesWithACertificateOfTheClustersCaJoin() throws Exception {
    Path ca = tmp.resolve("ca");
    Path other = tmp.resolve("other-ca");
    assertEquals(0, new CommandLine(new MonitorCommand()).execute("certs", ca.toString(), "--nodes", "node"));
    assertEquals(0, new CommandLine(new MonitorCommand()).execute("certs", other.toString(), "--nodes", "node"));
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Map<String, Object> monitorOptions = tls(ca, "node.p12");
    monitorOptions.put("splinewatch.cluster.roles", List.of("metrics", "analyzer"));
    monitorOptions.put("splinewatch.cluster.seed", "");
    Config mc = ClusterRunIT.nodeConfig(monitorOptions);
    List<ActorSystem<?>> refused = new ArrayList<>();
    try (MonitorServer monitor = MonitorServer.start(mc, ClusterSettings.fromConfig(mc), "127.0.0.1", 0,
        tmp.resolve("monitor-runs"), quiet)) {
      String seed = ClusterNode.address(monitor.system());
      // three nodes that must stay out: a certificate of another CA (trusting the cluster's CA, whose certificate
      // is no secret), no key of their own, plain TCP
      Map<String, Object> wrongCa = tls(other, "node.p12");
      wrongCa.put("splinewatch.cluster.tls.trust-store", trusting(ca.resolve("ca.crt"), other).toString());
      Map<String, Object> noKey = tls(ca, "truststore.p12");
      Map<String, Object> plain = new HashMap<>();
      for (Map<String, Object> o : List.of(wrongCa, noKey, plain)) {
        o.put("splinewatch.cluster.seed", seed);
        Config c = ClusterRunIT.nodeConfig(o);
        refused.add(ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of("trainer"), c));
      }

      ClusterRunIT.remoteRunSucceeds(tmp, "secure", seed, tls(ca, "node.p12"));
      String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + monitor.metricsPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(body.matches("(?s).*splinewatch_embedding_uniformity\\{[^}]*run=\"secure\".*"), body);

      for (ActorSystem<?> r : refused) {
        assertTrue(Cluster.get(r).selfMember().status() != MemberStatus.up(), "a refused node became a member");
      }
      long members = Cluster.get(monitor.system()).state().getMembers().spliterator().getExactSizeIfKnown();
      assertTrue(java.util.stream.StreamSupport.stream(Cluster.get(monitor.system()).state().getMembers()
          .spliterator(), false).noneMatch(m -> refused.stream().anyMatch(r -> m.address().equals(
              Cluster.get(r).selfMember().address()))), "refused nodes are not members (" + members + " members)");
      // the monitor counts and logs the certificate of the other CA
      for (int i = 0; i < 100 && !body.matches("(?s).*splinewatch_cluster_tls_refused_total [1-9].*"); i++) {
        Thread.sleep(200);
        body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + monitor.metricsPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
      }
      assertTrue(body.matches("(?s).*splinewatch_cluster_tls_refused_total [1-9].*"), body);
      String logged = logs.list.stream().map(ILoggingEvent::getFormattedMessage).collect(Collectors.joining("\n"));
      assertTrue(logged.contains("TLS: refused the client certificate of CN=node"), logged);
      // a trainer of another CA only refuses the monitor's certificate itself: it gives up at once, saying so,
      // instead of after the 30 s join timeout with a generic line
      Map<String, Object> ownCa = tls(other, "node.p12");
      ownCa.put("splinewatch.cluster.seed", seed);
      Config oc = ClusterRunIT.nodeConfig(ownCa);
      ClusterSettings ownSettings = ClusterSettings.fromConfig(oc);
      ActorSystem<?> own = ClusterNode.start(Behaviors.empty(), ownSettings, List.of("trainer"), oc);
      refused.add(own);
      long t0 = System.nanoTime();
      var failed = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
          () -> MonitorLink.findMetricsNode(own, ownSettings));
      assertTrue(System.nanoTime() - t0 < java.time.Duration.ofSeconds(20).toNanos(), "gave up early");
      assertTrue(failed.getMessage().contains("; this node's TLS refused the server certificate of CN=node: "),
          failed.getMessage());
    } finally {
      root.detachAppender(logs);
      for (ActorSystem<?> r : refused) {
        r.terminate();
      }
    }
  }

  /** A process's exit code, what it printed and how long it ran. */
  private record Exited(int code, String output, java.time.Duration took) {
  }

  /** Starts {@code Main} with {@code args} in a JVM of its own, as a user does, and waits for it to exit. */
  private Exited runProcess(String name, String... args) throws Exception {
    return runProcess(name, List.of(), args);
  }

  private Exited runProcess(String name, List<String> jvmOptions, String... args) throws Exception {
    Path log = tmp.resolve(name + ".log");
    List<String> command = org.splinewatch.TestTools.mainCommand("-Xmx512m", args);
    command.addAll(1, jvmOptions);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    long t0 = System.nanoTime();
    Process p = pb.start();
    try {
      assertTrue(p.waitFor(90, java.util.concurrent.TimeUnit.SECONDS), name + " did not exit: "
          + java.nio.file.Files.readString(log));
    } finally {
      p.destroyForcibly();
    }
    return new Exited(p.exitValue(), java.nio.file.Files.readString(log),
        java.time.Duration.ofNanos(System.nanoTime() - t0));
  }

  /** The line of {@code output} that starts with {@code error: }, or the whole output when there is none. */
  private static String errorLine(String output) {
    return output.lines().filter(l -> l.startsWith("error: ")).findFirst().orElse(output);
  }

  @Test
  void aNodeWhoseTlsSettingDiffersFromItsSeedsFailsInSecondsNamingTheMismatch() throws Exception {
    Path ca = tmp.resolve("ca");
    assertEquals(0, new CommandLine(new MonitorCommand()).execute("certs", ca.toString(), "--nodes", "node"));
    org.splinewatch.data.SyntheticData.writeDir(tmp.resolve("idx"), 640, 200, 3);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
    Map<String, Object> tlsOptions = tls(ca, "node.p12");
    tlsOptions.put("splinewatch.cluster.roles", List.of("metrics"));
    tlsOptions.put("splinewatch.cluster.seed", "");
    Config tc = ClusterRunIT.nodeConfig(tlsOptions);
    Config pc = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.roles", List.of("metrics"),
        "splinewatch.cluster.seed", ""));
    String[] tlsFlags = {"--tls-dir", ca.toString(), "--tls-name", "node"};
    try (MonitorServer tlsSeed = MonitorServer.start(tc, ClusterSettings.fromConfig(tc), "127.0.0.1", 0,
        tmp.resolve("tls-runs"), quiet);
         MonitorServer plainSeed = MonitorServer.start(pc, ClusterSettings.fromConfig(pc), "127.0.0.1", 0,
             tmp.resolve("plain-runs"), quiet)) {
      String tlsAt = ClusterNode.address(tlsSeed.system());
      String plainAt = ClusterNode.address(plainSeed.system());
      String[] train = {"train", "--method", "supervised", "--data-dir", tmp.resolve("idx").toString(),
          "--batch-size", "32", "--hidden", "16", "--probe-size", "50", "--max-steps", "20", "--analyzers",
          "embedding", "--out", tmp.resolve("trainer-runs").toString()};
      String[] serve = {"monitor", "serve", "--roles", "analyzer", "--port", "0", "--out",
          tmp.resolve("serve-runs").toString()};
      // processes, as users start them: the line and the exit code (with a join timeout of 120 s, so that the time
      // a JVM takes to start cannot be mistaken for the wait)
      List<String> slowJoin = List.of("-Dsplinewatch.cluster.join-timeout=120s");
      List<Exited> runs = List.of(
          runProcess("plain-trainer", slowJoin, concat(train, "--monitor", tlsAt)),
          runProcess("tls-trainer", slowJoin, concat(concat(train, "--monitor", plainAt), tlsFlags)),
          runProcess("plain-serve", slowJoin, concat(serve, "--seed", tlsAt)),
          runProcess("tls-serve", slowJoin, concat(concat(serve, "--seed", plainAt), tlsFlags)));
      String[] expected = {
          "error: cannot join the monitor at " + tlsAt + ": TLS mismatch: the monitor speaks TLS, this trainer plain"
              + " TCP; expected the monitor's TLS settings here too: --tls-dir DIR --tls-name NAME with a certificate"
              + " of its CA (or splinewatch.cluster.tls)",
          "error: cannot join the monitor at " + plainAt + ": TLS mismatch: this trainer speaks TLS, the monitor"
              + " plain TCP (it closed the connection on a TLS handshake); expected the same TLS settings on both:"
              + " --tls-dir and --tls-name on the monitor too, or on neither",
          "error: cannot join the cluster seed " + tlsAt + ": TLS mismatch: the seed speaks TLS, this node plain"
              + " TCP; expected the seed's TLS settings here too: --tls-dir DIR --tls-name NAME with a certificate"
              + " of its CA (or splinewatch.cluster.tls)",
          "error: cannot join the cluster seed " + plainAt + ": TLS mismatch: this node speaks TLS, the seed plain"
              + " TCP (it closed the connection on a TLS handshake); expected the same TLS settings on both:"
              + " --tls-dir and --tls-name on the seed too, or on neither"};
      for (int i = 0; i < expected.length; i++) {
        Exited r = runs.get(i);
        assertEquals(1, r.code(), r.output());
        assertEquals(expected[i], errorLine(r.output()), r.output());
        assertTrue(r.took().toSeconds() < 60, "took " + r.took().toSeconds() + " s: " + r.output());
      }
      // the wait itself, in this JVM, with the default join timeout of 30 s: the mismatch is found after about 2 s
      // of an unanswered join
      Map<String, Object> plainTrainer = new HashMap<>(Map.of("splinewatch.cluster.seed", tlsAt));
      Map<String, Object> tlsTrainer = tls(ca, "node.p12");
      tlsTrainer.put("splinewatch.cluster.seed", plainAt);
      for (Map<String, Object> o : List.of(plainTrainer, tlsTrainer)) {
        Config c = ClusterRunIT.nodeConfig(o);
        ClusterSettings settings = ClusterSettings.fromConfig(c);
        assertEquals(30, settings.joinTimeout().toSeconds());
        ActorSystem<?> trainer = ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c);
        try {
          long t0 = System.nanoTime();
          var failed = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
              () -> MonitorLink.findMetricsNode(trainer, settings));
          long took = java.time.Duration.ofNanos(System.nanoTime() - t0).toSeconds();
          assertTrue(failed.getMessage().contains(": TLS mismatch: "), failed.getMessage());
          assertTrue(took < 15, "took " + took + " s: " + failed.getMessage());
        } finally {
          trainer.terminate();
        }
      }
      // a seed that is not running still gets its own line (after the join timeout, 3 s here), not a mismatch
      int closed = org.splinewatch.TestTools.freePort();
      Exited none = runProcess("no-seed", List.of("-Dsplinewatch.cluster.join-timeout=3s"),
          concat(concat(train, "--monitor", "127.0.0.1:" + closed), tlsFlags));
      assertEquals(1, none.code(), none.output());
      assertTrue(errorLine(none.output()).startsWith("error: cannot reach the monitor at 127.0.0.1:" + closed
          + ": nothing listened there within 3 s ("), none.output());
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
