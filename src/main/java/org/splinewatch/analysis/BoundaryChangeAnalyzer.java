package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.regions.ActivationPatterns;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * Boundary changes against the previous snapshot this analyzer saw (regions.md §5): activation patterns of the
 * {@linkplain WeightSnapshot#regionNetwork() region network} at the centres of a {@code G×G} grid on each plane and at
 * the first {@code data-probes} real probe images ({@code plane="data"}). Exports
 * {@code splinewatch_boundary_flip_ratio{plane,layer}} (fraction of neuron sign flips, {@code layer="all"} and per
 * hidden layer), {@code splinewatch_region_change_ratio{plane}} (fraction of probe points whose region changed) and,
 * for classifiers, {@code splinewatch_decision_change_ratio{plane}} (fraction of the plane whose predicted class
 * changed, a grid estimate of {@code A_Δ/A_domain} with error about {@code (L_dec,t + L_dec,s)·h/A_domain}). With
 * dropped snapshots the reference is older than one interval; the first snapshot has no reference and exports
 * nothing.
 */
public final class BoundaryChangeAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "boundary";

  private final List<Plane> planes;
  private final List<double[]> grids = new ArrayList<>();
  private final double[] data;
  private final int dataRows;
  private List<ActivationPatterns> previous;
  /** The passes' arrays, kept between snapshots (every snapshot of a run has the same architecture). */
  private final ActivationPatterns.Workspace workspace = new ActivationPatterns.Workspace();

  public BoundaryChangeAnalyzer(RunInfo run, RegionSettings settings) {
    this.planes = RegionAnalyzer.planes(run, settings.pad());
    for (Plane p : planes) {
      grids.add(ActivationPatterns.gridCentres(p, settings.grid()));
    }
    this.dataRows = Math.min(settings.dataProbes(), run.probeCount());
    // shared with the other analyzers, only read; the forward pass reads its first dataRows rows
    this.data = run.probeInputsAsDouble();
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics,
      RegionSettings settings) {
    return AnalyzerActor.create(NAME, metrics, () -> new BoundaryChangeAnalyzer(run, settings));
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    PiecewiseLinearNet net = s.regionNetwork().requireFinite();
    boolean head = s.classifierHead();
    List<ActivationPatterns> current = new ArrayList<>();
    for (int k = 0; k < planes.size(); k++) {
      double[] st = grids.get(k);
      current.add(ActivationPatterns.onPlane(net, planes.get(k), st, st.length / 2, head, workspace));
    }
    if (dataRows > 0) {
      current.add(ActivationPatterns.atInputs(net, data, dataRows, head, workspace));
    }
    List<Sample> out = new ArrayList<>();
    if (previous != null && previous.size() == current.size()) {
      for (int k = 0; k < current.size(); k++) {
        String plane = k < planes.size() ? Integer.toString(k) : "data";
        ActivationPatterns.Change c = current.get(k).changeFrom(previous.get(k));
        out.add(Sample.of(MetricFamily.BOUNDARY_FLIP_RATIO, c.neuronFlipRate(), s.step(), "plane", plane,
            "layer", "all"));
        for (int l = 0; l < c.layerFlipRates().length; l++) {
          out.add(Sample.of(MetricFamily.BOUNDARY_FLIP_RATIO, c.layerFlipRates()[l], s.step(), "plane", plane,
              "layer", Integer.toString(l + 1)));
        }
        out.add(Sample.of(MetricFamily.REGION_CHANGE_RATIO, c.regionChangeRate(), s.step(), "plane", plane));
        if (head) {
          out.add(Sample.of(MetricFamily.DECISION_CHANGE_RATIO, c.decisionChangeRate(), s.step(), "plane", plane));
        }
      }
    }
    previous = current;
    return out;
  }
}
