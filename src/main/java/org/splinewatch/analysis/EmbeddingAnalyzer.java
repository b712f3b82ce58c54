package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.Sample;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Embedding metrics of the fixed probe set at the representation ({@code layer="repr"}) and, for self-supervised
 * encoders, the projector output ({@code layer="proj"}): alignment (against the fixed augmented views), uniformity,
 * std of l2-normalised embeddings, RankMe and its ratio, leave-one-out kNN accuracy (metrics.md §1–4). The
 * embeddings are computed here from the snapshot's operators, not on the training thread. Protocol: the
 * {@link Analyze} command shared by all analyzers, run by {@link AnalyzerActor}.
 */
public final class EmbeddingAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "embedding";

  private final RunInfo run;
  private final double[] probes;
  private final double[] pairs;

  public EmbeddingAnalyzer(RunInfo run) {
    this.run = run;
    this.probes = run.probeInputsAsDouble();
    this.pairs = run.probePairInputsAsDouble();
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics) {
    return AnalyzerActor.create(NAME, metrics, () -> new EmbeddingAnalyzer(run));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    return analyze(s, run, probes, pairs);
  }

  /** The metric samples of one snapshot (pure function; used directly by tests). */
  public static List<Sample> analyze(WeightSnapshot s, RunInfo run, double[] probes, double[] pairs) {
    PiecewiseLinearNet net = s.network();
    int n = run.probeCount();
    List<Sample> out = new ArrayList<>();
    int repr = s.reprBlock() + 1;
    double[] z = net.forwardTo(probes, n, repr);
    double[] zp = net.forwardTo(pairs, n, repr);
    layer(out, s.step(), "repr", z, zp, n, run);
    if (!s.classifierHead()) {
      // the projector continues from the representation instead of running the encoder again
      int all = net.blocks().size();
      layer(out, s.step(), "proj", net.forwardBlocks(z, n, repr, all), net.forwardBlocks(zp, n, repr, all), n, run);
    }
    return out;
  }

  private static void layer(List<Sample> out, long step, String layer, double[] z, double[] zp, int n, RunInfo run) {
    int d = z.length / n;
    EmbeddingMetrics.Result r = EmbeddingMetrics.compute(z, zp, n, d, run.probeLabels(), run.classes());
    out.add(Sample.of("splinewatch_embedding_alignment", r.alignment(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_uniformity", r.uniformity(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_std_normalized", r.stdNormalized(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_rankme", r.rankMe(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_rankme_ratio", r.rankMeRatio(), step, "layer", layer));
    out.add(Sample.of("splinewatch_knn_accuracy_ratio", r.knnAccuracy(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_zero_rows", r.zeroRows(), step, "layer", layer));
    out.add(Sample.of("splinewatch_embedding_zero_rows_ratio", r.zeroRows() / (double) n, step, "layer", layer));
  }
}
