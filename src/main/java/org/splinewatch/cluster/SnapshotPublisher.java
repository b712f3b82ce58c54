package org.splinewatch.cluster;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
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
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.RunInfo;
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
 * {@code splinewatch_snapshots_dropped_total} for every analyzer of the run.
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

  private record WorkersChanged(Set<ActorRef<AnalyzerWorker.Command>> workers) implements Command {
  }

  private record Reachability(Address address, boolean reachable) implements Command {
  }

  private record TimedOut(long transfer) implements Command {
  }

  private record Encoded(long step, byte[] bytes) {
  }

  private static final class Worker {
    boolean opened;
    final Map<Long, Long> inFlight = new LinkedHashMap<>(); // transfer -> step
  }

  private final TimerScheduler<Command> timers;
  private final String runId;
  private final String token = token(); // proves to analyzer nodes that chunks and CloseRun come from this publisher
  private final byte[] runBytes;
  private final List<String> analyzers;
  private final ActorRef<MetricsActor.Command> metrics;
  private final ClusterSettings settings;
  private final int bufferSize;
  private final Map<ActorRef<AnalyzerWorker.Command>, Worker> workers = new LinkedHashMap<>();
  private final Set<Address> unreachable = new HashSet<>();
  private Set<ActorRef<AnalyzerWorker.Command>> listed = Set.of();
  private boolean listingSeen;
  private final ArrayDeque<Encoded> waiting = new ArrayDeque<>();
  private final List<ActorRef<Done>> drainers = new ArrayList<>();
  private long nextTransfer = 1;
  private long bytesSent;
  private long snapshotsSent;

  public static Behavior<Command> create(RunInfo run, List<String> analyzers, ActorRef<MetricsActor.Command> metrics,
      ClusterSettings settings, int bufferSize) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ActorRef<Receptionist.Listing> listing = ctx.messageAdapter(Receptionist.Listing.class,
          l -> new WorkersChanged(l.getServiceInstances(AnalyzerWorker.KEY)));
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(AnalyzerWorker.KEY, listing));
      Cluster cluster = Cluster.get(ctx.getSystem());
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
          e -> new Reachability(e.member().address(), false)), ClusterEvent.UnreachableMember.class));
      cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachableMember.class,
          e -> new Reachability(e.member().address(), true)), ClusterEvent.ReachableMember.class));
      return new SnapshotPublisher(ctx, timers, run, analyzers, metrics, settings, bufferSize);
    }));
  }

  private SnapshotPublisher(ActorContext<Command> ctx, TimerScheduler<Command> timers, RunInfo run,
      List<String> analyzers, ActorRef<MetricsActor.Command> metrics, ClusterSettings settings, int bufferSize) {
    super(ctx);
    this.timers = timers;
    this.runId = run.runId();
    this.runBytes = SnapshotCodec.encode(run);
    this.analyzers = List.copyOf(analyzers);
    this.metrics = metrics;
    this.settings = settings;
    this.bufferSize = Math.max(1, bufferSize);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(Analysed.class, this::onAnalysed)
        .onMessage(WorkersChanged.class, m -> {
          listed = m.workers();
          listingSeen = true;
          refreshWorkers();
          return dispatch();
        })
        .onMessage(Reachability.class, m -> {
          if (m.reachable()) {
            unreachable.remove(m.address());
          } else {
            unreachable.add(m.address());
          }
          refreshWorkers();
          return dispatch();
        })
        .onMessage(TimedOut.class, m -> {
          for (Worker w : workers.values()) {
            Long step = w.inFlight.remove(m.transfer());
            if (step != null) {
              dropped(step, "not analysed within " + settings.snapshotTimeout().toSeconds() + " s");
            }
          }
          return dispatch();
        })
        .onMessage(Drain.class, m -> {
          drainers.add(m.replyTo());
          return checkDrained();
        })
        .onSignal(PostStop.class, s -> {
          // the run is over: analyzer nodes that served it stop its analyzers
          workers.forEach((ref, w) -> {
            if (w.opened) {
              ref.tell(new AnalyzerWorker.CloseRun(runId, token));
            }
          });
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
      metrics.tell(new MetricsActor.Event(Map.of("type", "snapshot_rejected", "step", m.snapshot().step(),
          "bytes", bytes.length, "error", error, "time", System.currentTimeMillis())));
      dropped(m.snapshot().step(), null);
      return this;
    }
    waiting.addLast(new Encoded(m.snapshot().step(), bytes));
    while (waiting.size() > bufferSize) {
      dropped(waiting.removeFirst().step(), null);
    }
    return dispatch();
  }

  private Behavior<Command> onAnalysed(Analysed m) {
    Worker w = workers.get(m.worker());
    if (w != null && w.inFlight.remove(m.transfer()) != null) {
      timers.cancel(m.transfer());
      if (m.error() != null) {
        getContext().getLog().warn("analyzer node {} failed on transfer {}: {}", m.worker().path().address(),
            m.transfer(), Rejections.clip(m.error(), 500));
      }
    }
    return dispatch();
  }

  /** Workers: listed by the receptionist and reachable. Snapshots held by a node that went away are dropped. */
  private void refreshWorkers() {
    for (var it = workers.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!listed.contains(e.getKey()) || unreachable.contains(e.getKey().path().address())) {
        for (var f : e.getValue().inFlight.entrySet()) {
          timers.cancel(f.getKey());
          dropped(f.getValue(), "analyzer node " + e.getKey().path().address() + " left");
        }
        it.remove();
      }
    }
    for (ActorRef<AnalyzerWorker.Command> ref : listed) {
      if (!unreachable.contains(ref.path().address())) {
        workers.computeIfAbsent(ref, r -> new Worker());
      }
    }
  }

  private Behavior<Command> dispatch() {
    while (!waiting.isEmpty()) {
      ActorRef<AnalyzerWorker.Command> target = null;
      int least = Integer.MAX_VALUE;
      for (var e : workers.entrySet()) {
        int n = e.getValue().inFlight.size();
        if (n < settings.inFlightPerAnalyzer() && n < least) {
          least = n;
          target = e.getKey();
        }
      }
      if (target == null) {
        break;
      }
      Worker w = workers.get(target);
      // rotate so that equally loaded workers take turns
      workers.remove(target);
      workers.put(target, w);
      if (!w.opened) {
        target.tell(new AnalyzerWorker.OpenRun(runId, analyzers, metrics, getContext().getSelf(), token));
        send(target, 0, runBytes);
        w.opened = true;
      }
      Encoded next = waiting.removeFirst();
      long transfer = nextTransfer++;
      send(target, transfer, next.bytes());
      w.inFlight.put(transfer, next.step());
      timers.startSingleTimer(transfer, new TimedOut(transfer), settings.snapshotTimeout());
      snapshotsSent++;
      metrics.tell(new MetricsActor.Publish(List.of(
          Sample.of("splinewatch_snapshot_bytes", next.bytes().length, next.step()),
          Sample.of("splinewatch_cluster_sent_bytes_total", bytesSent, next.step()),
          Sample.of("splinewatch_cluster_snapshots_sent_total", snapshotsSent, next.step()))));
    }
    return checkDrained();
  }

  private void send(ActorRef<AnalyzerWorker.Command> to, long transfer, byte[] payload) {
    int chunk = settings.chunkBytes();
    int count = Math.max(1, (payload.length + chunk - 1) / chunk);
    for (int i = 0; i < count; i++) {
      int from = i * chunk;
      byte[] part = java.util.Arrays.copyOfRange(payload, from, Math.min(payload.length, from + chunk));
      to.tell(new AnalyzerWorker.Chunk(runId, transfer, i, count, part, token));
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

  private static String token() {
    byte[] b = new byte[16];
    new java.security.SecureRandom().nextBytes(b);
    return java.util.HexFormat.of().formatHex(b);
  }

  private Behavior<Command> checkDrained() {
    boolean idle = waiting.isEmpty() && workers.values().stream().allMatch(w -> w.inFlight.isEmpty());
    if (idle || (workers.isEmpty() && listingSeen && !drainers.isEmpty())) {
      if (!idle) {
        // nobody can analyse what is left: it is dropped rather than waited for
        while (!waiting.isEmpty()) {
          dropped(waiting.removeFirst().step(), "no analyzer node at the end of the run");
        }
      }
      drainers.forEach(d -> d.tell(Done.getInstance()));
      drainers.clear();
    }
    return this;
  }

}
