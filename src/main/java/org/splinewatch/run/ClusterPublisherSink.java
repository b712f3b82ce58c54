package org.splinewatch.run;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.LongConsumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.splinewatch.cluster.ClusterSettings;
import org.splinewatch.cluster.MonitorLink;
import org.splinewatch.cluster.PublishSigner;
import org.splinewatch.cluster.SnapshotPublisher;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * A run whose metrics live on a cluster's metrics node and whose snapshots go to its analyzer nodes, through a
 * {@link SnapshotPublisher}.
 */
final class ClusterPublisherSink implements SnapshotSink {
  /**
   * The metrics actor on the metrics node, the run's publish token (registered with it), the analyzers to run there,
   * the transport, the publisher's buffer, and who tells the metrics node that training ended.
   */
  record Settings(ActorRef<MetricsActor.Command> metrics, String publishToken, List<String> analyzers,
      ClusterSettings cluster, int bufferSize, Duration drainTimeout, LongConsumer trainingEnded) {
  }

  private final ActorContext<RunGuardian.Command> ctx;
  private final Settings settings;
  private final ActorRef<SnapshotPublisher.Command> publisher;
  private final ActorRef<MetricsActor.Command> signer;

  private ClusterPublisherSink(ActorContext<RunGuardian.Command> ctx, Settings settings,
      ActorRef<SnapshotPublisher.Command> publisher, ActorRef<MetricsActor.Command> signer) {
    this.ctx = ctx;
    this.settings = settings;
    this.publisher = publisher;
    this.signer = signer;
  }

  /** The trainer's publishes carry the run's publish token, the one its publisher gives the analyzer nodes. */
  static SnapshotSink.Starter starter(RunInfo run, Settings s) {
    return ctx -> {
      String token = s.publishToken();
      ActorRef<MetricsActor.Command> signer = ctx.spawn(PublishSigner.create(s.metrics(), token, true), "signer");
      return new ClusterPublisherSink(ctx, s, ctx.spawn(SnapshotPublisher.create(run, s.analyzers(), s.metrics(),
          s.cluster(), s.bufferSize(), token), "publisher"), signer);
    };
  }

  @Override
  public ActorRef<MetricsActor.Command> metrics() {
    return signer;
  }

  @Override
  public void publish(WeightSnapshot snapshot) {
    publisher.tell(new SnapshotPublisher.Publish(snapshot));
  }

  @Override
  public void trainingEnded(long step) {
    settings.trainingEnded().accept(step);
  }

  @Override
  public CompletionStage<Done> drain() {
    return AskPattern.<SnapshotPublisher.Command, Done>ask(publisher, SnapshotPublisher.Drain::new,
        settings.drainTimeout(), ctx.getSystem().scheduler());
  }

  @Override
  public Optional<String> metricsUnreachable() {
    return MonitorLink.gone(ctx.getSystem(), settings.metrics().path().address());
  }

  @Override
  public boolean stopsWithRun() {
    return false;
  }
}
