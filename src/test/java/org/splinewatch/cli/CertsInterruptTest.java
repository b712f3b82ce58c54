package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * {@code ./monitor certs} stopped by a signal while keytool writes: what was half made is removed and one line says
 * so, so that the same command run again makes the certificates. It used to exit without a word and leave a password
 * without its ca.p12, or a node's key without its certificate, which the next run refused as existing files.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CertsInterruptTest {
  @TempDir
  Path tmp;

  /**
   * Starts {@code monitor certs dir --nodes a,b}, sends SIGTERM once {@code file} exists, and returns its output. The
   * first keytool step started after {@code file} appeared is held (a stand-in for keytool that waits to be stopped),
   * so that the signal comes while it is made: it had to come before the next step ended (a keytool JVM's start),
   * which a loaded machine could miss.
   */
  private static String stopOnceWritten(Path dir, Path file) throws Exception {
    Path log = dir.resolveSibling(dir.getFileName() + ".log");
    Path keytool = dir.resolveSibling("keytool-holding");
    Files.writeString(keytool, "#!/bin/sh\nif [ -e '" + file + "' ]; then exec sleep 60; fi\nexec '"
        + Path.of(System.getProperty("java.home"), "bin", "keytool") + "' \"$@\"\n");
    Files.setPosixFilePermissions(keytool, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    List<String> cmd = TestTools.mainCommand("-Xmx128m", "monitor", "certs", dir.toString(), "--nodes", "a,b");
    cmd.add(1, "-D" + CertsCommand.KEYTOOL_STAND_IN + "=" + keytool);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      while (!Files.exists(file) && p.isAlive()) {
        Thread.sleep(2);
      }
      assertTrue(p.isAlive(), "still making the certificates when " + file + " appeared");
      p.destroy(); // SIGTERM, as Ctrl-C's SIGINT: the JVM exits through its shutdown hooks
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exited");
      String out = Files.readString(log);
      assertEquals(143, p.exitValue(), out);
      return out.strip();
    } finally {
      p.destroyForcibly();
    }
  }

  private static List<String> files(Path dir) throws Exception {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aCaInterruptedWhileItIsMadeIsRemovedAndMadeByTheNextRun() throws Exception {
    Path dir = tmp.resolve("certs");
    String out = stopOnceWritten(dir, dir.resolve("password"));
    assertTrue(out.startsWith("interrupted while making the CA in " + dir + ": removed its half-made files (password")
        && out.endsWith("; nothing made; rerun the command to make them") && out.lines().count() == 1, out);
    assertEquals(List.of(), files(dir), "no password without its ca.p12");
    TestTools.cli(0, "monitor", "certs", dir.toString(), "--nodes", "a,b"); // was refused: password already exists
  }

  @Test
  void aNodeInterruptedWhileItIsMadeIsRemovedAndTheCaKept() throws Exception {
    Path dir = tmp.resolve("certs");
    String out = stopOnceWritten(dir, dir.resolve("a.p12"));
    assertTrue(out.startsWith("interrupted while making node a in " + dir + ": removed its half-made files (a.p12")
        && out.endsWith("; kept the CA; rerun with --nodes a,b to make the rest") && out.lines().count() == 1, out);
    assertEquals(List.of("ca.crt", "ca.p12", "password", "truststore.p12"), files(dir));
    byte[] ca = Files.readAllBytes(dir.resolve("ca.p12"));
    TestTools.cli(0, "monitor", "certs", dir.toString(), "--nodes", "a,b"); // was refused: a.p12 already exists
    assertTrue(java.util.Arrays.equals(ca, Files.readAllBytes(dir.resolve("ca.p12"))), "the same CA");
    assertFalse(Files.exists(dir.resolve("a.csr")), "no request left");
  }
}
