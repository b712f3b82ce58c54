package org.splinewatch.cluster;

import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.splinewatch.analysis.Analyze;
import org.splinewatch.analysis.AnalyzerActor;
import org.splinewatch.analysis.Analyzed;
import org.splinewatch.analysis.AnalyzerSpec;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunIds;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.wire.CborSerializable;

/**
 * The analyzer role: one per analyzer node, registered with the receptionist under {@link #KEY}. Trainers'
 * {@link SnapshotPublisher}s open a run here (the run description arrives in chunks), then send snapshots in chunks;
 * the worker reassembles and decodes them, runs the run's analyzers (supervised children on the analysis dispatcher,
 * publishing straight to the run's metrics actor on the metrics node) and acknowledges each snapshot so the
 * publisher can send the next. A run ends with {@link CloseRun} or when its publisher's node leaves.
 *
 * <p>Every message is checked before anything is allocated: run ids ({@link RunIds}), references present, the
 * run's token (chosen by its publisher in {@link OpenRun}; chunks and {@link CloseRun} without it are refused, and
 * an open run cannot be taken over), at most {@code max-open-runs} runs; then the {@link ChunkAssembler} checks
 * chunk counts, indices, chunk and total sizes and the partial transfers of {@code in-flight-per-analyzer + 1}
 * snapshots per run, and expires partial transfers after {@code snapshot-timeout}.
 * Refused messages are counted by {@link Rejections}. The role restarts with backoff after a failure and keeps its
 * runs and their analyzers.
 *
 * <p>Over 300 lines because it checks every field of a received {@code OpenRun} (peers may be hostile) before
 * anything is allocated; chunk reassembly, routing and buffering live in {@link ChunkAssembler}, {@link WorkerPool}
 * and the hub's drop-oldest buffer.
 */
