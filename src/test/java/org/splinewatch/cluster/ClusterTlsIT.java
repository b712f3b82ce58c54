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
 * speaking plain TCP never become members, and the monitor logs the refused handshakes.
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
}
