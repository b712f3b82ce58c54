package org.splinewatch.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.splinewatch.alerts.Alert;
import org.splinewatch.alerts.AlertRaised;
import org.splinewatch.alerts.EarlyStopPolicy;
import org.splinewatch.analysis.TestSnapshots;
import org.splinewatch.cluster.MetricsNode;
import org.splinewatch.cluster.Rejections;
import org.splinewatch.cluster.TrainerDoor;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.trainer.Trainer;
import org.splinewatch.trainer.TrainerActor;
import org.splinewatch.trainer.TrainingProgress;

/** The guardian with a stand-in trainer and sink: how a run ends, and what stops it. */
class RunGuardianTest {
  private static final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load());

  @AfterAll
  static void cleanup() {
    testKit.shutdownTestKit();
  }

  /** A trainer that only counts (a millisecond a step, so a stop lands between steps). */
  private static class CountingTrainer implements Trainer {
    /** The step whose loss is NaN (0: never). */
    private final long nanAt;
    private long steps;

    CountingTrainer() {
      this(0);
    }

    CountingTrainer(long nanAt) {
      this.nanAt = nanAt;
    }

    @Override
    public double step() {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return ++steps == nanAt ? Double.NaN : 1.0;
    }

    @Override
    public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
      return TestSnapshots.classifier(1, step);
    }

    @Override
    public int stepsPerEpoch() {
      return 1_000_000;
    }

    @Override
    public double learningRate() {
      return 1e-3;
    }

    @Override
    public void saveCheckpoint(Path dir) {
    }

    @Override
    public void loadCheckpoint(Path dir) {
    }

    @Override
    public void close() {
    }
  }

  /** A sink that keeps what it is given; its metrics actor only answers Flush (unless {@link #stuck}). */
  private static final class RecordingSink implements SnapshotSink {
    final List<Long> published = new CopyOnWriteArrayList<>();
    /** The samples the trainer published to the metrics actor (loss, step, ...). */
    final List<Sample> samples = new CopyOnWriteArrayList<>();
    /** A metrics actor stuck writing (a hung disk): it never answers Flush. */
    volatile boolean stuck;
    final ActorRef<MetricsActor.Command> metrics = testKit.spawn(Behaviors.receiveMessage(m -> {
      if (m instanceof MetricsActor.Flush f && !stuck) {
        f.replyTo().tell(Done.getInstance());
      } else if (m instanceof MetricsActor.Publish p) {
        samples.addAll(p.samples());
      }
      return Behaviors.same();
    }));
    volatile boolean drained;
    volatile boolean abandoned;
    /** The step SnapshotSink.trainingEnded was told, and whether the sink was drained or abandoned by then. */
    volatile long endedAt = -1;
    volatile boolean endedBeforeDrain;

    // SnapshotSink.trainingEnded (no @Override, as abandon below)
    public void trainingEnded(long step) {
      endedAt = step;
      endedBeforeDrain = !drained && !abandoned;
    }

    /** What drain() returns: done at once, or (a deep queue of slow analyses) never. */
    volatile CompletableFuture<Done> drainResult = CompletableFuture.completedFuture(Done.getInstance());

    @Override
    public ActorRef<MetricsActor.Command> metrics() {
      return metrics;
    }

    // SnapshotSink.abandon: an early end skips what is queued (no @Override, so that this test also compiles, and
    // fails, against a SnapshotSink without it)
    public CompletionStage<Done> abandon() {
      abandoned = true;
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    volatile boolean cutShort;

    @Override
    public void cutShort() {
      cutShort = true;
    }

    volatile boolean drainTimedOut;

    // SnapshotSink.drainTimedOut (no @Override, as abandon above)
    public void drainTimedOut() {
      drainTimedOut = true;
    }

    @Override
    public void publish(WeightSnapshot snapshot) {
      published.add(snapshot.step());
    }

    @Override
    public CompletionStage<Done> drain() {
      drained = true;
      return drainResult;
    }

    @Override
    public boolean stopsWithRun() {
      return true;
    }
  }

  private record Run(ActorRef<Object> root, RecordingSink sink, CompletableFuture<TrainerActor.Finished> result,
      CompletableFuture<ActorRef<TrainerActor.Command>> trainer, List<Alert> alerts, ActorRef<Object> door,
      TrainingProgress progress, Rejections rejections, CompletableFuture<Boolean> flushed) {
  }

  /** The stop token the run's door expects (a cluster trainer chooses one per run). */
  private static final String STOP_TOKEN = "0123456789abcdef0123456789abcdef";

  private static Run start(long maxSteps, EarlyStopPolicy policy) {
    return start(maxSteps, policy, 0);
  }

  private static Run start(long maxSteps, EarlyStopPolicy policy, long startStep) {
    return start(maxSteps, policy, startStep, new RecordingSink(), Duration.ofSeconds(5));
  }

  private static Run start(long maxSteps, EarlyStopPolicy policy, long startStep, RecordingSink sink,
      Duration drain) {
    return start(maxSteps, policy, startStep, sink, new RunGuardian.Timeouts(drain, Duration.ofSeconds(1)));
  }

  private static Run start(long maxSteps, EarlyStopPolicy policy, long startStep, RecordingSink sink,
      RunGuardian.Timeouts timeouts) {
    return start(maxSteps, policy, startStep, sink, timeouts, CountingTrainer::new);
  }

  private static Run start(long maxSteps, EarlyStopPolicy policy, long startStep, RecordingSink sink,
      RunGuardian.Timeouts timeouts, java.util.function.Supplier<Trainer> trainerFactory) {
    CompletableFuture<TrainerActor.Finished> result = new CompletableFuture<>();
    CompletableFuture<Boolean> flushed = new CompletableFuture<>();
    CompletableFuture<ActorRef<TrainerActor.Command>> trainer = new CompletableFuture<>();
    List<Alert> alerts = new CopyOnWriteArrayList<>();
    Rejections rejections = new Rejections(new SimpleMeterRegistry());
    ActorRef<Object> root = testKit.spawn(RunGuardian.root(rejections));
    TrainingProgress progress = new TrainingProgress();
    root.tell(new RunGuardian.Setup(TestSnapshots.run(),
        new RunGuardian.Training(trainerFactory, 1, maxSteps, 10,
            new TrainerActor.CheckpointPlan(null, "supervised", startStep)),
        ctx -> sink, policy, timeouts,
        new RunGuardian.Observers(progress, result, trainer, alerts::add, flushed)));
    ActorRef<Object> door = testKit.spawn(TrainerDoor.create(root, STOP_TOKEN, rejections));
    return new Run(root, sink, result, trainer, alerts, door, progress, rejections, flushed);
  }

  private static Alert alert(String rule, boolean firing) {
    return new Alert(rule, "critical", firing, "test-run", 10, Map.of(), Map.of(), "the embedding collapsed");
  }

  @Test
  void aRunEndsAfterItsStepsWithItsSinkDrainedAndTheGuardianStopped() throws Exception {
    Run r = start(25, EarlyStopPolicy.NEVER);
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertEquals(25, f.steps());
    assertFalse(f.stopped());
    assertTrue(r.sink().drained, "the sink was drained before the outcome");
    assertEquals(25, r.sink().endedAt, "the sink heard where training ended (a cluster run tells its monitor)");
    assertTrue(r.sink().endedBeforeDrain, "training's end is told before the drain, which may take minutes");
    assertTrue(r.sink().published.containsAll(List.of(10L, 20L)), "snapshots every 10 steps: " + r.sink().published);
    testKit.createTestProbe().expectTerminated(r.root(), Duration.ofSeconds(10));
  }

  /**
   * The flush at a run's end tells whether the metrics were all written before the outcome: one that times out (a
   * metrics actor stuck writing) still ends the run, told as not written, so that the run's end does not claim them.
   */
  @Test
  void aFlushThatTimesOutStillEndsTheRunAndIsToldAsNotWritten() throws Exception {
    Run written = start(25, EarlyStopPolicy.NEVER);
    written.result().get(30, TimeUnit.SECONDS);
    assertEquals(true, written.flushed().getNow(null), "told before the outcome");
    RecordingSink stuck = new RecordingSink();
    stuck.stuck = true;
    Run r = start(25, EarlyStopPolicy.NEVER, 0, stuck, new RunGuardian.Timeouts(Duration.ofSeconds(5),
        Duration.ofSeconds(1), false, Duration.ofMillis(300)));
    assertEquals(25, r.result().get(30, TimeUnit.SECONDS).steps());
    assertEquals(false, r.flushed().getNow(null));
  }

  /**
   * An interrupt with its signal's deadline (a --monitor run's): a metrics actor that never answers the end's flush (a
   * remote monitor that does not answer) is waited for until the deadline less the margin kept for the run's end, not
   * the flush's own 30 s, which outlasted the signal's grace (25 s) so that the process halted before its end.
   */
  @Test
  void anInterruptsFlushWaitsNoLongerThanItsSignalsDeadline() throws Exception {
    RecordingSink stuck = new RecordingSink();
    stuck.stuck = true;
    Run r = start(10_000_000, EarlyStopPolicy.NEVER, 0, stuck, new RunGuardian.Timeouts(Duration.ofSeconds(5),
        Duration.ofSeconds(1), false, Duration.ofSeconds(30)));
    r.trainer().get(30, TimeUnit.SECONDS);
    long t0 = System.nanoTime();
    r.root().tell(new RunGuardian.Interrupt("SIGINT", org.splinewatch.cluster.StopDeadline.in(
        Duration.ofSeconds(4))));
    r.result().get(60, TimeUnit.SECONDS);
    double took = (System.nanoTime() - t0) / 1e9;
    // the flush gives up at the deadline less its margin (3 s), and the run ends with it: a flush that kept no margin
    // ran to the deadline itself (4 s and more), the bug to the flush's own 30 s; the margin (1 s) is all the slack
    // a slow machine's late timer can have here
    assertTrue(took < 4, "ended before the deadline, its margin kept: " + took);
    assertEquals(false, r.flushed().getNow(null), "told as not written");
  }

  /**
   * A local run's metrics writer stuck at the run's end (a hung disk, NFS) after a signal: the end's flush waits what
   * is left of the signal's grace less the margin kept for the run's end, as a --monitor run's does. It waited its
   * whole 30 s, past the grace (25 s), so that the watchdog halted the process with only "the run did not end within
   * 25 s of SIGINT; exiting", and run_finished was never written.
   */
  @Test
  void aLocalRunsStuckWriterIsWaitedForNoLongerThanTheSignalsGrace() throws Exception {
    RecordingSink stuck = new RecordingSink();
    stuck.stuck = true;
    Run r = start(10_000_000, EarlyStopPolicy.NEVER, 0, stuck, new RunGuardian.Timeouts(Duration.ofSeconds(5),
        Duration.ofSeconds(1), false));
    r.trainer().get(30, TimeUnit.SECONDS);
    List<Integer> halted = new CopyOnWriteArrayList<>();
    java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
    Duration grace = Duration.ofSeconds(4);
    try (SignalStop signals = SignalStop.installBeforeStart(grace, new java.io.PrintStream(console, true))) {
      signals.halt = halted::add;
      signals.training(EmbeddedRun.interrupts(signals, r.root())); // as EmbeddedRun wires a run
      long t0 = System.nanoTime();
      signals.handle("INT", grace);
      r.result().get(grace.toSeconds() + 2, TimeUnit.SECONDS);
      double took = (System.nanoTime() - t0) / 1e9;
      // the flush gives up at the grace less its margin (3 s), and the run ends with it: one that kept no margin ran
      // to the grace itself (4 s and more), the bug to the flush's own 30 s (past the watchdog's halt)
      assertTrue(took < grace.toSeconds(), "within the grace, its margin kept: " + took);
      assertEquals(false, r.flushed().getNow(null), "told as not written");
      assertEquals(List.of(), halted, console.toString());
    }
  }

  /**
   * A NaN loss ends the run (exit code 3) and is published as its loss sample, whatever the step: the
   * {@code divergence} rule judges the loss samples, and the trainer publishes them every 10 steps only, so a NaN at
   * step 3 used to stop the run without the alert (no event, no gauge) and without the NaN in metrics.jsonl.
   */
  @Test
  void aNanLossBetweenTheTenStepScalarsIsStillPublishedForTheDivergenceRule() throws Exception {
    RecordingSink sink = new RecordingSink();
    Run r = start(1000, EarlyStopPolicy.NEVER, 0, sink, new RunGuardian.Timeouts(Duration.ofSeconds(5),
        Duration.ofSeconds(1)), () -> new CountingTrainer(3));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertEquals("loss is NaN at step 3 (divergence)", f.reason());
    List<Sample> losses = sink.samples.stream().filter(x -> x.name().equals(MetricFamily.TRAINING_LOSS.id())).toList();
    assertTrue(losses.stream().anyMatch(x -> x.step() == 3 && Double.isNaN(x.value())),
        "the NaN loss of step 3 reaches the metrics actor: " + losses);
  }

  @Test
  void aRunResumedAtOrPastItsTotalTrainsNoStep() throws Exception {
    Run r = start(100, EarlyStopPolicy.NEVER, 250);
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertEquals(250, f.steps(), "no step past the checkpoint's");
    assertEquals("nothing to train: the run resumes at step 250 and ends at step 100; expected a total (--max-steps,"
        + " or --epochs × 1000000 steps) beyond 250", f.error());
    assertTrue(r.sink().published.isEmpty(), "no snapshot of an untrained step: " + r.sink().published);
  }

  /**
   * Before its first step a resumed run is at its checkpoint's step: the console's progress line (and the step a
   * trainer that stops without a word is reported at) said step 0 and epoch 0 until the first step was done.
   */
  @Test
  void aResumedRunsProgressStartsAtItsCheckpointsStep() throws Exception {
    java.util.concurrent.CountDownLatch firstStep = new java.util.concurrent.CountDownLatch(1);
    Run r = start(100, EarlyStopPolicy.NEVER, 40, new RecordingSink(), new RunGuardian.Timeouts(Duration.ofSeconds(5),
        Duration.ofSeconds(1)), () -> new CountingTrainer() {
          @Override
          public double step() {
            try {
              firstStep.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return super.step();
          }

          @Override
          public int stepsPerEpoch() {
            return 20;
          }
        });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (r.progress().get().totalSteps() != 100 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    TrainingProgress.State s = r.progress().get();
    firstStep.countDown();
    assertEquals(100, s.totalSteps());
    assertEquals(40, s.step(), "the checkpoint's step, before the first step of the resumed run");
    assertEquals(2, s.epoch());
    assertEquals(100, r.result().get(30, TimeUnit.SECONDS).steps());
  }

  /** What the console prints when it stops after {@code r} ended (as a pipe, or as a terminal). */
  private static String consoleAtTheEnd(Run r, boolean terminal) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    java.io.PrintStream out = new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8);
    ConsoleProgress console = new ConsoleProgress(r.progress(), out, terminal);
    console.start();
    console.stop();
    return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  /**
   * A trainer that cannot be created (a network that does not fit, a checkpoint that cannot be loaded) or whose first
   * step fails ends the run before any step: the console printed a last bar {@code step 0/0 epoch 0 loss NaN 0.0
   * steps/s}, as if the run had diverged at once, above the error line. Now no bar: the error line says what failed.
   */
  @Test
  void aRunThatFailsBeforeItsFirstStepLeavesNoProgressBar() throws Exception {
    Run created = start(100, EarlyStopPolicy.NEVER, 0, new RecordingSink(), new RunGuardian.Timeouts(
        Duration.ofSeconds(5), Duration.ofSeconds(1)), () -> {
          throw new IllegalStateException("Allocation failed: [std::bad_alloc]");
        });
    TrainerActor.Finished f = created.result().get(30, TimeUnit.SECONDS);
    assertEquals("cannot create the trainer: Allocation failed: [std::bad_alloc]", f.error());
    assertFalse(created.progress().get().trained());
    for (boolean terminal : new boolean[] {false, true}) {
      String console = consoleAtTheEnd(created, terminal);
      assertFalse(console.contains("step 0/0") || console.contains("NaN") || console.contains("["),
          "no bar for a run without a step: " + console);
    }
    Run firstStep = start(100, EarlyStopPolicy.NEVER, 0, new RecordingSink(), new RunGuardian.Timeouts(
        Duration.ofSeconds(5), Duration.ofSeconds(1)), () -> new CountingTrainer() {
          @Override
          public double step() {
            throw new IllegalStateException("native allocation refused");
          }
        });
    assertEquals("training step 1 failed: native allocation refused",
        firstStep.result().get(30, TimeUnit.SECONDS).error());
    assertEquals(100, firstStep.progress().get().totalSteps());
    assertEquals("", consoleAtTheEnd(firstStep, false));
    // a run that trained has its last bar, with its steps and its loss
    Run trained = start(25, EarlyStopPolicy.NEVER);
    trained.result().get(30, TimeUnit.SECONDS);
    assertTrue(trained.progress().get().trained());
    String bar = consoleAtTheEnd(trained, false);
    assertTrue(bar.startsWith("[########################] 100% step 25/25 epoch 0 loss 1.0000"), bar);
  }

  /** Before the first step the bar (redrawn while the trainer is set up) has no loss yet: "-", not NaN. */
  @Test
  void theBarBeforeTheFirstStepShowsNoLoss() {
    String before = ConsoleProgress.line(new TrainingProgress.State(40, 100, 2, Double.NaN, 0, "-", false, false));
    assertTrue(before.contains("step 40/100 epoch 2 loss - 0.0 steps/s ETA ?"), before);
    // a step's NaN loss (a divergence) is still shown as it is
    String diverged = ConsoleProgress.line(new TrainingProgress.State(41, 100, 2, Double.NaN, 3, "-", true, true));
    assertTrue(diverged.contains("step 41/100 epoch 2 loss NaN"), diverged);
  }

  /** 100 % and a full bar only at the last step: the default run's step 3500/3510 showed both (rounded up). */
  @Test
  void theBarIsFullOnlyAtTheLastStep() {
    String almost = ConsoleProgress.line(new TrainingProgress.State(3500, 3510, 14, 4.5, 5, "-", false, true));
    assertTrue(almost.startsWith("[#######################-]  99% step 3500/3510"), almost);
    String nearly = ConsoleProgress.line(new TrainingProgress.State(3445, 3510, 14, 4.5, 5, "-", false, true));
    assertTrue(nearly.startsWith("[#######################-]  98% step 3445/3510"), nearly);
    String last = ConsoleProgress.line(new TrainingProgress.State(3510, 3510, 15, 4.5, 5, "-", true, true));
    assertTrue(last.startsWith("[########################] 100% step 3510/3510"), last);
  }

  /** A console on {@code bytes} that redraws (or prints) every 10 ms. */
  private static ConsoleProgress console(TrainingProgress progress, java.io.ByteArrayOutputStream bytes,
      boolean terminal) {
    return new ConsoleProgress(progress, new java.io.PrintStream(bytes, true,
        java.nio.charset.StandardCharsets.UTF_8), terminal, 10);
  }

  /** Waits until {@code bytes} hold {@code text}. */
  private static void awaitOutput(java.io.ByteArrayOutputStream bytes, String text) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!bytes.toString(java.nio.charset.StandardCharsets.UTF_8).contains(text)
        && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertTrue(bytes.toString(java.nio.charset.StandardCharsets.UTF_8).contains(text), "never printed: " + text);
  }

  /**
   * On a terminal, a bar drawn while the trainer was set up (step 0/100, loss "-") is blanked when the run ends before
   * its first step: spaces over the whole bar and the cursor back at the start of the line, so the error line that
   * follows starts on a clean line; no final bar, no line break.
   */
  @Test
  void aBarDrawnBeforeAFailedFirstStepIsBlanked() throws Exception {
    Run firstStep = start(100, EarlyStopPolicy.NEVER, 0, new RecordingSink(), new RunGuardian.Timeouts(
        Duration.ofSeconds(5), Duration.ofSeconds(1)), () -> new CountingTrainer() {
          @Override
          public double step() {
            throw new IllegalStateException("native allocation refused");
          }
        });
    firstStep.result().get(30, TimeUnit.SECONDS);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    ConsoleProgress c = console(firstStep.progress(), bytes, true);
    c.start();
    String bar = ConsoleProgress.line(firstStep.progress().get());
    assertTrue(bar.contains("step 0/100 epoch 0 loss -"), bar);
    awaitOutput(bytes, bar);
    c.stop();
    String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(out.endsWith("\r" + bar + "\r" + " ".repeat(bar.length()) + "\r"), out);
    assertFalse(out.contains("\n"), out);
  }

  /**
   * A bar redrawn shorter than the one before it on the terminal's line (an alert's text replaced by a shorter one)
   * clears the rest of the longer one: spaces, not its last characters, follow it.
   */
  @Test
  void aShorterBarClearsTheRestOfALongerOne() throws Exception {
    Run trained = start(25, EarlyStopPolicy.NEVER);
    trained.result().get(30, TimeUnit.SECONDS);
    TrainingProgress progress = trained.progress();
    progress.alert("ALERT collapse_with_region_drop at step 12345678");
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    ConsoleProgress c = console(progress, bytes, true);
    c.start();
    String longer = ConsoleProgress.line(progress.get());
    awaitOutput(bytes, longer);
    progress.alert("-");
    String shorter = ConsoleProgress.line(progress.get());
    String cleared = shorter + " ".repeat(longer.length() - shorter.length());
    awaitOutput(bytes, "\r" + cleared + "\r");
    c.stop();
    String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(out.endsWith("\r" + cleared + "\n"), "the last bar clears the longer one too: " + out);
    for (String drawn : out.substring(out.indexOf(cleared)).split("\r")) {
      assertTrue(drawn.isEmpty() || drawn.strip().equals(shorter), "a stale character after the bar: " + drawn);
    }
  }

  /** Numbers on the bar have a decimal point in every locale (a German one wrote "loss 1,2346 9,5 steps/s"). */
  @Test
  void theBarsNumbersHaveADecimalPointInEveryLocale() {
    java.util.Locale before = java.util.Locale.getDefault();
    try {
      java.util.Locale.setDefault(java.util.Locale.GERMANY);
      String bar = ConsoleProgress.line(new TrainingProgress.State(50, 100, 1, 1.23456, 9.5, "-", false, true));
      assertTrue(bar.contains("step 50/100 epoch 1 loss 1.2346 9.5 steps/s ETA 0m05s"), bar);
    } finally {
      java.util.Locale.setDefault(before);
    }
  }

  /**
   * Without a terminal a finished run's last line is printed once: the console printed it again every interval while
   * the run's analyses drained after the last step (four times in a 30-step run), then once more when it stopped.
   */
  @Test
  void aFinishedRunsLastLineIsPrintedOnceWithoutATerminal() throws Exception {
    Run trained = start(25, EarlyStopPolicy.NEVER);
    trained.result().get(30, TimeUnit.SECONDS);
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    ConsoleProgress c = console(trained.progress(), bytes, false);
    c.start();
    String last = ConsoleProgress.line(trained.progress().get());
    awaitOutput(bytes, last);
    Thread.sleep(200); // 20 intervals
    c.stop();
    assertEquals(last + System.lineSeparator(), bytes.toString(java.nio.charset.StandardCharsets.UTF_8));
  }

  /**
   * Without a terminal the 100 % line is printed once: the console printed it while the last step's snapshot and
   * checkpoint were written (the last step trained, the run not finished yet: the rate of the last window), then again
   * when the run finished (its average rate), two lines for one step. Here the last snapshot takes 1 s, 100 intervals.
   */
  @Test
  void theLastStepsLineIsPrintedOnceWithoutATerminal() throws Exception {
    CountDownLatch lastStepTrained = new CountDownLatch(1);
    Run slowEnd = start(25, EarlyStopPolicy.NEVER, 0, new RecordingSink(), new RunGuardian.Timeouts(
        Duration.ofSeconds(5), Duration.ofSeconds(1)), () -> new CountingTrainer() {
          @Override
          public WeightSnapshot snapshot(String runId, long step, int epoch, double loss, double stepsPerSecond) {
            if (step == 25) {
              lastStepTrained.countDown();
              try {
                Thread.sleep(1000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return super.snapshot(runId, step, epoch, loss, stepsPerSecond);
          }
        });
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    ConsoleProgress c = console(slowEnd.progress(), bytes, false);
    c.start();
    assertTrue(lastStepTrained.await(30, TimeUnit.SECONDS));
    assertEquals(25, slowEnd.progress().get().step());
    assertFalse(slowEnd.progress().get().finished(), "the last snapshot is written before the run finishes");
    slowEnd.result().get(30, TimeUnit.SECONDS);
    Thread.sleep(100); // 10 intervals after it finished
    c.stop();
    String out = bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(1, out.lines().filter(l -> l.contains("step 25/25")).count(), out);
    assertTrue(out.endsWith(ConsoleProgress.line(slowEnd.progress().get()) + System.lineSeparator()),
        "the last line is the finished run's, with its average rate: " + out);
  }

  @Test
  void aFiringStopOnAlertFromTheClusterStopsTheRun() throws Exception {
    Run r = start(10_000_000, EarlyStopPolicy.of("stop", List.of("std_collapse")));
    r.trainer().get(30, TimeUnit.SECONDS);
    // not a stop-on rule: reported only
    r.door().tell(new MetricsNode.RunAlert(alert("dim_collapse", true), STOP_TOKEN));
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), STOP_TOKEN));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertEquals("collapse alert std_collapse: the embedding collapsed", f.reason());
    assertEquals(List.of("dim_collapse", "std_collapse"), r.alerts().stream().map(Alert::rule).toList());
  }

  @Test
  void aRunStoppedByAnAlertSkipsItsQueuedAnalysesInsteadOfDrainingThem() throws Exception {
    RecordingSink sink = new RecordingSink();
    sink.drainResult = new CompletableFuture<>(); // a drain would take the whole drain timeout
    Run r = start(10_000_000, EarlyStopPolicy.of("stop", List.of("std_collapse")), 0, sink, Duration.ofSeconds(60));
    r.trainer().get(30, TimeUnit.SECONDS);
    long stopped = System.nanoTime();
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), STOP_TOKEN));
    TrainerActor.Finished f = r.result().get(20, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertTrue(sink.abandoned && !sink.drained, "abandoned " + sink.abandoned + ", drained " + sink.drained);
    assertTrue(sink.cutShort, "what was still being analysed after the wait is counted");
    assertTrue(System.nanoTime() - stopped < TimeUnit.SECONDS.toNanos(10), "ended promptly after the stop");
  }

  @Test
  void withAnalyseAfterStopAStoppedRunStillDrainsItsQueue() throws Exception {
    // splinewatch.lifecycle.analyse-after-stop: the report of a stopped run shows the collapse's snapshots
    RecordingSink sink = new RecordingSink();
    Run r = start(10_000_000, EarlyStopPolicy.of("stop", List.of("std_collapse")), 0, sink,
        new RunGuardian.Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(1), true));
    r.trainer().get(30, TimeUnit.SECONDS);
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), STOP_TOKEN));
    TrainerActor.Finished f = r.result().get(20, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertTrue(sink.drained && !sink.abandoned, "drained " + sink.drained + ", abandoned " + sink.abandoned);
  }

  @Test
  void aRunThatEndsNormallyStillDrains() throws Exception {
    RecordingSink sink = new RecordingSink();
    Run r = start(25, EarlyStopPolicy.NEVER, 0, sink, Duration.ofSeconds(5));
    r.result().get(30, TimeUnit.SECONDS);
    assertTrue(sink.drained && !sink.abandoned, "drained " + sink.drained + ", abandoned " + sink.abandoned);
    assertFalse(sink.cutShort, "a normal end drains: nothing cut short");
    assertFalse(sink.drainTimedOut, "the drain finished in time");
  }

  @Test
  void whatANormalEndsDrainLeavesAfterItsTimeoutIsCounted() throws Exception {
    RecordingSink sink = new RecordingSink();
    sink.drainResult = new CompletableFuture<>(); // analyses that outlast the drain timeout
    Run r = start(25, EarlyStopPolicy.NEVER, 0, sink, new RunGuardian.Timeouts(Duration.ofSeconds(1),
        Duration.ofSeconds(1)));
    r.result().get(30, TimeUnit.SECONDS);
    assertTrue(sink.drained && !sink.abandoned, "drained " + sink.drained + ", abandoned " + sink.abandoned);
    assertTrue(sink.drainTimedOut, "what was left after drain-timeout is counted as unanalysed");
    assertFalse(sink.cutShort, "not an early end");
  }

  @Test
  void anInterruptWhileANormalEndDrainsCutsTheWaitToTheAbortDrainTimeout() throws Exception {
    RecordingSink sink = new RecordingSink();
    sink.drainResult = new CompletableFuture<>(); // analyses that would outlast the signal's grace
    Run r = start(25, EarlyStopPolicy.NEVER, 0, sink, new RunGuardian.Timeouts(Duration.ofMinutes(10),
        Duration.ofSeconds(1)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!sink.drained && System.nanoTime() < deadline) { // training has ended: the normal drain has begun
      Thread.sleep(10);
    }
    assertTrue(sink.drained, "the run did not reach its drain");
    assertFalse(r.result().isDone(), "the drain never completes by itself");
    long t0 = System.nanoTime();
    r.root().tell(new RunGuardian.Interrupt("SIGTERM"));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "ended within the abort-drain timeout's scale,"
        + " not drain-timeout's 10 minutes");
    assertEquals(25, f.steps(), "training itself had finished");
    assertTrue(sink.drainTimedOut, "what was left when the wait was cut is counted as unanalysed");
    assertFalse(sink.abandoned, "the queue was already drained normally, not abandoned");
  }

  @Test
  void warnModeReportsAlertsAndAStopRequestStillStops() throws Exception {
    Run r = start(10_000_000, EarlyStopPolicy.of("warn", List.of("std_collapse")));
    r.trainer().get(30, TimeUnit.SECONDS);
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), STOP_TOKEN));
    r.door().tell(new TrainerActor.Stop("stop requested through the control endpoint", STOP_TOKEN));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertEquals("stop requested through the control endpoint", f.reason());
    assertEquals(1, r.alerts().size());
  }

  @Test
  void anInterruptEndsTheRunWithItsReason() throws Exception {
    Run r = start(10_000_000, EarlyStopPolicy.NEVER);
    r.trainer().get(30, TimeUnit.SECONDS);
    r.root().tell(new RunGuardian.Interrupt("SIGTERM"));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertEquals("SIGTERM", f.reason());
  }

  @Test
  void aStopWithoutTheRunsTokenIsRefusedAndTheRunGoesOnUntilTheRightOne() throws Exception {
    Run r = start(10_000_000, EarlyStopPolicy.of("stop", List.of("std_collapse")));
    r.trainer().get(30, TimeUnit.SECONDS);
    r.door().tell(new TrainerActor.Stop("forged: no token"));
    r.door().tell(new TrainerActor.Stop("forged: wrong token", "ffffffffffffffffffffffffffffffff"));
    r.door().tell(new TrainerActor.Stop("forged: a prefix", STOP_TOKEN.substring(0, 31)));
    // a stop-on alert stops the run too: only with the token
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), "ffffffffffffffffffffffffffffffff"));
    r.door().tell(new MetricsNode.RunAlert(alert("std_collapse", true), null));
    r.door().tell(new AlertRaised(alert("std_collapse", true)));
    // straight to the guardian (a guessable address), even with the right token or as a stop-on alert
    r.root().tell(new TrainerActor.Stop("forged: past the door", STOP_TOKEN));
    r.root().tell(new AlertRaised(alert("std_collapse", true)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (r.rejections().total() < 8 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(8.0, r.rejections().total(), "every forged stop and alert is counted");
    long before = r.progress().get().step();
    Thread.sleep(300);
    assertFalse(r.result().isDone(), "the run goes on after forged stops: " + r.result().getNow(null));
    // polled, not read once after the fixed pause: on a loaded machine the trainer may not have had a core yet
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (r.progress().get().step() <= before && !r.result().isDone() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(r.progress().get().step() > before, "the trainer keeps training");
    assertFalse(r.result().isDone(), "the run goes on after forged stops: " + r.result().getNow(null));
    assertTrue(r.alerts().isEmpty(), "a forged alert is not reported either");
    r.door().tell(new TrainerActor.Stop("stop requested through the control endpoint", STOP_TOKEN));
    TrainerActor.Finished f = r.result().get(30, TimeUnit.SECONDS);
    assertTrue(f.stopped());
    assertEquals("stop requested through the control endpoint", f.reason());
  }
}
