package org.splinewatch.run;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.alerts.EarlyStopPolicy;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.cluster.StopDeadline;
import org.splinewatch.cluster.TrainerDoor;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.trainer.Trainer;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.TrainingProgress;

/**
 * The guardian of one run: starts its {@link SnapshotSink} (the metrics actor and where snapshots go) and the trainer,
 * relays stops and alerts, and ends the run: the trainer's {@link TrainerActor.Finished} drains the sink (bounded by
 * the drain timeout) or, after an early end (a stop, a failure, an interrupt), abandons its queued snapshots and
 * waits only for the analyses in progress (the abort-drain timeout); then it flushes the metrics and completes
 * {@link Observers#result()}.
 */
public final class RunGuardian extends AbstractBehavior<RunGuardian.Command> {
  /** What the guardian receives. */
  public sealed interface Command {
  }

  /**
   * End the run after the current step because the process was asked to (SIGTERM/SIGINT/SIGHUP): like a {@link
   * TrainerActor.Stop}: queued analyses are skipped, the ones in progress get {@link Timeouts#abortDrain()}.
   * {@code deadline}: where the signal's grace ends (null: none), which then bounds the end's flush of the metrics
   * (less {@link MonitorLink#STOP_MARGIN}): a remote monitor that does not answer, or a local writer stuck on a hung
   * disk, made it wait its whole {@link Timeouts#FLUSH} (30 s), past the grace (25 s), so that the run's end never
   * said what was not written.
   */
  public record Interrupt(String reason, StopDeadline deadline) implements Command {
    /** An interrupt whose end's flush waits {@link Timeouts#flush()} as any other end's. */
    public Interrupt(String reason) {
      this(reason, null);
    }
  }

  /** A collapse alert changed state (from the local metrics actor, or from the metrics node of a cluster). */
  public record Alerted(Alert alert) implements Command {
  }

  /** A stop request from the metrics node of a cluster (an alert or its control endpoint). */
  public record StopRequested(TrainerActor.Stop stop) implements Command {
  }

  /**
   * A firing alert of {@code rule} arrived at the run's control endpoint and may stop it: the trainer is asked to stop
   * with {@code reason}, and a run that stops for it is marked stopped early ({@link SnapshotSink#stoppedEarly}).
   */
  public record AlertStop(String rule, String reason) implements Command {
  }

  /** An analyzer could not write the run's files: the run fails. */
  record RunFilesFailed(String analyzer, String error) implements Command {
  }

  private record TrainerFinished(TrainerActor.Finished finished) implements Command {
  }

  private record TrainerTerminated() implements Command {
  }

  /** The end's wait is over: {@code complete} when the analyses finished, false when its timeout ran out. */
  private record Drained(TrainerActor.Finished finished, boolean complete) implements Command {
  }

  /** The end's flush is over: {@code written} when the metrics actor wrote everything before it in time. */
  private record Flushed(TrainerActor.Finished finished, boolean written) implements Command {
  }

  /** The training itself: a trainer factory, how long, how often to snapshot, and where checkpoints go. */
  public record Training(Supplier<Trainer> trainer, int epochs, long maxSteps, int snapshotEvery,
      TrainerActor.CheckpointPlan checkpoints) {
  }

  /**
   * How long the end of a run may take: a normal end, and an early one (stopped, failed or interrupted).
   * {@code analyseAfterStop} ({@code splinewatch.lifecycle.analyse-after-stop}): a run stopped by an alert or the
   * control endpoint still analyses its queued snapshots, within {@code drain}, as a normal end does. {@code flush}:
   * how long the end waits for the metrics actor to write what it was sent ({@link #FLUSH}).
   */
  public record Timeouts(Duration drain, Duration abortDrain, boolean analyseAfterStop, Duration flush) {
    /** The flush's wait of a run: a writer stuck longer (a hung disk) leaves the run's end to go on without it. */
    public static final Duration FLUSH = Duration.ofSeconds(30);

