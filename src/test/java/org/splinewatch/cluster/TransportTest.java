package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.analysis.TestSnapshots;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;

/** The binary codec, the CBOR binding of cluster messages, and the publisher's size limit and chunking. */
@ExtendWith(LogCapturingExtension.class)
class TransportTest {

  @Test
  void codecRoundTripsSnapshotsAndRunDescriptionsExactly() {
    WeightSnapshot s = TestSnapshots.classifier(3, 700);
    byte[] bytes = SnapshotCodec.encode(s);
    WeightSnapshot back = SnapshotCodec.decodeSnapshot(bytes);
    assertEquals(s, back);
    long weights = s.layers().stream().mapToLong(l -> l instanceof org.splinewatch.regions.Layer.Dense d
        ? d.weights().length + d.bias().length : 0).sum();
    // 4 bytes a weight plus a small header: no per-element overhead
    assertTrue(bytes.length < 4 * weights + 512, bytes.length + " bytes for " + weights + " weights");
    RunInfo r = TestSnapshots.run();
    RunInfo r2 = SnapshotCodec.decodeRun(SnapshotCodec.encode(r));
    assertArrayEquals(r.probeInputs(), r2.probeInputs());
    assertArrayEquals(r.probeLabels(), r2.probeLabels());
    assertEquals(r.planeAnchors().size(), r2.planeAnchors().size());
    assertArrayEquals(r.planeAnchors().get(0), r2.planeAnchors().get(0));
    assertEquals(r.method(), r2.method());
  }

  @Test
  void malformedPayloadsAreNamed() {
    byte[] bytes = SnapshotCodec.encode(TestSnapshots.classifier(3, 1));
    var truncated = assertThrows(IllegalArgumentException.class,
        () -> SnapshotCodec.decodeSnapshot(java.util.Arrays.copyOf(bytes, bytes.length / 2)));
    assertTrue(truncated.getMessage().startsWith("truncated snapshot") || truncated.getMessage().contains("count"),
        truncated.getMessage());
    var wrong = assertThrows(IllegalArgumentException.class, () -> SnapshotCodec.decodeRun(bytes));
    assertTrue(wrong.getMessage().contains("not a splinewatch run description"), wrong.getMessage());
  }

