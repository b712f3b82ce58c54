package org.splinewatch.cluster;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.ClusterEvent.CurrentClusterState;
import org.apache.pekko.cluster.MemberStatus;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.trainer.TrainerActor;

/**
 * A trainer's connection to the monitor of a cluster: finds the metrics node through the receptionist (waiting up
 * to {@code join-timeout} for the node to join), registers the run there and, at the end, reports how it finished.
 */
public final class MonitorLink {
  private final ActorSystem<?> system;
  private final ClusterSettings settings;
  private final ActorRef<MetricsNode.Command> node;
  private final String runId;
  private final ActorRef<MetricsActor.Command> metrics;
  private final String metricsUrl;
  private final String token;
  private final String publishToken;
  /** The deadline of a stop by a signal ({@link #stopBy}); null: each wait has its own setting. */
  private volatile SignalDeadline signalDeadline;
  /** Whether a flush ran out of the signal's deadline: a further flush would only wait again. */
  private volatile boolean flushOutOfGrace;

  private MonitorLink(ActorSystem<?> system, ClusterSettings settings, ActorRef<MetricsNode.Command> node,
      String runId, ActorRef<MetricsActor.Command> metrics, String metricsUrl, String token, String publishToken) {
    this.settings = settings;
    this.token = token;
    this.publishToken = publishToken;
    this.system = system;
    this.node = node;
    this.runId = runId;
    this.metrics = metrics;
    this.metricsUrl = metricsUrl;
  }

  /**
   * What a join that timed out adds about the monitor's side: a monitor whose scheduling group is at nice 19 on a
   * machine loaded by other sessions got too little CPU to let a trainer in within 180 s (session 53). The same for
   * a {@code monitor serve --seed} node whose join timed out (MonitorServer).
   */
  public static final String STARVED_MONITOR = "; a monitor starved of CPU answers too late as well (its scheduling"
      + " group at nice 19 on a machine loaded by other sessions: give it a lower"
      + " splinewatch.serve.scheduling-group-nice, e.g. 10)";

  /** The metrics node of the cluster this system joins; a clear error when none appears in time. */
  public static ActorRef<MetricsNode.Command> findMetricsNode(ActorSystem<?> system, ClusterSettings settings) {
    // a certificate this trainer refused will be refused again, and a monitor that speaks TLS while this trainer
    // does not (or the other way round) never lets it in: no use waiting out the join timeout for either
    SeedProbe probe = new SeedProbe(system, settings, true);
    Set<ActorRef<MetricsNode.Command>> nodes = ClusterNode.awaitService(system, MetricsNode.KEY, 1,
        settings.joinTimeout(), probe::hopeless);
    if (!nodes.isEmpty()) {
      return nodes.iterator().next();
    }
    if (probe.mismatch().isPresent()) {
      throw new IllegalStateException(probe.mismatch().get());
    }
    if (Cluster.get(system).selfMember().status() != MemberStatus.up()) {
      // nothing let this node in: nothing listens there, or the monitor's TLS settings differ from this trainer's
      Optional<String> refusal = ClusterNode.tlsRefusal(system);
      throw new IllegalStateException("cannot reach the monitor at " + settings.seed() + ": no splinewatch node let"
          + " this trainer join" + (refusal.isPresent() ? "" : " within " + seconds(settings.joinTimeout())
          + " (splinewatch.cluster.join-timeout raises it)") + "; expected a running ./monitor"
          + " serve there: check --monitor HOST:PORT (its --host and cluster --port, default 25520), that it is"
          + " reachable from here, and that this trainer uses the monitor's TLS settings (--tls-dir DIR --tls-name"
          + " NAME with a certificate of its CA, or none)" + refusal.map(r -> "; " + r).orElse(STARVED_MONITOR));
    }
    // also where this trainer's own node was too busy to answer its receptionist lookup in that time
    throw new IllegalStateException("no splinewatch monitor (metrics node) found at " + settings.seed() + " within "
        + seconds(settings.joinTimeout()) + " (splinewatch.cluster.join-timeout raises it, which a busy machine"
        + " may need); start one with ./monitor serve, or check --monitor HOST:PORT" + STARVED_MONITOR);
  }

  /**
   * The monitor refused the run because its run id is another run's there (streaming, its directory holds a run, or
   * another trainer started it): a bad argument, as a taken run id on the trainer's own machine is.
   */
  public static final class RunIdTaken extends IllegalArgumentException {
    public RunIdTaken(String message) {
      super(message);
    }
  }

