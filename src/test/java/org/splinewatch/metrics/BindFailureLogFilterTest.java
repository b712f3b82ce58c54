package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.BindException;
import java.net.SocketException;
import java.nio.channels.UnresolvedAddressException;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class BindFailureLogFilterTest {
  @Test
  void onlyPekkosBindInUseTraceIsDropped() {
    // logback.xml installs the filter; events that pass it reach this appender
    Logger listener = (Logger) LoggerFactory.getLogger(BindFailureLogFilter.LOGGER);
    Logger other = (Logger) LoggerFactory.getLogger("org.apache.pekko.io.SomethingElse");
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    listener.addAppender(seen);
    other.addAppender(seen);
    try {
      listener.error("Bind failed for TCP channel on endpoint [/127.0.0.1:9464]",
          new BindException("Address already in use"));
      listener.error("Bind failed for TCP channel on endpoint [x.invalid/<unresolved>:9464]",
          new SocketException("Unresolved address"));
      assertEquals(0, seen.list.size(), "bind failures, which the caller reports in one line, are dropped");
      listener.error("Accept error: could not accept new connection", new IOException("too many open files"));
      other.error("Bind failed for TCP channel on endpoint [/127.0.0.1:9464]", new BindException("in use"));
      assertEquals(2, seen.list.size(), "other messages and other loggers are logged");
    } finally {
      listener.detachAppender(seen);
      other.detachAppender(seen);
    }
    assertTrue(BindFailureLogFilter.isBindFailure("Bind failed for TCP channel"));
    assertFalse(BindFailureLogFilter.isBindFailure(null));
  }

  @Test
  void aBindFailureIsNamedByItsInnermostReason() {
    assertEquals("Address already in use", MetricsHttpServer.bindFailure(new RuntimeException("bind failed",
        new BindException("[/127.0.0.1:9464] Address already in use"))));
    assertEquals("Cannot assign requested address", MetricsHttpServer.bindFailure(
        new BindException("[/10.255.255.1:9464] Cannot assign requested address")));
    assertEquals("unknown host", MetricsHttpServer.bindFailure(new SocketException("Unresolved address")
        .initCause(new UnresolvedAddressException())));
  }
}
