package org.splinewatch.analysis;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splinewatch.metrics.CpuByRole;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Runs one {@link SnapshotAnalysis} per {@link Analyze} command: publishes its samples and
 * {@code splinewatch_analysis_step{analyzer}} (the training step of the snapshot it analysed, for the analysis lag),
 * times it ({@code splinewatch_analysis_seconds{analyzer}}) and replies {@link Analyzed}. A failure is reported to the
 * metrics actor and the reply, logged in one line, and the next snapshot gets a fresh analysis; the trainer never
 * notices. A failure to write the run directory ends the run with the reply's one line instead. The protocol is the
 * shared {@link Analyze} command.
 */
public final class AnalyzerActor extends AbstractBehavior<Analyze> {
  private static final Logger LOG = LoggerFactory.getLogger(AnalyzerActor.class);
  private final String name;
  private final ActorRef<MetricsActor.Command> metrics;
  private final Supplier<SnapshotAnalysis> fresh;
  private SnapshotAnalysis analysis;

  public static Behavior<Analyze> create(String name, ActorRef<MetricsActor.Command> metrics,
      Supplier<SnapshotAnalysis> analysis) {
    return Behaviors.setup(ctx -> new AnalyzerActor(ctx, name, metrics, analysis));
  }

  private AnalyzerActor(ActorContext<Analyze> ctx, String name, ActorRef<MetricsActor.Command> metrics,
      Supplier<SnapshotAnalysis> analysis) {
    super(ctx);
    this.name = name;
    this.metrics = metrics;
    this.fresh = analysis;
    this.analysis = analysis.get();
  }

  @Override
  public Receive<Analyze> createReceive() {
    return newReceiveBuilder()
        .onMessage(Analyze.class, this::onAnalyze)
        .onSignal(PostStop.class, s -> close())
        .onSignal(PreRestart.class, s -> close())
        .build();
  }

  /**
   * Asks {@code analyzer} ({@code name}) to analyse {@code snapshot} and waits up to {@code timeout}: an analysis that
   * does not answer in time counts as failed on {@code metrics}, once, here (the analyzer leaves its late results out,
   * {@link Analyze#late}).
   */
  public static CompletionStage<Analyzed> ask(ActorRef<Analyze> analyzer, String name,
      WeightSnapshot snapshot, Duration timeout, Scheduler scheduler,
      ActorRef<MetricsActor.Command> metrics) {
    return AskPattern.<Analyze, Analyzed>ask(analyzer,
        r -> Analyze.within(snapshot, r, timeout), timeout, scheduler).whenComplete((answer, error) -> {
          if (error != null) {
            metrics.tell(new MetricsActor.AnalysisFailed(name, snapshot.step(), Analyzed.timedOut(timeout)));
          }
        });
  }

  /** After an {@link OutOfMemoryError}: answers every snapshot at once, analysing none. */
  private static Behavior<Analyze> disabled(String name, String error) {
    return Behaviors.receiveMessage(m -> {
      m.replyTo().tell(new Analyzed(name, m.snapshot().step(), 0, "disabled after " + error));
      return Behaviors.same();
    });
  }

  /** The console line of one failed analysis (counted in splinewatch_analysis_failures_total). */
  static String failedLine(String name, long step, String error) {
    return "analyzer " + name + " failed on the snapshot of step " + step + " (" + error + "); it goes on with the"
        + " next one, training is not affected (splinewatch_analysis_failures_total)";
  }

  /** The console line of an analyzer disabled for the rest of the run (the {@code analyzer_disabled} event). */
  static String disabledLine(String name, long step, String error) {
    return "analyzer " + name + " disabled at step " + step + " for the rest of the run (" + error
        + "); training and the other analyzers go on (events.jsonl: analyzer_disabled)";
  }

  private Behavior<Analyze> close() {
    analysis.close();
    return this;
  }

  private Behavior<Analyze> onAnalyze(Analyze m) {
    long t0 = System.nanoTime();
    if (m.late(t0)) {
      // it waited here behind an analysis its sender gave up on, and its own sender gave up too (counted as failed):
      // analysed now, it would hold its snapshot and delay the next one for results that are left out anyway
      LOG.debug("{} skipped the snapshot of step {}: its sender gave up before it began", name, m.snapshot().step());
      return this;
    }
    long cpu0 = CpuByRole.currentThreadNanos();
    WeightSnapshot s = m.snapshot();
    List<Sample> samples;
    try {
      samples = analysis.analyze(s);
    } catch (RuntimeException e) {
      double secs = (System.nanoTime() - t0) / 1e9;
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      if (e instanceof UncheckedIOException) {
        // the run directory is full or unwritable: the guardian fails the run on this reply (Analyzed.writeFailed)
        error = Analyzed.WRITE_FAILED + error;
      }
      metrics.tell(new MetricsActor.AnalysisFailed(name, s.step(), error));
      m.replyTo().tell(new Analyzed(name, s.step(), secs, error));
      if (e instanceof UncheckedIOException) {
        // the reply fails the run (or asks it to stop, on a monitor) with this one line; a restart would not make
        // the disk writable, and the supervisor's stack trace of it, once per analyzer, said nothing more
        return this;
      }
      // one console line, and a fresh analysis (its state may be what failed) for the next snapshot; rethrown, the
      // supervisor's restart printed the whole stack trace for every failed snapshot (a diverged run: each of them)
      LOG.warn(failedLine(name, s.step(), error));
      LOG.debug("{} failed on the snapshot of step {}", name, s.step(), e);
      analysis.close();
      analysis = fresh.get();
      return this;
    } catch (OutOfMemoryError e) {
      // contained: a fatal error would take the JVM down (Pekko exits on it). What this analysis allocated is
      // garbage now; the analyzer is disabled for the rest of the run, with an event, and training goes on.
      double secs = (System.nanoTime() - t0) / 1e9;
      String error = "out of memory: " + (e.getMessage() == null ? "OutOfMemoryError" : e.getMessage());
      metrics.tell(new MetricsActor.AnalysisFailed(name, s.step(), error));
      metrics.tell(new MetricsActor.Event(Map.of("type", "analyzer_disabled", "analyzer", name, "step",
          s.step(), "error", error, "time", System.currentTimeMillis())));
      m.replyTo().tell(new Analyzed(name, s.step(), secs, error));
      // the one console line of it (the event alone went unnoticed): which analyzer, from when, and why
      LOG.warn(disabledLine(name, s.step(), error));
      analysis.close();
      return disabled(name, error);
    }
    long end = System.nanoTime();
    double secs = (end - t0) / 1e9;
    if (m.late(end)) {
      // the sender gave up waiting and counted this analysis as failed (splinewatch.analysis.timeout): its results
      // would be a second count of the same snapshot
      LOG.debug("{} finished the snapshot of step {} after its sender gave up ({} s); results left out", name,
          s.step(), secs);
      return this;
    }
    List<Sample> all = new ArrayList<>(samples);
    all.add(Sample.of(MetricFamily.ANALYSIS_STEP, s.step(), s.step(), "analyzer", name));
    if (cpu0 >= 0) {
      all.add(Sample.of(MetricFamily.ANALYSIS_CPU_SECONDS, (CpuByRole.currentThreadNanos() - cpu0) / 1e9, s.step(),
          "analyzer", name));
    }
    metrics.tell(new MetricsActor.Publish(all));
    metrics.tell(new MetricsActor.AnalysisTook(name, s.step(), secs));
    m.replyTo().tell(new Analyzed(name, s.step(), secs, null));
    return this;
  }
}
