package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A trainer's search for the monitor: what it says when it cannot join. */
class MonitorLinkTest {

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainerThatNoNodeLetsJoinNamesTheAddressReachabilityAndTlsSettingsToCheck() throws Exception {
    // something accepts TCP at the address but never lets a node in, as a monitor with TLS does a plain trainer, or a
    // starved one does not in time
    try (ServerSocket notANode = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      int port = notANode.getLocalPort();
      Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", "127.0.0.1:" + port,
          "splinewatch.cluster.join-timeout", "2s"));
      ClusterSettings settings = ClusterSettings.fromConfig(c);
      ActorSystem<Void> trainer = ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c);
      try {
        var e = assertThrows(IllegalStateException.class, () -> MonitorLink.findMetricsNode(trainer, settings));
        assertEquals("cannot reach the monitor at 127.0.0.1:" + port + ": no splinewatch node let this trainer join"
            + " within 2 s (splinewatch.cluster.join-timeout raises it); expected a running ./monitor serve there: check --monitor HOST:PORT (its --host and"
            + " cluster --port, default 25520), that it is reachable from here, and that this trainer uses the"
            + " monitor's TLS settings (--tls-dir DIR --tls-name NAME with a certificate of its CA, or none); a"
            + " monitor starved of CPU answers too late as well (its scheduling group at nice 19 on a machine loaded"
            + " by other sessions: give it a lower splinewatch.serve.scheduling-group-nice, e.g. 10)",
            e.getMessage());
      } finally {
        trainer.terminate();
      }
    }
  }

  /**
   * The line said how long it waited but not which setting makes the wait longer (a busy machine's need), nor, until
   * session 53, that a monitor starved at nice 19 is a cause, and which setting gives it more CPU.
   */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aClusterWithoutAMetricsNodeIsNamedWithTheWaitAndTheSettingThatRaisesIt() throws Exception {
    Config first = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.join-timeout", "1s"));
    ActorSystem<Void> trainer = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(first),
        List.of("trainer"), first); // a cluster of its own: up, with no metrics node in it
    try {
      assertTrue(ClusterNode.awaitUp(trainer, java.time.Duration.ofSeconds(30), () -> false), "up");
      String seed = ClusterNode.address(trainer);
      ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
          "splinewatch.cluster.seed", seed, "splinewatch.cluster.join-timeout", "1s")));
      var e = assertThrows(IllegalStateException.class, () -> MonitorLink.findMetricsNode(trainer, settings));
      assertEquals("no splinewatch monitor (metrics node) found at " + seed + " within 1 s"
          + " (splinewatch.cluster.join-timeout raises it, which a busy machine may need); start one with ./monitor"
          + " serve, or check --monitor HOST:PORT; a monitor starved of CPU answers too late as well (its scheduling"
          + " group at nice 19 on a machine loaded by other sessions: give it a lower"
          + " splinewatch.serve.scheduling-group-nice, e.g. 10)", e.getMessage());
    } finally {
      trainer.terminate();
    }
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainerWhoseMonitorAddressRefusesConnectionsFailsBeforeItsNodeStarts() throws Exception {
    int port = closedPort();
    Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", "127.0.0.1:" + port,
        "splinewatch.cluster.join-timeout", "1500ms"));
    ClusterSettings settings = ClusterSettings.fromConfig(c);
    var e = assertThrows(IllegalStateException.class,
        () -> ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c));
    // not "1 s": a wait is shown as MonitorLink.seconds shows it
    assertTrue(e.getMessage().startsWith("cannot reach the monitor at 127.0.0.1:" + port + ": nothing listened there"
        + " within 1.5 s ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("; expected a running ./monitor serve there: check --monitor HOST:PORT (its"
        + " --host and cluster --port, default 25520) and that it is reachable from here"), e.getMessage());
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aMonitorThatStartsListeningWithinTheJoinTimeoutIsWaitedFor() throws Exception {
    int port = closedPort();
    ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
        "splinewatch.cluster.seed", "127.0.0.1:" + port, "splinewatch.cluster.join-timeout", "30s")));
    CompletableFuture<ServerSocket> late = CompletableFuture.supplyAsync(() -> {
      try {
        Thread.sleep(1_500);
        return new ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    try {
      ClusterNode.checkSeedListens(settings, true); // returns once the socket listens, well before 30 s
      assertTrue(late.isDone(), "returned only after the monitor's socket was bound");
    } finally {
      late.join().close();
    }
  }

  /**
   * A metrics node that answers registrations (with {@code metrics}, or not at all when {@code registers} is false)
   * and nothing else: the monitor's answers that do not come, without a busy machine.
   */
  private static org.apache.pekko.actor.typed.Behavior<MetricsNode.Command> metricsNode(boolean registers,
      org.apache.pekko.actor.typed.ActorRef<org.splinewatch.metrics.MetricsActor.Command> metrics) {
    return metricsNode(registers, metrics, new java.util.concurrent.CountDownLatch(1));
  }

  /** A metrics node as above that counts {@code asked} down when a registration reaches it. */
  private static org.apache.pekko.actor.typed.Behavior<MetricsNode.Command> metricsNode(boolean registers,
      org.apache.pekko.actor.typed.ActorRef<org.splinewatch.metrics.MetricsActor.Command> metrics,
      java.util.concurrent.CountDownLatch asked) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(
          MetricsNode.KEY, ctx.getSelf()));
      return Behaviors.receiveMessage(m -> {
        if (m instanceof MetricsNode.RegisterRun) {
          asked.countDown();
        }
        if (registers && m instanceof MetricsNode.RegisterRun r) {
          r.replyTo().tell(new MetricsNode.Registered(r.runId(), metrics, "", null, "token"));
        }
        return Behaviors.same(); // a RunFinished is never answered
      });
    });
  }

  /** A run's metrics actor that answers flushes ({@code flushes}) or nothing. */
  private static org.apache.pekko.actor.typed.Behavior<org.splinewatch.metrics.MetricsActor.Command> metricsActor(
      boolean flushes) {
    return Behaviors.receiveMessage(m -> {
      if (flushes && m instanceof org.splinewatch.metrics.MetricsActor.Flush f) {
        f.replyTo().tell(org.apache.pekko.Done.getInstance());
      }
      return Behaviors.same();
    });
  }

  /**
   * Runs {@code use} against {@code node} on a trainer of a cluster of its own with answer-timeout 0.3 s and
   * finish-timeout 0.4 s: the waits were a fixed 30 s (registration, flush) and 60 s (the end), and one that ran out
   * said "java.util.concurrent.ExecutionException: java.util.concurrent.TimeoutException: Ask timed out on ...".
   */
  private static String waitRunsOut(java.util.function.BiFunction<ActorSystem<Object>, ClusterSettings, Object> use,
      boolean registers, boolean flushes) throws Exception {
    Config c = ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.answer-timeout", "300ms",
        "splinewatch.cluster.finish-timeout", "400ms"));
    ActorSystem<Object> trainer = upTrainer(c);
    try {
      var metrics = trainer.systemActorOf(metricsActor(flushes), "metrics", org.apache.pekko.actor.typed.Props.empty());
      trainer.systemActorOf(metricsNode(registers, metrics), "node", org.apache.pekko.actor.typed.Props.empty());
      ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
          "splinewatch.cluster.seed", ClusterNode.address(trainer), "splinewatch.cluster.answer-timeout", "300ms",
          "splinewatch.cluster.finish-timeout", "400ms")));
      long t0 = System.nanoTime();
      var e = assertThrows(IllegalStateException.class, () -> use.apply(trainer, settings));
      assertTrue(System.nanoTime() - t0 < 15e9, "gave up within the setting's wait, not 30 s or more");
      return e.getMessage();
    } finally {
      trainer.terminate();
    }
  }

  private static MonitorLink link(ActorSystem<Object> trainer, ClusterSettings settings) {
    return MonitorLink.register(trainer, settings, "silent", Map.of("run", "silent", "method", "m", "dataset", "d"),
        Map.of(), 10, null, null);
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aRegistrationTheMonitorDoesNotAnswerIsOneLineNamingTheWaitAndItsSetting() throws Exception {
    assertEquals("the monitor did not answer the registration of run silent within 0.3 s"
        + " (splinewatch.cluster.answer-timeout raises it, which a busy monitor may need)",
        waitRunsOut(MonitorLinkTest::link, false, false));
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aFlushTheMonitorDoesNotAnswerIsOneLineNamingTheWaitAndItsSetting() throws Exception {
    assertEquals("could not flush the metrics of run silent on the monitor within 0.3 s"
        + " (splinewatch.cluster.answer-timeout raises it, which a busy monitor may need)",
        waitRunsOut((trainer, settings) -> {
          link(trainer, settings).flush();
          return null;
        }, true, false));
  }

  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void anEndTheMonitorDoesNotRecordIsOneLineNamingTheWaitAndItsSetting() throws Exception {
    assertEquals("could not record the end of run silent on the monitor within 0.4 s"
        + " (splinewatch.cluster.finish-timeout raises it, which a busy monitor may need)",
        waitRunsOut((trainer, settings) -> {
          link(trainer, settings).finish(Map.of("type", "run_finished"));
          return null;
        }, true, true));
  }

  /**
   * A trainer stopped by a signal whose monitor answers neither flushes nor the run's end: the flush and the end share
   * what is left of the signal's grace, the flush that ran out is not sent again, the end still is, and one line names
   * the monitor, what it did not confirm and signal-grace, before the grace runs out. They waited answer-timeout + 5 s
   * for each flush and finish-timeout + 5 s for the end (135 s at the defaults) while the grace halted the process
   * after 25 s with "the run did not end within 25 s of SIGINT; exiting", naming neither.
   */
  @Test
  @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aStopBySignalGivesTheMonitorWhatIsLeftOfTheGraceAndNamesItInOneLine() throws Exception {
    var flushes = new java.util.concurrent.atomic.AtomicInteger();
    var ends = new java.util.concurrent.atomic.AtomicInteger();
    Config c = ClusterRunIT.nodeConfig(Map.of());
    ActorSystem<Object> trainer = upTrainer(c);
    try {
      var metrics = trainer.systemActorOf(Behaviors.<org.splinewatch.metrics.MetricsActor.Command>receiveMessage(m -> {
        flushes.incrementAndGet(); // never answered
        return Behaviors.same();
      }), "metrics", org.apache.pekko.actor.typed.Props.empty());
      trainer.systemActorOf(countingNode(metrics, ends, false), "node", org.apache.pekko.actor.typed.Props.empty());
      ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
          "splinewatch.cluster.seed", ClusterNode.address(trainer), "splinewatch.cluster.answer-timeout", "20s",
          "splinewatch.cluster.finish-timeout", "30s")));
      MonitorLink link = link(trainer, settings);
      java.time.Duration grace = java.time.Duration.ofMillis(3500);
      long signalled = System.nanoTime();
      link.stopBy(StopDeadline.in(grace), "SIGINT", grace);
      // as EmbeddedRun: the flush for the analysed snapshots' count, then the run's end
      assertThrows(MonitorLink.OutOfGrace.class, link::flush);
      var e = assertThrows(MonitorLink.OutOfGrace.class, () -> link.finish(Map.of("type", "run_finished")));
      double took = (System.nanoTime() - signalled) / 1e9;
      assertTrue(took < grace.toMillis() / 1000.0, "ended within the grace, not after the settings' waits: " + took);
      assertTrue(took > 1.5, "waited what was left of the grace (less its margin): " + took);
      assertEquals("the monitor at " + ClusterNode.address(trainer) + " did not answer within the 3.5 s signal-grace"
          + " after SIGINT (splinewatch.lifecycle.signal-grace raises it): the last metrics and the end"
          + " (run_finished) of run silent were not confirmed written there", e.getMessage());
      // the end, sent last, has arrived (a node slower to take it than a fixed 300 ms counted none); then a flush sent
      // again would have had as long as the end to arrive, and 300 ms more
      long until = System.nanoTime() + 30_000_000_000L;
      while (ends.get() == 0 && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      Thread.sleep(300);
      assertEquals(1, flushes.get(), "the flush that ran out was not sent again");
      assertEquals(1, ends.get(), "the end was still sent: a monitor that answers late may record it");
    } finally {
      trainer.terminate();
    }
  }

  /** With a signal's deadline, a monitor that answers records the run's end as before, without a line. */
  @Test
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aStopBySignalWhoseMonitorAnswersEndsAsBefore() throws Exception {
    var ends = new java.util.concurrent.atomic.AtomicInteger();
    Config c = ClusterRunIT.nodeConfig(Map.of());
    ActorSystem<Object> trainer = upTrainer(c);
    try {
      var metrics = trainer.systemActorOf(metricsActor(true), "metrics", org.apache.pekko.actor.typed.Props.empty());
      trainer.systemActorOf(countingNode(metrics, ends, true), "node", org.apache.pekko.actor.typed.Props.empty());
      ClusterSettings settings = ClusterSettings.fromConfig(ClusterRunIT.nodeConfig(Map.of(
          "splinewatch.cluster.seed", ClusterNode.address(trainer))));
      MonitorLink link = link(trainer, settings);
      link.stopBy(StopDeadline.in(java.time.Duration.ofSeconds(25)), "SIGTERM", java.time.Duration.ofSeconds(25));
      link.flush();
      link.finish(Map.of("type", "run_finished"));
      assertEquals(1, ends.get());
    } finally {
      trainer.terminate();
    }
  }

  /** A metrics node that registers runs with {@code metrics} and counts their ends, answered when {@code answers}. */
  private static org.apache.pekko.actor.typed.Behavior<MetricsNode.Command> countingNode(
      org.apache.pekko.actor.typed.ActorRef<org.splinewatch.metrics.MetricsActor.Command> metrics,
      java.util.concurrent.atomic.AtomicInteger ends, boolean answers) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(org.apache.pekko.actor.typed.receptionist.Receptionist.register(
          MetricsNode.KEY, ctx.getSelf()));
      return Behaviors.receiveMessage(m -> {
        if (m instanceof MetricsNode.RegisterRun r) {
          r.replyTo().tell(new MetricsNode.Registered(r.runId(), metrics, "", null, "token"));
        } else if (m instanceof MetricsNode.RunFinished f) {
          ends.incrementAndGet();
          if (answers) {
            f.replyTo().tell(org.apache.pekko.Done.getInstance());
          }
        }
        return Behaviors.same();
      });
    });
  }

  /**
   * A trainer that registers while the monitor stops is refused at once, in one line that says so and what to do: it
   * waited out its whole answer-timeout (30 s), or registered a run the stop then left without its end.
   */
  @Test
  @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aTrainerThatRegistersWhileTheMonitorStopsIsRefusedAtOnceInOneLine(@org.junit.jupiter.api.io.TempDir
      java.nio.file.Path out) throws Exception {
    ActorSystem<Void> monitor = upMonitor();
    ActorSystem<Object> trainer = null;
    try {
      var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
      var node = monitor.systemActorOf(MetricsNode.create(registry, out, new org.splinewatch.control.RunControl(),
          ""), "metrics-node", org.apache.pekko.actor.typed.Props.empty());
      node.tell(new MetricsNode.Stopping());
      String seed = ClusterNode.address(monitor);
      Config c = joinerConfig(seed, "20s");
      ClusterSettings settings = ClusterSettings.fromConfig(c);
      trainer = joinedTrainer(c, settings); // joined: what follows is the registration alone
      ActorSystem<Object> t = trainer;
      long t0 = System.nanoTime();
      var e = assertThrows(IllegalStateException.class, () -> MonitorLink.register(t, settings, "late",
          Map.of("run", "late", "method", "m", "dataset", "d"), Map.of(), 10, null, null));
      assertTrue(System.nanoTime() - t0 < 10e9, "refused at once, not after the answer-timeout");
      assertEquals("the monitor at " + seed + " is stopping; start the run again when a monitor runs there, or"
          + " without --monitor", e.getMessage());
      assertTrue(!java.nio.file.Files.exists(out.resolve("late")), "no run directory for a refused run");
    } finally {
      if (trainer != null) {
        trainer.terminate();
      }
      monitor.terminate();
    }
  }

  /**
   * A monitor that stops after the trainer found its metrics node (its node gone, the registration unanswered): the
   * trainer says so once the monitor has left the cluster, where it waited out its whole answer-timeout (30 s) and
   * then blamed a busy monitor.
   */
  @Test
  @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aMonitorThatLeavesWhileTheTrainerRegistersIsNamedOnceItHasLeftNotAfterTheAnswerTimeout() throws Exception {
    ActorSystem<Void> monitor = upMonitor();
    ActorSystem<Object> trainer = null;
    try {
      java.util.concurrent.CountDownLatch asked = new java.util.concurrent.CountDownLatch(1);
      monitor.systemActorOf(metricsNode(false, null, asked), "metrics-node",
          org.apache.pekko.actor.typed.Props.empty());
      String seed = ClusterNode.address(monitor);
      Config c = joinerConfig(seed, "60s");
      ClusterSettings settings = ClusterSettings.fromConfig(c);
      trainer = joinedTrainer(c, settings);
      ActorSystem<Object> t = trainer;
      CompletableFuture<String> refused = CompletableFuture.supplyAsync(() -> {
        try {
          MonitorLink.register(t, settings, "late", Map.of("run", "late", "method", "m", "dataset", "d"), Map.of(),
              10, null, null);
          return "registered";
        } catch (IllegalStateException e) {
          return e.getMessage();
        }
      });
      // the registration waits for its answer: the node has it (a fixed second let a slow trainer ask after the
      // monitor had gone)
      assertTrue(asked.await(30, java.util.concurrent.TimeUnit.SECONDS), "the metrics node got the registration");
      long t0 = System.nanoTime();
      monitor.terminate(); // leaves the cluster, as a stopping monitor does
      String said = refused.get(50, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(System.nanoTime() - t0 < 30e9, "said once the monitor had left, not after the 60 s answer-timeout");
      assertTrue(said.startsWith("the monitor at " + seed + " "), said);
      assertTrue(said.endsWith(" while this trainer registered run late; start the run again when a monitor runs"
          + " there, or without --monitor"), said);
    } finally {
      if (trainer != null) {
        trainer.terminate();
      }
      monitor.terminate();
    }
  }

  /**
   * A stop by a signal whose monitor has left the cluster before the run's end: one line as for a monitor that did
   * not answer within the grace (the monitor, what it did not confirm), without a setting to raise, as nothing was
   * waited for. It said "...left the cluster; the run's directory there holds what reached it before, without the
   * run's end", in another form than the grace's line.
   */
  @Test
  @Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aStopBySignalWhoseMonitorIsGoneSaysWhatWasNotConfirmedAsTheGracesLineDoes() throws Exception {
    ActorSystem<Void> monitor = upMonitor();
    ActorSystem<Object> trainer = null;
    try {
      var metrics = monitor.systemActorOf(metricsActor(true), "metrics", org.apache.pekko.actor.typed.Props.empty());
      monitor.systemActorOf(metricsNode(true, metrics), "metrics-node", org.apache.pekko.actor.typed.Props.empty());
      String seed = ClusterNode.address(monitor);
      Config c = joinerConfig(seed, "20s");
      ClusterSettings settings = ClusterSettings.fromConfig(c);
      trainer = joinedTrainer(c, settings);
      MonitorLink link = link(trainer, settings);
      monitor.terminate(); // leaves the cluster
      long until = System.nanoTime() + 30_000_000_000L;
      while (link.monitorGone().isEmpty() && System.nanoTime() < until) {
        Thread.sleep(100);
      }
      java.time.Duration grace = java.time.Duration.ofSeconds(20);
      link.stopBy(StopDeadline.in(grace), "SIGINT", grace);
      var e = assertThrows(IllegalStateException.class, () -> link.finish(Map.of("type", "run_finished")));
      assertEquals("the monitor at " + seed + " left the cluster: the last metrics of run silent were not confirmed"
          + " written there, and its end (run_finished) was not sent; the run's directory there holds what reached it"
          + " before", e.getMessage());
    } finally {
      if (trainer != null) {
        trainer.terminate();
      }
      monitor.terminate();
    }
  }

  /** A trainer's node of a cluster of its own, started with {@code c}, up. */
  private static ActorSystem<Object> upTrainer(Config c) {
    return upNode(c, "trainer");
  }

  /** The first node of a cluster of its own, with the metrics role, up. */
  private static ActorSystem<Void> upMonitor() {
    return upNode(ClusterRunIT.nodeConfig(Map.of()), "metrics");
  }

  /** A node with {@code role} of a cluster of its own, started with {@code c}, up. */
  private static <T> ActorSystem<T> upNode(Config c, String role) {
    ActorSystem<T> node = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of(role), c);
    if (!ClusterNode.awaitUp(node, java.time.Duration.ofSeconds(30), () -> false)) {
      node.terminate();
      throw new AssertionError("the " + role + " node did not come up within 30 s");
    }
    return node;
  }

  /** The configuration of a trainer that joins {@code seed} and waits {@code answerTimeout} for the monitor. */
  private static Config joinerConfig(String seed, String answerTimeout) {
    return ClusterRunIT.nodeConfig(Map.of("splinewatch.cluster.seed", seed, "splinewatch.cluster.answer-timeout",
        answerTimeout));
  }

  /** A trainer's node started with {@code c} ({@code settings}), once it has found the monitor's metrics node. */
  private static ActorSystem<Object> joinedTrainer(Config c, ClusterSettings settings) {
    ActorSystem<Object> trainer = ClusterNode.start(Behaviors.empty(), settings, List.of("trainer"), c);
    try {
      MonitorLink.findMetricsNode(trainer, settings);
      return trainer;
    } catch (RuntimeException | AssertionError e) {
      trainer.terminate();
      throw e;
    }
  }

  private static int closedPort() throws java.io.IOException {
    try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return free.getLocalPort(); // nothing listens there once closed
    }
  }
}
