package org.splinewatch.trainer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.splinewatch.metrics.CpuByRole;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.wire.CborSerializable;

/**
 * Drives one training run, one step per message so that a {@link Stop} is handled between steps. Every
 * {@code snapshotEvery} steps (and at step 0 and at the end) it hands a {@link WeightSnapshot} to the publisher,
 * which must not block; every 10 steps it sends the training scalars to the metrics actor. Runs on its own pinned
 * dispatcher, so ND4J always sees the same thread.
 */
public final class TrainerActor extends AbstractBehavior<TrainerActor.Command> {

  /** Messages. */
  public sealed interface Command extends CborSerializable {
  }

  /** Begin training. */
  public record Start() implements Command {
  }

  /**
   * Stop after the current step. {@code token} proves, over a cluster, that the stop comes from the run's metrics
   * node (the trainer chose it when it registered the run); a stop sent inside the process has none.
   */
  public record Stop(String reason, String token) implements Command {
    public Stop(String reason) {
      this(reason, null);
    }
  }

  /**
   * End the run as failed after the current step (something the run depends on broke, e.g. its metrics writer, or
   * it went over its memory limit): {@code latest} is still attempted, then {@link Finished} carries {@code error}.
   */
  public record Fail(String error) implements Command {
  }

  private record Continue() implements Command {
  }

  /** Sent to the parent when the run ends. */
  public record Finished(long steps, boolean stopped, String reason, double stepsPerSecond, String error) {
  }

  static final int SCALAR_EVERY = 10;
  /** How long the end of a run waits for the batch statistics still queued. */
  static final long BATCH_STATISTICS_DRAIN_MILLIS = 2_000;
  private final BatchStatistics batchStatistics;
  /** The training thread's CPU time when the actor started, in ns (-1: not measurable). */
  private final long cpuAtStart;
  private Map<String, Trainer.BatchOutput> lastBatchOutputs = Map.of();

  private final Supplier<Trainer> factory;
  private final String runId;
  private final long maxSteps;
  private final int epochs;
  private final int snapshotEvery;
  private final Consumer<WeightSnapshot> publisher;
  private final ActorRef<MetricsActor.Command> metrics;
  private final ActorRef<Finished> parent;
  private final TrainingProgress progress;
  private Trainer trainer;
  private long total;
  private long step;
  private double loss = Double.NaN;
  private long windowStart;
  private long windowSteps;
  private double stepsPerSecond;
  private long trainStart;

  /** Where checkpoints go ({@code null}: none), the method name they record, and the step to resume from. */
  public record CheckpointPlan(Path dir, String method, long startStep) {
  }

  private final CheckpointPlan checkpoints;
  private double bestLoss = Double.POSITIVE_INFINITY;
  private boolean told; // Finished was sent

  public static Behavior<Command> create(Supplier<Trainer> factory, String runId, int epochs, long maxSteps,
      int snapshotEvery, Consumer<WeightSnapshot> publisher, ActorRef<MetricsActor.Command> metrics,
      ActorRef<Finished> parent, TrainingProgress progress, CheckpointPlan plan) {
    return Behaviors.setup(ctx -> new TrainerActor(ctx, factory, runId, epochs, maxSteps, snapshotEvery, publisher,
        metrics, parent, progress, plan));
  }

