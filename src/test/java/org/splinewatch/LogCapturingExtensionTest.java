package org.splinewatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.slf4j.LoggerFactory;

/** {@link LogCapturingExtension}: a passing test's log is swallowed, a failing test's log is printed. */
class LogCapturingExtensionTest {
  private static final String SELF_TEST = "splinewatch.log-capturing-self-test";

  /** Run only from {@link #printsTheLogOfFailedTestsOnly} (one of its tests fails on purpose). */
  @EnabledIfSystemProperty(named = SELF_TEST, matches = "true")
  @ExtendWith(LogCapturingExtension.class)
  static class Sample {
    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(Sample.class);

    @Test
    void passes() {
      LOG.warn("marker of the passing test");
    }

    @Test
    void fails() {
      LOG.info("marker of the failing test, at info");
      LOG.warn("marker of the failing test, at warn");
      throw new AssertionError("fails on purpose");
    }
  }

  @Test
  void printsTheLogOfFailedTestsOnly() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level level = root.getLevel();
    ListAppender<ILoggingEvent> shown = new ListAppender<>(); // stands for the console
    shown.start();
    root.addAppender(shown);
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    System.setProperty(SELF_TEST, "true");
    try {
      LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(Sample.class))
          .build(), summary);
    } finally {
      System.clearProperty(SELF_TEST);
      root.detachAppender(shown);
    }
    TestExecutionSummary s = summary.getSummary();
    assertEquals(2, s.getTestsStartedCount());
    assertEquals(1, s.getTestsFailedCount());
    List<String> messages = shown.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.startsWith("marker")).toList();
    assertEquals(List.of("marker of the failing test, at info", "marker of the failing test, at warn"), messages);
    assertNull(root.getAppender("LogCapturingExtension"), "the capture is removed after each test");
    assertEquals(level, root.getLevel(), "the root level is put back");
  }
}
