package org.splinewatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.BindException;
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
      assertEquals(0, seen.list.size(), "the port-in-use trace is dropped");
      listener.error("Bind failed for TCP channel on endpoint [/127.0.0.1:9464]", new IOException("no route"));
      listener.error("Accept error: could not accept new connection", new IOException("too many open files"));
      other.error("Bind failed for TCP channel on endpoint [/127.0.0.1:9464]", new BindException("in use"));
      assertEquals(3, seen.list.size(), "other causes, other messages and other loggers are logged");
    } finally {
      listener.detachAppender(seen);
      other.detachAppender(seen);
    }
    assertTrue(BindFailureLogFilter.isBindInUse("Bind failed for TCP channel", null));
    assertFalse(BindFailureLogFilter.isBindInUse(null, new BindException()));
  }
}