    public Timeouts(Duration drain, Duration abortDrain, boolean analyseAfterStop) {
      this(drain, abortDrain, analyseAfterStop, FLUSH);
    }

    public Timeouts(Duration drain, Duration abortDrain) {
      this(drain, abortDrain, false);
    }

    /** The wait for in-flight analyses: a run that ends early ends within seconds. */
    Duration drainFor(boolean aborted) {
      return aborted && abortDrain.compareTo(drain) < 0 ? abortDrain : drain;
    }
  }

  /**
   * Who learns what happens: the progress bar, the outcome, the trainer's reference, every alert, and whether the
   * metrics were all written at the end ({@code flushed}, completed before {@code result}: false when the flush timed
   * out, or the metrics actor failed or is unreachable).
   */
  public record Observers(TrainingProgress progress, CompletableFuture<TrainerActor.Finished> result,
      CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef, Consumer<Alert> alerts,
      CompletableFuture<Boolean> flushed) {
    public Observers(TrainingProgress progress, CompletableFuture<TrainerActor.Finished> result,
        CompletableFuture<ActorRef<TrainerActor.Command>> trainerRef, Consumer<Alert> alerts) {
      this(progress, result, trainerRef, alerts, new CompletableFuture<>());
    }
  }

  /** What the guardian needs. */
  public record Setup(RunInfo run, Training training, SnapshotSink.Starter sink, EarlyStopPolicy stopPolicy,
      Timeouts timeouts, Observers observers) {
  }

  /**
   * The root behavior of a run's actor system: waits for the {@link Setup}, then becomes the guardian. Messages from
   * outside the run's protocol are adapted when they come through the run's {@link TrainerDoor} (which checks a
   * stop's token): an {@link AlertRaised} from a cluster's metrics node, a {@link TrainerActor.Stop} from its control
   * endpoint. A stop or an alert sent straight to the guardian (its address is easy to guess) is refused: counted,
   * logged once, and the run goes on.
   */
  public static Behavior<Object> root() {
    return root(Rejections.unexported());
  }

  /** As {@link #root()}, counting refused stops and alerts in {@code rejections}. */
  public static Behavior<Object> root(Rejections rejections) {
    return Behaviors.receive(Object.class)
        .onMessage(Setup.class, s -> Behaviors.transformMessages(Object.class, create(s), pf -> pf
            .match(Command.class, c -> c)
            .match(TrainerDoor.Verified.class, v -> v.message() instanceof AlertRaised, v ->
                new Alerted(((AlertRaised) v.message()).alert()))
            .match(TrainerDoor.Verified.class, v -> v.message() instanceof TrainerActor.Stop, v ->
                new StopRequested((TrainerActor.Stop) v.message()))
            .match(AlertRaised.class, a -> new Refused(rejections, "AlertRaised"))
            .match(TrainerActor.Stop.class, st -> new Refused(rejections, "Stop ('" + st.reason() + "')"))))
        .build();
  }

  /** A stop or alert that did not come through the run's door. */
  private record Refused(Rejections rejections, String what) implements Command {
  }

  public static Behavior<Command> create(Setup s) {
    return Behaviors.setup(ctx -> new RunGuardian(ctx, s));
  }

  private final Setup s;
  private final SnapshotSink sink;
  private final ActorRef<TrainerActor.Command> trainer;
  private boolean finished;
  private boolean interrupted;
  private boolean metricsFailed;
  private boolean abandoned; // the run ended early: its queue was skipped (SnapshotSink#abandon)
  private boolean drainOver; // the end's wait is over: a later Drained (see onLateInterrupt) changes nothing
  private TrainerActor.Finished finishedWith; // what the trainer reported, once it finished
  private AlertStop alertStop; // the first stop an alert asked for: the run stopped for it if it ends with its reason
  private boolean stoppedEarly; // the run stopped for alertStop
  private StopDeadline interruptDeadline; // an interrupt's grace: the end's flush waits no longer (null: none)

