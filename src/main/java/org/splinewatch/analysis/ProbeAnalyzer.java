package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.embedding.LinearProbe;
import org.splinewatch.geometry.IntrinsicDimension;
import org.splinewatch.geometry.NeuralCollapse;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Linear-probe accuracy of the frozen representation, once per epoch (the first snapshot it sees of each epoch):
 * ridge probe (metrics.md §4.2) fitted on the run's fixed training subset, evaluated on the held-out probes;
 * {@code λ} chosen once, at the first probed snapshot, on a held-out 20 % of the subset. Exports
 * {@code splinewatch_linear_probe_accuracy_ratio{layer="repr"}} and {@code splinewatch_linear_probe_lambda}.
 *
 * <p>A network without a classifier head (a self-supervised encoder) has no classifier of its own for NC2's weight
 * equinorm, NC3 and NC4, so the probe serves as one (metrics.md §6): the held-out probes in the probe's standardised
 * coordinates, their class means, and the probe's {@code W} and offsets {@code ȳ}. These are the same families the
 * geometry analyzer exports for a classifier ({@code _weight_equinorm_cov}, {@code _self_duality},
 * {@code _ncc_mismatch_ratio}), once per epoch.
 */
public final class ProbeAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "probe";

  /** Rows of the fit subset widened and passed through the network at a time. */
  static final int FIT_CHUNK = 256;

  private final RunInfo run;
  private final double[] probes;
  private int lastEpoch = -1;
  private double lambda = Double.NaN;
  // kept epoch after epoch: this analyzer is run by one actor at a time, so it is never shared
  private final ForwardBuffers probePass = new ForwardBuffers();
  // the fit pass's arrays, kept likewise (see fitRepresentation)
  private final ForwardBuffers fitPass = new ForwardBuffers();
  private double[] fitChunk = new double[0];
  private double[] fitOut = new double[0];

  public ProbeAnalyzer(RunInfo run) {
    this.run = run;
    this.probes = run.probeInputsAsDouble(); // shared with the other analyzers: only read
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics) {
    return AnalyzerActor.create(NAME, metrics, () -> new ProbeAnalyzer(run));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    if (s.epoch() == lastEpoch || run.fitCount() < 10) {
      return List.of();
    }
    lastEpoch = s.epoch();
    PiecewiseLinearNet net = s.network().requireFinite();
    int blocks = s.reprBlock() + 1;
    double[] xf = fitRepresentation(net, blocks);
    int d = xf.length / run.fitCount();
    if (Double.isNaN(lambda)) {
      lambda = LinearProbe.chooseLambda(xf, run.fitCount(), d, run.fitLabels(), run.classes());
    }
    if (Double.isNaN(lambda)) { // non-finite representation: no accuracy defined; λ is chosen again next epoch
      return List.of(Sample.of(MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, Double.NaN, s.step(), "layer", "repr"),
          Sample.of(MetricFamily.LINEAR_PROBE_LAMBDA, Double.NaN, s.step(), "layer", "repr"));
    }
    // xf is this analyzer's buffer, rewritten at the next epoch: the probe may standardise it in place
    LinearProbe probe = LinearProbe.fitOverwriting(xf, run.fitCount(), d, run.fitLabels(), run.classes(), lambda);
    double[] xp = probePass.forwardTo(net, probes, run.probeCount(), blocks);
    double acc = probe.accuracy(xp, run.probeCount(), run.probeLabels());
    List<Sample> out = new ArrayList<>(List.of(
        Sample.of(MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, acc, s.step(), "layer", "repr"),
        Sample.of(MetricFamily.LINEAR_PROBE_LAMBDA, lambda, s.step(), "layer", "repr")));
    if (!s.classifierHead()) {
      out.addAll(probeNeuralCollapse(probe, xp, d, s.step()));
    }
    return out;
  }

  /**
   * NC2's weight equinorm, NC3 and NC4 with the probe as the classifier (metrics.md §6): the class means are taken in
   * the probe's standardised coordinates, where its weights live. NaN where the probe or the features are not finite.
   */
  private List<Sample> probeNeuralCollapse(LinearProbe probe, double[] xp, int d, long step) {
    int m = run.probeCount();
    double[] xs = probe.standardise(xp, m);
    double[] w = probe.weights();
    boolean finite = IntrinsicDimension.allFinite(xs, xs.length) && IntrinsicDimension.allFinite(w, w.length);
    NeuralCollapse.Result nc = finite
        ? NeuralCollapse.compute(xs, m, d, run.probeLabels(), run.classes(), w, probe.offsets()) : null;
    return List.of(
        Sample.of(MetricFamily.NEURAL_COLLAPSE_WEIGHT_EQUINORM_COV, nc == null ? Double.NaN : nc.weightEquinormCov(),
            step, "layer", "repr"),
        Sample.of(MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY, nc == null ? Double.NaN : nc.selfDuality(), step,
            "layer", "repr"),
        Sample.of(MetricFamily.NEURAL_COLLAPSE_NCC_MISMATCH_RATIO, nc == null ? Double.NaN : nc.nccMismatch(), step,
            "layer", "repr"));
  }

  /**
   * The representation of the fit subset, {@code fitCount × d}, computed {@value #FIT_CHUNK} rows at a time, in this
   * analyzer's arrays (every value rewritten): only a chunk's float64 inputs and block outputs are kept beside the
   * representation (which the heap budget counts, NetworkFootprint), not the whole subset widened and its block
   * outputs, about 50 MB of the default run's 640 MiB heap (docs/memory.md). Kept between epochs because a new set a
   * pass was about 13 MB allocated on the analysis thread each epoch. Rows are independent, so the values are those
   * of one pass over all rows.
   */
  double[] fitRepresentation(PiecewiseLinearNet net, int blocks) {
    float[] inputs = run.fitInputs();
    int n = run.fitCount();
    int dim = run.inputDim();
    int d = net.blocks().get(blocks - 1).outDim();
    if (fitOut.length != n * d) { // analyze reads its length as n × d
      fitOut = new double[n * d];
    }
    double[] out = fitOut;
    if (fitChunk.length < Math.min(FIT_CHUNK, n) * dim) {
      fitChunk = new double[Math.min(FIT_CHUNK, n) * dim];
    }
    double[] chunk = fitChunk;
    for (int r0 = 0; r0 < n; r0 += FIT_CHUNK) {
      int rows = Math.min(FIT_CHUNK, n - r0);
      for (int i = 0; i < rows * dim; i++) {
        chunk[i] = inputs[r0 * dim + i];
      }
      double[] z = fitPass.forwardTo(net, chunk, rows, blocks);
      System.arraycopy(z, 0, out, r0 * d, rows * d);
    }
    return out;
  }
}
