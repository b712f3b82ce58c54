package org.splinewatch.ingest;

import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.alerts.AlertSettings;
import org.splinewatch.alerts.Divergence;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.PublishSigner;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.cluster.SnapshotPublisher;
import org.splinewatch.cluster.TrainerDoor;
import org.splinewatch.metrics.AnalysisCoverage;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.report.RunData;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.SnapshotFormat;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.trainer.TrainerActor;

/**
 * One run streamed over HTTP: it stands where a {@code ./trainer --monitor} process stands for the metrics node. It
 * registers the run there (so metrics, run directory, alerts, control endpoint and report are those of any cluster
 * run), hands each snapshot to a {@link SnapshotPublisher} (drop-oldest, analysed on the cluster's analyzer nodes)
 * and answers at once with whether the run should stop: a stop-on alert while early stop is on, or a stop through
 * the control endpoint. Like a cluster trainer it registers with a stop token and a publish token: stops and alerts
 * reach it only through a {@link TrainerDoor} that checks the stop token (wrapped in {@link TrainerDoor.Verified}),
 * and its publishes and its analyzer nodes' are signed ({@link PublishSigner}), so a joined node cannot stop the run
 * or publish values for it. Its messages are plain objects; its own protocol is {@link Command}.
 */
public final class IngestedRun extends AbstractBehavior<Object> {

  /** Messages of this actor's own protocol. */
  public sealed interface Command {
  }

  /** A parsed snapshot; answered with a {@link Reply} (202 and the stop state). */
  public record Snapshot(SnapshotFormat.Snapshot snapshot, ActorRef<Reply> replyTo) implements Command {
  }

  /**
   * A snapshot refused for non-finite weights ({@code entry}: the first such number; {@code message}: the 400's
   * line). Its step, loss and learning rate ({@code scalars}) are recorded as an accepted snapshot's, the step is the
   * run's last, and the {@code divergence} rule fires; answered 400 with {@code message} and the stop state.
   */
  public record NonFiniteWeights(SnapshotFormat.Snapshot scalars, String entry, String message,
      ActorRef<Reply> replyTo) implements Command {
  }

  /**
   * The client ends the run: {@code status} done, stopped, failed or interrupted, or null when the client said none
   * (then stopped if a stop was asked of the run, else done). Answered at once (202); the run then waits for
   * its queued analyses, records {@code run_finished} and writes its report. {@code step}: the step the training loop
   * reached after the run's last snapshot (its {@code steps}; a Ctrl-C between snapshots), or -1 when the client said
   * none (the last snapshot's step; so is an earlier step, with a warning in the answer).
   */
  public record Finish(String status, String reason, long step, ActorRef<Reply> replyTo) implements Command {
  }

  /**
   * The monitor is stopping ({@code reason}): the run ends as interrupted, at once, or as soon as the metrics node has
   * registered it (its client is then told so instead of being answered 201).
   */
  public record MonitorStopping(String reason) implements Command {
  }

  /**
   * The run's owner registered it again with its resume key while it streams here (an earlier resume registered
   * after the client's timeout, a client back after a network glitch): answered as a resume ({@code "resumed": true},
   * {@code last_step} the run's last step now), and the run goes on from there. A snapshot of the old stream still in
   * flight arrives here as well: taken if its step comes after the run's last, else refused (409) as a repeated step.
   * {@code warnings}: the registration's own, said in the answer. {@code earlyStop} and {@code alerts}: the
   * registration's early-stop mode and its alert settings, which the run takes from now on, as a resume of a run
   * from its directory does.
   */
  public record TakeOver(ActorRef<Reply> replyTo, List<String> warnings, String earlyStop, AlertSettings alerts)
      implements Command {
  }

  /** What a client may say of its run's end (a trainer's statuses). */
  public static final List<String> FINISH_STATUSES = List.of("done", "stopped", "failed", "interrupted");

  /** An HTTP answer: status and body (JSON for successes, one line for errors). */
  public record Reply(int status, String body, boolean json, int retryAfterSeconds) {
    public Reply(int status, String body, boolean json) {
      this(status, body, json, 0);
    }

    public static Reply error(int status, String line) {
      return new Reply(status, line, false);
    }

    /** A 503 whose client may send the request again after {@code seconds} ({@code Retry-After}). */
    public static Reply retry(String line, int seconds) {
      return new Reply(503, line, false, seconds);
    }
  }

  private record Registered(MetricsNode.Registered reply, Throwable failure) implements Command {
  }

  /** The end's wait is over: {@code timedOut} when a normal end's drain-timeout ran out first. */
  private record Drained(boolean timedOut) implements Command {
  }

  private record Recorded(Throwable failure) implements Command {
  }

