package org.splinewatch;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Keeps the log of a test to itself: while a test runs, the events of every logger (from {@code INFO}, or below
 * where a logger is configured lower) are captured instead of printed, and they are printed, with the test's name,
 * only when the test fails. A passing actor test stays silent; a failing one shows what its actors logged. Modelled
 * on Pekko's {@code LogCapturing} (JUnit 4), but it needs no {@code logback-test.xml}: it swaps the root logger's
 * appenders for the duration of each test and puts them back afterwards.
 *
 * <p>Tests in one JVM must run one at a time (the default), as the root logger is shared. Logs that arrive after a
 * test ended (an actor system shutting down after the class) go to the usual appenders.
 */
public final class LogCapturingExtension implements BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(LogCapturingExtension.class);

  /** Holds the events of one test, in order. */
  static final class Capture extends AppenderBase<ILoggingEvent> {
    private final List<ILoggingEvent> events = new ArrayList<>();

    @Override
    protected synchronized void append(ILoggingEvent event) {
      event.prepareForDeferredProcessing(); // the message and the thread name, fixed now
      events.add(event);
    }

    synchronized List<ILoggingEvent> events() {
      return List.copyOf(events);
    }
  }

  /** What {@link #beforeEach} replaced, to be put back. */
  private record Swap(Capture capture, List<Appender<ILoggingEvent>> appenders, Level level) {
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    Logger root = root();
    Capture capture = new Capture();
    capture.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    capture.setName("LogCapturingExtension");
    capture.start();
    List<Appender<ILoggingEvent>> appenders = new ArrayList<>();
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      appenders.add(it.next());
    }
    Level level = root.getLevel();
    appenders.forEach(root::detachAppender);
    root.addAppender(capture);
    if (level == null || level.isGreaterOrEqual(Level.WARN)) {
      root.setLevel(Level.INFO); // quiet by default; a failing test is worth the detail
    }
    context.getStore(NS).put(context.getUniqueId(), new Swap(capture, appenders, level));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    Swap swap = context.getStore(NS).remove(context.getUniqueId(), Swap.class);
    if (swap == null) {
      return;
    }
    Logger root = root();
    root.detachAppender(swap.capture());
    swap.capture().stop();
    swap.appenders().forEach(root::addAppender);
    root.setLevel(swap.level());
    if (context.getExecutionException().isPresent()) {
      List<ILoggingEvent> events = swap.capture().events();
      String name = context.getRequiredTestClass().getSimpleName() + "." + context.getDisplayName();
      System.err.println("--- " + events.size() + " log events of the failed test " + name + " ---");
      for (ILoggingEvent e : events) {
        swap.appenders().forEach(a -> a.doAppend(e));
      }
      System.err.println("--- end of the log of " + name + " ---");
    }
  }
}
