package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;
import org.splinewatch.metrics.MetricsActor;

/**
 * An analyzer that runs out of memory is disabled for the rest of the run with an {@code analyzer_disabled} event and
 * one console line (a warning on stderr) saying so: the event alone went unnoticed on the console.
 */
@ExtendWith(TestKitJUnit5Extension.class)
class AnalyzerDisabledLineTest {
  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void anAnalyzerDisabledForMemoryPrintsOneLine() {
    Logger logger = (Logger) LoggerFactory.getLogger(AnalyzerActor.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    logger.addAppender(lines);
    try {
      TestProbe<MetricsActor.Command> metrics = testKit.createTestProbe();
      TestProbe<Analyzed> replies = testKit.createTestProbe();
      ActorRef<Analyze> hog = testKit.spawn(AnalyzerActor.create("geometry", metrics.getRef(), () -> s -> {
        throw new OutOfMemoryError("Java heap space");
      }));
      hog.tell(new Analyze(TestSnapshots.classifier(1, 300), replies.getRef()));
      assertTrue(replies.receiveMessage(PROBE_WAIT).error().startsWith("out of memory"));
      hog.tell(new Analyze(TestSnapshots.classifier(1, 400), replies.getRef()));
      assertTrue(replies.receiveMessage(PROBE_WAIT).error().startsWith("disabled after out of memory"));
      List<String> warnings = lines.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).toList();
      assertEquals(1, warnings.size(), warnings.toString());
      assertEquals("analyzer geometry disabled at step 300 for the rest of the run (out of memory: Java heap space);"
          + " training and the other analyzers go on (events.jsonl: analyzer_disabled)", warnings.get(0));
    } finally {
      logger.detachAppender(lines);
    }
  }
}
