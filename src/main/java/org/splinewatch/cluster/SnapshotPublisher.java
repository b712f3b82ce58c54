package org.splinewatch.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.splinewatch.hub.DropOldestBuffer;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.SnapshotCodec;
import org.splinewatch.snapshot.WeightSnapshot;
import org.splinewatch.wire.CborSerializable;

/**
 * The trainer side of the cluster transport. The trainer hands it snapshots without waiting; it encodes each one
 * ({@link SnapshotCodec}) and sends it in chunks of {@code chunk-bytes} to an analyzer node with a free slot
 * (fewest snapshots in flight, at most {@code in-flight-per-analyzer}), so adding analyzer nodes raises analysis
 * throughput. While every node is busy, up to {@code bufferSize} encoded snapshots wait; beyond that the oldest is
 * dropped. Dropped snapshots, those held by a node that becomes unreachable or leaves, those not finished within
 * {@code snapshot-timeout}, and those over {@code max-snapshot-bytes} all count in
 * {@link MetricFamily#SNAPSHOTS_DROPPED_TOTAL} for every analyzer of the run.
 *
 * <p>The bookkeeping lives in plain classes: {@link WorkerPool} (reachable workers, least-loaded routing, what each
 * holds), {@link DropOldestBuffer} (the waiting snapshots) and {@link Chunker}; this actor handles the messages, the
 * timers and the metrics.
 */
public final class SnapshotPublisher extends AbstractBehavior<SnapshotPublisher.Command> {

  /**
   * Messages. Only {@link Analysed} crosses the network ({@link CborSerializable}); the others are local, so no peer
   * can forge them.
   */
  public sealed interface Command {
  }

  /** A snapshot from the trainer (local only). */
  public record Publish(WeightSnapshot snapshot) implements Command {
  }

  /** An analyzer node finished a snapshot ({@code error} null when all its analyzers succeeded). */
  public record Analysed(String runId, long transfer, ActorRef<AnalyzerWorker.Command> worker, String error)
      implements Command, CborSerializable {
  }

  /** Replies when nothing waits or is in flight any more (or the caller's timeout ends first). */
  public record Drain(ActorRef<Done> replyTo) implements Command {
  }

  /**
   * The run ended early (stopped, failed, interrupted): the snapshots still waiting are not sent but counted as
   * unanalysed for every analyzer ({@link MetricFamily#SNAPSHOTS_UNANALYSED_TOTAL}); replies as {@link Drain} once
   * those in flight are done.
   */
  public record Abandon(ActorRef<Done> replyTo) implements Command {
  }

  private record WorkersChanged(Set<ActorRef<AnalyzerWorker.Command>> workers) implements Command {
  }

  private record Reachability(Address address, boolean reachable) implements Command {
  }

  /** {@link #LISTING_GRACE} after the publisher started: an empty listing now means there is no analyzer node. */
  private enum ListingGraceOver implements Command { INSTANCE }

  /**
   * How long a new publisher does not take "no analyzer node listed" as a verdict: the receptionist's first listings
   * may precede the registration of a worker that exists (locally about half a second; seen in a run finished right
   * after its registration, whose snapshots were all dropped as "no analyzer node at the end of the run").
   */
  static final Duration LISTING_GRACE = Duration.ofSeconds(10);

  private record TimedOut(long transfer) implements Command {
  }

  private record Encoded(long step, byte[] bytes) {
  }

  private final TimerScheduler<Command> timers;
  private boolean listingGraceOver;
  private final String runId;
  // proves to analyzer nodes that chunks and CloseRun come from this publisher, and to the metrics node that
  // publishes for the run come from its trainer or its analyzer nodes
  private final String token;
  private final byte[] runBytes;
  private final List<String> analyzers;
  private final ActorRef<MetricsActor.Command> metrics;
  private final ClusterSettings settings;
  private final Chunker chunker;
  private final WorkerPool<ActorRef<AnalyzerWorker.Command>, Address> pool;
  private final DropOldestBuffer<Encoded> waiting; // while every worker is busy
  private final List<ActorRef<Done>> drainers = new ArrayList<>();
  private long nextTransfer = 1;
  private long bytesSent;
  private long snapshotsSent;