  /**
   * What the run was told at registration. {@code resumeKey}: the run's key, answered to its client, which resumes
   * the run with it; {@code resumed}: this registration resumes the run in its directory, whose files record steps up
   * to {@code lastStep} (-1: none); {@code warnings}: its float64 arrays' values that
   * float32 rounded to 0, one line per array, said in the registration's answer; {@code ingest}: the ingestion
   * actor, told when the metrics node refused the registration; {@code finished} and {@code active}: the runs whose
   * end began and the live ones, which the HTTP routes read: the run moves itself from active to finished as its end
   * begins.
   */
  public record Setup(RunInfo info, Map<String, String> labels, Map<String, Object> config, boolean classifier,
      AlertSettings alerts, String earlyStop, List<String> analyzers, ClusterSettings cluster, IngestSettings ingest,
      ActorRef<MetricsNode.Command> node, Map<String, Object> urls, ActorRef<Reply> registrationReply,
      FinishedRuns finished, Map<String, IngestActor.Shape> active, MeterRegistry registry, String resumeKey,
      boolean resumed, long lastStep, List<String> warnings, ActorRef<IngestActor.Command> ingestActor) {
  }

  /** The ingestion actor no longer forwards to this run (its registration was refused, or its end recorded). */
  enum Retire implements Command {
    INSTANCE
  }

  private final Setup s;
  private String metricsUrl;
  /** Takeovers ({@link TakeOver}) that came while the metrics node was registering the run. */
  private final List<TakeOver> takeOvers = new ArrayList<>();
  private ActorRef<MetricsActor.Command> metrics;
  private ActorRef<SnapshotPublisher.Command> publisher;
  private String stopReason;
  /** Whether {@link #stopReason} is an in-process alert's (early stop {@code stop}), not a stop asked from outside. */
  private boolean stoppedByAlert;
  /** The run's early-stop mode and alert settings: its registration's, then its latest takeover's. */
  private String earlyStop;
  private AlertSettings alerts;
  /** The rules firing now, each with its alert's sentence. */
  private final java.util.TreeMap<String, String> firing = new java.util.TreeMap<>();
  private long lastStep = -1;
  private long lastNanos;
  /** Whether {@link #lastNanos} is this segment's: steps per second are measured from its second snapshot on. */
  private boolean timed;
  private double stepsPerSecond;
  private Finish finishing;
  /** Why the monitor is stopping, where that began while the metrics node registered this run; null otherwise. */
  private String monitorStopping;
  /** The architecture of the run's first snapshot ({@link SnapshotFormat#architecture}), which the others keep. */
  private List<String> architecture;
  private int firstRepr;
  private long firstStep;
  /** The snapshots this run accepted (handed to its analyzers): each analyzer was offered these. */
  private long accepted;
  /** The arrays whose float64 values float32 rounded to 0 were warned of: once per array name and run. */
  private final java.util.Set<String> warnedArrays = new java.util.HashSet<>();