  private static ActorSystem<Void> node() {
    Config c = ClusterRunIT.nodeConfig(Map.of());
    return ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of("trainer"), c);
  }

  @Test
  void clusterMessagesUseJacksonCborNotJavaSerialization() {
    ActorSystem<Void> system = node();
    try {
      Serialization serialization = SerializationExtension.get(system);
      var msg = new AnalyzerWorker.Chunk("run", 3, 0, 2, new byte[] {1, 2, 3}, "t");
      assertTrue(serialization.findSerializerFor(msg).getClass().getName().contains("Jackson"),
          serialization.findSerializerFor(msg).getClass().getName());
      byte[] wire = serialization.serialize(msg).get();
      Object back = serialization.deserialize(wire, serialization.findSerializerFor(msg).identifier(),
          msg.getClass().getName()).get();
      assertArrayEquals(msg.data(), ((AnalyzerWorker.Chunk) back).data());
      var publish = new MetricsActor.Publish(List.of(Sample.of("splinewatch_x", 1.5, 7, "layer", "repr")));
      byte[] p = serialization.serialize(publish).get();
      assertEquals(publish, serialization.deserialize(p, serialization.findSerializerFor(publish).identifier(),
          publish.getClass().getName()).get());
      var signed = new MetricsNode.SignedPublish(publish.samples(), "0123456789abcdef0123456789abcdef");
      byte[] sp = serialization.serialize(signed).get();
      assertEquals(signed, serialization.deserialize(sp, serialization.findSerializerFor(signed).identifier(),
          signed.getClass().getName()).get());
    } finally {
      system.terminate();
    }
  }

  @Test
  void aRunFinishedEventKeepsItsNestedMapsAcrossTheWire() throws Exception {
    ActorSystem<Void> system = node();
    try {
      Serialization serialization = SerializationExtension.get(system);
      Map<String, Object> cpu = new LinkedHashMap<>();
      cpu.put("training", 41.3);
      cpu.put("jit", 18.6);
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("type", "run_finished");
      event.put("steps", 900);
      event.put("cpu_seconds", cpu);
      event.put("warnings", List.of("a", "b"));
      var msg = new MetricsNode.RunFinished("run", event, null, "t");
      Object back = serialization.deserialize(serialization.serialize(msg).get(),
          serialization.findSerializerFor(msg).identifier(), msg.getClass().getName()).get();
      Map<String, Object> arrived = ((MetricsNode.RunFinished) back).event();
      // what the metrics node writes to events.jsonl: a local run's JSON, nested keys sorted (the wire loses their order)
      ObjectMapper json = new ObjectMapper();
      assertEquals("{\"type\":\"run_finished\",\"steps\":900,\"cpu_seconds\":{\"jit\":18.6,\"training\":41.3},"
          + "\"warnings\":[\"a\",\"b\"]}", json.writeValueAsString(MetricsGate.javaValues(arrived)));
      assertTrue(MetricsGate.eventProblem(arrived).isEmpty());
      var ended = new MetricsNode.TrainingEnded("run", 1500, "t");
      assertEquals(ended, serialization.deserialize(serialization.serialize(ended).get(),
          serialization.findSerializerFor(ended).identifier(), ended.getClass().getName()).get());
      assertTrue(serialization.findSerializerFor(ended).getClass().getName().contains("Jackson"),
          "bound to the CBOR serializer, not Java serialization: " + serialization.findSerializerFor(ended));
      var signed = new MetricsNode.SignedEvent(event, "0123456789abcdef0123456789abcdef");
      var signedBack = (MetricsNode.SignedEvent) serialization.deserialize(serialization.serialize(signed).get(),
          serialization.findSerializerFor(signed).identifier(), signed.getClass().getName()).get();
      assertEquals(signed.token(), signedBack.token());
      assertEquals(json.writeValueAsString(MetricsGate.javaValues(arrived)),
          json.writeValueAsString(MetricsGate.javaValues(signedBack.fields())));
      // the gate's own message from its node is bound to no serializer: no peer can send it
      assertThrows(Exception.class, () -> serialization.findSerializerFor(new MetricsGate.TrainingEnded(5))
          .toBinary(new MetricsGate.TrainingEnded(5)));
    } finally {
      system.terminate();
    }
  }

  @Test
  void oversizedSnapshotIsRejectedAndCountedAndSmallOnesArriveInChunks() throws Exception {
    ActorSystem<Void> system = node();
    try {
      TestProbe<Object> metrics = TestProbe.create(system);
      TestProbe<AnalyzerWorker.Command> worker = TestProbe.create(system);
      system.receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(AnalyzerWorker.KEY,
          worker.getRef()));
      WeightSnapshot small = TestSnapshots.classifier(1, 10);
      int size = SnapshotCodec.encode(small).length;
      ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
      ClusterSettings settings = new ClusterSettings(base.host(), 0, "", List.of(), 1024, size + 10, 1,
          base.joinTimeout(), Duration.ofMinutes(1), base.downAfter(), base.heartbeatPause());
      ActorRef<SnapshotPublisher.Command> publisher = system.systemActorOf(SnapshotPublisher.create(
          TestSnapshots.run(), List.of("embedding", "regions"), metrics.getRef().narrow(), settings, 4), "publisher",
          org.apache.pekko.actor.typed.Props.empty());
      // larger than max-snapshot-bytes: an event naming the limit, and a drop for each analyzer
      WeightSnapshot big = TestSnapshots.classifier(2, 20);
      big = new WeightSnapshot(big.runId(), 20, 0, 0, big.inputDim(), concat(big.layers(), big.layers()),
          big.reprBlock(), big.classifierHead(), 0, 0, 0);
      // first the publisher tells the run's metrics actor its publish token
      Object first = metrics.receiveMessage(Duration.ofSeconds(10));
      assertTrue(first instanceof MetricsNode.PublishToken, String.valueOf(first));
      String token = ((MetricsNode.PublishToken) first).token();
      publisher.tell(new SnapshotPublisher.Publish(big));
      List<Object> seen = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        seen.add(metrics.receiveMessage(Duration.ofSeconds(10)));
      }
      // signed with the run's publish token: the run's gate refuses unsigned events
      assertTrue(seen.stream().anyMatch(m -> m instanceof MetricsNode.SignedEvent e && token.equals(e.token())
          && String.valueOf(e.fields().get("error")).contains("max-snapshot-bytes")), seen.toString());
      assertEquals(2, seen.stream().filter(m -> m instanceof MetricsActor.SnapshotDropped).count(), seen.toString());
      // a snapshot under the limit goes to the registered worker: OpenRun, the run in chunks, then the snapshot
      publisher.tell(new SnapshotPublisher.Publish(small));
      assertTrue(worker.receiveMessage(Duration.ofSeconds(10)) instanceof AnalyzerWorker.OpenRun);
      List<AnalyzerWorker.Chunk> chunks = new ArrayList<>();
      AnalyzerWorker.Chunk c;
      do {
        c = (AnalyzerWorker.Chunk) worker.receiveMessage(Duration.ofSeconds(10));
        chunks.add(c);
      } while (c.transfer() == 0 || c.index() < c.count() - 1);
      List<AnalyzerWorker.Chunk> snapshotChunks = chunks.stream().filter(x -> x.transfer() > 0).toList();
      assertEquals((size + 1023) / 1024, snapshotChunks.size());
      assertTrue(snapshotChunks.stream().allMatch(x -> x.data().length <= 1024));
      java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();
      for (AnalyzerWorker.Chunk x : snapshotChunks) {
        joined.write(x.data());
      }
      assertEquals(small, SnapshotCodec.decodeSnapshot(joined.toByteArray()));
    } finally {
      system.terminate();
    }
  }

  @Test
  void abandonSkipsTheWaitingSnapshotsCountsThemAndRepliesWhenTheOneInFlightIsDone() {
    // an HTTP run finished as stopped, failed or interrupted (IngestedRun) skips what waits, as ./trainer's does
    ActorSystem<Void> system = node();
    try {
      TestProbe<Object> metrics = TestProbe.create(system);
      TestProbe<AnalyzerWorker.Command> worker = TestProbe.create(system);
      system.receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(AnalyzerWorker.KEY,
          worker.getRef()));
      ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
      ClusterSettings settings = new ClusterSettings(base.host(), 0, "", List.of(), 200 * 1024, 1 << 24, 1,
          base.joinTimeout(), Duration.ofMinutes(1), base.downAfter(), base.heartbeatPause());
      ActorRef<SnapshotPublisher.Command> publisher = system.systemActorOf(SnapshotPublisher.create(
          TestSnapshots.run(), List.of("embedding", "regions"), metrics.getRef().narrow(), settings, 8), "publisher",
          org.apache.pekko.actor.typed.Props.empty());
      publisher.tell(new SnapshotPublisher.Publish(TestSnapshots.classifier(1, 10)));
      assertTrue(worker.receiveMessage(Duration.ofSeconds(10)) instanceof AnalyzerWorker.OpenRun);
      for (int step = 20; step <= 40; step += 10) { // the worker holds one: these three wait
        publisher.tell(new SnapshotPublisher.Publish(TestSnapshots.classifier(2, step)));
      }
      TestProbe<org.apache.pekko.Done> done = TestProbe.create(system);
      publisher.tell(new SnapshotPublisher.Abandon(done.getRef()));
      List<MetricsActor.SnapshotsUnanalysed> skipped = new ArrayList<>();
      while (skipped.size() < 2) {
        if (metrics.receiveMessage(Duration.ofSeconds(10)) instanceof MetricsActor.SnapshotsUnanalysed u) {
          skipped.add(u);
        }
      }
      assertEquals(List.of(new MetricsActor.SnapshotsUnanalysed("embedding", 3),
          new MetricsActor.SnapshotsUnanalysed("regions", 3)), skipped);
      done.expectNoMessage(Duration.ofMillis(300)); // the snapshot in flight is not done yet
      publisher.tell(new SnapshotPublisher.Analysed(TestSnapshots.run().runId(), 1, worker.getRef(), null));
      done.expectMessage(Duration.ofSeconds(10), org.apache.pekko.Done.getInstance());
      // the worker got the run (transfer 0) and the first snapshot (1), one chunk each, and nothing after them
      assertEquals(0, ((AnalyzerWorker.Chunk) worker.receiveMessage(Duration.ofSeconds(10))).transfer());
      assertEquals(1, ((AnalyzerWorker.Chunk) worker.receiveMessage(Duration.ofSeconds(10))).transfer());
      worker.expectNoMessage(Duration.ofMillis(500));
    } finally {
      system.terminate();
    }
  }

  /**
   * A snapshot no analyzer answered within a sub-second snapshot-timeout is dropped with the wait as it is (0.5 s),
   * where toSeconds() said "not analysed within 0 s".
   */
  @Test
  void aSnapshotNotAnalysedWithinASubSecondTimeoutNamesTheWait() throws Exception {
    ActorSystem<Void> system = node();
    // the publisher's actor logs under Pekko's logger name, not its class's
    var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    var seen = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    seen.start();
    logger.addAppender(seen);
    try {
      TestProbe<Object> metrics = TestProbe.create(system);
      TestProbe<AnalyzerWorker.Command> worker = TestProbe.create(system); // never answers
      system.receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(AnalyzerWorker.KEY,
          worker.getRef()));
      ClusterSettings base = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of()));
      ClusterSettings settings = new ClusterSettings(base.host(), 0, "", List.of(), 200 * 1024, 1 << 24, 1,
          base.joinTimeout(), Duration.ofMillis(500), base.downAfter(), base.heartbeatPause());
      ActorRef<SnapshotPublisher.Command> publisher = system.systemActorOf(SnapshotPublisher.create(
          TestSnapshots.run(), List.of("regions"), metrics.getRef().narrow(), settings, 8), "publisher",
          org.apache.pekko.actor.typed.Props.empty());
      publisher.tell(new SnapshotPublisher.Publish(TestSnapshots.classifier(1, 10)));
      long until = System.nanoTime() + 20_000_000_000L;
      List<String> dropped = List.of();
      while (dropped.isEmpty() && System.nanoTime() < until) {
        Thread.sleep(50);
        synchronized (seen) {
          dropped = seen.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
              .filter(m -> m.contains("dropped")).toList();
        }
      }
      assertEquals(List.of("snapshot of step 10 dropped: not analysed within 0.5 s"), dropped);
    } finally {
      logger.detachAppender(seen);
      system.terminate();
    }
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
