package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;

/**
 * The Prometheus discovery file of a monitor killed before it could remove it: the next monitor on its {@code --out}
 * removes it when it listens on another port (the target would stay down in Prometheus for good, and its runs'
 * SplinewatchTrainerDown firing), but only while it is the very file the killed monitor wrote.
 */
class LeftDiscoveryTest {
  @TempDir
  Path tmp;

  @Test
  void onlyTheFileTheEarlierMonitorWroteIsRemovedAndNeverOurs() throws Exception {
    Path dir = tmp.resolve("sd");
    Path old = ServiceDiscovery.register(dir, "monitor-9464", "127.0.0.1", 9464);
    String recorded = ServiceDiscovery.left(old);
    Path ours = ServiceDiscovery.register(dir, "monitor-9465", "127.0.0.1", 9465);
    assertNull(ServiceDiscovery.removeLeft("", ours), "nothing recorded");
    assertNull(ServiceDiscovery.removeLeft(recorded, old), "the same port: the file is this monitor's now");
    assertTrue(Files.exists(old));
    // another monitor on that port wrote the file since (a rename: another file)
    ServiceDiscovery.register(dir, "monitor-9464", "127.0.0.1", 9464);
    assertNull(ServiceDiscovery.removeLeft(recorded, ours));
    assertTrue(Files.exists(old), "another monitor's live target was removed");
    String again = ServiceDiscovery.left(old);
    assertEquals(old.toAbsolutePath(), ServiceDiscovery.removeLeft(again, ours));
    assertFalse(Files.exists(old));
    assertTrue(Files.exists(ours));
    assertNull(ServiceDiscovery.removeLeft(again, ours), "already gone");
  }

  @Test
  void aMonitorOnTheOutOfAKilledOneRemovesItsTargetOnAnotherPort() throws Exception {
    Path out = tmp.resolve("runs");
    Path sd = out.resolve("prometheus-sd");
    Config c = TrainCommand.load(Map.of("splinewatch.cluster.port", 0,
        "splinewatch.control.token", "0123456789abcdef0123456789abcdef"), null);
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    Path left;
    int firstPort;
    Path kept = tmp.resolve("kept.json");
    try (MonitorServer first = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet)) {
      firstPort = first.metricsPort();
      left = sd.resolve("monitor-" + firstPort + ".json");
      Files.createLink(kept, left); // the very file, as a kill leaves it: a normal stop removes it
    }
    assertFalse(Files.exists(left));
    Files.createLink(left, kept);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    // the first one's port taken meanwhile: the second one listens on another
    try (ServerSocket taken = new ServerSocket(firstPort, 1, InetAddress.getLoopbackAddress());
        MonitorServer second = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("  removed " + left.toAbsolutePath() + ", the Prometheus target of the earlier monitor"
          + " on " + out + " (stopped without removing it)\n"), text);
      try (Stream<Path> files = Files.list(sd)) {
        assertEquals(List.of(sd.resolve("monitor-" + second.metricsPort() + ".json")), files.toList());
      }
    }
  }
}