  /**
   * Registers the run with the metrics node; the node's refusal is an {@link IllegalArgumentException} ({@link
   * RunIdTaken} for a run id that is another run's). The
   * system's guardian (a run's guardian) receives the run's alerts and stop requests through a {@link TrainerDoor},
   * the stops only with the stop token this registration tells the metrics node. {@code resumeKey}: the run's
   * {@link ResumeKey}, new for a new run, the saved one when it resumes.
   */
  public static MonitorLink register(ActorSystem<Object> system, ClusterSettings settings, String runId,
      Map<String, String> labels, Map<String, Object> config, int classes, AlertSettings alerts, String resumeKey) {
    ActorRef<MetricsNode.Command> node = findMetricsNode(system, settings);
    // stops and alerts come through a door with an unguessable address; stops must carry the stop token
    String stopToken = TrainerDoor.secret();
    // the token the run's publishes carry (its publisher gives it to the analyzer nodes it streams to)
    String publishToken = SnapshotPublisher.newToken();
    ActorRef<Object> door = TrainerDoor.open(system, stopToken, Rejections.unexported());
    ActorRef<AlertRaised> alertsTo = door.narrow();
    ActorRef<TrainerActor.Command> trainer = door.narrow();
    Duration wait = settings.answerTimeout();
    // a monitor that stopped after this trainer found its node (left the cluster, or unreachable) never answers: said
    // as soon as the cluster shows it, not after the whole answer-timeout
    MetricsNode.Registered reply = await(AskPattern.<MetricsNode.Command, MetricsNode.Registered>ask(node,
        r -> new MetricsNode.RegisterRun(runId, labels, config, classes, alerts, trainer, alertsTo, r, stopToken,
            publishToken, resumeKey), wait, system.scheduler()), wait,
        "the monitor did not answer the registration of run " + runId, "answer-timeout",
        () -> gone(system, node.path().address()).map(g -> g + " while this trainer registered run " + runId
            + "; start the run again when a monitor runs there, or without --monitor"));
    if (reply.error() != null) {
      if (reply.monitorStopping()) { // not this trainer's arguments: exit code 1, as a monitor that is not there
        throw new IllegalStateException(reply.error());
      }
      throw reply.runIdTaken() ? new RunIdTaken(reply.error()) : new IllegalArgumentException(reply.error());
    }
    return new MonitorLink(system, settings, node, runId, reply.metrics(), reply.metricsUrl(), reply.token(),
        publishToken);
  }

  public ActorRef<MetricsActor.Command> metrics() {
    return metrics;
  }

  /**
   * The run's publish token, registered with the metrics node: give it to the run's {@link SnapshotPublisher} (and
   * sign the trainer's own publishes with it, {@link PublishSigner}), or the metrics node refuses their publishes.
   */
  public String publishToken() {
    return publishToken;
  }

  /** Where the monitor serves {@code /metrics} (empty when it serves none). */
  public String metricsUrl() {
    return metricsUrl;
  }

  /**
   * Why the monitor cannot hear this trainer now (empty when it can): this trainer's node was downed (cut off), or
   * the monitor's node is unreachable or gone from the cluster. Asking it then would only wait out a timeout.
   */
  public Optional<String> monitorGone() {
    return gone(system, node.path().address());
  }

  /**
   * Why the node at {@code monitor} cannot hear this node now (empty when it can, or when it is this actor system):
   * this node was downed (cut off), or the other is unreachable or gone from the cluster.
   */
  public static Optional<String> gone(ActorSystem<?> system, Address monitor) {
    if (monitor.hasLocalScope()) {
      return Optional.empty(); // the metrics node runs in this actor system
    }
    Cluster cluster = Cluster.get(system);
    String where = monitor.getHost().orElse("?") + ":" + monitor.getPort().orElse(0);
    MemberStatus self = cluster.selfMember().status();
    if (cluster.isTerminated() || self == MemberStatus.down() || self == MemberStatus.removed()) {
      return Optional.of("this trainer was cut off from the monitor at " + where + " (its cluster node was downed)");
    }
    CurrentClusterState state = cluster.state();
    if (state.getUnreachable().stream().anyMatch(m -> m.address().equals(monitor))) {
      return Optional.of("the monitor at " + where + " is unreachable");
    }
    if (java.util.stream.StreamSupport.stream(state.getMembers().spliterator(), false)
        .noneMatch(m -> m.address().equals(monitor) && m.status() == MemberStatus.up())) {
      return Optional.of("the monitor at " + where + " left the cluster");
    }
    return Optional.empty();
  }