  public static Behavior<Object> create(Setup setup) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      Duration idle = setup.ingest().idleTimeout();
      timers.startTimerWithFixedDelay(new IdleCheck(), idle.dividedBy(4).isZero() ? idle : idle.dividedBy(4));
      return new IngestedRun(ctx, setup);
    }));
  }

  private record IdleCheck() implements Command {
  }

  private long lastActivity = System.nanoTime();
  /** The metrics node's secret for this run: only a RunFinished carrying it ends the run. */
  private String runToken;

  /** The run's publish token: the analyzer nodes and this actor sign their publishes with it. */
  private final String publishToken = SnapshotPublisher.newToken();

  private IngestedRun(ActorContext<Object> ctx, Setup s) {
    super(ctx);
    this.s = s;
    this.earlyStop = s.earlyStop();
    this.alerts = s.alerts();
    // stops and alerts reach this run only through a door that checks the run's stop token (as a trainer's do)
    String stopToken = TrainerDoor.secret();
    ActorRef<Object> door = ctx.spawn(TrainerDoor.create(ctx.getSelf(), stopToken, Rejections.unexported()),
        "door-" + TrainerDoor.secret());
    ActorRef<TrainerActor.Command> asTrainer = door.narrow();
    ActorRef<AlertRaised> alertsTo = door.narrow();
    String runId = s.info().runId();
    // the key only the client learns (in the registration's answer): no cluster member can resume this run
    ctx.ask(MetricsNode.Registered.class, s.node(), s.cluster().answerTimeout(),
        r -> new MetricsNode.RegisterRun(runId, s.labels(), s.config(), s.info().classes(), s.alerts(), asTrainer,
            alertsTo, r, stopToken, publishToken, s.resumeKey()), Registered::new);
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessage(Registered.class, this::onRegistered)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(NonFiniteWeights.class, this::onNonFiniteWeights)
        .onMessage(TakeOver.class, this::onTakeOver)
        .onMessage(TrainerDoor.Verified.class, v -> {
          if (v.message() instanceof TrainerActor.Stop stop && stopReason == null) {
            stopReason = stop.reason();
          } else if (v.message() instanceof AlertRaised alert) {
            return onAlert(alert.alert());
          }
          return this;
        })
        .onMessage(Finish.class, m -> onFinish(m, true))
        .onMessage(MonitorStopping.class, m -> {
          if (publisher == null) {
            monitorStopping = m.reason(); // still registering: ended once registered (onRegistered)
            return this;
          }
          return onFinish(new Finish("interrupted", m.reason(), -1, getContext().getSystem().ignoreRef()), false);
        })
        .onMessage(Drained.class, m -> {
          if (m.timedOut()) {
            // what still waits after drain-timeout is skipped and counted as unanalysed, as after an early end
            getContext().getLog().warn("run {}: the analyses did not finish within drain-timeout ({}); what is left"
                + " counts as unanalysed", s.info().runId(), s.ingest().drainTimeout());
            getContext().ask(Done.class, publisher, s.ingest().abortDrainTimeout(), SnapshotPublisher.Abandon::new,
                (ok, err) -> new Drained(false));
            return this;
          }
          settleDeadline = System.nanoTime() + SETTLE.toNanos();
          return flush();
        })
        .onMessage(FlushedOrNot.class, m -> {
          if (!settled() && System.nanoTime() < settleDeadline) {
            // the publisher heard the last analyses end, but their results come by another way (the analyzer node's
            // signer, then the run's gate): an analyzer node acknowledges a snapshot once they arrived, or after
            // AnalyzerWorker.RECORD_TIMEOUT without. Until every analysis is accounted for, flushed again shortly,
            // for up to SETTLE (the run ended without its last analysis, neither recorded nor counted)
            getContext().scheduleOnce(Duration.ofMillis(50), getContext().getSelf(), new Resettle());
            return this;
          }
          Map<String, Object> end = finishEvent();
          endTime = (Long) end.get("time");
          getContext().ask(Done.class, s.node(), s.cluster().finishTimeout(),
              r -> new MetricsNode.RunFinished(s.info().runId(), end, r, runToken), (ok, err) -> new Recorded(err));
          return this;
        })
        .onMessage(Resettle.class, m -> flush())
        .onMessage(Recorded.class, this::onRecorded)
        .onMessage(IdleCheck.class, m -> {
          Duration idle = Duration.ofNanos(System.nanoTime() - lastActivity);
          if (finishing == null && publisher != null && idle.compareTo(s.ingest().idleTimeout()) >= 0) {
            // the client went away without finishing: the run ends as failed, with what it had; a client that
            // comes back is told the monitor ended it (410), not that it finished the run itself
            String why = "no snapshot or finish request for " + idle.toSeconds()
                + " s (splinewatch.ingest.idle-timeout)";
            // marked first: the routes, which refuse its requests from now on, answer 410 and never a client's 409
            s.finished().endedByMonitor(s.info().runId(), why);
            return onFinish(new Finish("failed", why, -1, getContext().getSystem().ignoreRef()), false);
          }
          return this;
        })
        .build();
  }

  private record FlushedOrNot() implements Command {
  }

  private record Resettle() implements Command {
  }

  /** The longest a finishing run waits for its analyses' results once they ended ({@link #settled}). */
  static final Duration SETTLE = Duration.ofSeconds(5);
  private long settleDeadline;
  /** The time of the run_finished event sent to the metrics node (which it writes to events.jsonl as it is). */
  private long endTime;

  private Behavior<Object> flush() {
    getContext().ask(Done.class, metrics, s.cluster().answerTimeout(), MetricsActor.Flush::new,
        (ok, err) -> new FlushedOrNot());
    return this;
  }

  /**
   * Whether every analyzer that reported on this run has accounted for each snapshot the run accepted: analysed,
   * dropped, failed or left unanalysed.
   */
  private boolean settled() {
    if (s.registry() == null || accepted == 0) {
      return true;
    }
    return AnalysisCoverage.of(s.registry(), s.info().runId()).byAnalyzer().values().stream()
        .allMatch(v -> v[1] >= accepted);
  }

  private Behavior<Object> onRegistered(Registered m) {
    if (m.failure() != null || m.reply().error() != null) {
      String unanswered = "the metrics node did not answer the registration of run '" + s.info().runId() + "'";
      String error = m.failure() == null ? m.reply().error() : m.failure() instanceof TimeoutException
          ? MonitorLink.ranOut(unanswered, s.cluster().answerTimeout(), "answer-timeout")
          : unanswered + ": " + m.failure().getMessage();
      boolean duplicate = m.failure() == null && m.reply().runIdTaken();
      Reply refused = Reply.error(duplicate ? 409 : 500, error);
      s.registrationReply().tell(refused);
      takeOvers.forEach(t -> t.replyTo().tell(refused));
      s.ingestActor().tell(new IngestActor.Retiring(s.info().runId(), getContext().getSelf(), true));
      return refused(refused);
    }
    metricsUrl = m.reply().metricsUrl();
    metrics = getContext().spawn(PublishSigner.create(m.reply().metrics(), publishToken, true), "signer");
    runToken = m.reply().token();
    publisher = getContext().spawn(SnapshotPublisher.create(s.info(), s.analyzers(), m.reply().metrics(), s.cluster(),
        s.ingest().hubBufferSize(), publishToken), "publisher");
    if (s.resumed()) {
      // before this segment's first sample: the collapse rules resume where the run's files left them, and its steps
      // go on after the last one recorded
      lastStep = s.lastStep();
      Map<String, Object> resumed = new LinkedHashMap<>();
      resumed.put("type", "run_resumed");
      resumed.put("step", Math.max(0, s.lastStep()));
      resumed.put("source", "http");
      resumed.put("reason", "its client registered it again with its resume key");
      resumed.put("time", System.currentTimeMillis());
      metrics.tell(new MetricsActor.Event(resumed));
    }
    if (monitorStopping != null) {
      // a 201 would send the client's snapshots to a run nobody ends (they are answered 410, and the stopping monitor
      // waited out its time for the run's end): the client is told now, and the run ends as the monitor's others do
      Reply stopping = Reply.error(503, "this monitor is stopping (" + monitorStopping + "): it registered run '"
          + s.info().runId() + "' as it began to stop and ended it as interrupted before any snapshot; its run"
          + " directory " + s.urls().get("run_directory") + " keeps the registration and that end; register the run"
          + " with a monitor that runs, with \"resume_key\": \"" + s.resumeKey() + "\" in its run.json to go on in"
          + " that directory, or under another run id");
      s.registrationReply().tell(stopping);
      takeOvers.forEach(t -> t.replyTo().tell(stopping));
      takeOvers.clear();
      return onFinish(new Finish("interrupted", monitorStopping, -1, getContext().getSystem().ignoreRef()), false);
    }
    s.registrationReply().tell(registered(s.resumed(), s.warnings()));
    // registrations that took the run over while the metrics node registered it: answered now, as a resume
    takeOvers.forEach(this::onTakeOver);
    takeOvers.clear();
    return this;
  }

  /**
   * A run whose registration was refused: what the ingestion actor forwarded to it until it heard so (a takeover, a
   * snapshot, a finish) gets the same refusal; {@link Retire} comes after all of it.
   */
  private Behavior<Object> refused(Reply refusal) {
    return Behaviors.receive(Object.class)
        .onMessage(Retire.class, r -> Behaviors.stopped())
        .onMessage(TakeOver.class, t -> answer(t.replyTo(), refusal))
        .onMessage(Snapshot.class, t -> answer(t.replyTo(), refusal))
        .onMessage(NonFiniteWeights.class, t -> answer(t.replyTo(), refusal))
        .onMessage(Finish.class, t -> answer(t.replyTo(), refusal))
        .onAnyMessage(other -> Behaviors.same())
        .build();
  }

  private static Behavior<Object> answer(ActorRef<Reply> replyTo, Reply reply) {
    replyTo.tell(reply);
    return Behaviors.same();
  }

  /** The registration's answer (201): the run's URLs and limits, its resume key, and whether it was resumed. */
  private Reply registered(boolean resumed, List<String> warnings) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("run", s.info().runId());
    body.putAll(s.urls());
    body.put("metrics", metricsUrl);
    body.put("early_stop", earlyStop);
    // a client can tell a snapshot the monitor would refuse before sending it (one far over is refused unread: the
    // client would see only a reset connection)
    body.put("max_snapshot_bytes", s.ingest().maxSnapshotBytes());
    // how long a resume answered 500 (or not at all) may still register the run here: the client waits that long for
    // it rather than sending another resume
    body.put("max_registration_seconds",
        IngestRoutes.registrationBound(s.cluster().answerTimeout()).toMillis() / 1000.0);
    // the client resumes the run with it when it loses the run (this monitor restarted, or ended the run)
    body.put("resume_key", s.resumeKey());
    body.put("resumed", resumed);
    body.put("last_step", resumed && lastStep >= 0 ? lastStep : null);
    if (!warnings.isEmpty()) { // float64 probes (probe_pairs, fit inputs) float32 rounds to 0, as for snapshots
      body.put("warnings", warnings);
      warnings.forEach(w -> getContext().getLog().warn("run {}: {}", s.info().runId(), w));
    }
    return new Reply(201, Json.write(body), true);
  }

  private Behavior<Object> onTakeOver(TakeOver m) {
    if (publisher == null) {
      takeOvers.add(m); // still registering: answered once the metrics node has
      return this;
    }
    if (finishing != null) {
      // its end began after the registration was checked: as a resume of a run still ending is answered
      m.replyTo().tell(Reply.error(503, "run '" + s.info().runId() + "' is still ending on this monitor (its last"
          + " analyses and report); register it again in a few seconds to resume it"));
      return this;
    }
    getContext().getLog().info("run {}: its client registered it again with its resume key while it streamed here;"
        + " it goes on after step {}", s.info().runId(), lastStep);
    if (!m.earlyStop().equals(earlyStop)) {
      changeEarlyStop(m.earlyStop(), m.alerts());
    }
    lastActivity = System.nanoTime();
    timed = false; // steps per second are not measured across the gap
    m.replyTo().tell(registered(true, m.warnings()));
    return this;
  }

  /**
   * The run goes on with early-stop mode {@code mode}, as a resumed {@code ./trainer} run takes its {@code
   * --early-stop}: an in-process alert's stop no longer stands without {@code stop}; with it, a stop-on rule still
   * firing stops the run at once. A stop asked through the control endpoint stands either way.
   */
  private void changeEarlyStop(String mode, AlertSettings now) {
    getContext().getLog().info("run {}: early stop is {} from now on (it was {}), as its new registration asks",
        s.info().runId(), mode, earlyStop);
    earlyStop = mode;
    alerts = now;
    // the metrics node's in-process stops, the control endpoint's stop-on rules and config.json follow
    s.node().tell(new MetricsNode.EarlyStopChanged(s.info().runId(), now, runToken));
    if (stoppedByAlert && !"stop".equals(mode)) {
      stopReason = null;
      stoppedByAlert = false;
    }
    if (stopReason == null && "stop".equals(mode)) {
      firing.entrySet().stream().filter(e -> now.stopOn().contains(e.getKey())).findFirst().ifPresent(e -> {
        stopReason = "collapse alert " + e.getKey() + ": " + e.getValue();
        stoppedByAlert = true;
      });
    }
  }

  private Behavior<Object> onSnapshot(Snapshot m) {
    lastActivity = System.nanoTime();
    if (outsideTheRun(m.replyTo())) {
      return this;
    }
    SnapshotFormat.Snapshot p = m.snapshot();
    if (p.step() <= lastStep) {
      // a repeated or earlier step would be analysed again, count again towards the rules' consecutive snapshots and
      // end the run at a step it had passed: the run's steps only go forward
      m.replyTo().tell(Reply.error(409, "snapshot of step " + p.step() + ": run '" + s.info().runId() + "' has"
          + " already received step " + lastStep + "; expected a step after " + lastStep + " (steps only go forward)"));
      return this;
    }
    if (architecture == null) {
      architecture = SnapshotFormat.architecture(p.layers());
      firstRepr = p.reprBlock();
      firstStep = p.step();
    } else {
      // the analyzers compare a run's snapshots layer by layer: another network would fail there, not here
      var problem = SnapshotFormat.architectureProblem(architecture, firstRepr, firstStep, p);
      if (problem.isPresent()) {
        m.replyTo().tell(Reply.error(400, problem.get()));
        return this;
      }
    }
    List<Sample> scalars = advance(p);
    WeightSnapshot snap = new WeightSnapshot(s.info().runId(), p.step(), p.epoch(), System.currentTimeMillis(),
        s.info().inputDim(), p.layers(), p.reprBlock(), p.classifierHead(), p.loss(), p.learningRate(),
        stepsPerSecond);
    metrics.tell(new MetricsActor.Publish(scalars));
    publisher.tell(new SnapshotPublisher.Publish(snap));
    accepted++;
    Map<String, Object> body = stopState();
    List<String> warnings = new ArrayList<>();
    p.warnings().forEach((array, line) -> {
      if (warnedArrays.add(array)) {
        warnings.add(line);
        getContext().getLog().warn("run {}: {}", s.info().runId(), line);
      }
    });
    if (!warnings.isEmpty()) { // the client says so; a later snapshot's same array is not named again
      body.put("warnings", warnings);
    }
    m.replyTo().tell(new Reply(202, Json.write(body), true));
    return this;
  }

  /**
   * A snapshot whose weights hold a NaN or an infinity (a PyTorch step after a NaN loss): the weights are refused
   * (400, nothing analysed), but no data is lost: its step becomes the run's last and its loss and learning rate are
   * recorded, as for an accepted snapshot. Non-finite weights are a divergence: the {@code divergence} rule fires
   * (it names the step and the first non-finite number), and with early stop {@code stop} the 400's stop state says
   * so at once. A step the run has passed is recorded nowhere, but the divergence stands.
   */
  private Behavior<Object> onNonFiniteWeights(NonFiniteWeights m) {
    lastActivity = System.nanoTime();
    if (outsideTheRun(m.replyTo())) {
      return this;
    }
    SnapshotFormat.Snapshot p = m.scalars();
    // the divergence first, so that its alert names the weights; a NaN loss sent with them then finds it firing
    metrics.tell(new MetricsActor.NonFiniteWeights(p.step(), m.entry()));
    if (p.step() > lastStep) {
      metrics.tell(new MetricsActor.Publish(advance(p)));
    }
    String sentence = Divergence.weights(p.step(), m.entry()).sentence();
    firing.putIfAbsent(Divergence.NAME, sentence);
    if (stopReason == null && "stop".equals(earlyStop) && alerts.stopOn().contains(Divergence.NAME)) {
      stopReason = "collapse alert " + Divergence.NAME + ": " + sentence;
      stoppedByAlert = true;
    }
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("error", m.message());
    body.putAll(stopState());
    m.replyTo().tell(new Reply(400, Json.write(body), true));
    return this;
  }

  /** The 410 answer once the monitor has ended this run itself (its idle timeout), else null. */
  private FinishedRuns.Answer endedByMonitor() {
    FinishedRuns.Answer a = finishing == null ? null : s.finished().answer(s.info().runId());
    return a != null && a.status() == 410 ? a : null;
  }

  /**
   * Answers and returns true for a snapshot before the run is registered (503 with Retry-After: it is taken a moment
   * later) or after its finish (409).
   */
  private boolean outsideTheRun(ActorRef<Reply> replyTo) {
    FinishedRuns.Answer gone = endedByMonitor();
    if (gone != null) {
      replyTo.tell(Reply.error(gone.status(), gone.message()));
      return true;
    }
    if (publisher == null) {
      replyTo.tell(stillRegistering("the snapshot"));
      return true;
    }
    if (finishing != null) {
      replyTo.tell(Reply.error(409, "run '" + s.info().runId() + "' is finishing; expected snapshots between"
          + " registration and finish"));
      return true;
    }
    return false;
  }

  /**
   * The answer to {@code what} (a snapshot, the finish request) while the metrics node registers the run (a resume
   * whose answer its client did not wait for): a 409 made the Python client count the snapshot lost; the run takes
   * it once registered, so it is a moment's state, as a busy monitor's, and the client sends it again after
   * Retry-After.
   */
  private Reply stillRegistering(String what) {
    return stillRegistering(s.info().runId(), what);
  }

  /** The 503 with Retry-After: 1 of {@code what} (a snapshot, the finish request) of run {@code runId}, registering. */
  static Reply stillRegistering(String runId, String what) {
    return Reply.retry("run '" + runId + "' is still registering on this monitor (its registration, or its resume, is"
        + " being recorded); send " + what + " again in a moment", 1);
  }

  /** Makes {@code p}'s step the run's last; the training scalars it carries. */
  private List<Sample> advance(SnapshotFormat.Snapshot p) {
    long now = System.nanoTime();
    if (timed && now > lastNanos) {
      stepsPerSecond = (p.step() - lastStep) / ((now - lastNanos) / 1e9);
    }
    lastStep = p.step();
    lastNanos = now;
    timed = true;
    List<Sample> scalars = new ArrayList<>(List.of(
        Sample.of(MetricFamily.TRAINING_STEP, p.step(), p.step()),
        Sample.of(MetricFamily.TRAINING_EPOCH, p.epoch(), p.step()),
        Sample.of(MetricFamily.TRAINING_STEPS_PER_SECOND, stepsPerSecond, p.step())));
    if (p.hasLoss()) {
      // a sent NaN or infinite loss is a divergence (the divergence rule fires on it); a missing one is no sample
      scalars.add(Sample.of(MetricFamily.TRAINING_LOSS, p.loss(), p.step()));
    }
    if (!Double.isNaN(p.learningRate())) {
      scalars.add(Sample.of(MetricFamily.TRAINING_LEARNING_RATE, p.learningRate(), p.step()));
    }
    return scalars;
  }

  private Map<String, Object> stopState() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("stop", stopReason != null);
    body.put("reason", stopReason);
    body.put("alerts", List.copyOf(firing.keySet()));
    body.put("step", Math.max(0, lastStep)); // 0 before any snapshot, as run_finished's steps
    return body;
  }

  private Behavior<Object> onAlert(Alert a) {
    if (a.firing()) {
      firing.put(a.rule(), a.sentence());
      if (stopReason == null && "stop".equals(earlyStop) && alerts.stopOn().contains(a.rule())) {
        stopReason = "collapse alert " + a.rule() + ": " + a.sentence();
        stoppedByAlert = true;
      }
    } else {
      firing.remove(a.rule());
    }
    return this;
  }

  /**
   * The run's end begins with {@code m}: its client's finish ({@code byClient}), or the monitor's (its stop, the
   * idle timeout). Only a finish it takes marks the run finished: one answered 503 (still registering) leaves it as it
   * was, streaming, and its client's retry ends it.
   */
  private Behavior<Object> onFinish(Finish m, boolean byClient) {
    if (finishing != null) {
      FinishedRuns.Answer gone = endedByMonitor();
      m.replyTo().tell(gone != null ? Reply.error(gone.status(), gone.message())
          : Reply.error(409, "run '" + s.info().runId() + "' is already finishing"));
      return this;
    }
    if (publisher == null) {
      m.replyTo().tell(stillRegistering("the finish request"));
      return this;
    }
    String runId = s.info().runId();
    if (byClient && !s.finished().finishedByClient(runId)) {
      // the monitor began to stop before this finish reached the run: it ended the run (its MonitorStopping comes
      // next), and the finish is answered as one that reached the routes after that (410)
      FinishedRuns.Answer gone = s.finished().answer(runId);
      m.replyTo().tell(Reply.error(gone.status(), gone.message()));
      return this;
    }
    if (!byClient) {
      s.finished().add(runId); // still answered 410 where the monitor ended it
    }
    // from now on the routes refuse this run's snapshots and finishes before reading their bodies (finished first:
    // a route that finds the run no longer active finds it finished, not unknown)
    s.active().remove(runId);
    // the run's steps only go forward, as its snapshots' do: a finish step before the last snapshot's is not taken (the
    // answer says so; refusing it would leave the run streaming until its idle timeout)
    String early = m.step() >= 0 && m.step() < lastStep ? "finish step " + m.step() + " is before step " + lastStep
        + " that run '" + s.info().runId() + "' already received; the run ends at step " + lastStep : null;
    if (m.status() == null) {
      // no status said: a run that was asked to stop (a stop-on alert, a stop through the control endpoint) and then
      // ended did stop, with that reason; otherwise it ran to its end
      m = new Finish(stopReason != null ? "stopped" : "done", m.reason(), m.step(), m.replyTo());
    }
    if (m.step() > lastStep) {
      // the loop went on after its last snapshot (a Ctrl-C between snapshots): the run's last step is the one it
      // reached, recorded as a training-step sample so that a resume goes on after it
      lastStep = m.step();
      metrics.tell(new MetricsActor.Publish(List.of(Sample.of(MetricFamily.TRAINING_STEP, lastStep, lastStep))));
    }
    finishing = m;
    // from now on the control endpoint refuses to stop this run: the client sends nothing more to hear a stop
    s.node().tell(new MetricsNode.TrainingEnded(s.info().runId(), Math.max(0, lastStep), runToken));
    // answered at once: draining the last analyses may take minutes, longer than an HTTP client should wait
    Map<String, Object> body = stopState();
    body.put("run", s.info().runId());
    body.put("status", m.status());
    body.put("finishing", true);
    body.put("run_directory", s.urls().get("run_directory"));
    if (early != null) {
      body.put("warnings", List.of(early));
    }
    m.replyTo().tell(new Reply(202, Json.write(body), true));
    // a run that ended early (stopped, failed, interrupted) skips its queued snapshots and waits only briefly for
    // the analyses in progress, as ./trainer's does (FAILURES.md); a finished one works through its queue, and so
    // does a stopped one with splinewatch.lifecycle.analyse-after-stop
    boolean done = m.status().equals("done") || (m.status().equals("stopped") && s.ingest().analyseAfterStop());
    Duration drain = done ? s.ingest().drainTimeout() : s.ingest().abortDrainTimeout();
    getContext().ask(Done.class, publisher, drain, done ? SnapshotPublisher.Drain::new : SnapshotPublisher.Abandon::new,
        (ok, err) -> new Drained(done && err instanceof TimeoutException));
    return this;
  }

  private Map<String, Object> finishEvent() {
    int code = switch (finishing.status()) {
      case "done" -> 0;
      case "stopped" -> 3;
      case "interrupted" -> 130; // as ./trainer's Ctrl-C: 128 + SIGINT
      default -> 1;
    };
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("type", "run_finished");
    event.put("steps", Math.max(0, lastStep));
    event.put("exit_code", code);
    event.put("stopped", code == 3);
    event.put("status", finishing.status());
    event.put("reason", finishing.reason() != null ? finishing.reason() : code == 3 ? stopReason : null);
    event.put("error", code == 1 ? finishing.reason() : null);
    event.put("source", "http");
    // how many snapshots this segment received: a run with none says so (ReportWriter.noSamples), whatever its step
    event.put(RunData.SNAPSHOTS_RECEIVED, accepted);
    event.put("time", System.currentTimeMillis());
    // per analyzer, how many of the snapshots it was offered it analysed (and why not the others), as ./trainer's
    AnalysisCoverage coverage = coverage();
    if (!coverage.byAnalyzer().isEmpty()) {
      event.put("analysed_snapshots", coverage.event());
      getContext().getLog().info("run {} ended ({}): {}", s.info().runId(), finishing.status(), coverage.describe());
    }
    return event;
  }

  /**
   * This run's coverage, read once its analyses are drained or abandoned and its metrics flushed: analysed, dropped,
   * failed and unanalysed from the meters tagged with its run id (a {@code monitor serve} holds several runs), every
   * analyzer offered the snapshots the run accepted.
   */
  private AnalysisCoverage coverage() {
    if (s.registry() == null) {
      return new AnalysisCoverage(Map.of());
    }
    return AnalysisCoverage.of(s.registry(), s.info().runId()).offered(s.analyzers(), accepted);
  }

  private Behavior<Object> onRecorded(Recorded m) {
    // the ingestion actor forwards requests to this run until it hears the run is over: one forwarded to it after it
    // stopped went to dead letters (its client answered 500 after the route's 10 s; a snapshot so refused was neither
    // recorded nor counted as missed by the Python client, where a 410 makes it resume the run). It answers them as
    // a finished run until the ingestion actor, having forgotten it, says Retire
    s.ingestActor().tell(new IngestActor.Retiring(s.info().runId(), getContext().getSelf(), false));
    if (m.failure() instanceof TimeoutException) {
      // the node answers once the run's report is written, reports one after another: under load it may write
      // run_finished at once and the report minutes later, or get to the end only after the wait ran out
      String runId = s.info().runId();
      Path dir = Path.of(String.valueOf(s.urls().get("run_directory")));
      String waited = MonitorLink.seconds(s.cluster().finishTimeout());
      if (endWritten(dir)) {
        getContext().getLog().warn("run {}: its end is recorded (run_finished in {}), but the metrics node did not"
            + " say within {} that its report was written; the report is written after those of the runs that"
            + " ended before it (./monitor report {} writes it if none appears; splinewatch.cluster.finish-timeout"
            + " raises the wait)", runId, dir.resolve("events.jsonl"), waited, dir);
      } else {
        getContext().getLog().error("the end of run {} was not recorded within {}: the metrics node did not answer"
            + " and {} holds no run_finished of it yet; the node may still record it and write its report"
            + " (splinewatch.cluster.finish-timeout raises the wait)", runId, waited, dir.resolve("events.jsonl"));
      }
    } else if (m.failure() != null) {
      getContext().getLog().error("the end of run {} could not be recorded: {}", s.info().runId(),
          m.failure().getMessage());
    }
    FinishedRuns.Answer a = s.finished().answer(s.info().runId());
    return over(a != null ? Reply.error(a.status(), a.message())
        : Reply.error(409, "run '" + s.info().runId() + "' has finished"));
  }

  /** Whether the run_finished this run sent (its {@link #endTime}) is the last in its directory's events.jsonl. */
  private boolean endWritten(Path dir) {
    return IngestActor.finishedAt(dir.resolve("events.jsonl"))
        .filter(t -> t.equals(java.time.Instant.ofEpochMilli(endTime).toString())).isPresent();
  }

  /** The run's end is recorded: what still reaches it is answered {@code finished} until {@link Retire}. */
  private Behavior<Object> over(Reply finished) {
    return Behaviors.receive(Object.class)
        .onMessage(Retire.class, r -> Behaviors.stopped())
        .onMessage(TakeOver.class, t -> answer(t.replyTo(), Reply.error(503, "run '" + s.info().runId() + "' is"
            + " still ending on this monitor; register it again in a few seconds to resume it")))
        .onMessage(Snapshot.class, t -> answer(t.replyTo(), finished))
        .onMessage(NonFiniteWeights.class, t -> answer(t.replyTo(), finished))
        .onMessage(Finish.class, t -> answer(t.replyTo(), finished))
        .onAnyMessage(other -> Behaviors.same())
        .build();
  }
}
