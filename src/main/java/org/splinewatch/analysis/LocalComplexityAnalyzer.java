package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.LocalComplexity;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Local complexity of the encoder (regions.md §6) around three fixed point sets: {@code points="train"} (the run's
 * linear-probe training subset), {@code "test"} (held-out probes), and for classifiers {@code "boundary"} (the probes
 * with the smallest top-1 minus top-2 logit margin at this snapshot: the points nearest the decision boundary). At
 * two radii ({@code r} and {@code 10r}, label {@code radius}), exports {@code splinewatch_local_complexity} (mean
 * count of neurons whose sign changes around a point; {@code layer="1".."L"} per hidden encoder layer and
 * {@code "all"} summed), {@code splinewatch_local_complexity_ratio} (per layer, divided by the layer's width) and
 * {@code splinewatch_local_complexity_quantile{quantile="0.5"|"0.9"}} of the summed count. Needs no plane, so it also
 * covers CNN encoders and planes that hit the region cap.
 */
public final class LocalComplexityAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "local-complexity";

  private final RunInfo run;
  private final LocalComplexitySettings settings;
  private final double[] directions;
  private final int directionCount;
  private final double[] train;
  private final int trainCount;
  private final double[] probes;
  private final int testCount;

  public LocalComplexityAnalyzer(RunInfo run, LocalComplexitySettings settings) {
    this.run = run;
    this.settings = settings;
    int dim = run.inputDim();
    this.directionCount = Math.min(settings.directions(), dim);
    this.directions = LocalComplexity.directions(dim, directionCount, settings.seed());
    this.trainCount = Math.min(settings.points(), run.fitCount());
    this.train = Layer.widen(Arrays.copyOf(run.fitInputs(), trainCount * dim));
    this.testCount = Math.min(settings.points(), run.probeCount());
    this.probes = run.probeInputsAsDouble(); // shared with the other analyzers: only read
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics,
      LocalComplexitySettings settings) {
    return AnalyzerActor.create(NAME, metrics, () -> new LocalComplexityAnalyzer(run, settings));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    PiecewiseLinearNet net = s.network().requireFinite();
    PiecewiseLinearNet encoder = net.prefix(s.reprBlock() + 1);
    int[] widths = LocalComplexity.hiddenWidths(encoder);
    List<Sample> out = new ArrayList<>();
    if (widths.length == 0) {
      return out;
    }
    // the probes nearest this snapshot's decision boundary: one forward pass, used at both radii
    double[] near = s.classifierHead() && net.outputDim() == run.classes() && run.classes() > 1
        ? nearestToDecisionBoundary(net, probes, run.probeCount(), testCount) : null;
    for (double r : new double[] {settings.radius(), 10 * settings.radius()}) {
      summarise(out, s.step(), encoder, widths, "train", train, trainCount, r);
      summarise(out, s.step(), encoder, widths, "test", probes, testCount, r); // its first testCount rows
      if (near != null) {
        summarise(out, s.step(), encoder, widths, "boundary", near, testCount, r);
      }
    }
    return out;
  }

  private void summarise(List<Sample> out, long step, PiecewiseLinearNet encoder, int[] widths, String points,
      double[] x, int rows, double r) {
    if (rows == 0) {
      return;
    }
    LocalComplexity.Summary sum = LocalComplexity.summarise(
        LocalComplexity.perPoint(encoder, x, rows, directions, directionCount, r), widths);
    String radius = Double.toString(r);
    for (int l = 0; l < widths.length; l++) {
      String layer = Integer.toString(l + 1);
      out.add(Sample.of(MetricFamily.LOCAL_COMPLEXITY, sum.meanPerLayer()[l], step, "layer", layer, "radius", radius,
          "points", points));
      out.add(Sample.of(MetricFamily.LOCAL_COMPLEXITY_RATIO, sum.ratioPerLayer()[l], step, "layer", layer, "radius",
          radius, "points", points));
    }
    out.add(Sample.of(MetricFamily.LOCAL_COMPLEXITY, sum.meanTotal(), step, "layer", "all", "radius", radius,
        "points", points));
    out.add(Sample.of(MetricFamily.LOCAL_COMPLEXITY_QUANTILE, sum.medianTotal(), step, "radius", radius, "points",
        points, "quantile", "0.5"));
    out.add(Sample.of(MetricFamily.LOCAL_COMPLEXITY_QUANTILE, sum.p90Total(), step, "radius", radius, "points",
        points, "quantile", "0.9"));
  }

  /** The {@code count} probes with the smallest top-1 minus top-2 logit margin, as rows. */
  static double[] nearestToDecisionBoundary(PiecewiseLinearNet net, double[] probes, int rows, int count) {
    int k = net.outputDim();
    double[] logits = net.forward(probes, rows);
    Integer[] order = new Integer[rows];
    double[] margin = new double[rows];
    for (int i = 0; i < rows; i++) {
      double best = Double.NEGATIVE_INFINITY;
      double second = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < k; c++) {
        double v = logits[i * k + c];
        if (v > best) {
          second = best;
          best = v;
        } else if (v > second) {
          second = v;
        }
      }
      margin[i] = best - second;
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(margin[a], margin[b]));
    int dim = net.inputDim();
    double[] out = new double[count * dim];
    for (int i = 0; i < count; i++) {
      System.arraycopy(probes, order[i] * dim, out, i * dim, dim);
    }
    return out;
  }
}
