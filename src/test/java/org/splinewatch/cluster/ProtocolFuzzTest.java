package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.LogCapturingExtension;
import org.splinewatch.TestTools;
import org.splinewatch.cli.Main;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.trainer.TrainerActor;

/**
 * Malformed and hostile protocol messages against a live {@code monitor serve} (metrics and analyzer roles) in its
 * own JVM with {@code -Xmx256m}: first the two messages that used to kill it (a chunk with {@code count = 2^31-1},
 * a registration with a null run id), then thousands of random bad {@code Chunk}, {@code OpenRun},
 * {@code CloseRun}, {@code RegisterRun}, {@code RunFinished}, {@code TrainingEnded} and metrics messages. The node
 * stays up, every one of them is counted in {@code splinewatch_cluster_rejected_total}, an incomplete transfer
 * expires, and a legitimate run afterwards is analysed and exported with no trace of the hostile metrics.
 */
@ExtendWith(LogCapturingExtension.class)
class ProtocolFuzzTest {
  private static final int MESSAGES = 3000;
  private static final Pattern REJECTED = Pattern.compile(
      "splinewatch_cluster_rejected_total\\{reason=\"([a-z_]+)\",role=\"([a-z]+)\"} ([0-9.E]+)");

  @TempDir
  Path tmp;

  private static String scrape(HttpClient http, int port) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static Map<String, Double> rejected(String body) {
    Map<String, Double> byReason = new HashMap<>();
    Matcher m = REJECTED.matcher(body);
    while (m.find()) {
      byReason.merge(m.group(1), Double.parseDouble(m.group(3)), Double::sum);
    }
    return byReason;
  }

