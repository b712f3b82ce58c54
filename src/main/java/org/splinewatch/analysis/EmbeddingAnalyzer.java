package org.splinewatch.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Embedding metrics of the fixed probe set at the representation ({@code layer="repr"}) and, for self-supervised
 * encoders, the projector output ({@code layer="proj"}): alignment (against the fixed augmented views), uniformity,
 * std of l2-normalised embeddings, RankMe and its ratio, the covariance spectrum (log10 relative eigenvalues at five
 * positions, collapsed-dimension counts), leave-one-out kNN accuracy (metrics.md §1–4). The
 * embeddings are computed here from the snapshot's operators, not on the training thread. Protocol: the
 * {@link Analyze} command shared by all analyzers, run by {@link AnalyzerActor}.
 */
public final class EmbeddingAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "embedding";

  private final RunInfo run;
  private final double[] probes;
  private final double[] pairs;

  private final Path viewDir;
  private final PictureRetention views;
  /** Kept snapshot after snapshot: this analyzer is run by one actor at a time, so it is never shared. */
  private final Workspace workspace = new Workspace();

  /** The arrays one analysis works in: an analyzer's own, reused between snapshots, or fresh for one call. */
  static final class Workspace {
    final ForwardBuffers probes = new ForwardBuffers();
    final ForwardBuffers pairs = new ForwardBuffers();
    final EmbeddingMetrics.Scratch metrics = new EmbeddingMetrics.Scratch();
  }

  public EmbeddingAnalyzer(RunInfo run) {
    this(run, null, RetentionSettings.KEEP_ALL);
  }

  /**
   * With a run directory: also writes the 2D view of the embeddings (see {@link EmbeddingViews}), of which each
   * layer keeps those {@code retention} keeps of the partition pictures.
   */
  public EmbeddingAnalyzer(RunInfo run, Path runDir, RetentionSettings retention) {
    this.run = run;
    this.viewDir = runDir == null ? null : runDir.resolve(EmbeddingViews.DIR);
    this.views = viewDir == null ? null : PictureRetention.embeddingViews(retention, viewDir);
    this.probes = run.probeInputsAsDouble();
    this.pairs = run.probePairInputsAsDouble();
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics) {
    return AnalyzerActor.create(NAME, metrics, () -> new EmbeddingAnalyzer(run));
  }

  /** The analyzer actor writing the embedding views under {@code runDir}, kept as {@code retention} says. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics,
      Path runDir, RetentionSettings retention) {
    return AnalyzerActor.create(NAME, metrics, () -> new EmbeddingAnalyzer(run, runDir, retention));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    if (viewDir == null) {
      return analyze(s, run, probes, pairs, (layer, z) -> { }, workspace);
    }
    return analyze(s, run, probes, pairs, (layer, z) -> views.written(layer, EmbeddingViews.write(viewDir, layer,
        s.step(), z, run.probeCount(), run.probeLabels())), workspace);
  }

  /** The metric samples of one snapshot (pure function; used directly by tests). */
  public static List<Sample> analyze(WeightSnapshot s, RunInfo run, double[] probes, double[] pairs) {
    return analyze(s, run, probes, pairs, (layer, z) -> { });
  }

  /** As above, handing each layer's probe embeddings ({@code n × d}, row-major) to {@code embeddings}. */
  public static List<Sample> analyze(WeightSnapshot s, RunInfo run, double[] probes, double[] pairs,
      BiConsumer<String, double[]> embeddings) {
    return analyze(s, run, probes, pairs, embeddings, new Workspace());
  }

  /** As above, in the arrays of {@code work}; the embeddings handed over are overwritten by its next analysis. */
  static List<Sample> analyze(WeightSnapshot s, RunInfo run, double[] probes, double[] pairs,
      BiConsumer<String, double[]> embeddings, Workspace work) {
    PiecewiseLinearNet net = s.network();
    int n = run.probeCount();
    List<Sample> out = new ArrayList<>();
    int repr = s.reprBlock() + 1;
    double[] z = work.probes.forwardTo(net, probes, n, repr);
    double[] zp = work.pairs.forwardTo(net, pairs, n, repr);
    layer(out, s.step(), "repr", z, zp, n, run, work.metrics);
    embeddings.accept("repr", z);
    if (!s.classifierHead()) {
      // the projector continues from the representation instead of running the encoder again
      int all = net.blocks().size();
      double[] proj = work.probes.forwardBlocks(net, z, n, repr, all);
      layer(out, s.step(), "proj", proj, work.pairs.forwardBlocks(net, zp, n, repr, all), n, run, work.metrics);
      embeddings.accept("proj", proj);
    }
    return out;
  }

  private static void layer(List<Sample> out, long step, String layer, double[] z, double[] zp, int n, RunInfo run,
      EmbeddingMetrics.Scratch scratch) {
    int d = z.length / n;
    EmbeddingMetrics.Result r = EmbeddingMetrics.compute(z, zp, n, d, run.probeLabels(), run.classes(), scratch);
    out.add(Sample.of(MetricFamily.EMBEDDING_ALIGNMENT, r.alignment(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_UNIFORMITY, r.uniformity(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_STD_NORMALIZED, r.stdNormalized(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_RANKME, r.rankMe(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_RANKME_RATIO, r.rankMeRatio(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.KNN_ACCURACY_RATIO, r.knnAccuracy(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_ZERO_ROWS, r.zeroRows(), step, "layer", layer));
    out.add(Sample.of(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO, r.zeroRows() / (double) n, step, "layer", layer));
    // the covariance spectrum (metrics.md §3.2), in the same work arrays
    EmbeddingMetrics.Spectrum sp = EmbeddingMetrics.spectrum(z, n, d, scratch);
    for (int j = 0; j < EmbeddingMetrics.SPECTRUM_Q_LABELS.size(); j++) {
      out.add(Sample.of(MetricFamily.EMBEDDING_SPECTRUM_LOG10, sp.log10Ratios()[j], step, "layer", layer,
          "q", EmbeddingMetrics.SPECTRUM_Q_LABELS.get(j)));
    }
    for (int j = 0; j < EmbeddingMetrics.COLLAPSE_TAU_LABELS.size(); j++) {
      out.add(Sample.of(MetricFamily.EMBEDDING_COLLAPSED_DIMS, sp.collapsedDims()[j], step, "layer", layer,
          "tau", EmbeddingMetrics.COLLAPSE_TAU_LABELS.get(j)));
    }
  }
}
