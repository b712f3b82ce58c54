package org.splinewatch.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.splinewatch.metrics.MetricsActor;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PartitionStats;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.regions.SvgRenderer;
import org.splinewatch.snapshot.IoErrors;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RegionFile;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * The exact linear regions of the snapshot's {@linkplain WeightSnapshot#regionNetwork() region network} on the run's
 * planes (fixed at run start through three probe images of different classes, regions.md §2.1), with
 * {@code --planes K} planes analysed in parallel on {@code splinewatch.regions.threads} threads. Exports, with labels
 * {@code plane} and {@code layer} ({@code "all"} for the whole network, {@code "1".."L"} for the partition after
 * hidden layer {@code l}): {@code splinewatch_regions}, and for {@code layer="all"} the geometry of regions.md §4
 * (area, eccentricity, vertices, boundary length and density, near/far density, decision boundary length), the
 * regions the engine's zero tolerance merged ({@code splinewatch_region_merged_by_tolerance}: the count is low) and the
 * relative region-count change against the previous snapshot it analysed (§5 (b)). Writes an SVG per plane per
 * snapshot to {@code runs/<run-id>/planes/plane-<k>-step-<step>.svg}, and for a plane that overflows its cap the
 * network and plane as a {@link RegionFile}, {@code planes/plane-<k>-overflow.npz} (the first overflowed snapshot's,
 * then the last's when the analyzer closes), for an exact count offline ({@code ./monitor regions --tiled}).
 */
public final class RegionAnalyzer implements SnapshotAnalysis {
  public static final String NAME = "regions";
  private static final Logger LOG = LoggerFactory.getLogger(RegionAnalyzer.class);

  private final RegionSettings settings;
  private final Path planesDir;
  private final PictureRetention retention;
  private final List<Plane> planes;
  private final int[] previousRegions;
  private final ExecutorService pool;
  private final List<double[][]> anchors;
  // per plane: the last snapshot whose plane overflowed, and the step whose region file is on disk (-1: none)
  private final WeightSnapshot[] overflowed;
  private final long[] writtenStep;
  // JVM-wide, not per run: a workspace holds up to its budget (a quarter of the heap) for its vertex values, and a
  // monitor serve node analyses many runs, but only as many planes at once as it has threads (docs/memory.md)
  private static final Queue<Partition.Workspace> WORKSPACES = new ConcurrentLinkedQueue<>();

  public RegionAnalyzer(RunInfo run, RegionSettings settings, Path runDir) {
    this(run, settings, runDir, RetentionSettings.KEEP_ALL);
  }

  /** With {@code retention} thinning the partition pictures of long runs. */
  public RegionAnalyzer(RunInfo run, RegionSettings settings, Path runDir,
      RetentionSettings retention) {
    this.settings = settings;
    this.planesDir = runDir == null ? null : runDir.resolve("planes");
    this.retention = settings.svg() ? new PictureRetention(retention, planesDir) : null;
    this.anchors = anchors(run);
    this.planes = planes(anchors, settings.pad());
    this.previousRegions = new int[planes.size()];
    this.overflowed = new WeightSnapshot[planes.size()];
    this.writtenStep = new long[planes.size()];
    Arrays.fill(writtenStep, -1);
    this.pool = settings.threads() > 1 && planes.size() > 1
        ? Executors.newFixedThreadPool(Math.min(settings.threads(), planes.size()),
        LowPriorityExecutor.lowPriority(r -> {
          Thread t = new Thread(r, "splinewatch-regions");
          t.setDaemon(true);
          return t;
        }))
        : null;
  }

  /** The analyzer actor. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics, RegionSettings settings,
      Path runDir) {
    return create(run, metrics, settings, runDir, RetentionSettings.KEEP_ALL);
  }

  /** The analyzer actor, keeping pictures as {@code retention} says. */
  public static Behavior<Analyze> create(RunInfo run, ActorRef<MetricsActor.Command> metrics, RegionSettings settings,
      Path runDir, RetentionSettings retention) {
    return AnalyzerActor.create(NAME, metrics, () -> new RegionAnalyzer(run, settings, runDir, retention));
  }

  /** The run's planes: through the three anchor probes of each plane (SplineCam convention, regions.md §2.1). */
  public static List<Plane> planes(RunInfo run, double pad) {
    return planes(anchors(run), pad);
  }

  private static List<Plane> planes(List<double[][]> anchors, double pad) {
    return anchors.stream().map(a -> Plane.throughAnchors(a[0], a[1], a[2], pad)).toList();
  }

  /** The three anchor probes of each of the run's planes, as input vectors. */
  private static List<double[][]> anchors(RunInfo run) {
    return run.planeAnchors().stream()
        .map(a -> new double[][] {run.probe(a[0]), run.probe(a[1]), run.probe(a[2])}).toList();
  }

  public List<Plane> planes() {
    return planes;
  }

  /** {@code merged}: the regions the zero tolerance merged (Partition#mergedByTolerance). */
  private record PlaneResult(int plane, PartitionStats stats, int merged, String svg) {
  }

  @Override
  public List<Sample> analyze(WeightSnapshot s) {
    PiecewiseLinearNet net = s.regionNetwork().requireFinite();
    List<PlaneResult> results = new ArrayList<>();
    if (pool == null) {
      for (int k = 0; k < planes.size(); k++) {
        results.add(plane(net, k, s));
      }
    } else {
      List<CompletableFuture<PlaneResult>> futures = new ArrayList<>();
      for (int k = 0; k < planes.size(); k++) {
        int plane = k;
        futures.add(CompletableFuture.supplyAsync(() -> plane(net, plane, s), pool));
      }
      for (CompletableFuture<PlaneResult> f : futures) {
        results.add(f.join());
      }
    }
    List<Sample> out = new ArrayList<>();
    for (PlaneResult r : results) {
      samples(out, s.step(), r.plane(), r.stats(), r.merged(), s.classifierHead());
      if (r.svg() != null) {
        writeSvg(r.plane(), s.step(), r.svg());
      }
      if (r.stats().overflow() && planesDir != null) {
        overflowed[r.plane()] = s; // its float weights, not the compiled network (twice their size)
        if (writtenStep[r.plane()] < 0 && writeRegionFile(r.plane())) {
          LOG.warn("plane {} overflowed at step {} (over splinewatch.regions.max-regions = {} or the memory budget):"
              + " its network and plane are in {} (rewritten with the last overflowed snapshot when the run ends);"
              + " count them exactly with ./monitor regions --model {} --tiled", r.plane(), s.step(),
              settings.maxRegions(), regionFile(r.plane()), regionFile(r.plane()));
        }
      }
    }
    return out;
  }

  /** Where plane {@code k}'s network of an overflowed snapshot goes (a {@link RegionFile}). */
  Path regionFile(int k) {
    return RegionFile.overflowFile(planesDir, k);
  }

  /**
   * Writes the last overflowed snapshot's network and plane {@code k} as a region file, so that the plane can be
   * counted exactly offline; a failure is logged, not thrown (the live metrics do not depend on it).
   */
  private boolean writeRegionFile(int k) {
    try {
      Files.createDirectories(planesDir);
      RegionFile.write(regionFile(k), overflowed[k].regionNetwork(), anchors.get(k), settings.pad());
      writtenStep[k] = overflowed[k].step();
      return true;
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot write the overflowed plane {} to {}: {}", k, regionFile(k), e instanceof IOException io
          ? IoErrors.reason(io) : e.getMessage());
      writtenStep[k] = overflowed[k].step(); // tried; do not retry at every snapshot
      return false;
    }
  }

  /**
   * The memory budget of one plane's computation: a quarter of the heap shared by the planes in flight, at most 1 GiB.
   * A plane whose engine arrays would outgrow it stops with {@code splinewatch_region_overflow 1}, as at
   * {@code max-regions}, instead of exhausting the heap (convolutional encoders have thousands of neurons per layer).
   * The default 784-256-256 encoder's planes measured about 1.2 KB per region at their peak (docs/memory.md).
   */
  static long workspaceBudget(int planesInFlight) {
    return (long) Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4.0 / Math.max(1, planesInFlight));
  }

  /** Workspaces idle in this JVM's pool (every one ever needed, since they are only returned). */
  static int pooledWorkspaces() {
    return WORKSPACES.size();
  }

  private PlaneResult plane(PiecewiseLinearNet net, int k, WeightSnapshot s) {
    int inFlight = pool == null ? 1 : Math.min(settings.threads(), planes.size());
    // one workspace per plane in flight in this JVM, reused snapshot after snapshot and run after run (no humongous
    // vertex-value arrays allocated and grown anew for every plane of every snapshot)
    Partition.Workspace ws = Objects.requireNonNullElseGet(WORKSPACES.poll(),
        () -> new Partition.Workspace(workspaceBudget(inFlight)));
    PartitionStats stats;
    int merged;
    String svg;
    try {
      Partition p = Partition.compute(net, planes.get(k), settings.maxRegions(), null, 1, ws);
      stats = PartitionStats.of(p, s.classifierHead(), ws); // its per-face arrays kept in the workspace too
      merged = p.mergedByTolerance();
      svg = settings.svg() && planesDir != null
          ? SvgRenderer.render(p, String.format(Locale.ROOT, "%s  plane %d  step %d  %d regions", s.runId(), k,
          s.step(), stats.regions()), settings.svgSize(), SvgRenderer.MIN_FACE_PIXELS, s.classifierHead())
          : null;
      if (p.overflow()) {
        ws.trim(); // it holds about its whole budget now: free until the next snapshot (docs/memory.md)
      } else {
        ws.recycle(p); // nothing here keeps it: its arrays back the next plane's result
      }
    } finally {
      WORKSPACES.offer(ws);
    }
    return new PlaneResult(k, stats, merged, svg);
  }

  /**
   * The same geometry without the plane's scale: areas as fractions of the domain's area, lengths in units of the
   * domain's perimeter ({@code Σ perimeters − 2·L_int}), densities relative to the plane's mean density
   * {@code regions / A} (1 = as dense as the plane on average).
   */
  private static void domainRelative(List<Sample> out, long step, String plane, PartitionStats st,
      boolean classifierHead) {
    double area = st.domainArea();
    double perimeter = st.perimeterSum() - 2 * st.boundaryLength();
    double meanDensity = st.regions() / area;
    add(out, MetricFamily.REGION_AREA_MEAN_RATIO, st.areaMean() / area, step, plane);
    add(out, MetricFamily.REGION_AREA_MEDIAN_RATIO, st.areaQuantiles()[2] / area, step, plane);
    add(out, MetricFamily.BOUNDARY_LENGTH_RATIO, st.boundaryLength() / perimeter, step, plane);
    add(out, MetricFamily.REGION_DENSITY_NEAR_RATIO, st.densityNear() / meanDensity, step, plane);
    add(out, MetricFamily.REGION_DENSITY_FAR_RATIO, st.densityFar() / meanDensity, step, plane);
    if (classifierHead) {
      add(out, MetricFamily.DECISION_BOUNDARY_LENGTH_RATIO, st.decisionBoundaryLength() / perimeter, step, plane);
    }
  }

  private void samples(List<Sample> out, long step, int k, PartitionStats st, int merged, boolean classifierHead) {
    String plane = Integer.toString(k);
    int[] after = st.regionsAfterLayer();
    if (st.overflow()) {
      overflowSamples(out, step, k, after);
      return;
    }
    for (int l = 0; l < after.length; l++) {
      out.add(Sample.of(MetricFamily.REGIONS, after[l], step, "plane", plane, "layer", Integer.toString(l + 1)));
    }
    out.add(Sample.of(MetricFamily.REGIONS, st.regions(), step, "plane", plane, "layer", "all"));
    add(out, MetricFamily.REGION_AREA_MEAN, st.areaMean(), step, plane);
    add(out, MetricFamily.REGION_AREA_MEDIAN, st.areaQuantiles()[2], step, plane);
    add(out, MetricFamily.REGION_ECCENTRICITY_MEAN, st.eccentricityMean(), step, plane);
    add(out, MetricFamily.REGION_ECCENTRICITY_MEDIAN, st.eccentricityMedian(), step, plane);
    add(out, MetricFamily.REGION_LOG_ECCENTRICITY_MEAN, st.logEccentricityMean(), step, plane);
    add(out, MetricFamily.REGION_VERTICES_MEAN, st.verticesPerRegion(), step, plane);
    add(out, MetricFamily.BOUNDARY_LENGTH, st.boundaryLength(), step, plane);
    add(out, MetricFamily.BOUNDARY_DENSITY, st.boundaryDensity(), step, plane);
    add(out, MetricFamily.BOUNDARY_EDGES, st.internalEdges(), step, plane);
    add(out, MetricFamily.REGION_DENSITY_NEAR, st.densityNear(), step, plane);
    add(out, MetricFamily.REGION_DENSITY_FAR, st.densityFar(), step, plane);
    add(out, MetricFamily.REGION_SLIVERS, st.slivers(), step, plane);
    add(out, MetricFamily.REGION_INCONSISTENT_FACES, st.inconsistentFaces(), step, plane);
    // the count is not exact, usually low: `./monitor regions` warns of it, Grafana shows it from here
    add(out, MetricFamily.REGION_MERGED_BY_TOLERANCE, merged, step, plane);
    add(out, MetricFamily.REGION_OVERFLOW, st.overflow() ? 1 : 0, step, plane);
    if (classifierHead) {
      add(out, MetricFamily.DECISION_BOUNDARY_LENGTH, st.decisionBoundaryLength(), step, plane);
    }
    domainRelative(out, step, plane, st, classifierHead);
    if (previousRegions[k] > 0) {
      // regions.md §5 (b): ΔR_rel = (R_t − R_s) / max(R_s, 1), against the previous snapshot analysed here
      add(out, MetricFamily.REGIONS_RELATIVE_CHANGE,
          (st.regions() - previousRegions[k]) / (double) Math.max(previousRegions[k], 1), step, plane);
    }
    previousRegions[k] = st.regions();
  }

  /**
   * A plane cut short by the region cap or the workspace budget: regions.md §3.6 exports {@code regions_overflow = 1}
   * and no geometry. The layers finished before the one that overflowed are exact, so their counts are kept; the
   * partial layer's count, the total and every shape statistic of the incomplete partition are not exported, and
   * the next snapshot's relative change has nothing to compare with.
   */
  private void overflowSamples(List<Sample> out, long step, int k, int[] after) {
    String plane = Integer.toString(k);
    int cut = after.length - 1;
    while (cut > 0 && after[cut] == 0) {
      cut--; // layers after the one that overflowed were never reached
    }
    for (int l = 0; l < cut; l++) {
      out.add(Sample.of(MetricFamily.REGIONS, after[l], step, "plane", plane, "layer", Integer.toString(l + 1)));
    }
    add(out, MetricFamily.REGION_OVERFLOW, 1, step, plane);
    previousRegions[k] = 0;
  }

  private static void add(List<Sample> out, MetricFamily family, double value, long step, String plane) {
    out.add(Sample.of(family, value, step, "plane", plane, "layer", "all"));
  }

  private void writeSvg(int plane, long step, String svg) {
    try {
      Path file = planesDir.resolve(String.format(Locale.ROOT, "plane-%d-step-%08d.svg", plane, step));
      // forced to disk before the rename, as checkpoints and metrics are; a failed write leaves no temporary
      org.splinewatch.snapshot.DurableFiles.writeAtomically(file, svg.getBytes(StandardCharsets.UTF_8));
      if (retention != null) {
        retention.written(plane, file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the partition picture to " + planesDir + ": " + IoErrors.reason(e), e);
    }
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
    for (int k = 0; k < planes.size(); k++) {
      if (overflowed[k] != null && overflowed[k].step() > writtenStep[k]) {
        writeRegionFile(k);
      }
    }
  }
}
