package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.splinewatch.TestTools.PROBE_WAIT;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.control.RunControl;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.trainer.TrainerActor;

/**
 * Only a run's own trainer and analyzer nodes may publish for it, and only its metrics node may stop it; a run id
 * whose directory already holds a run is refused unless the run resumes.
 */
@ExtendWith({TestKitJUnit5Extension.class, LogCapturingExtension.class})
class RunTokensTest {
  private static final String PUBLISH_TOKEN = "0123456789abcdef0123456789abcdef";
  private static final String STOP_TOKEN = "fedcba9876543210fedcba9876543210";

  @JUnit5TestKit
  public ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private record Node(ActorRef<MetricsNode.Command> ref, PrometheusMeterRegistry registry, RunControl control) {
  }

  private Node node(Path out) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RunControl control = new RunControl();
    return new Node(testKit.spawn(MetricsNode.create(registry, out, control, "", new Rejections(registry), 64, null,
        RetentionSettings.KEEP_ALL)), registry, control);
  }

  private MetricsNode.Registered register(Node node, String run, TestProbe<TrainerActor.Command> trainer,
      String stopToken, String publishToken) {
    return register(node, run, trainer, stopToken, publishToken, null);
  }

  private MetricsNode.Registered register(Node node, String run, TestProbe<TrainerActor.Command> trainer,
      String stopToken, String publishToken, org.splinewatch.alerts.AlertSettings alertSettings) {
    TestProbe<AlertRaised> alerts = testKit.createTestProbe();
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", run), 10, alertSettings, trainer.ref(), alerts.ref(), reply.ref(), stopToken,
        publishToken));
    return reply.receiveMessage(PROBE_WAIT);
  }

  @Test
  void aRunIdWhoseDirectoryHoldsARunIsRefusedUnlessTheRunResumes(@TempDir Path out) throws Exception {
    Path earlier = Files.createDirectories(out.resolve("again"));
    Files.writeString(earlier.resolve("events.jsonl"), "{\"type\":\"run_finished\"}\n");
    Node node = node(out);
    MetricsNode.Registered refused = register(node, "again", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertTrue(refused.error() != null && refused.error().contains("already holds run 'again'; choose another"
        + " --run-id, or --resume"), String.valueOf(refused.error()));
    assertTrue(refused.runIdTaken(), "a taken run id: the trainer exits 2");
    assertEquals("{\"type\":\"run_finished\"}\n", Files.readString(earlier.resolve("events.jsonl")));
    assertFalse(Files.exists(earlier.resolve("config.json")), "nothing of the refused run was written");
    assertTrue(MetricsNode.resumed(Map.of("settings", Map.of("resumed", true))));
    assertFalse(MetricsNode.resumed(Map.of("settings", Map.of("resumed", false))));
    assertFalse(MetricsNode.resumed(Map.of("run_id", "x")));
  }

  private MetricsNode.Registered registerWithKey(Node node, String run, boolean resumed, String resumeKey) {
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", run, "settings", Map.of("resumed", resumed)), 10, null,
        testKit.<TrainerActor.Command>createTestProbe().ref(), testKit.<AlertRaised>createTestProbe().ref(),
        reply.ref(), STOP_TOKEN, PUBLISH_TOKEN, resumeKey));
    return reply.receiveMessage(PROBE_WAIT);
  }

  @Test
  void onlyTheTrainerThatStartedARunCanResumeItOnTheMonitor(@TempDir Path out) throws Exception {
    Node node = node(out);
    String key = ResumeKey.newKey();
    MetricsNode.Registered first = registerWithKey(node, "owned", false, key);
    assertNull(first.error());
    Path dir = out.resolve("owned");
    assertEquals(ResumeKey.sha256(key), Files.readString(dir.resolve(ResumeKey.MONITOR_FILE)).strip(),
        "the monitor keeps the key's hash, not the key");
    assertFalse(Files.readString(dir.resolve(ResumeKey.MONITOR_FILE)).contains(key));
    TestProbe<Done> done = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RunFinished("owned", Map.of("type", "run_finished", "status", "finished"),
        done.ref(), first.token()));
    done.receiveMessage(PROBE_WAIT);
    String config = Files.readString(dir.resolve("config.json"));
    // another member claiming to resume it: with another key, or none
    for (String other : java.util.Arrays.asList(ResumeKey.newKey(), null)) {
      MetricsNode.Registered refused = registerWithKey(node, "owned", true, other);
      assertNotNull(refused.error());
      assertTrue(refused.error().startsWith("run 'owned' on this monitor was started by another trainer: resuming it"
          + " needs the resume key its first segment saved in checkpoints/monitor-resume-key"), refused.error());
      assertNull(refused.metrics());
      assertTrue(refused.runIdTaken(), "another trainer's run id: the trainer exits 2");
    }
    assertEquals(2.0, rejected(node.registry(), "not_owner"), node.registry().scrape());
    assertEquals(config, Files.readString(dir.resolve("config.json")), "a refused resume writes nothing");
    MetricsNode.Registered resumed = registerWithKey(node, "owned", true, key);
    assertNull(resumed.error(), resumed.error());
    assertEquals(ResumeKey.sha256(key), Files.readString(dir.resolve(ResumeKey.MONITOR_FILE)).strip());
    // a malformed key is a bad registration, not a refused owner
    MetricsNode.Registered bad = registerWithKey(node, "other", false, "not-hex");
    assertTrue(bad.error() != null && bad.error().contains("resume key that is not 32 hex digits"), bad.error());
    assertFalse(bad.runIdTaken(), "a malformed registration is not a taken run id");
  }

  @Test
  void aResumedRunShowsItsOwnValuesNotTheEarlierSegments(@TempDir Path out) {
    Node node = node(out);
    String key = ResumeKey.newKey();
    MetricsNode.Registered first = registerWithKey(node, "again", false, key);
    publish(first, 5.0);
    TestProbe<Done> done = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RunFinished("again", Map.of("type", "run_finished", "status", "interrupted"),
        done.ref(), first.token()));
    done.receiveMessage(PROBE_WAIT);
    MetricsNode.Registered resumed = registerWithKey(node, "again", true, key);
    assertNull(resumed.error(), resumed.error());
    publish(resumed, 0.25);
    String scrape = node.registry().scrape();
    assertTrue(scrape.contains("splinewatch_training_loss{dataset=\"mnist\",method=\"simclr\",run=\"again\"} 0.25"),
        scrape);
  }

  private MetricsNode.Registered registerEvery(Node node, String run, boolean resumed, String resumeKey, int every) {
    TestProbe<MetricsNode.Registered> reply = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RegisterRun(run, Map.of("run", run, "method", "simclr", "dataset", "mnist"),
        Map.of("run_id", run, "settings", Map.of("resumed", resumed, "snapshot_every", every)), 10, null,
        testKit.<TrainerActor.Command>createTestProbe().ref(), testKit.<AlertRaised>createTestProbe().ref(),
        reply.ref(), STOP_TOKEN, PUBLISH_TOKEN, resumeKey));
    return reply.receiveMessage(PROBE_WAIT);
  }

  @Test
  void aResumedRunsRunResumedGetsTheIntervalTheMonitorsConfigRecordedBefore(@TempDir Path out) throws Exception {
    Node node = node(out);
    String key = ResumeKey.newKey();
    MetricsNode.Registered first = registerEvery(node, "every", false, key, 20);
    TestProbe<Done> done = testKit.createTestProbe();
    node.ref().tell(new MetricsNode.RunFinished("every", Map.of("type", "run_finished", "status", "interrupted"),
        done.ref(), first.token()));
    done.receiveMessage(PROBE_WAIT);
    MetricsNode.Registered resumed = registerEvery(node, "every", true, key, 10);
    assertNull(resumed.error(), resumed.error());
    // as a --monitor trainer sends it: it cannot read the monitor's config.json, so no snapshot_every_before
    resumed.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedEvent(Map.of("type", "run_resumed", "step",
        40, "checkpoint", "latest", "time", 1L, "snapshot_every", 10), PUBLISH_TOKEN));
    TestProbe<Done> flushed = testKit.createTestProbe();
    resumed.metrics().tell(new MetricsActor.Flush(flushed.ref()));
    flushed.receiveMessage(PROBE_WAIT);
    List<String> resumes = Files.readAllLines(out.resolve("every").resolve("events.jsonl")).stream()
        .filter(l -> l.contains("\"run_resumed\"")).toList();
    assertEquals(1, resumes.size(), resumes.toString());
    assertTrue(resumes.get(0).contains("\"snapshot_every_before\":20"), resumes.get(0));
    assertTrue(resumes.get(0).contains("\"snapshot_every\":10"), resumes.get(0));
  }

  private void publish(MetricsNode.Registered r, double loss) {
    r.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(
        List.of(Sample.of("splinewatch_training_loss", loss, 10)), PUBLISH_TOKEN));
    TestProbe<Done> flushed = testKit.createTestProbe();
    r.metrics().tell(new MetricsActor.Flush(flushed.ref()));
    flushed.receiveMessage(PROBE_WAIT);
  }

  @Test
  void aRunIdThatIsStreamingIsRefusedAsTakenAndTheFirstRunGoesOn(@TempDir Path out) {
    Node node = node(out);
    MetricsNode.Registered first = register(node, "twice", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertNull(first.error(), first.error());
    assertFalse(first.runIdTaken());
    MetricsNode.Registered second = register(node, "twice", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertEquals("run 'twice' is already streaming to this monitor; choose another --run-id", second.error());
    assertTrue(second.runIdTaken(), "a taken run id: the trainer exits 2");
    assertNull(second.metrics());
    assertEquals(1.0, rejected(node.registry(), "run_exists"), node.registry().scrape());
  }

  @Test
  void aRunDirectoryFromBeforeResumeKeysTakesTheFirstResumersKey(@TempDir Path out) throws Exception {
    Path earlier = Files.createDirectories(out.resolve("legacy"));
    Files.writeString(earlier.resolve("events.jsonl"), "{\"type\":\"run_finished\"}\n");
    Node node = node(out);
    String key = ResumeKey.newKey();
    assertNull(registerWithKey(node, "legacy", true, key).error());
    assertEquals(ResumeKey.sha256(key), Files.readString(earlier.resolve(ResumeKey.MONITOR_FILE)).strip());
  }

  private void flush(ActorRef<MetricsActor.Command> metrics) {
    TestProbe<Done> flushed = testKit.createTestProbe();
    metrics.tell(new MetricsActor.Flush(flushed.ref()));
    flushed.receiveMessage(PROBE_WAIT);
  }

  private static double rejected(PrometheusMeterRegistry registry, String reason) {
    var c = registry.find(MetricFamily.CLUSTER_REJECTED_TOTAL.meterName()).tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aPublishWithoutTheRunsPublishTokenIsRefusedAndCountedAndOneWithItArrives(@TempDir Path out) {
    Node node = node(out);
    MetricsNode.Registered r = register(node, "owned", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertNull(r.error());
    ActorRef<Object> gate = r.metrics().unsafeUpcast();
    gate.tell(new MetricsNode.PublishToken(PUBLISH_TOKEN)); // the run's publisher: the registered token, accepted
    List<Sample> forged = List.of(Sample.of("splinewatch_training_loss", 99.0, 10));
    gate.tell(new MetricsNode.SignedPublish(forged, "ffffffffffffffffffffffffffffffff"));
    gate.tell(new MetricsNode.SignedPublish(forged, null));
    gate.tell(new MetricsNode.SignedPublish(forged, PUBLISH_TOKEN.substring(1)));
    gate.tell(new MetricsActor.Publish(forged));
    // another node cannot bind its own token
    gate.tell(new MetricsNode.PublishToken("ffffffffffffffffffffffffffffffff"));
    gate.tell(new MetricsNode.SignedPublish(forged, "ffffffffffffffffffffffffffffffff"));
    flush(r.metrics());
    assertEquals(6.0, rejected(node.registry(), "bad_token"), node.registry().scrape());
    assertFalse(node.registry().scrape().contains("splinewatch_training_loss"), node.registry().scrape());

    gate.tell(new MetricsNode.SignedPublish(List.of(Sample.of("splinewatch_training_loss", 0.25, 20)),
        PUBLISH_TOKEN));
    flush(r.metrics());
    assertTrue(node.registry().scrape().contains(
        "splinewatch_training_loss{dataset=\"mnist\",method=\"simclr\",run=\"owned\"} 0.25"),
        node.registry().scrape());
    assertEquals(6.0, rejected(node.registry(), "bad_token"));
  }

  @Test
  void nonFiniteWeightsRaiseDivergenceOnlyWithTheRunsPublishToken(@TempDir Path out) throws Exception {
    Node node = node(out);
    MetricsNode.Registered r = register(node, "nanw", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN,
        org.splinewatch.alerts.AlertSettings.fromConfig(com.typesafe.config.ConfigFactory.load()));
    assertNull(r.error());
    ActorRef<Object> gate = r.metrics().unsafeUpcast();
    // a divergence alert can stop the run: a joined node without the token cannot raise one
    gate.tell(new MetricsActor.NonFiniteWeights(10, "forged"));
    gate.tell(new MetricsNode.SignedNonFiniteWeights(10, "forged", "ffffffffffffffffffffffffffffffff"));
    gate.tell(new MetricsNode.SignedNonFiniteWeights(10, "forged", null));
    flush(r.metrics());
    assertEquals(1.0, rejected(node.registry(), "bad_metrics_message"), node.registry().scrape());
    assertEquals(2.0, rejected(node.registry(), "bad_token"), node.registry().scrape());
    Path events = out.resolve("nanw").resolve("events.jsonl");
    assertFalse(Files.exists(events) && Files.readString(events).contains("divergence"));
    // the run's own side signs it (PublishSigner)
    ActorRef<MetricsActor.Command> signer = testKit.spawn(PublishSigner.create(r.metrics(), PUBLISH_TOKEN, true));
    signer.tell(new MetricsActor.NonFiniteWeights(20, "layer W0: array W0 holds NaN at flat index 0"));
    flush(signer);
    String written = Files.readString(events);
    assertTrue(written.contains("\"rule\":\"divergence\"") && written.contains("the weights became non-finite at"
        + " step 20 (layer W0: array W0 holds NaN at flat index 0)"), written);
  }

  @Test
  void eventsReachTheRunsRecordOnlyWithItsPublishToken(@TempDir Path out) throws Exception {
    Node node = node(out);
    MetricsNode.Registered r = register(node, "record", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertNull(r.error());
    ActorRef<Object> gate = r.metrics().unsafeUpcast();
    // a forged run_resumed would make the report drop the samples written before it
    Map<String, Object> forged = Map.of("type", "run_resumed", "step", 0, "checkpoint", "latest", "time", 1L);
    gate.tell(new MetricsActor.Event(forged));
    gate.tell(new MetricsNode.SignedEvent(forged, "ffffffffffffffffffffffffffffffff"));
    gate.tell(new MetricsNode.SignedEvent(forged, null));
    flush(r.metrics());
    assertEquals(3.0, rejected(node.registry(), "bad_token"), node.registry().scrape());
    Path events = out.resolve("record").resolve("events.jsonl");
    assertFalse(Files.exists(events) && Files.readString(events).contains("run_resumed"));
    // the run's own side signs its events (PublishSigner); a malformed one is still refused
    ActorRef<MetricsActor.Command> signer = testKit.spawn(PublishSigner.create(r.metrics(), PUBLISH_TOKEN, false));
    signer.tell(new MetricsActor.Event(Map.of("type", "analyzer_disabled", "analyzer", "regions", "step", 30L)));
    signer.tell(new MetricsActor.Event(Map.of("type", "Bad Type")));
    flush(signer);
    assertTrue(Files.readString(events).contains("\"type\":\"analyzer_disabled\""), Files.readString(events));
    assertEquals(1.0, rejected(node.registry(), "bad_metrics_message"), node.registry().scrape());
    assertEquals(3.0, rejected(node.registry(), "bad_token"));
  }

  @Test
  void aPeerCannotEndTheRunsTrainingThroughItsGate(@TempDir Path out) {
    Node node = node(out);
    MetricsNode.Registered r = register(node, "quiet", testKit.createTestProbe(), STOP_TOKEN, PUBLISH_TOKEN);
    assertNull(r.error());
    // run_active 0 silences every Prometheus rule of the run: only the metrics node sets it, after checking the token
    r.metrics().tell(new MetricsActor.TrainingEnded(10));
    flush(r.metrics());
    assertEquals(1.0, rejected(node.registry(), "bad_metrics_message"), node.registry().scrape());
    assertTrue(node.registry().scrape().contains("splinewatch_run_active{dataset=\"mnist\",method=\"simclr\","
        + "run=\"quiet\"} 1.0"), node.registry().scrape());
  }

  @Test
  void withoutARegisteredTokenThePublishersAnnouncementBindsItAndASignerSigns(@TempDir Path out) {
    Node node = node(out);
    MetricsNode.Registered r = register(node, "signed", testKit.createTestProbe(), null, null);
    ActorRef<MetricsActor.Command> signer = testKit.spawn(PublishSigner.create(r.metrics(), PUBLISH_TOKEN, true));
    signer.tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_training_loss", 0.5, 10))));
    flush(signer);
    assertTrue(node.registry().scrape().contains("run=\"signed\"} 0.5"), node.registry().scrape());
    assertEquals(0.0, rejected(node.registry(), "bad_token"));
    r.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(
        List.of(Sample.of("splinewatch_training_loss", 7.0, 20)), "ffffffffffffffffffffffffffffffff"));
    flush(r.metrics());
    assertEquals(1.0, rejected(node.registry(), "bad_token"));
    assertFalse(node.registry().scrape().contains("run=\"signed\"} 7.0"), node.registry().scrape());
    // without a registered token (an HTTP-ingested run's stand-in on this node) plain publishes still arrive
    r.metrics().tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_training_loss", 3.0, 30))));
    flush(r.metrics());
    assertTrue(node.registry().scrape().contains("run=\"signed\"} 3.0"), node.registry().scrape());
  }

  @Test
  void theControlEndpointsStopCarriesTheStopTokenTheTrainerRegistered(@TempDir Path out) {
    Node node = node(out);
    TestProbe<TrainerActor.Command> trainer = testKit.createTestProbe();
    assertNull(register(node, "stoppable", trainer, STOP_TOKEN, PUBLISH_TOKEN).error());
    assertEquals(RunControl.Stop.STOPPING, node.control().stop("stoppable", "stop requested"));
    TrainerActor.Stop stop = trainer.expectMessageClass(TrainerActor.Stop.class, PROBE_WAIT);
    assertEquals(STOP_TOKEN, stop.token());

    MetricsNode.Registered bad = register(node, "bad-token", testKit.createTestProbe(), "not hex", null);
    assertNotNull(bad.error());
    assertEquals(1.0, rejected(node.registry(), "bad_registration"));
  }
}
