package org.splinewatch.metrics;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.net.BindException;
import org.slf4j.Marker;

/**
 * Drops Pekko's stack trace for a listening socket that cannot bind ({@code TcpListener}: "Bind failed ..."): the
 * caller reports a port in use as one line that names the option to change ({@link MetricsHttpServer#start}). Every
 * other event of that logger, and a bind failure of any other cause, is logged as before. Installed by
 * {@code logback.xml}.
 */
public final class BindFailureLogFilter extends TurboFilter {
  static final String LOGGER = "org.apache.pekko.io.TcpListener";

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    return logger != null && LOGGER.equals(logger.getName()) && isBindInUse(format, t) ? FilterReply.DENY
        : FilterReply.NEUTRAL;
  }

  /** A bind failure whose cause is the address in use (the message may carry the exception, or only its text). */
  static boolean isBindInUse(String format, Throwable t) {
    if (format == null || !format.startsWith("Bind failed")) {
      return false;
    }
    return t == null || t instanceof BindException;
  }
}