  private static double total(Map<String, Double> byReason) {
    return byReason.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /** Strings no run id may be. */
  private static final List<String> BAD_IDS = List.of("..", "../etc", "a/b", ".hidden", "-x", "x y", "x\"}",
      "run\nid", "x".repeat(10_000), "");

  @Test
  void hostileMessagesAreCountedAndALegitimateRunFollows() throws Exception {
    int clusterPort = TestTools.freePort();
    int httpPort = TestTools.freePort();
    Path log = tmp.resolve("serve.log");
    List<String> cmd = List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx256m",
        "-XX:+ExitOnOutOfMemoryError", "-Dsplinewatch.cluster.snapshot-timeout=2s",
        "-Dsplinewatch.cluster.max-snapshot-bytes=8m", "-Dsplinewatch.cluster.max-partial-bytes=16m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "monitor", "serve", "--port",
        String.valueOf(clusterPort), "--metrics-port", String.valueOf(httpPort), "--out",
        tmp.resolve("monitor-runs").toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("OPENBLAS_NUM_THREADS", "1");
    Process serve = pb.start();
    ActorSystem<Void> fuzzer = null;
    try {
      for (int i = 0; i < 900 && !(Files.exists(log) && Files.readString(log).contains("trainers join with")); i++) {
        assertTrue(serve.isAlive(), "serve exited: " + (Files.exists(log) ? Files.readString(log) : ""));
        Thread.sleep(100);
      }
      String seed = "127.0.0.1:" + clusterPort;
      Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", seed));
      fuzzer = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of("trainer"), c);
      ActorRef<MetricsNode.Command> metricsNode = ClusterNode.awaitService(fuzzer, MetricsNode.KEY, 1,
          Duration.ofSeconds(60)).iterator().next();
      ActorRef<AnalyzerWorker.Command> worker = ClusterNode.awaitService(fuzzer, AnalyzerWorker.KEY, 1,
          Duration.ofSeconds(60)).iterator().next();
      TestProbe<MetricsNode.Registered> registered = TestProbe.create(fuzzer);
      TestProbe<TrainerActor.Command> trainer = TestProbe.create(fuzzer);
      TestProbe<AlertRaised> alerts = TestProbe.create(fuzzer);
      TestProbe<SnapshotPublisher.Command> publisher = TestProbe.create(fuzzer);
      TestProbe<Done> done = TestProbe.create(fuzzer);
      Map<String, String> labels = Map.of("run", "target", "method", "supervised", "dataset", "mnist");

      // a registered run and an open analyzer run to aim at
      metricsNode.tell(new MetricsNode.RegisterRun("target", labels, Map.of("seed", 1), 10, null, trainer.getRef(),
          alerts.getRef(), registered.getRef()));
      MetricsNode.Registered target = registered.receiveMessage(Duration.ofSeconds(30));
      assertNull(target.error());
      ActorRef<MetricsActor.Command> gate = target.metrics();
      String token = "0123456789abcdef0123456789abcdef";
      // as the run's publisher does: the gate learns the publish token before any analyzer node learns the gate
      gate.<Object>unsafeUpcast().tell(new MetricsNode.PublishToken(token));
      worker.tell(new AnalyzerWorker.OpenRun("target", List.of("embedding"), gate, publisher.getRef(), token));

      int sent = 0;
      // the old killers: a 70-byte chunk announcing 2^31-1 parts, a registration without a run id, null data
      worker.tell(new AnalyzerWorker.Chunk("target", 1, 0, Integer.MAX_VALUE, new byte[70], token));
      metricsNode.tell(new MetricsNode.RegisterRun(null, labels, Map.of(), 10, null, trainer.getRef(),
          alerts.getRef(), registered.getRef()));
      worker.tell(new AnalyzerWorker.Chunk("target", 1, 0, 1, null, token));
      sent += 3;
      assertNotNull(registered.receiveMessage(Duration.ofSeconds(30)).error(), "a null run id is refused");

      SplittableRandom r = new SplittableRandom(23);
      for (int i = 0; i < MESSAGES; i++, sent++) {
        String badId = BAD_IDS.get(r.nextInt(BAD_IDS.size()));
        String otherToken = Long.toHexString(r.nextLong() | Long.MIN_VALUE).repeat(2);
        switch (r.nextInt(12)) {
          case 0 -> worker.tell(new AnalyzerWorker.Chunk(r.nextBoolean() ? badId : "nobody-" + i, r.nextLong(),
              r.nextInt(), r.nextInt(), new byte[r.nextInt(100)], token));
          case 1 -> worker.tell(new AnalyzerWorker.Chunk("target", 1 + r.nextInt(5), 0, 1, new byte[10],
              r.nextBoolean() ? otherToken : null));
          case 2 -> {
            int count = List.of(0, -1, Integer.MAX_VALUE, 8 * 16 + 2 + r.nextInt(1000)).get(r.nextInt(4));
            int index = r.nextInt(3) - 1;
            if (count >= 1 && count <= 129) {
              index = count + r.nextInt(5);
            }
            worker.tell(new AnalyzerWorker.Chunk("target", r.nextInt(10), index, count, new byte[1], token));
          }
          case 3 -> {
            int valid = 1 + r.nextInt(4);
            worker.tell(new AnalyzerWorker.Chunk("target", 1, r.nextBoolean() ? valid : -1 - r.nextInt(5), valid,
                r.nextBoolean() ? null : r.nextBoolean() ? new byte[0] : new byte[70_000], token));
          }
          case 4 -> worker.tell(new AnalyzerWorker.OpenRun(badId, List.of("embedding"), gate, publisher.getRef(),
              token));
          case 5 -> {
            int kind = r.nextInt(4);
            worker.tell(new AnalyzerWorker.OpenRun(kind == 3 ? "target" : "fresh-" + i, kind == 0 ? null
                : List.of("embedding"), kind == 1 ? null : gate, publisher.getRef(), kind == 2 ? "zz"
                : kind == 3 ? otherToken : token));
          }
          case 6 -> worker.tell(new AnalyzerWorker.CloseRun(r.nextBoolean() ? "target" : badId, otherToken));
          case 7 -> {
            int kind = r.nextInt(5);
            Map<String, String> l = new HashMap<>(Map.of("run", "r" + i, "method", "supervised", "dataset",
                "mnist"));
            if (kind == 1) {
              l.put("method", "x\"} evil_metric 1\n");
            } else if (kind == 2) {
              l.put("tenant", "someone");
            }
            Map<String, Object> config = kind == 3 ? Map.of("note", "\u001b]0;owned\u0007") : Map.of();
            String id = kind == 0 ? badId : kind == 4 ? "target" : "r" + i;
            metricsNode.tell(new MetricsNode.RegisterRun(id, kind == 0 || kind == 4 ? labels : l, config, 10, null,
                trainer.getRef(), alerts.getRef(), registered.getRef()));
          }
          case 8 -> {
            String id = r.nextBoolean() ? "target" : "nobody";
            String wrongToken = r.nextBoolean() ? null : otherToken;
            metricsNode.tell(r.nextBoolean() ? new MetricsNode.RunFinished(id, Map.of("type", "run_finished"),
                done.getRef(), wrongToken) : new MetricsNode.TrainingEnded(id, r.nextLong(), wrongToken));
          }
          case 9 -> {
            List<Sample> samples = List.of(
                Sample.of("evil_metric", 1, i, "layer", "x"),
                Sample.of("splinewatch_regions", 1, i, "plane", "0\"} 1\nevil_metric{a=\"b"),
                Sample.of("splinewatch_regions", 1, i, "run", "someone-else"),
                Sample.of("splinewatch_regions", 1, i, "plane", "p".repeat(65)),
                Sample.of("splinewatch_training_loss", 1, i, "layer", "a", "plane", "b", "rule", "c", "node", "d",
                    "analyzer", "e"));
            List<Sample> chosen = r.nextInt(6) == 0 ? null : List.of(samples.get(r.nextInt(samples.size())));
            int how = r.nextInt(4); // with the run's token (refused for its samples), a wrong one, none, plain
            if (how == 3) {
              gate.tell(new MetricsActor.Publish(chosen));
            } else {
              gate.<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(
                  how == 0 ? List.of(Sample.of("splinewatch_training_loss", 1, i)) : chosen,
                  how == 0 ? otherToken : how == 1 ? null : token));
            }
          }
          case 10 -> gate.tell(r.nextBoolean() ? new MetricsActor.AnalysisTook("embedding", i, Double.NaN)
              : new MetricsActor.SnapshotDropped(badId));
          default -> gate.tell(new MetricsActor.Event(Map.of("type", r.nextBoolean() ? "Bad Type" : "x",
              "payload", "y".repeat(5000))));
        }
      }

      HttpClient http = HttpClient.newHttpClient();
      Map<String, Double> byReason = Map.of();
      for (int i = 0; i < 300 && total(byReason) < sent; i++) {
        Thread.sleep(100);
        byReason = rejected(scrape(http, httpPort));
      }
      assertEquals(sent, total(byReason), 0.0, "every hostile message counted once: " + byReason);
      for (String reason : List.of("unknown_run", "not_owner", "bad_chunk", "bad_open", "bad_registration",
          "run_exists", "bad_sample", "bad_metrics_message", "bad_token")) {
        assertTrue(byReason.getOrDefault(reason, 0.0) > 0, reason + " in " + byReason);
      }
      assertTrue(serve.isAlive(), "the monitor survived: " + Files.readString(log));

      // an incomplete transfer expires after snapshot-timeout (2 s here)
      worker.tell(new AnalyzerWorker.Chunk("target", 7, 0, 2, new byte[100], token));
      for (int i = 0; i < 100 && !byReason.containsKey("expired"); i++) {
        Thread.sleep(100);
        byReason = rejected(scrape(http, httpPort));
      }
      assertEquals(1.0, byReason.getOrDefault("expired", 0.0), byReason.toString());

      // a legitimate run right after: analysed and exported
      ClusterRunIT.remoteRunSucceeds(tmp, "legit", seed, Map.of());
      String body = scrape(http, httpPort);
      assertTrue(body.matches("(?s).*splinewatch_embedding_uniformity\\{[^}]*run=\"legit\".*"), body);
      assertFalse(body.contains("evil_metric") || body.contains("someone-else"), body);
      assertTrue(serve.isAlive(), Files.readString(log));
      assertFalse(Files.readString(log).contains("OutOfMemoryError"), Files.readString(log));
    } finally {
      if (fuzzer != null) {
        fuzzer.terminate();
      }
      serve.destroy();
      if (!serve.waitFor(20, TimeUnit.SECONDS)) {
        serve.destroyForcibly();
      }
    }
  }
}
