package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.geometry.IntrinsicDimension;
import org.splinewatch.geometry.NeuralCollapse;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Layer geometry of the fixed probe set (metrics.md §5–6). The activations of every layer are recomputed here from the
 * snapshot's operators (one forward pass of the probes, on the analysis thread), so the trainer pays nothing beyond
 * the weight copy it already makes. Per layer ({@code layer="1".."L"} after each hidden layer, {@code "out"} the
 * network output): {@code splinewatch_intrinsic_dimension} (TwoNN), {@code splinewatch_pca_dimension} (PC-ID at
 * 90 %), {@code splinewatch_twonn_duplicate_ratio}, and the TwoNN block analysis of metrics.md §5.1
 * ({@code splinewatch_intrinsic_dimension_block_mean} and {@code _block_std} per {@code block_size} = ⌊n/b⌋, for the
 * block counts {@code b} of {@code splinewatch.geometry.twonn-blocks}, over a split fixed for the run; NaN below 20
 * points a block; block counts of one block size, which only small probe sets have, once). At the representation
 * ({@code layer="repr"}), with the probe labels: {@code splinewatch_neural_collapse_nc1}, {@code _equinorm_cov},
 * {@code _equiangularity_std}, {@code _equiangularity_gap}, {@code _ncc_accuracy_ratio}, and for classifiers
 * {@code _weight_equinorm_cov}, {@code _self_duality}, {@code _ncc_mismatch_ratio} (NC3/NC4 need a classifier;
 * self-supervised runs have none until a linear probe exists).
 */
public final class LayerGeometryAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "geometry";

  private final RunInfo run;
  private final double[] probes;
  // kept snapshot after snapshot: this analyzer is run by one actor at a time, so they are never shared
  private final ForwardBuffers layers = new ForwardBuffers();
  private final IntrinsicDimension.Scratch scratch = new IntrinsicDimension.Scratch();
  // drawn once per run (metrics.md §9): every snapshot splits the probes the same way; null when off
  private final IntrinsicDimension.BlockSplit blockSplit;
  private final int blocksEvery;
  private long analysed; // snapshots analysed so far (the block analysis runs on every blocksEvery-th, from the first)

  /** With the default settings of {@code reference.conf}. */
  public LayerGeometryAnalyzer(RunInfo run) {
    this(run, GeometrySettings.defaults());
  }

  public LayerGeometryAnalyzer(RunInfo run, GeometrySettings settings) {
    this.run = run;
    this.probes = run.probeInputsAsDouble();
    this.blockSplit = settings.twonnBlocks().isEmpty() ? null
        : IntrinsicDimension.BlockSplit.of(run.probeCount(), settings.blocks(), settings.twonnBlockSeed());
    this.blocksEvery = settings.twonnBlocksEvery();
  }

  /** The analyzer actor, with the default settings. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics) {
    return create(run, metrics, GeometrySettings.defaults());
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics,
      GeometrySettings settings) {
    return AnalyzerActor.create(NAME, metrics, () -> new LayerGeometryAnalyzer(run, settings));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    PiecewiseLinearNet net = s.network().requireFinite();
    int n = run.probeCount();
    long step = s.step();
    List<Sample> out = new ArrayList<>();
    double[] cur = probes;
    double[] repr = null;
    List<PiecewiseLinearNet.Block> blocks = net.blocks();
    int hidden = 0;
    // every twonn-blocks-every-th analysed snapshot, from the first (metrics.md §9's cadence for the block analysis)
    boolean blocksNow = blockSplit != null && analysed++ % blocksEvery == 0;
    for (int b = 0; b < blocks.size(); b++) {
      PiecewiseLinearNet.Block block = blocks.get(b);
      cur = layers.forwardBlocks(net, cur, n, b, b + 1); // each block has its own array: repr stays valid
      String layer = block.hidden() ? Integer.toString(++hidden) : "out";
      int d = block.outDim();
      IntrinsicDimension.TwoNn id = IntrinsicDimension.twoNn(cur, n, d, scratch);
      out.add(Sample.of(MetricFamily.INTRINSIC_DIMENSION, id.dimension(), step, "layer", layer));
      out.add(Sample.of(MetricFamily.TWONN_DUPLICATE_RATIO, id.duplicateFraction(), step, "layer", layer));
      if (blocksNow) { // the scale check of metrics.md §5.1
        Set<Integer> sizes = new HashSet<>(); // two block counts of one block size (small n): the first listed only
        // b = 1 is the TwoNN just computed (the same points in another order): reused, not computed again
        for (IntrinsicDimension.BlockDimension bd
            : IntrinsicDimension.twoNnBlocks(cur, n, d, blockSplit, scratch, id)) {
          if (!sizes.add(bd.blockSize())) {
            continue;
          }
          String size = Integer.toString(bd.blockSize());
          out.add(Sample.of(MetricFamily.INTRINSIC_DIMENSION_BLOCK_MEAN, bd.mean(), step, "layer", layer,
              "block_size", size));
          out.add(Sample.of(MetricFamily.INTRINSIC_DIMENSION_BLOCK_STD, bd.std(), step, "layer", layer,
              "block_size", size));
        }
      }
      // activations that overflowed have no variance to explain: NaN, not the PC-ID of the finite features alone
      double pcaDimension = IntrinsicDimension.allFinite(cur, n * d)
          ? IntrinsicDimension.pcaDimension(cur, n, d, 0.9, scratch) : Double.NaN;
      out.add(Sample.of(MetricFamily.PCA_DIMENSION, pcaDimension, step, "layer", layer));
      if (b == s.reprBlock()) {
        repr = cur;
      }
    }
    if (repr != null) {
      int d = blocks.get(s.reprBlock()).outDim();
      double[] w = null;
      double[] bias = null;
      Layer.Dense head = s.classifierHead() ? lastDense(s.layers()) : null;
      if (head != null && head.in() == d && head.out() == run.classes()) {
        w = Layer.widen(head.weights());
        bias = Layer.widen(head.bias());
      }
      NeuralCollapse.Result nc = NeuralCollapse.compute(repr, n, d, run.probeLabels(), run.classes(), w, bias);
      out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_NC1, nc.nc1(), step, "layer", "repr"));
      out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_EQUINORM_COV, nc.equinormCov(), step, "layer", "repr"));
      out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_EQUIANGULARITY_STD, nc.equiangularityStd(), step, "layer",
          "repr"));
      out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_EQUIANGULARITY_GAP, nc.equiangularityGap(), step, "layer",
          "repr"));
      out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_NCC_ACCURACY_RATIO, nc.nccAccuracy(), step, "layer", "repr"));
      if (w != null) {
        out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_WEIGHT_EQUINORM_COV, nc.weightEquinormCov(), step, "layer",
            "repr"));
        out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY, nc.selfDuality(), step, "layer", "repr"));
        out.add(Sample.of(MetricFamily.NEURAL_COLLAPSE_NCC_MISMATCH_RATIO, nc.nccMismatch(), step, "layer", "repr"));
      }
    }
    return out;
  }

  private static Layer.Dense lastDense(List<Layer> layers) {
    for (int i = layers.size() - 1; i >= 0; i--) {
      if (layers.get(i) instanceof Layer.Dense d) {
        return d;
      }
      if (!(layers.get(i) instanceof Layer.Activation a) || a.kind() != Layer.Activation.Kind.IDENTITY) {
        return null;
      }
    }
    return null;
  }
}