  public static Behavior<Command> create(RunInfo run, List<String> analyzers, ActorRef<MetricsActor.Command> metrics,
      ClusterSettings settings, int bufferSize) {
    return create(run, analyzers, metrics, settings, bufferSize, newToken());
  }

  /**
   * With a given run token (32 hex digits, see {@link #newToken()}), so that the trainer can sign its own publishes
   * with it ({@link PublishSigner}). The publisher announces it to the run's metrics actor before anything else.
   */
  public static Behavior<Command> create(RunInfo run, List<String> analyzers, ActorRef<MetricsActor.Command> metrics,
      ClusterSettings settings, int bufferSize, String token) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      metrics.<Object>unsafeUpcast().tell(new MetricsNode.PublishToken(token));
      ActorRef<Receptionist.Listing> listing = ctx.messageAdapter(Receptionist.Listing.class,
          l -> new WorkersChanged(l.getServiceInstances(AnalyzerWorker.KEY)));
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(AnalyzerWorker.KEY, listing));
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
          e -> new Reachability(e.member().address(), false)), ClusterEvent.UnreachableMember.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachableMember.class,
          e -> new Reachability(e.member().address(), true)), ClusterEvent.ReachableMember.class));
      timers.startSingleTimer(ListingGraceOver.INSTANCE, LISTING_GRACE);
      return new SnapshotPublisher(ctx, timers, run, analyzers, metrics, settings, bufferSize, token);
    }));
  }

  private SnapshotPublisher(ActorContext<Command> ctx, TimerScheduler<Command> timers, RunInfo run,
      List<String> analyzers, ActorRef<MetricsActor.Command> metrics, ClusterSettings settings, int bufferSize,
      String token) {
    super(ctx);
    this.token = token;
    this.timers = timers;
    this.runId = run.runId();
    this.runBytes = SnapshotCodec.encode(run);
    this.analyzers = List.copyOf(analyzers);
    this.metrics = metrics;
    this.settings = settings;
    this.chunker = new Chunker(settings.chunkBytes());
    this.pool = new WorkerPool<>(settings.inFlightPerAnalyzer(), ref -> ref.path().address());
    this.waiting = new DropOldestBuffer<>(Math.max(1, bufferSize), e -> dropped(e.step(), null));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(Analysed.class, this::onAnalysed)
        .onMessage(WorkersChanged.class, m -> {
          lost(pool.listed(m.workers()));
          return dispatch();
        })
        .onMessage(ListingGraceOver.class, m -> {
          listingGraceOver = true;
          return checkDrained();
        })
        .onMessage(Reachability.class, m -> {
          lost(pool.reachability(m.address(), m.reachable()));
          return dispatch();
        })
        .onMessage(TimedOut.class, m -> {
          Long step = pool.timedOut(m.transfer());
          if (step != null) {
            dropped(step, "not analysed within " + MonitorLink.seconds(settings.snapshotTimeout()));
          }
          return dispatch();
        })
        .onMessage(Drain.class, m -> {
          drainers.add(m.replyTo());
          return checkDrained();
        })
        .onMessage(Abandon.class, this::onAbandon)
        .onSignal(PostStop.class, s -> {
          // the run is over: analyzer nodes that served it stop its analyzers
          pool.opened().forEach(ref -> ref.tell(new AnalyzerWorker.CloseRun(runId, token)));
          return this;
        })
        .build();
  }

  private Behavior<Command> onPublish(Publish m) {
    byte[] bytes = SnapshotCodec.encode(m.snapshot());
    if (bytes.length > settings.maxSnapshotBytes()) {
      String error = "snapshot of step " + m.snapshot().step() + " is " + bytes.length + " bytes, over"
          + " splinewatch.cluster.max-snapshot-bytes = " + settings.maxSnapshotBytes() + "; not sent";
      getContext().getLog().error(error);
      metrics.<Object>unsafeUpcast().tell(new MetricsNode.SignedEvent(Map.of("type", "snapshot_rejected", "step",
          m.snapshot().step(), "bytes", bytes.length, "error", error, "time", System.currentTimeMillis()), token));
      dropped(m.snapshot().step(), null);
      return this;
    }
    waiting.add(new Encoded(m.snapshot().step(), bytes)); // may drop the oldest waiting one
    return dispatch();
  }

  private Behavior<Command> onAbandon(Abandon m) {
    int skipped = waiting.drain().size();
    if (skipped > 0) {
      for (String a : analyzers) {
        metrics.tell(new MetricsActor.SnapshotsUnanalysed(a, skipped));
      }
    }
    drainers.add(m.replyTo());
    return checkDrained();
  }

  private Behavior<Command> onAnalysed(Analysed m) {
    if (pool.finished(m.worker(), m.transfer())) {
      timers.cancel(m.transfer());
      if (m.error() != null) {
        getContext().getLog().warn("analyzer node {} failed on transfer {}: {}", m.worker().path().address(),
            m.transfer(), Rejections.clip(m.error(), 500));
      }
    }
    return dispatch();
  }

  /** Snapshots held by a node that went away are dropped. */
  private void lost(List<WorkerPool.Lost<ActorRef<AnalyzerWorker.Command>>> lost) {
    for (var l : lost) {
      timers.cancel(l.transfer());
      dropped(l.step(), "analyzer node " + l.worker().path().address() + " left");
    }
  }

  private Behavior<Command> dispatch() {
    while (!waiting.isEmpty()) {
      ActorRef<AnalyzerWorker.Command> target = pool.leastLoaded();
      if (target == null) {
        break;
      }
      if (pool.open(target)) {
        target.tell(new AnalyzerWorker.OpenRun(runId, analyzers, metrics, getContext().getSelf(), token));
        send(target, 0, runBytes);
      }
      Encoded next = waiting.poll();
      long transfer = nextTransfer++;
      send(target, transfer, next.bytes());
      pool.sent(target, transfer, next.step());
      timers.startSingleTimer(transfer, new TimedOut(transfer), settings.snapshotTimeout());
      snapshotsSent++;
      metrics.<Object>unsafeUpcast().tell(new MetricsNode.SignedPublish(List.of(
          Sample.of(MetricFamily.SNAPSHOT_BYTES.id(), next.bytes().length, next.step()),
          Sample.of(MetricFamily.CLUSTER_SENT_BYTES_TOTAL.id(), bytesSent, next.step()),
          Sample.of(MetricFamily.CLUSTER_SNAPSHOTS_SENT_TOTAL.id(), snapshotsSent, next.step())), token));
    }
    return checkDrained();
  }

  private void send(ActorRef<AnalyzerWorker.Command> to, long transfer, byte[] payload) {
    List<byte[]> parts = chunker.split(payload);
    for (int i = 0; i < parts.size(); i++) {
      to.tell(new AnalyzerWorker.Chunk(runId, transfer, i, parts.size(), parts.get(i), token));
    }
    bytesSent += payload.length;
  }

  private void dropped(long step, String why) {
    if (why != null) {
      getContext().getLog().warn("snapshot of step {} dropped: {}", step, why);
    }
    for (String a : analyzers) {
      metrics.tell(new MetricsActor.SnapshotDropped(a));
    }
  }

  /** A fresh run token: 128 random bits in hex. */
  public static String newToken() {
    return TrainerDoor.secret();
  }

  private Behavior<Command> checkDrained() {
    boolean idle = waiting.isEmpty() && pool.idle();
    if (idle || (pool.isEmpty() && pool.listingSeen() && listingGraceOver && !drainers.isEmpty())) {
      if (!idle) {
        // nobody can analyse what is left: it is dropped rather than waited for
        waiting.drain().forEach(e -> dropped(e.step(), "no analyzer node at the end of the run"));
      }
      drainers.forEach(d -> d.tell(Done.getInstance()));
      drainers.clear();
    }
    return this;
  }

}
