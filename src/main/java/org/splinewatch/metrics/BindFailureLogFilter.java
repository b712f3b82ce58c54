package org.splinewatch.metrics;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Drops Pekko's stack trace for a listening socket that cannot bind ({@code TcpListener}: "Bind failed ..."): the bind
 * future fails too, and the caller reports it as one line that names the option to change (a port in use, an address
 * not of this machine, an unknown host: {@link MetricsHttpServer#start}). Every other event of that logger is logged
 * as before. Installed by {@code logback.xml}.
 */
public final class BindFailureLogFilter extends TurboFilter {
  static final String LOGGER = "org.apache.pekko.io.TcpListener";

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    return logger != null && LOGGER.equals(logger.getName()) && isBindFailure(format) ? FilterReply.DENY
        : FilterReply.NEUTRAL;
  }

  /** A bind failure, whatever its cause. */
  static boolean isBindFailure(String format) {
    return format != null && format.startsWith("Bind failed");
  }
}