  /**
   * The run stops for a signal ({@code signal}, e.g. SIGINT) whose grace ({@code splinewatch.lifecycle.signal-grace},
   * {@code grace}) ends at {@code deadline}: from now on each wait on the monitor gets at most what is left of it (less
   * {@link #STOP_MARGIN} for the run's last lines), instead of answer-timeout or finish-timeout one after another, so
   * that a monitor that does not answer is named in one line before the grace runs out and halts the process.
   */
  public void stopBy(StopDeadline deadline, String signal, Duration grace) {
    signalDeadline = new SignalDeadline(deadline, signal, grace);
  }

  /** A signal's deadline, what it is called in the line of a wait it cut short. */
  private record SignalDeadline(StopDeadline deadline, String signal, Duration grace) {
    /** What is left of it for a wait on the monitor: at most {@code wait}, zero once it (less the margin) passed. */
    Duration left(Duration wait) {
      Duration left = deadline.leftBefore(STOP_MARGIN);
      return left.compareTo(wait) < 0 ? left : wait;
    }
  }

  /** What a signal's grace keeps back from the waits on the monitor: the run's last lines after them. */
  public static final Duration STOP_MARGIN = Duration.ofSeconds(1);

  /**
   * A wait on the monitor that a signal's deadline cut short ({@link #stopBy}): its message is the one line naming the
   * monitor, what did not reach it, and the signal's grace.
   */
  public static final class OutOfGrace extends IllegalStateException {
    OutOfGrace(String message) {
      super(message);
    }
  }

  /** Waits until the monitor has written the run's metrics that reached it so far (bounded wait). */
  public void flush() {
    Optional<String> gone = monitorGone();
    if (gone.isPresent()) {
      // as a wait a signal's grace cut short says it (what was not confirmed), without a setting: none was waited for
      throw new IllegalStateException(gone.get() + ": the last metrics of run " + runId + " were not confirmed written"
          + " there, and its end (run_finished) was not sent; the run's directory there holds what reached it before");
    }
    Duration wait = settings.answerTimeout();
    SignalDeadline signal = signalDeadline;
    Duration left = signal == null ? wait : signal.left(wait);
    if (left.compareTo(wait) < 0) {
      // the signal's grace ends first: a wait that runs out says so, not answer-timeout; one that ran out is not
      // tried again
      if (flushOutOfGrace || left.isZero() || !flushedWithin(left, Duration.ZERO)) {
        flushOutOfGrace = true;
        throw new OutOfGrace(outOfGrace(signal, false));
      }
      return;
    }
    flushedWithin(wait, GUARD);
  }

  /**
   * Whether the monitor answered a flush within {@code wait} (and {@code guard}); false where a signal's deadline
   * bounds the wait ({@code guard} zero) and it ran out; otherwise a wait that ran out is one line naming
   * answer-timeout.
   */
  private boolean flushedWithin(Duration wait, Duration guard) {
    try {
      await(AskPattern.<MetricsActor.Command, Done>ask(metrics, MetricsActor.Flush::new, wait, system.scheduler()),
          wait, guard, "could not flush the metrics of run " + runId + " on the monitor", "answer-timeout",
          Optional::empty);
      return true;
    } catch (IllegalStateException e) {
      if (guard.isZero() && e.getCause() instanceof TimeoutException) {
        return false;
      }
      throw e;
    }
  }

  /**
   * Tells the monitor that the run's training ended at {@code step} (fire and forget), so that its control endpoint
   * refuses stops while the last analyses drain.
   */
  public void trainingEnded(long step) {
    node.tell(new MetricsNode.TrainingEnded(runId, step, token));
  }

  /**
   * Flushes the run's metrics on the monitor and records its end there (bounded wait). After {@link #stopBy} both
   * share what is left of the signal's grace: a flush that ran out of it is not tried again, the end is still sent,
   * and a wait it cut short is one {@link OutOfGrace} line.
   */
  public void finish(Map<String, Object> event) {
    SignalDeadline signal = signalDeadline;
    if (signal == null) {
      flush();
      Duration wait = settings.finishTimeout();
      await(AskPattern.<MetricsNode.Command, Done>ask(node, r -> new MetricsNode.RunFinished(runId, event, r, token),
          wait, system.scheduler()), wait, "could not record the end of run " + runId + " on the monitor",
          "finish-timeout");
      return;
    }
    boolean flushed;
    try {
      flush();
      flushed = true;
    } catch (OutOfGrace e) {
      flushed = false; // the end is still sent: a monitor that answers late may record it
    }
    Duration wait = signal.left(settings.finishTimeout());
    boolean cut = wait.compareTo(settings.finishTimeout()) < 0;
    // an ask needs a positive timeout: with nothing left the end is sent, not waited for
    Duration asked = wait.isZero() ? Duration.ofMillis(1) : wait;
    try {
      await(AskPattern.<MetricsNode.Command, Done>ask(node, r -> new MetricsNode.RunFinished(runId, event, r, token),
          asked, system.scheduler()), asked, cut ? Duration.ZERO : GUARD, "could not record the end of run " + runId
          + " on the monitor", "finish-timeout", Optional::empty);
    } catch (IllegalStateException e) {
      if (cut && e.getCause() instanceof TimeoutException) {
        throw new OutOfGrace(outOfGrace(signal, true));
      }
      throw e;
    }
    if (!flushed) {
      throw new OutOfGrace(outOfGrace(signal, false)); // the end was recorded, the last metrics perhaps not
    }
  }