  private TrainerActor(ActorContext<Command> ctx, Supplier<Trainer> factory, String runId, int epochs, long maxSteps,
      int snapshotEvery, Consumer<WeightSnapshot> publisher, ActorRef<MetricsActor.Command> metrics,
      ActorRef<Finished> parent, TrainingProgress progress, CheckpointPlan checkpoints) {
    super(ctx);
    this.checkpoints = checkpoints;
    this.factory = factory;
    this.runId = runId;
    this.epochs = epochs;
    this.maxSteps = maxSteps;
    this.snapshotEvery = snapshotEvery;
    this.publisher = publisher;
    this.metrics = metrics;
    this.parent = parent;
    this.progress = progress;
    this.batchStatistics = new BatchStatistics(samples -> metrics.tell(new MetricsActor.Publish(samples)));
    CpuByRole.register("training"); // the constructor runs on the actor's pinned thread, which trains
    this.cpuAtStart = CpuByRole.currentThreadNanos();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Start.class, m -> guarded(this::onStart))
        .onMessage(Continue.class, m -> guarded(this::onContinue))
        .onMessage(Stop.class, m -> guarded(() -> finish(true, m.reason(), null)))
        .onMessage(Fail.class, m -> guarded(() -> onFail(m)))
        .onSignal(PostStop.class, s -> {
          batchStatistics.close();
          if (trainer != null) {
            trainer.close();
          }
          CpuByRole.threadEnding(); // the pinned thread ends with this actor
          return this;
        })
        .build();
  }

  /**
   * Runs a handler; anything it throws (a snapshot that cannot be taken, a publisher or checkpoint bug, an
   * {@link Error}) ends the run as failed with {@link Finished} instead of stopping this actor silently.
   */
  private Behavior<Command> guarded(Supplier<Behavior<Command>> handler) {
    try {
      return handler.get();
    } catch (RuntimeException | Error e) {
      if (told) {
        return Behaviors.stopped();
      }
      String what = e.getMessage() == null ? e.toString() : e.getMessage();
      return finish(false, null, "the trainer failed at step " + step + ": " + what.lines().findFirst().orElse("")
          + nativeMemoryAdvice(e));
    }
  }

  /**
   * What to do when {@code e} comes from JavaCPP refusing a native allocation above its limit ("Cannot allocate new
   * LongPointer(2): totalBytes = 256, physicalBytes = 1685M"), which names neither the limit nor the options that size
   * the network; empty for any other error.
   */
  static String nativeMemoryAdvice(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage();
      if (t instanceof OutOfMemoryError && m != null && m.startsWith("Cannot allocate") && m.contains("physicalBytes")) {
        return "; the network or its batch does not fit ND4J's native memory limit: expected a smaller --hidden,"
            + " --cnn-channels or --batch-size, or a larger SPLINEWATCH_OFF_HEAP (docs/memory.md)";
      }
    }
    return "";
  }

  private Behavior<Command> onStart() {
    try {
      trainer = factory.get();
    } catch (RuntimeException e) {
      return finish(false, null, "cannot create the trainer: " + e.getMessage() + nativeMemoryAdvice(e));
    }
    total = maxSteps > 0 ? maxSteps : (long) epochs * trainer.stepsPerEpoch();
    step = checkpoints.startStep();
    if (step > 0 && checkpoints.dir() != null) { // resumed: best stays the lowest loss of the whole trajectory
      bestLoss = Checkpoints.bestLossUpTo(checkpoints.dir(), step);
    }
    if (step >= total) {
      return nothingToTrain();
    }
    trainStart = System.nanoTime();
    windowStart = trainStart;
    publisher.accept(trainer.snapshot(runId, step, (int) (step / trainer.stepsPerEpoch()), Double.NaN, 0));
    // a resumed run is at its checkpoint's step until its first step is done
    progress.set(new TrainingProgress.State(step, total, (int) (step / Math.max(1, trainer.stepsPerEpoch())),
        Double.NaN, 0, progress.get().lastAlert(), false, false));
    getContext().getSelf().tell(new Continue());
    return this;
  }

  /**
   * A resumed run whose total is not beyond its checkpoint's step ends without training a step (the command line
   * refuses such a run before it starts; this guards every other caller).
   */
  private Behavior<Command> nothingToTrain() {
    return finish(false, null, "nothing to train: the run resumes at step " + step + " and ends at step " + total
        + "; expected a total (--max-steps, or --epochs × " + trainer.stepsPerEpoch() + " steps) beyond " + step);
  }

  /** A failure from outside the step (the memory watch): checkpoint what was trained, then end as failed. */
  private Behavior<Command> onFail(Fail m) {
    if (trainer != null && step > checkpoints.startStep() && Double.isFinite(loss)) {
      checkpoint((int) (step / Math.max(1, trainer.stepsPerEpoch())), false);
    }
    return finish(false, null, m.error());
  }

  private Behavior<Command> onContinue() {
    try {
      loss = trainer.step();
    } catch (RuntimeException e) {
      return finish(false, null, "training step " + (step + 1) + " failed: "
          + (e.getMessage() == null ? e.toString() : e.getMessage()));
    } catch (OutOfMemoryError e) {
      // the heap (-Xmx) or JavaCPP's limits (org.bytedeco.javacpp.maxbytes / maxphysicalbytes) refused an allocation:
      // end the run with its files written instead of letting the error take down the actor system
      return finish(false, null, "training step " + (step + 1) + " ran out of memory (" + e.getMessage()
          + "); raise SPLINEWATCH_HEAP or SPLINEWATCH_OFF_HEAP (docs/memory.md)");
    }
    step++;
    windowSteps++;
    long now = System.nanoTime();
    if (now - windowStart > 1_000_000_000L || step == 1) {
      stepsPerSecond = windowSteps / ((now - windowStart) / 1e9);
      windowStart = now;
      windowSteps = 0;
    }
    int epoch = (int) (step / trainer.stepsPerEpoch());
    progress.set(new TrainingProgress.State(step, total, epoch, loss, stepsPerSecond, progress.get().lastAlert(),
        false, true));
    // the batch's collapse statistics (the batch_collapse rule reads them between snapshots), computed off this
    // thread from the outputs each loss evaluation kept (steps 1, 10, 20, ...)
    Map<String, Trainer.BatchOutput> outputs = trainer.batchOutputs();
    if (outputs != lastBatchOutputs) {
      lastBatchOutputs = outputs;
      batchStatistics.submit(step, outputs);
    }
    // a non-finite loss is published at any step: the divergence rule judges the loss samples, and the run ends here
    if (step % SCALAR_EVERY == 0 || step == total || !Double.isFinite(loss)) {
      List<Sample> scalars = new ArrayList<>(List.of(
          Sample.of(MetricFamily.TRAINING_LOSS, loss, step),
          Sample.of(MetricFamily.TRAINING_STEP, step, step),
          Sample.of(MetricFamily.TRAINING_EPOCH, epoch, step),
          Sample.of(MetricFamily.TRAINING_STEPS_PER_SECOND, stepsPerSecond, step),
          Sample.of(MetricFamily.TRAINING_LEARNING_RATE, trainer.learningRate(), step)));
      long cpu = CpuByRole.currentThreadNanos();
      if (cpu >= 0 && cpuAtStart >= 0) {
        scalars.add(Sample.of(MetricFamily.TRAINING_THREAD_CPU_SECONDS_TOTAL, (cpu - cpuAtStart) / 1e9, step));
      }
      metrics.tell(new MetricsActor.Publish(List.copyOf(scalars)));
    }
    if (!Double.isFinite(loss)) {
      publisher.accept(trainer.snapshot(runId, step, epoch, loss, stepsPerSecond));
      return finish(true, "loss is " + loss + " at step " + step + " (divergence)", null);
    }
    if (step % trainer.stepsPerEpoch() == 0 && step < total) {
      String failed = checkpoint(epoch, true);
      if (failed != null) {
        return finish(false, null, failed);
      }
    }
    if (step % snapshotEvery == 0 && step < total) {
      publisher.accept(trainer.snapshot(runId, step, epoch, loss, stepsPerSecond));
    }
    if (step >= total) {
      publisher.accept(trainer.snapshot(runId, step, epoch, loss, stepsPerSecond));
      return finish(false, null, null);
    }
    getContext().getSelf().tell(new Continue());
    return this;
  }

  /**
   * Writes {@code latest} (and {@code best} at an epoch end with the lowest loss so far). A checkpoint that cannot be
   * written (disk full, unwritable directory) is recorded as an event and returned as the error that fails the run:
   * a run that cannot keep its weights must not look healthy.
   */
  private String checkpoint(int epoch, boolean epochEnd) {
    if (checkpoints.dir() == null || trainer == null) {
      return null;
    }
    try {
      Checkpoints.Meta meta = new Checkpoints.Meta(step, epoch, loss, checkpoints.method());
      Checkpoints.write(trainer, checkpoints.dir(), "latest", meta);
      if (epochEnd && Double.isFinite(loss) && loss < bestLoss) {
        bestLoss = loss;
        Checkpoints.write(trainer, checkpoints.dir(), "best", meta);
      }
      return null;
    } catch (RuntimeException e) {
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      metrics.tell(new MetricsActor.Event(Map.of("type", "checkpoint_failed", "step", step, "error",
          error, "time", System.currentTimeMillis())));
      return error;
    }
  }

  private Behavior<Command> finish(boolean stopped, String reason, String error) {
    if (told) {
      return Behaviors.stopped();
    }
    if (error == null && step > checkpoints.startStep() && Double.isFinite(loss)) {
      // the last step may end an epoch (it does for --epochs): a candidate for best, as every other epoch end
      error = checkpoint((int) (step / Math.max(1, trainer.stepsPerEpoch())),
          step % Math.max(1, trainer.stepsPerEpoch()) == 0);
      if (error != null) {
        stopped = false;
      }
    }
    double elapsed = trainStart == 0 ? 0 : (System.nanoTime() - trainStart) / 1e9;
    double rate = elapsed > 0 ? (step - checkpoints.startStep()) / elapsed : 0;
    var s = progress.get();
    progress.set(new TrainingProgress.State(step, total, s.epoch(), loss, rate, s.lastAlert(), true,
        step > checkpoints.startStep()));
    told = true;
    // the last batches' statistics reach the metrics actor before the run reports its end
    batchStatistics.drain(BATCH_STATISTICS_DRAIN_MILLIS);
    parent.tell(new Finished(step, stopped, reason, rate, error));
    return Behaviors.stopped();
  }
}