public final class AnalyzerWorker extends AbstractBehavior<AnalyzerWorker.Command> {
  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "splinewatch-analyzer");
  static final int MAX_ANALYZERS = 16;

  /**
   * Messages. Only the public records cross the network (they are {@link CborSerializable}); the private ones are
   * not bound to a serializer, so no peer can forge them.
   */
  public sealed interface Command {
  }

  /**
   * A run starts streaming here: which analyzers to run and where their metrics go. {@code token} (random, chosen
   * by the publisher) must accompany the run's chunks and its {@link CloseRun}.
   */
  public record OpenRun(String runId, List<String> analyzers, ActorRef<MetricsActor.Command> metrics,
      ActorRef<SnapshotPublisher.Command> publisher, String token) implements Command, CborSerializable {
  }

  /**
   * Part {@code index} of {@code count} of an encoded payload: the run description when {@code transfer} is 0,
   * otherwise the snapshot of that transfer number.
   */
  public record Chunk(String runId, long transfer, int index, int count, byte[] data, String token)
      implements Command, CborSerializable {
  }

  /** The run has finished; its analyzers stop. */
  public record CloseRun(String runId, String token) implements Command, CborSerializable {
  }

  private record SnapshotDone(String runId, long transfer, long step, String error) implements Command {
  }

  /** The analyzers' results of a snapshot reached the run's metrics actor (or waiting for that timed out). */
  private record SnapshotRecorded(ActorRef<SnapshotPublisher.Command> publisher, String runId, long transfer,
      String error) implements Command {
  }

  /** How long the publisher's acknowledgement waits for a snapshot's results to reach the metrics actor. */
  static final Duration RECORD_TIMEOUT = Duration.ofSeconds(10);

  /** Keyed by the publisher, not the run: one watch per publisher, whatever runs it has open here. */
  private record PublisherGone(ActorRef<?> publisher) implements Command {
  }

  private record Sweep() implements Command {
  }

  /** Per run: the opening message, the decoded description and the analyzer children. */
  private static final class RunState {
    final OpenRun open;
    RunInfo info;
    final Map<String, ActorRef<Analyze>> analyzers = new LinkedHashMap<>();
    ActorRef<MetricsActor.Command> signer; // the analyzers' metrics actor: signs their publishes with the token
    long analysed;

    RunState(OpenRun open) {
      this.open = open;
    }
  }

  private final Function<List<String>, List<AnalyzerSpec>> catalogue;
  private final Path out;
  private final Duration analysisTimeout;
  private final ClusterSettings limits;
  private final Rejections rejections;
  private final Map<String, RunState> runs;
  private final ChunkAssembler chunks;
  private final Predicate<Command> failOn;

  /**
   * With the default limits of {@code reference.conf}, counting refused messages privately.
   *
   * @param catalogue the analyzer behaviors for a list of names (unknown names are an error)
   * @param out       where analyzers that write files (plane pictures) put {@code <run-id>/}
   */
  public static Behavior<Command> create(Function<List<String>, List<AnalyzerSpec>> catalogue, Path out,
      Duration analysisTimeout) {
    return create(catalogue, out, analysisTimeout, ClusterSettings.fromConfig(ConfigFactory.defaultReference()),
        Rejections.unexported());
  }

  /** @param limits chunk size, snapshot size, in-flight, open-run, layer-width limits and the snapshot timeout */
  public static Behavior<Command> create(Function<List<String>, List<AnalyzerSpec>> catalogue, Path out,
      Duration analysisTimeout, ClusterSettings limits, Rejections rejections) {
    return create(catalogue, out, analysisTimeout, limits, rejections, m -> false);
  }

  /**
   * Test hook only ({@code RoleRestartTest}): the role throws on the messages {@code failOn} accepts, so that a test
   * can force a failure and watch the supervisor restart it; production passes {@code m -> false}.
   */
  static Behavior<Command> create(Function<List<String>, List<AnalyzerSpec>> catalogue, Path out,
      Duration analysisTimeout, ClusterSettings limits, Rejections rejections, Predicate<Command> failOn) {
    Map<String, RunState> runs = new HashMap<>(); // outlives restarts, as the analyzer children do
    ChunkAssembler chunks = ChunkAssembler.of(limits); // so do the partial transfers
    Duration sweep = limits.snapshotTimeout().dividedBy(4).compareTo(Duration.ofSeconds(1)) < 0
        ? Duration.ofSeconds(1) : limits.snapshotTimeout().dividedBy(4);
    return Behaviors.supervise(Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      timers.startTimerWithFixedDelay("sweep", new Sweep(), sweep);
      return new AnalyzerWorker(ctx, catalogue, out, analysisTimeout, limits, rejections, runs, chunks, failOn);
    }))).onFailure(Exception.class, SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
        Duration.ofSeconds(10), 0.2).withStopChildren(false));
  }

  private AnalyzerWorker(ActorContext<Command> ctx, Function<List<String>, List<AnalyzerSpec>> catalogue,
      Path out, Duration analysisTimeout, ClusterSettings limits, Rejections rejections, Map<String, RunState> runs,
      ChunkAssembler chunks, Predicate<Command> failOn) {
    super(ctx);
    this.failOn = failOn;
    this.catalogue = catalogue;
    this.out = out;
    this.analysisTimeout = analysisTimeout;
    this.limits = limits;
    this.rejections = rejections;
    this.runs = runs;
    this.chunks = chunks;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Command.class, failOn::test, m -> {
          throw new IllegalStateException("failure injected by a test");
        })
        .onMessage(OpenRun.class, this::onOpen)
        .onMessage(Chunk.class, this::onChunk)
        .onMessage(SnapshotDone.class, this::onDone)
        .onMessage(SnapshotRecorded.class, m -> {
          m.publisher().tell(new SnapshotPublisher.Analysed(m.runId(), m.transfer(), getContext().getSelf(),
              m.error()));
          return this;
        })
        .onMessage(CloseRun.class, this::onClose)
        .onMessage(PublisherGone.class, m -> {
          runs.values().stream().filter(r -> r.open.publisher().equals(m.publisher())).map(r -> r.open.runId())
              .toList().forEach(this::close);
          return this;
        })
        .onMessage(Sweep.class, m -> expire())
        .build();
  }

  private void reject(String reason, ActorRef<?> peer, String detail) {
    rejections.reject("analyzer", reason, peer == null ? "unknown" : peer.path().address().toString(), detail);
  }

  /** The run named by a chunk or close message when its token matches; null (and counted) otherwise. */
  private RunState owned(String runId, String token, ActorRef<?> peer, String what) {
    RunState run = runId == null ? null : runs.get(runId);
    if (run == null) {
      reject("unknown_run", peer, what + " for run '" + Rejections.clip(runId, 60) + "', which is not open here");
      return null;
    }
    if (token == null || !MessageDigest.isEqual(run.open.token().getBytes(
        StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
      reject("not_owner", peer, what + " for run " + runId + " without the run's token");
      return null;
    }
    return run;
  }

  private Behavior<Command> onOpen(OpenRun m) {
    ActorRef<?> peer = m.publisher() != null ? m.publisher() : m.metrics();
    String problem = RunIds.problem(m.runId()).orElse(null);
    if (problem == null && (m.metrics() == null || m.publisher() == null)) {
      problem = "OpenRun without the metrics or publisher address";
    } else if (problem == null && (m.token() == null || !m.token().matches("[0-9a-f]{32}"))) {
      problem = "OpenRun without a token of 32 hex digits";
    } else if (problem == null && (m.analyzers() == null || m.analyzers().isEmpty()
        || m.analyzers().size() > MAX_ANALYZERS || m.analyzers().stream().anyMatch(a -> a == null
        || !a.matches("[a-z][a-z0-9_-]{0,31}")))) {
      problem = "OpenRun needs 1 to " + MAX_ANALYZERS + " analyzer names";
    }
    if (problem != null) {
      reject("bad_open", peer, problem);
      return this;
    }
    RunState existing = runs.get(m.runId());
    if (existing != null && !existing.open.token().equals(m.token())) {
      reject("not_owner", peer, "OpenRun for run " + m.runId() + ", which another publisher has open");
      return this;
    }
    if (existing == null && runs.size() >= limits.maxOpenRuns()) {
      reject("too_many_runs", peer, runs.size() + " runs are open (splinewatch.cluster.max-open-runs)");
      return this;
    }
    close(m.runId());
    runs.put(m.runId(), new RunState(m));
    // the same message for every run of this publisher: watching it again with another one would throw
    getContext().watchWith(m.publisher(), new PublisherGone(m.publisher()));
    return this;
  }

  private Behavior<Command> onClose(CloseRun m) {
    return owned(m.runId(), m.token(), null, "CloseRun") == null ? this : close(m.runId());
  }

  private Behavior<Command> onChunk(Chunk c) {
    RunState run = owned(c.runId(), c.token(), null, "chunk");
    if (run == null) {
      return this;
    }
    ActorRef<?> peer = run.open.publisher();
    ChunkAssembler.Outcome outcome = chunks.add(c.runId(), c.transfer(), c.index(), c.count(), c.data(),
        run.info != null);
    if (outcome instanceof ChunkAssembler.Refused r) {
      reject(r.reason(), peer, r.detail());
      return this;
    }
    if (!(outcome instanceof ChunkAssembler.Complete complete)) {
      return this;
    }
    byte[] payload = complete.payload();
    if (c.transfer() == 0) {
      openAnalyzers(run, payload);
    } else if (run.info == null) {
      reject("bad_chunk", peer, "snapshot of run " + c.runId() + " before its description");
    } else {
      analyze(run, c.transfer(), payload);
    }
    return this;
  }

  /** Drops partial transfers older than {@code snapshot-timeout}. */
  private Behavior<Command> expire() {
    for (ChunkAssembler.Expired e : chunks.expire()) {
      RunState run = runs.get(e.runId());
      reject("expired", run == null ? null : run.open.publisher(), e.detail());
    }
    return this;
  }

  private void openAnalyzers(RunState run, byte[] payload) {
    try {
      RunInfo info = SnapshotCodec.decodeRun(payload);
      if (!info.runId().equals(run.open.runId())) {
        throw new IllegalArgumentException("the description names run " + Rejections.clip(info.runId(), 60));
      }
      Path runDir = RunIds.runDirectory(out, info.runId());
      List<AnalyzerSpec> specs = catalogue.apply(run.open.analyzers());
      run.info = info;
      run.signer = getContext().spawn(PublishSigner.create(run.open.metrics(), run.open.token(), false),
          "signer-" + run.info.runId() + "-" + System.nanoTime());
      for (AnalyzerSpec spec : specs) {
        run.analyzers.put(spec.name(), getContext().spawn(spec.supervised(run.info, run.signer, runDir),
            "run-" + run.info.runId() + "-" + System.nanoTime() + "-" + spec.name(), // ends with the name (priority)
            AnalyzerSpec.DISPATCHER));
      }
    } catch (RuntimeException e) {
      String error = e.getMessage() == null ? e.toString() : e.getMessage();
      reject("bad_run_description", run.open.publisher(), error);
      run.open.metrics().tell(new MetricsActor.AnalysisFailed("cluster", 0, "analyzer node "
          + ClusterNode.address(getContext().getSystem()) + " cannot open the run: " + Rejections.clip(error, 500)));
    }
  }

  private void analyze(RunState run, long transfer, byte[] payload) {
    WeightSnapshot snapshot;
    try {
      snapshot = SnapshotCodec.decodeSnapshot(payload);
      if (!snapshot.runId().equals(run.info.runId())) {
        throw new IllegalArgumentException("snapshot names run " + Rejections.clip(snapshot.runId(), 60));
      }
      SnapshotCodec.checkShapes(snapshot, run.info.inputDim(), limits.maxLayerWidth());
    } catch (RuntimeException e) {
      reject("bad_snapshot", run.open.publisher(), String.valueOf(e.getMessage()));
      run.open.publisher().tell(new SnapshotPublisher.Analysed(run.open.runId(), transfer, getContext().getSelf(),
          "undecodable snapshot: " + e.getMessage()));
      return;
    }
    List<CompletableFuture<Analyzed>> replies = new ArrayList<>();
    // the analyzers' own metrics actor, read here rather than on the thread that completes a reply
    ActorRef<MetricsActor.Command> metrics = run.signer;
    for (var a : run.analyzers.entrySet()) {
      replies.add(AnalyzerActor.ask(a.getValue(), a.getKey(), snapshot, analysisTimeout,
          getContext().getSystem().scheduler(), metrics).toCompletableFuture());
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
      run.open.metrics().<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(List.of(Sample.of(
          MetricFamily.CLUSTER_SNAPSHOTS_ANALYSED_TOTAL.id(), run.analysed, m.step(),
          "node", ClusterNode.address(getContext().getSystem()))), run.open.token()));
      ActorRef<SnapshotPublisher.Command> publisher = run.open.publisher();
      if (run.signer == null) { // the run could not be opened here: no results were sent
        publisher.tell(new SnapshotPublisher.Analysed(m.runId(), m.transfer(), getContext().getSelf(), m.error()));
        return this;
      }
      // the results went to the metrics node through the run's signer, and the acknowledgement to the publisher
      // went straight: a run that ended on it was recorded without its last analysis, still on its way. A Flush the
      // same way is answered once the metrics actor has taken everything sent before it
      getContext().ask(org.apache.pekko.Done.class, run.signer, RECORD_TIMEOUT, MetricsActor.Flush::new,
          (ok, err) -> new SnapshotRecorded(publisher, m.runId(), m.transfer(), m.error()));
    }
    return this;
  }

  private Behavior<Command> close(String runId) {
    RunState run = runs.remove(runId);
    chunks.forget(runId);
    if (run != null) {
      run.analyzers.values().forEach(getContext()::stop);
      if (run.signer != null) {
        getContext().stop(run.signer);
      }
      if (runs.values().stream().noneMatch(r -> r.open.publisher().equals(run.open.publisher()))) {
        getContext().unwatch(run.open.publisher());
      }
    }
    return this;
  }
}