  private RunGuardian(ActorContext<Command> ctx, Setup s) {
    super(ctx);
    this.s = s;
    this.sink = s.sink().start(ctx);
    ActorRef<TrainerActor.Finished> finishedAdapter = ctx.messageAdapter(TrainerActor.Finished.class,
        TrainerFinished::new);
    Training t = s.training();
    trainer = ctx.spawn(TrainerActor.create(t.trainer(), s.run().runId(), t.epochs(), t.maxSteps(), t.snapshotEvery(),
            sink::publish, sink.metrics(), finishedAdapter, s.observers().progress(), t.checkpoints()), "trainer",
        DispatcherSelector.fromConfig("splinewatch-trainer-dispatcher"));
    s.observers().trainerRef().complete(trainer);
    // a trainer that stops without a Finished (it should not: TrainerActor turns every throwable into one) would
    // leave the run waiting forever; its Terminated arrives after any Finished it sent
    ctx.watchWith(trainer, new TrainerTerminated());
    trainer.tell(new TrainerActor.Start());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Interrupt.class, m -> {
          interrupted = true;
          if (m.deadline() != null) {
            interruptDeadline = m.deadline();
          }
          if (finished) {
            onLateInterrupt();
          } else {
            trainer.tell(new TrainerActor.Stop(m.reason()));
          }
          return this;
        })
        .onMessage(RunFilesFailed.class, m -> {
          trainer.tell(new TrainerActor.Fail("analyzer " + m.analyzer() + " " + m.error()));
          return this;
        })
        .onMessage(TrainerTerminated.class, m -> {
          if (!finished) {
            var p = s.observers().progress().get();
            getContext().getSelf().tell(new TrainerFinished(new TrainerActor.Finished(p.step(), false, null, 0,
                "the trainer stopped without finishing the run")));
          }
          return this;
        })
        .onSignal(ChildFailed.class, sig -> {
          if (sig.getRef().equals(sink.metrics())) {
            metricsFailed = true;
            trainer.tell(new TrainerActor.Fail("metrics writer failed: " + describe(sig.getCause())));
          }
          return this;
        })
        .onMessage(Alerted.class, m -> {
          s.observers().alerts().accept(m.alert());
          s.stopPolicy().stopReason(m.alert()).ifPresent(reason -> stopFor(new AlertStop(m.alert().rule(), reason)));
          return this;
        })
        .onMessage(AlertStop.class, m -> {
          stopFor(m);
          return this;
        })
        .onMessage(Refused.class, m -> {
          m.rejections().reject("trainer", "bad_token", "unknown", m.what() + " sent straight to the run's"
              + " guardian, not through its door with the run's stop token: the run goes on");
          return this;
        })
        .onMessage(StopRequested.class, m -> {
          trainer.tell(m.stop());
          return this;
        })
        .onMessage(TrainerFinished.class, this::onFinished)
        .onMessage(Drained.class, m -> {
          if (drainOver) {
            return this;
          }
          drainOver = true;
          if (abandoned) {
            sink.cutShort(); // analyses still running after abort-drain-timeout: counted as unanalysed
          } else if (!m.complete()) {
            if (interrupted) {
              getContext().getLog().info("interrupted while the analyses drained: what is left after"
                  + " abort-drain-timeout ({}) counts as unanalysed", s.timeouts().abortDrain());
            } else {
              getContext().getLog().warn("the analyses did not finish within drain-timeout ({}): what is left"
                  + " counts as unanalysed", s.timeouts().drain());
            }
            sink.drainTimedOut(); // what still waits or runs: counted as unanalysed
          }
          if (metricsFailed) {
            getContext().getSelf().tell(new Flushed(m.finished(), false)); // the metrics actor is gone
            return this;
          }
          var unreachable = sink.metricsUnreachable();
          if (unreachable.isPresent()) { // a monitor that is gone would only make the run wait out the ask's timeout
            getContext().getLog().info("not flushing the run's metrics: {}", unreachable.get());
            getContext().getSelf().tell(new Flushed(m.finished(), false));
            return this;
          }
          Duration flushWait = s.timeouts().flush();
          if (interruptDeadline != null) {
            Duration left = interruptDeadline.leftBefore(MonitorLink.STOP_MARGIN);
            if (left.compareTo(Duration.ofMillis(1)) < 0) { // the grace is spent: the run's end says what was left
              getContext().getSelf().tell(new Flushed(m.finished(), false));
              return this;
            }
            flushWait = left.compareTo(flushWait) < 0 ? left : flushWait;
          }
          getContext().pipeToSelf(AskPattern.<MetricsActor.Command, Done>ask(sink.metrics(), MetricsActor.Flush::new,
              flushWait, getContext().getSystem().scheduler()),
              (ok, err) -> new Flushed(m.finished(), err == null));
          return this;
        })
        .onMessage(Flushed.class, m -> {
          s.observers().flushed().complete(m.written());
          s.observers().result().complete(m.finished());
          // a run stopped by an alert keeps its system (and so its HTTP endpoint) up: the run may wait for one more
          // scrape of /metrics after its files are written (EmbeddedRun#awaitStoppedScrape), then terminates it
          return sink.stopsWithRun() && !stoppedEarly ? Behaviors.stopped() : this;
        })
        .build();
  }

  private Behavior<Command> onFinished(TrainerFinished m) {
    if (finished) {
      return this;
    }
    finished = true;
    finishedWith = m.finished();
    // an early end (stopped by an alert or the control endpoint, failed, interrupted) skips the snapshots still
    // waiting and waits only for the analyses in progress, abort-drain-timeout at most; a normal end drains
    boolean early = m.finished().error() != null || interrupted
        || (m.finished().stopped() && !s.timeouts().analyseAfterStop());
    Duration wait = s.timeouts().drainFor(early);
    abandoned = early;
    if (m.finished().stopped() && alertStop != null && alertStop.reason().equals(m.finished().reason())) {
      stoppedEarly = true;
      sink.stoppedEarly(alertStop.rule()); // before run_active falls to 0: no scrape sees the end without it
    }
    sink.trainingEnded(m.finished().steps());
    var drained = (early ? sink.abandon() : sink.drain()).toCompletableFuture().thenApply(d -> true)
        .exceptionally(e -> true).completeOnTimeout(false, wait.toMillis(), TimeUnit.MILLISECONDS);
    getContext().pipeToSelf(drained, (complete, err) -> new Drained(m.finished(), !Boolean.FALSE.equals(complete)));
    return this;
  }

  /** Asks the trainer to stop for an alert; the first such stop is the one a stopped run is marked with. */
  private void stopFor(AlertStop stop) {
    if (alertStop == null && !finished) {
      alertStop = stop;
    }
    trainer.tell(new TrainerActor.Stop(stop.reason()));
  }

  /**
   * A signal after training ended, while a normal end drains its analyses (up to drain-timeout, minutes): the
   * wait is cut to abort-drain-timeout, and what is still waiting or running then counts as unanalysed, as when the
   * signal comes during training; without this the signal's grace ran out first and the run's files were lost.
   */
  private void onLateInterrupt() {
    if (abandoned || drainOver) {
      return; // an early end already waits only abort-drain-timeout; or the wait is over
    }
    getContext().scheduleOnce(s.timeouts().abortDrain(), getContext().getSelf(), new Drained(finishedWith, false));
  }

  /** A failure's message with its cause's (an I/O error names the file, its cause what went wrong), one line. */
  static String describe(Throwable e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    Throwable c = e.getCause();
    if (c != null && c.getMessage() != null && !m.contains(c.getMessage())) {
      m = m + ": " + c.getMessage();
    }
    return m.lines().findFirst().orElse("");
  }
}
