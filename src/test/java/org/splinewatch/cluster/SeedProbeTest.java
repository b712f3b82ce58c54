package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The seed probe tells an HTTP server (a --monitor pointed at the metrics port) from a cluster node. */
class SeedProbeTest {
  @Test
  void anHttpServerIsToldApart() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread answer = new Thread(() -> {
        try (Socket s = server.accept()) {
          InputStream in = s.getInputStream();
          in.read(new byte[64]); // the client hello, as an HTTP server reads a request line
          s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
        } catch (Exception ignored) {
          // the test fails on the answer
        }
      });
      answer.start();
      assertEquals(SeedProbe.Answer.HTTP,
          SeedProbe.probe("127.0.0.1", server.getLocalPort(), Duration.ofSeconds(2)));
      answer.join(5000);
    }
  }
}
