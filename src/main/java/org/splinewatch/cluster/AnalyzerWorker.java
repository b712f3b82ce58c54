package org.splinewatch.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.Sample;
import org.splinewatch.monitor.RunGuardian;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.wire.CborSerializable;

/**
 * The analyzer role: one per analyzer node, registered with the receptionist under {@link #KEY}. Trainers'
 * {@link SnapshotPublisher}s open a run here (the run description arrives in chunks), then send snapshots in chunks;
 * the worker reassembles and decodes them, runs the run's analyzers (supervised children on the analysis dispatcher,
 * publishing straight to the run's metrics actor on the metrics node) and acknowledges each snapshot so the
 * publisher can send the next. A run ends with {@link CloseRun} or when its publisher's node leaves.
 */
public final class AnalyzerWorker extends AbstractBehavior<AnalyzerWorker.Command> {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "splinewatch-analyzer");

  /** Messages. */
  public sealed interface Command extends CborSerializable {
  }

  /** A run starts streaming here: which analyzers to run and where their metrics go. */
  public record OpenRun(String runId, List<String> analyzers, ActorRef<MetricsActor.Command> metrics,
      ActorRef<SnapshotPublisher.Command> publisher) implements Command {
  }

  /**
   * Part {@code index} of {@code count} of an encoded payload: the run description when {@code transfer} is 0,
   * otherwise the snapshot of that transfer number.
   */
  public record Chunk(String runId, long transfer, int index, int count, byte[] data) implements Command {
  }

  /** The run has finished; its analyzers stop. */
  public record CloseRun(String runId) implements Command {
  }

  private record SnapshotDone(String runId, long transfer, long step, String error) implements Command {
  }

  private record PublisherGone(String runId) implements Command {
  }

  /** Per run: the opening message, the decoded description, analyzer children, and partial transfers. */
  private static final class RunState {
    final OpenRun open;
    RunInfo info;
    final Map<String, ActorRef<Analyze>> analyzers = new LinkedHashMap<>();
    final Map<Long, byte[][]> partial = new HashMap<>();
    final Map<Long, Integer> received = new HashMap<>();
    long analysed;

    RunState(OpenRun open) {
      this.open = open;
    }
  }

  private final Function<List<String>, List<RunGuardian.AnalyzerSpec>> catalogue;
  private final Path out;
  private final Duration analysisTimeout;
  private final Map<String, RunState> runs = new HashMap<>();

  /**
   * @param catalogue the analyzer behaviors for a list of names (unknown names are an error)
   * @param out       where analyzers that write files (plane pictures) put {@code <run-id>/}
   */
  public static Behavior<Command> create(Function<List<String>, List<RunGuardian.AnalyzerSpec>> catalogue, Path out,
      Duration analysisTimeout) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      return new AnalyzerWorker(ctx, catalogue, out, analysisTimeout);
    });
  }

  private AnalyzerWorker(ActorContext<Command> ctx, Function<List<String>, List<RunGuardian.AnalyzerSpec>> catalogue,
      Path out, Duration analysisTimeout) {
    super(ctx);
    this.catalogue = catalogue;
    this.out = out;
    this.analysisTimeout = analysisTimeout;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(OpenRun.class, this::onOpen)
        .onMessage(Chunk.class, this::onChunk)
        .onMessage(SnapshotDone.class, this::onDone)
        .onMessage(CloseRun.class, m -> close(m.runId()))
        .onMessage(PublisherGone.class, m -> close(m.runId()))
        .build();
  }

  private Behavior<Command> onOpen(OpenRun m) {
    close(m.runId());
    runs.put(m.runId(), new RunState(m));
    getContext().watchWith(m.publisher(), new PublisherGone(m.runId()));
    return this;
  }

  private Behavior<Command> onChunk(Chunk c) {
    RunState run = runs.get(c.runId());
    if (run == null) {
      getContext().getLog().warn("chunk for unknown run {} ignored", c.runId());
      return this;
    }
    if (c.count() < 1 || c.index() < 0 || c.index() >= c.count()) {
      getContext().getLog().warn("malformed chunk {}/{} of run {} ignored", c.index(), c.count(), c.runId());
      return this;
    }
    byte[][] parts = run.partial.computeIfAbsent(c.transfer(), t -> new byte[c.count()][]);
    if (parts.length != c.count() || parts[c.index()] != null) {
      getContext().getLog().warn("inconsistent chunk {}/{} of transfer {} ignored", c.index(), c.count(),
          c.transfer());
      return this;
    }
    parts[c.index()] = c.data();
    int got = run.received.merge(c.transfer(), 1, Integer::sum);
    if (got < parts.length) {
      return this;
    }
    run.partial.remove(c.transfer());
    run.received.remove(c.transfer());
    byte[] payload = join(parts);
    if (c.transfer() == 0) {
      openAnalyzers(run, payload);
    } else {
      analyze(run, c.transfer(), payload);
    }
    return this;
  }

  private void openAnalyzers(RunState run, byte[] payload) {
    try {
      run.info = SnapshotCodec.decodeRun(payload);
      Path runDir = out.resolve(run.info.runId());
      for (RunGuardian.AnalyzerSpec spec : catalogue.apply(run.open.analyzers())) {
        run.analyzers.put(spec.name(), getContext().spawn(spec.supervised(run.info, run.open.metrics(), runDir),
            "run-" + run.info.runId() + "-" + System.nanoTime() + "-" + spec.name(), // ends with the name (priority)
            RunGuardian.AnalyzerSpec.DISPATCHER));
      }
    } catch (RuntimeException e) {
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      run.open.metrics().tell(new MetricsActor.AnalysisFailed("cluster", 0, "analyzer node "
          + ClusterNode.address(getContext().getSystem()) + " cannot open the run: " + error));
    }
  }

  private void analyze(RunState run, long transfer, byte[] payload) {
    WeightSnapshot snapshot;
    try {
      snapshot = SnapshotCodec.decodeSnapshot(payload);
    } catch (RuntimeException e) {
      run.open.publisher().tell(new SnapshotPublisher.Analysed(run.open.runId(), transfer, getContext().getSelf(),
          "undecodable snapshot: " + e.getMessage()));
      return;
    }
    List<CompletableFuture<Analyzed>> replies = new ArrayList<>();
    for (ActorRef<Analyze> a : run.analyzers.values()) {
      replies.add(AskPattern.<Analyze, Analyzed>ask(a, r -> new Analyze(snapshot, r), analysisTimeout,
          getContext().getSystem().scheduler()).toCompletableFuture());
    }
    String runId = run.open.runId();
    long step = snapshot.step();
    getContext().pipeToSelf(CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)),
        (ok, err) -> new SnapshotDone(runId, transfer, step, err == null ? null : String.valueOf(err.getMessage())));
  }

  private Behavior<Command> onDone(SnapshotDone m) {
    RunState run = runs.get(m.runId());
    if (run != null) {
      run.analysed++;
      // per node, so that a dashboard (and the tests) can see how work spreads over analyzer nodes
      run.open.metrics().tell(new MetricsActor.Publish(List.of(Sample.of("splinewatch_cluster_snapshots_analysed_total",
          run.analysed, m.step(), "node", ClusterNode.address(getContext().getSystem())))));
      run.open.publisher().tell(new SnapshotPublisher.Analysed(m.runId(), m.transfer(), getContext().getSelf(),
          m.error()));
    }
    return this;
  }

  private Behavior<Command> close(String runId) {
    RunState run = runs.remove(runId);
    if (run != null) {
      run.analyzers.values().forEach(getContext()::stop);
      getContext().unwatch(run.open.publisher());
    }
    return this;
  }

  private static byte[] join(byte[][] parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }
}
