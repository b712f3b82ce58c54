package org.splinewatch.analysis;

import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.embedding.LinearProbe;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.regions.Layer;
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
 */
public final class ProbeAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "probe";

  private final RunInfo run;
  private final double[] fit;
  private final double[] probes;
  private int lastEpoch = -1;
  private double lambda = Double.NaN;
  // kept epoch after epoch: this analyzer is run by one actor at a time, so they are never shared
  private final ForwardBuffers fitPass = new ForwardBuffers();
  private final ForwardBuffers probePass = new ForwardBuffers();

  public ProbeAnalyzer(RunInfo run) {
    this.run = run;
    this.fit = Layer.widen(run.fitInputs());
    this.probes = run.probeInputsAsDouble();
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
    double[] xf = fitPass.forwardTo(net, fit, run.fitCount(), blocks);
    int d = xf.length / run.fitCount();
    if (Double.isNaN(lambda)) {
      lambda = LinearProbe.chooseLambda(xf, run.fitCount(), d, run.fitLabels(), run.classes());
    }
    // xf is this analyzer's buffer, rewritten at the next epoch: the probe may standardise it in place
    LinearProbe probe = LinearProbe.fitOverwriting(xf, run.fitCount(), d, run.fitLabels(), run.classes(), lambda);
    double[] xp = probePass.forwardTo(net, probes, run.probeCount(), blocks);
    double acc = probe.accuracy(xp, run.probeCount(), run.probeLabels());
    return List.of(Sample.of(MetricFamily.LINEAR_PROBE_ACCURACY_RATIO, acc, s.step(), "layer", "repr"),
        Sample.of(MetricFamily.LINEAR_PROBE_LAMBDA, lambda, s.step(), "layer", "repr"));
  }
}