  /**
   * The one line of a stop whose signal's grace ran out waiting for the monitor: the monitor, what it did not confirm
   * (the run's last metrics written, and with {@code end} its end), and the setting.
   */
  private String outOfGrace(SignalDeadline signal, boolean end) {
    String what = end ? (flushOutOfGrace ? "the last metrics and the end (run_finished) of run " + runId + " were"
        : "the end (run_finished) of run " + runId + " was") : "the last metrics of run " + runId + " were";
    return "the monitor at " + settings.seed() + " did not answer within the " + seconds(signal.grace())
        + " signal-grace after " + signal.signal() + " (splinewatch.lifecycle.signal-grace raises it): " + what
        + " not confirmed written there";
  }

  /**
   * The answer of an ask with timeout {@code wait}, or one line: {@code what}, and for a wait that ran out how long
   * it waited and the setting {@code splinewatch.cluster.<setting>} that raises it (not Pekko's "Ask timed out on
   * [Actor[...]] after [30000 ms]..." inside an exception's name). The extra 5 s ({@link #GUARD}) only guard against
   * an ask that never completes.
   */
  static <T> T await(CompletionStage<T> ask, Duration wait, String what, String setting) {
    return await(ask, wait, what, setting, Optional::empty);
  }

  /**
   * As above, looking every {@link #GONE_CHECK} at {@code gone}: the line it gives once the answer cannot come (the
   * monitor left the cluster), where the wait would only run out.
   */
  static <T> T await(CompletionStage<T> ask, Duration wait, String what, String setting,
      Supplier<Optional<String>> gone) {
    return await(ask, wait, GUARD, what, setting, gone);
  }

  /** Beyond an ask's own timeout: against an ask that never completes. */
  private static final Duration GUARD = Duration.ofSeconds(5);

  /** As above, waiting {@code guard} beyond the ask's timeout (zero where a signal's deadline bounds the wait). */
  private static <T> T await(CompletionStage<T> ask, Duration wait, Duration guard, String what, String setting,
      Supplier<Optional<String>> gone) {
    long deadline = System.nanoTime() + wait.toNanos() + guard.toNanos();
    try {
      while (true) {
        long left = deadline - System.nanoTime();
        try {
          return ask.toCompletableFuture().get(Math.max(0, Math.min(left, GONE_CHECK.toNanos())),
              TimeUnit.NANOSECONDS);
        } catch (TimeoutException slice) {
          if (left <= GONE_CHECK.toNanos()) {
            throw slice;
          }
          Optional<String> why = gone.get();
          if (why.isPresent()) {
            throw new IllegalStateException(why.get());
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + ": interrupted while waiting for its answer", e);
    } catch (TimeoutException e) {
      throw timedOut(what, wait, setting, e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      if (cause instanceof TimeoutException) {
        throw timedOut(what, wait, setting, cause);
      }
      throw new IllegalStateException(what + ": " + (cause.getMessage() != null ? cause.getMessage()
          : cause.getClass().getSimpleName()), cause);
    }
  }

  private static IllegalStateException timedOut(String what, Duration wait, String setting, Throwable cause) {
    return new IllegalStateException(ranOut(what, wait, setting), cause);
  }

  /**
   * The line for a wait of {@code wait} for the monitor's answer that ran out: {@code what} (e.g. "the monitor did
   * not answer the registration of run r"), how long, and the setting {@code splinewatch.cluster.<setting>} that
   * raises it; a trainer's and an HTTP run's alike.
   */
  public static String ranOut(String what, Duration wait, String setting) {
    return what + " within " + seconds(wait) + " (splinewatch.cluster." + setting
        + " raises it, which a busy monitor may need)";
  }

  /** How often a wait for the monitor's answer looks whether the monitor is still there. */
  private static final Duration GONE_CHECK = Duration.ofMillis(250);

  /** {@code 30 s}, or {@code 0.2 s} for a wait under a second. */
  public static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : java.math.BigDecimal.valueOf(d.toMillis(), 3)
        .stripTrailingZeros().toPlainString() + " s";
  }
}
