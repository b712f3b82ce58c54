package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A misspelt {@code pekko} key in a config file was ignored without a word (Pekko reads only the keys it knows):
 * {@link PekkoKeys} names it with the nearest key, and leaves the sections whose keys the user names alone.
 */
class PekkoKeysTest {
  private static final Config REFERENCE = ConfigFactory.defaultReference();

  private static Optional<String> unknown(String hocon) {
    return PekkoKeys.unknownKey(ConfigFactory.parseString(hocon), REFERENCE, "my.conf");
  }

  @Test
  void aMisspeltKeyIsNamedWithItsLineAndTheNearestKey() {
    assertEquals(Optional.of("unknown setting pekko.remote.artery.canonical.prot in my.conf, line 2; expected a key of"
        + " pekko.remote.artery.canonical in Pekko's reference.conf (hostname, port); did you mean"
        + " pekko.remote.artery.canonical.port?"), unknown("pekko.loglevel = INFO\n"
        + "pekko.remote.artery.canonical.prot = 2552\n"));
    assertEquals(Optional.of("unknown setting pekko.loglevl in my.conf, line 1; expected a key of pekko in Pekko's"
        + " reference.conf (see docs/options.md); did you mean pekko.loglevel?"), unknown("pekko { loglevl = DEBUG }"));
    // a section of its own, nested: the first unknown key from the top of the file
    assertEquals(Optional.of("unknown setting pekko.cluster.failure-detector.heartbeat-intervall in my.conf, line 3;"
        + " expected a key of pekko.cluster.failure-detector in Pekko's reference.conf (acceptable-heartbeat-pause,"
        + " expected-response-after, heartbeat-interval, implementation-class, max-sample-size, min-std-deviation,"
        + " monitored-by-nr-of-members, threshold); did you mean pekko.cluster.failure-detector.heartbeat-interval?"),
        unknown("pekko.cluster {\n  failure-detector {\n    heartbeat-intervall = 2s\n  }\n}\n"
            + "pekko.remot.artery.transport = tcp\n"));
    // a module that is not on the class path: nothing reads it
    assertEquals(Optional.of("unknown setting pekko.persistence in my.conf, line 1; expected a key of pekko in Pekko's"
        + " reference.conf (see docs/options.md)"), unknown("pekko.persistence.journal.plugin = x"));
    // a dispatcher's typo, through its fallback to the default dispatcher's keys
    assertEquals(Optional.of("unknown setting pekko.actor.internal-dispatcher.throughput-dedline-time in my.conf, line"
        + " 1; expected a key of pekko.actor.internal-dispatcher in Pekko's reference.conf (see docs/options.md); did"
        + " you mean pekko.actor.internal-dispatcher.throughput-deadline-time?"),
        unknown("pekko.actor.internal-dispatcher.throughput-dedline-time = 1s"));
  }

  @Test
  void whatADeploymentSetsIsAccepted() {
    assertEquals(Optional.empty(), unknown("""
        pekko.loglevel = DEBUG
        pekko.stdout-loglevel = OFF
        pekko.log-dead-letters = 10
        pekko.actor.provider = cluster
        pekko.remote.artery { transport = tls-tcp, canonical { hostname = "10.0.0.1", port = 25520 } }
        pekko.remote.artery.bind { hostname = "0.0.0.0", port = "" }
        pekko.remote.artery.advanced.maximum-frame-size = 512KiB
        pekko.remote.artery.large-message-destinations = ["/user/analyzer"]
        pekko.remote.artery.ssl.config-ssl-engine { key-store = "a.p12", protocol = "TLSv1.3" }
        pekko.cluster.seed-nodes = ["pekko://splinewatch@10.0.0.1:25520"]
        pekko.cluster.failure-detector.heartbeat-interval = 2s
        pekko.cluster.split-brain-resolver { active-strategy = keep-oldest, stable-after = 20s }
        pekko.cluster.split-brain-resolver.keep-oldest.down-if-alone = off
        pekko.coordinated-shutdown.exit-jvm = off
        pekko.http.server { idle-timeout = 120s, parsing.max-content-length = 64m }
        pekko.actor.default-dispatcher.fork-join-executor.parallelism-max = 4
        pekko.actor.internal-dispatcher.thread-pool-executor.fixed-pool-size = 2
        pekko.actor.default-mailbox.mailbox-capacity = 1000
        """));
    // free-form sections: keys of the user's choosing
    assertEquals(Optional.empty(), unknown("""
        pekko.actor.serialization-bindings { "org.example.Msg" = jackson-cbor }
        pekko.actor.serializers { mine = "org.example.MySerializer" }
        pekko.actor.deployment { "/user/worker" { dispatcher = my-dispatcher } }
        pekko.coordinated-shutdown.phases.my-phase { timeout = 5s, depends-on = [service-unbind] }
        pekko.cluster.role.metrics.min-nr-of-members = 1
        pekko.serialization.jackson.jackson-cbor.serialization-features { WRITE_DATES_AS_TIMESTAMPS = off }
        pekko.http.server.parsing.header-cache { X-Request-Id = 0 }
        pekko.circuit-breaker.my-breaker.max-failures = 3
        pekko.http.host-connection-pool.client { idle-timeout = 5s, parsing.max-uri-length = 4k }
        pekko.http.client.parsing.max-uri-length = 4k
        """));
    assertEquals(Optional.empty(), unknown("splinewatch.run.planes = 3"), "no pekko section");
  }

  @Test
  void theNearestKeyIsALetterOrTwoAway() {
    List<String> keys = List.of("planes", "planes-extra", "port", "probe-size");
    assertEquals(Optional.of("planes"), ConfigErrors.closest("planez", keys));
    assertEquals(Optional.of("port"), ConfigErrors.closest("prot", keys), "neighbours swapped: one edit");
    assertEquals(Optional.of("probe-size"), ConfigErrors.closest("probesize", keys));
    assertEquals(Optional.empty(), ConfigErrors.closest("batch", keys));
    assertEquals(Optional.empty(), ConfigErrors.closest("pt", keys), "two edits are too many for a short name");
  }
}
