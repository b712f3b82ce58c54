package org.splinewatch.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.Config;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.cli.TrainCommand;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.control.ControlToken;

/**
 * A {@code monitor serve} started again on its {@code --out} keeps the random control token the earlier one wrote
 * there, so that a client given the token by value follows the restart; a token file it cannot keep (open to others,
 * not a token, not a file) is refused with one line before anything runs. A deployment or inline token is not
 * affected.
 */
class KeptTokenTest {
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";

  @TempDir
  Path tmp;

  private static boolean posix() {
    return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
  }

  @Test
  void aTokenTheMonitorWroteIsKeptAndOneItCannotKeepIsNamed() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("runs"));
    Path file = out.resolve("control-token");
    assertEquals(Optional.empty(), KeptToken.read(out), "none yet: a new one is written");
    ControlToken.write(file, TOKEN);
    assertEquals(Optional.of(TOKEN), KeptToken.read(out));
    assertEquals(Optional.empty(), KeptToken.problem(out));

    Files.writeString(file, "short\n");
    assertEquals(Optional.of(file + " holds no control token (5 characters); expected one line of at least 16"
        + " printable characters as ./monitor serve writes it, or delete it to start with a new token"),
        KeptToken.problem(out));
    Files.writeString(file, TOKEN + "\n" + TOKEN + "\n");
    assertTrue(KeptToken.problem(out).orElseThrow().contains("(a character other than printable ASCII, or more than"
        + " one line)"), KeptToken.problem(out).toString());
    Files.delete(file);
    Files.createSymbolicLink(file, tmp.resolve("elsewhere"));
    assertTrue(KeptToken.problem(out).orElseThrow().startsWith(file + " is not a regular file (a link); expected the"
        + " file an earlier ./monitor serve on " + out + " wrote, or delete it"), KeptToken.problem(out).toString());
    Files.delete(file);

    assumeTrue(posix());
    ControlToken.write(file, TOKEN);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    assertEquals(Optional.of(file + " is open to others than its owner (mode rw-r--r--), so its token may be known;"
        + " expected an owner-only file (rw-------): chmod 600 " + file + " to keep its token, or delete it to start"
        + " with a new one"), KeptToken.problem(out));
  }

  @Test
  void aRestartedMonitorKeepsItsTokenSoAClientGivenItByValueIsStillAccepted() throws Exception {
    Path out = tmp.resolve("runs");
    Config c = TrainCommand.load(Map.of("splinewatch.cluster.port", 0), null); // no deployment token
    String token;
    try (MonitorServer first = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      token = Files.readString(out.resolve("control-token")).strip();
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer again = MonitorServer.start(c, ClusterSettings.fromConfig(c), "127.0.0.1", 0, out,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      assertEquals(token + "\n", Files.readString(out.resolve("control-token")), "a new token was written");
      if (posix()) {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
            out.resolve("control-token"))));
      }
      String text = bytes.toString(StandardCharsets.UTF_8);
      assertTrue(text.contains("(bearer token in " + out.resolve("control-token") + ", kept from the earlier monitor"
          + " on " + out + ")"), text);
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + again.metricsPort() + "/api/v1/alerts"))
          .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"alerts\":[]}")).timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertTrue(r.statusCode() != 401, r.statusCode() + " " + r.body());
    }
    // an inline token is the deployment's: written over the kept one, as before
    Config inline = TrainCommand.load(Map.of("splinewatch.cluster.port", 0, "splinewatch.control.token", TOKEN), null);
    try (MonitorServer shared = MonitorServer.start(inline, ClusterSettings.fromConfig(inline), "127.0.0.1", 0, out,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      assertEquals(TOKEN + "\n", Files.readString(out.resolve("control-token")));
    }
  }

  @Test
  void theTokenReadOnceIsTheOneServedWhateverTheFileHoldsWhenTheNodeStarts() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("runs"));
    Path file = out.resolve("control-token");
    ControlToken.write(file, TOKEN);
    Config c = TrainCommand.load(Map.of("splinewatch.cluster.port", 0), null); // no deployment token
    ServeSettings settings = ServeSettings.fromConfig(c);
    ClusterSettings cluster = ClusterSettings.fromConfig(c);
    Optional<String> kept = MonitorServer.keptToken(settings, cluster, out); // what ./monitor serve checks
    assertEquals(Optional.of(TOKEN), kept);
    // the file changes between the check and the start: a second read would serve this one, or fail on it
    String other = "fedcba9876543210fedcba9876543210";
    ControlToken.write(file, other);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MonitorServer server = MonitorServer.start(c, settings, cluster, "127.0.0.1", 0, out, kept,
        new PrintStream(bytes, true, StandardCharsets.UTF_8))) {
      assertEquals(TOKEN + "\n", Files.readString(file), "the file's new token was served");
      assertTrue(alerts(server, TOKEN) != 401, "the token read at the check is refused");
      assertEquals(401, alerts(server, other), "the token the file held later is accepted");
      assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("kept from the earlier monitor"), bytes.toString());
    }
    Files.writeString(file, "short\n"); // and one that could not be kept: the start reads nothing
    try (MonitorServer server = MonitorServer.start(c, settings, cluster, "127.0.0.1", 0, out, kept,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))) {
      assertTrue(alerts(server, TOKEN) != 401);
    }
  }

  private static int alerts(MonitorServer server, String token) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + server.metricsPort() + "/api/v1/alerts"))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"alerts\":[]}")).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void serveRefusesATokenFileOthersCanReadBeforeItStarts() throws Exception {
    assumeTrue(posix());
    Path out = Files.createDirectories(tmp.resolve("runs"));
    Path file = out.resolve("control-token");
    ControlToken.write(file, TOKEN);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));
    String m = TestTools.cli(2, "monitor", "serve", "--port", "0", "--metrics-port", "0", "--out", out.toString());
    assertTrue(m.contains("error: " + file + " is open to others than its owner (mode rw-rw-r--)"), m);
    assertFalse(m.contains("Exception") || m.contains("\tat "), m);
    // a file's contents, not an option: no "(./monitor serve --help lists the options)" line under it
    assertFalse(m.contains("--help"), m);
    assertEquals(TOKEN + "\n", Files.readString(file), "the file was changed");
    assertFalse(Files.exists(out.resolve(".monitor-lock")), "the monitor started");
  }
}
