package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A server bound to every interface is printed with an address a browser can open. */
class BrowsableUrlTest {
  @Test
  void aWildcardBindHostIsPrintedAsLoopbackOrTheAdvertisedHost() {
    assertEquals("http://127.0.0.1:9464", BrowsableUrl.base("0.0.0.0", "", 9464));
    assertEquals("http://127.0.0.1:9464", BrowsableUrl.base("::", 9464));
    assertEquals("http://127.0.0.1:9464", BrowsableUrl.base("[::]", 9464));
    assertEquals("http://monitor.lan:9464", BrowsableUrl.base("0.0.0.0", "monitor.lan", 9464));
    assertEquals("http://10.0.0.1:9464", BrowsableUrl.base("10.0.0.1", "", 9464));
    assertEquals("http://[::1]:9464", BrowsableUrl.base("::1", "", 9464));
    assertTrue(BrowsableUrl.wildcard("0.0.0.0") && !BrowsableUrl.wildcard("127.0.0.1"));
  }

  @Test
  void aWildcardBindHostGetsALineSayingItListensOnAllInterfaces() {
    assertEquals(Optional.of("  listening on all interfaces (0.0.0.0:9464); 127.0.0.1 is for this machine, from"
        + " another one use this machine's address"), BrowsableUrl.listening("0.0.0.0", "", 9464));
    assertEquals(Optional.of("  listening on all interfaces (0.0.0.0:9464); printed as its advertise-host"
        + " monitor.lan"), BrowsableUrl.listening("0.0.0.0", "monitor.lan", 9464));
    assertFalse(BrowsableUrl.listening("127.0.0.1", "", 9464).isPresent());
  }
}
