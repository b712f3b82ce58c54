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
 * SplinewatchTrainerDown firing), but only while it is the very file the killed monitor wrote. A monitor of a release
 * that recorded nothing left its file too: removed only when nothing answers on its target on this host, else named.
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
    Config c = config();
    Path kept = tmp.resolve("kept.json");
    int firstPort = startAndStop(c, out, kept);
    Path left = sd.resolve("monitor-" + firstPort + ".json");
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

  private static Config config() {
    return TrainCommand.load(Map.of("splinewatch.cluster.port", 0,
        "splinewatch.control.token", "0123456789abcdef0123456789abcdef"), null);
  }

  /**
   * Starts a monitor on {@code out} and stops it, keeping its discovery file as a hard link at {@code kept} (the very
   * file, as a kill leaves it: a normal stop removes it); its metrics port.
   */
  private static int startAndStop(Config c, Path out, Path kept) throws Exception {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    try (MonitorServer first = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out, quiet)) {
      Files.createLink(kept, out.resolve("prometheus-sd").resolve("monitor-" + first.metricsPort() + ".json"));
      return first.metricsPort();
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aFileNothingRecordedIsRemovedOnlyWhenNothingAnswersOnItsTargetOnThisHost() throws Exception {
    Path out = tmp.resolve("runs");
    Path dir = out.resolve("prometheus-sd");
    int dead = freePort();
    Path gone = ServiceDiscovery.register(dir, "monitor-" + dead, "127.0.0.1", dead);
    try (ServerSocket live = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = live.getLocalPort();
      Path served = ServiceDiscovery.register(dir, "monitor-" + port, "127.0.0.1", port);
      Path remote = ServiceDiscovery.register(dir, "monitor-9100", "gpu-box.example", 9100);
      Path other = ServiceDiscovery.register(dir, "monitor-7", "127.0.0.1", 7777); // a run named monitor-7
      Path run = ServiceDiscovery.register(dir, "r1", "127.0.0.1", dead);
      Path ours = ServiceDiscovery.register(dir, "monitor-" + (dead + 1), "127.0.0.1", dead);
      ServiceDiscovery.Unrecorded u = ServiceDiscovery.removeUnrecorded(dir, ours, out, "127.0.0.1");
      assertEquals(List.of(gone), u.removed());
      assertFalse(Files.exists(gone));
      for (Path kept : List.of(served, remote, other, run, ours)) {
        assertTrue(Files.exists(kept), kept + " was removed");
      }
      String stays = " in place: it may be the Prometheus target of a monitor that ran on " + out + " before monitors"
          + " recorded theirs in .monitor-lock, but ";
      String delete = "; delete it if no monitor of " + out + " serves that target";
      assertEquals(List.of(
          "left " + other + stays + "it is not one target on port 7 as a monitor writes it" + delete,
          "left " + remote + stays + "its target gpu-box.example:9100 is not on this host, so whether a monitor"
              + " serves it cannot be checked here" + delete,
          "left " + served + stays + "127.0.0.1:" + port + " answers (a monitor, or another process, listens there)"
              + delete).stream().sorted().toList(), u.warnings().stream().sorted().toList());
      assertEquals(List.of(), ServiceDiscovery.removeUnrecorded(tmp.resolve("none"), ours, out, "x").warnings());
    }
    assertTrue(ServiceDiscovery.onThisHost("localhost", "h"));
    assertTrue(ServiceDiscovery.onThisHost("[::1]", "h"));
    assertTrue(ServiceDiscovery.onThisHost("0.0.0.0", "h"));
    assertTrue(ServiceDiscovery.onThisHost("monitor.example", "monitor.example"), "the host this monitor advertises");
    assertFalse(ServiceDiscovery.onThisHost("192.0.2.7", "h"), "TEST-NET-1 is no address of this machine");
  }

  @Test
  void aMonitorAfterOneThatRecordedNothingNamesItsLiveTargetAndRemovesItOnceDead() throws Exception {
    Path out = tmp.resolve("runs");
    Path sd = out.resolve("prometheus-sd");
    Config c = config();
    Path kept = tmp.resolve("kept.json");
    int firstPort = startAndStop(c, out, kept);
    Path left = sd.resolve("monitor-" + firstPort + ".json");
    Files.copy(kept, left);
    Files.writeString(out.resolve(".monitor-lock"), ""); // a monitor of a release that recorded nothing there
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    // its port answers (a monitor of that release may still run there, without the lock): the file stays
    try (ServerSocket taken = new ServerSocket(firstPort, 1, InetAddress.getLoopbackAddress());
        MonitorServer second = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("warning: left " + left + " in place: it may be the Prometheus target of a monitor"
          + " that ran on " + out + " before monitors recorded theirs in .monitor-lock, but 127.0.0.1:" + firstPort
          + " answers"), text);
      assertFalse(text.contains("  removed "), text);
      assertTrue(Files.exists(left));
    }
    bytes.reset();
    // nothing answers there now: removed at the next start (the second one recorded its own file), with one line
    try (MonitorServer third = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("  removed " + left + ", the Prometheus target of a monitor that ran on " + out
          + " before monitors recorded theirs (nothing answers on its port)\n"), text);
      assertFalse(text.contains("warning: left"), text);
      try (Stream<Path> files = Files.list(sd)) {
        assertEquals(List.of(sd.resolve("monitor-" + third.metricsPort() + ".json")), files.toList());
      }
    }
  }
}
