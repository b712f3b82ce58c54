package org.splinewatch.snapshot;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The one catalogue of splinewatch's metric families: every {@code splinewatch_} family that {@code /metrics} can show
 * is declared here once, with its type, HELP text and labels. Its Prometheus name is {@code splinewatch_} plus the
 * constant's name in lower case; its base unit follows the name's suffix ({@code _seconds}, {@code _bytes},
 * {@code _ratio}; counts and dimensionless values have none).
 *
 * <p>Most families are {@link Origin#SAMPLE samples}: analyzers, the trainer and the cluster transport build
 * {@link Sample}s from these constants and the run's {@code MetricsActor} turns them into gauges (counters for
 * {@code _total}), adding the run labels {@code run, method, dataset}. The others are Micrometer meters registered
 * directly ({@link Origin#RUN_METER} with the run labels, {@link Origin#PROCESS_METER} without), under
 * {@link #meterName()}. The exporter takes HELP and unit from here; the dashboards test, the cluster's allow-list
 * ({@code cluster.MetricFamilies}) and {@code docs/metrics.md} read the same list.
 */
public enum MetricFamily {
  TRAINING_LOSS(Type.GAUGE, "Training loss at the current step"),
  TRAINING_STEP(Type.GAUGE, "Current training step"),
  TRAINING_EPOCH(Type.GAUGE, "Current training epoch"),
  TRAINING_STEPS_PER_SECOND(Type.GAUGE, "Training throughput in steps per second"),
  TRAINING_LEARNING_RATE(Type.GAUGE, "Current learning rate of the optimiser"),
  TRAINING_THREAD_CPU_SECONDS_TOTAL(Type.COUNTER, "CPU time, user and system, the training thread has used since the"
      + " run started (every 10 steps; against the step's wall time it tells slower steps from steps waiting for a"
      + " core)"),
  TRAINING_BATCH_STD_NORMALIZED(Type.GAUGE, "sqrt(d) times the mean per-dimension std of the l2-normalised outputs of"
      + " the latest training batch, computed with the loss (collapse: towards 0; healthy: about 1)", "output"),
  TRAINING_BATCH_EFFECTIVE_RANK(Type.GAUGE, "Participation ratio, the squared sum of eigenvalues over the sum of squared"
      + " eigenvalues, of the second moments of the latest training batch's l2-normalised outputs (collapse: towards 1)",
      "output"),
  TRAINING_BATCH_RANKME(Type.GAUGE, "RankMe (effective number of directions) of the latest training batch's"
      + " l2-normalised outputs after centring each dimension (collapse: a sudden fall)", "output"),
  TRAINING_BATCH_SCALE(Type.GAUGE, "Mean per-dimension std of the latest training batch's raw outputs (collapse to one"
      + " point: towards 0)", "output"),
  TRAINING_BATCH_CROSS_VIEW_COSINE(Type.GAUGE, "Mean cosine between the two views' outputs of each image of the latest"
      + " training batch (views agree: towards 1)", "output"),
  TRAINING_BATCH_CROSS_IMAGE_COSINE(Type.GAUGE, "Mean cosine between the first view's outputs of different images of"
      + " the latest training batch (collapse to one direction: towards 1; spread: about 0)", "output"),
  EMBEDDING_ALIGNMENT(Type.GAUGE, "Mean squared distance of positive pairs of l2-normalised probe embeddings", "layer"),
  EMBEDDING_UNIFORMITY(Type.GAUGE, "Log of the mean Gaussian potential between l2-normalised probe embeddings",
      "layer"),
  EMBEDDING_STD_NORMALIZED(Type.GAUGE, "sqrt(d) times the mean per-dimension std of l2-normalised probe embeddings"
      + " (collapse: towards 0; healthy: about 1)", "layer"),
  EMBEDDING_RANKME(Type.GAUGE, "RankMe: effective rank of the probe embeddings", "layer"),
  EMBEDDING_RANKME_RATIO(Type.GAUGE, "RankMe divided by its largest value min(n, d), n the probe count and d the embedding dimension (d when n >= d)", "layer"),
  EMBEDDING_ZERO_ROWS(Type.GAUGE, "Probe embeddings that are zero (l2 norm below 1e-12, metrics.md 0)", "layer"),
  EMBEDDING_ZERO_ROWS_RATIO(Type.GAUGE, "Fraction of probe embeddings that are zero (l2 norm below 1e-12)", "layer"),
  EMBEDDING_SPECTRUM_LOG10(Type.GAUGE, "log10(max(lambda_k / lambda_1, 1e-30)) of the eigenvalues lambda_1 >= ... of"
      + " the probe embeddings' covariance, at k = ceil(q m), m = min(n - 1, d) (metrics.md 3.2; dimensional collapse:"
      + " a fall towards -30; NaN when all embeddings are equal)", "layer", "q"),
  EMBEDDING_COLLAPSED_DIMS(Type.GAUGE, "Eigenvalues of the probe embeddings' covariance below tau times the largest,"
      + " of the first m = min(n - 1, d) (metrics.md 3.2; m when all embeddings are equal)", "layer", "tau"),
  KNN_ACCURACY_RATIO(Type.GAUGE, "kNN accuracy on the fixed probe images", "layer"),
  LINEAR_PROBE_ACCURACY_RATIO(Type.GAUGE, "Accuracy of the ridge linear probe on the held-out probe images", "layer"),
  LINEAR_PROBE_LAMBDA(Type.GAUGE, "Ridge penalty chosen for the linear probe", "layer"),
  REGIONS(Type.GAUGE, "Exact number of linear regions on the plane (layer: after layer l, or all)", "plane", "layer"),
  REGION_AREA_MEAN(Type.GAUGE, "Mean region area, in the plane's coordinates (input units squared)", "plane", "layer"),
  REGION_AREA_MEDIAN(Type.GAUGE, "Median region area, in the plane's coordinates (input units squared)",
      "plane", "layer"),
  REGION_ECCENTRICITY_MEAN(Type.GAUGE, "Mean eccentricity of the regions (max over min pairwise vertex distance)",
      "plane", "layer"),
  REGION_ECCENTRICITY_MEDIAN(Type.GAUGE, "Median eccentricity of the regions", "plane", "layer"),
  REGION_LOG_ECCENTRICITY_MEAN(Type.GAUGE, "Mean logarithm of the regions' eccentricity", "plane", "layer"),
  REGION_VERTICES_MEAN(Type.GAUGE, "Mean number of vertices per region", "plane", "layer"),
  REGION_DENSITY_NEAR(Type.GAUGE, "Regions per unit area near the plane's anchor images", "plane", "layer"),
  REGION_DENSITY_FAR(Type.GAUGE, "Regions per unit area away from the anchor images", "plane", "layer"),
  REGION_SLIVERS(Type.GAUGE, "Regions below the sliver area threshold", "plane", "layer"),
  REGION_INCONSISTENT_FACES(Type.GAUGE, "Regions left unsplit because of numerical inconsistency (should be 0)",
      "plane", "layer"),
  REGION_MERGED_BY_TOLERANCE(Type.GAUGE, "Regions the engine's zero tolerance merged: boundaries closer to the"
      + " partition's vertices than it resolves at the plane's scale, so the region count is not exact, usually low"
      + " (0: the plane is resolved; docs/regions-engine.md)", "plane", "layer"),
  REGION_OVERFLOW(Type.GAUGE, "1 when the region engine stopped at its region cap or its memory budget (not exact):"
      + " that snapshot exports only the counts of the layers it finished, no total or geometry", "plane", "layer"),
  BOUNDARY_LENGTH(Type.GAUGE, "Total length of the region boundaries, in the plane's coordinates", "plane", "layer"),
  BOUNDARY_DENSITY(Type.GAUGE, "Boundary length per unit area of the plane's domain", "plane", "layer"),
  BOUNDARY_EDGES(Type.GAUGE, "Internal edges of the partition", "plane", "layer"),
  DECISION_BOUNDARY_LENGTH(Type.GAUGE, "Length of the classifier's decision boundary on the plane", "plane", "layer"),
  REGION_AREA_MEAN_RATIO(Type.GAUGE, "Mean region area as a fraction of the plane's domain", "plane", "layer"),
  REGION_AREA_MEDIAN_RATIO(Type.GAUGE, "Median region area as a fraction of the plane's domain", "plane", "layer"),
  BOUNDARY_LENGTH_RATIO(Type.GAUGE, "Total region-boundary length in units of the domain's perimeter",
      "plane", "layer"),
  DECISION_BOUNDARY_LENGTH_RATIO(Type.GAUGE, "Decision-boundary length in units of the domain's perimeter",
      "plane", "layer"),
  REGION_DENSITY_NEAR_RATIO(Type.GAUGE, "Region density near the anchor images relative to the plane's mean"
      + " density (1 = average)", "plane", "layer"),
  REGION_DENSITY_FAR_RATIO(Type.GAUGE, "Region density away from the anchors relative to the plane's mean density",
      "plane", "layer"),
  REGIONS_RELATIVE_CHANGE(Type.GAUGE, "Relative change of the region count since the previous snapshot",
      "plane", "layer"),
  BOUNDARY_FLIP_RATIO(Type.GAUGE, "Fraction of neuron activations (of the layer, or all neurons) that flipped sign"
      + " since the previous snapshot, averaged over the probe points (regions.md 5a; points whose whole pattern"
      + " changed: splinewatch_region_change_ratio)", "plane", "layer"),
  REGION_CHANGE_RATIO(Type.GAUGE, "Fraction of the plane whose region changed since the previous snapshot", "plane"),
  DECISION_CHANGE_RATIO(Type.GAUGE, "Fraction of the plane whose predicted class changed since the previous snapshot",
      "plane"),
  INTRINSIC_DIMENSION(Type.GAUGE, "TwoNN intrinsic dimension of the probe activations", "layer"),
  PCA_DIMENSION(Type.GAUGE, "Principal components explaining 90 % of the activations' variance", "layer"),
  TWONN_DUPLICATE_RATIO(Type.GAUGE, "Fraction of probe activations with a duplicate (TwoNN)", "layer"),
  INTRINSIC_DIMENSION_BLOCK_MEAN(Type.GAUGE, "TwoNN block analysis (scale check): mean of the intrinsic dimension over"
      + " blocks of block_size probes, a fixed random split (a plateau across block sizes: stable at that scale)",
      "layer", "block_size"),
  INTRINSIC_DIMENSION_BLOCK_STD(Type.GAUGE, "TwoNN block analysis: std of the intrinsic dimension over the blocks of"
      + " block_size probes", "layer", "block_size"),
  NEURAL_COLLAPSE_NC1(Type.GAUGE, "Neural collapse NC1: within- over between-class variability", "layer"),
  NEURAL_COLLAPSE_EQUINORM_COV(Type.GAUGE, "Coefficient of variation of the class-mean norms", "layer"),
  NEURAL_COLLAPSE_EQUIANGULARITY_STD(Type.GAUGE, "Std of the cosines between class means", "layer"),
  NEURAL_COLLAPSE_EQUIANGULARITY_GAP(Type.GAUGE, "Mean gap of the class-mean cosines to the simplex value -1/(K-1)",
      "layer"),
  NEURAL_COLLAPSE_NCC_ACCURACY_RATIO(Type.GAUGE, "Accuracy of the nearest class-centre classifier", "layer"),
  NEURAL_COLLAPSE_WEIGHT_EQUINORM_COV(Type.GAUGE, "Coefficient of variation of the classifier weight norms (an"
      + " encoder's: the linear probe's)", "layer"),
  NEURAL_COLLAPSE_SELF_DUALITY(Type.GAUGE, "Distance between normalised class means and classifier weights (NC3; an"
      + " encoder's classifier is the linear probe)", "layer"),
  NEURAL_COLLAPSE_NCC_MISMATCH_RATIO(Type.GAUGE, "Fraction where the classifier (an encoder's: the linear probe) and"
      + " the nearest class centre disagree (NC4)", "layer"),
  COLLAPSE_ALERT(Type.GAUGE, "1 while the in-process collapse rule fires, and for at least"
      + " splinewatch.alerts.export-hold (30 s) after it fired", "rule", "severity"),
  RUN_ACTIVE(Type.GAUGE,
      "1 while the run trains, 0 once its training has ended (every Prometheus rule is gated on it)"),
  RUN_STOPPED_EARLY(Type.GAUGE, "1 once a collapse alert of the rule stopped the run (in process, or through the"
      + " control endpoint); absent otherwise. Not gated on splinewatch_run_active: a stopped run's endpoint waits for"
      + " one more scrape so that Prometheus sees it (splinewatch.metrics.stopped-scrape-wait)", "rule"),
  ALERT_CONSECUTIVE_BREACHES(Type.GAUGE, "Snapshots (for batch_collapse: training batches) in a row that breached"
      + " the rule's fire level; the rule fires at its own count (n-fire, rankme-n-fire, batch-n-fire, dead-rows-n-fire)",
      "rule"),
  ANALYSIS_SECONDS(Type.SUMMARY, "Time to analyse one snapshot", "analyzer"),
  SNAPSHOTS_DROPPED_TOTAL(Type.COUNTER, "Snapshots an analyzer skipped because it lagged (drop-oldest buffer)",
      "analyzer"),
  SNAPSHOTS_UNANALYSED_TOTAL(Type.COUNTER, "Snapshots left unanalysed when the run ended: an early end (stopped,"
      + " failed or interrupted) does not make the analyzer work through those waiting for it, and a normal end stops"
      + " at drain-timeout; a snapshot still being analysed then counts too", "analyzer"),
  ANALYSIS_STEP(Type.GAUGE, "Step of the snapshot the analyzer last analysed", "analyzer"),
  ANALYSIS_CPU_SECONDS(Type.GAUGE, "CPU time the analysing thread spent on the last snapshot analysed (the time of"
      + " splinewatch_analysis_seconds less the waits for a core; planes analysed on other threads not included)",
      "analyzer"),
  SNAPSHOT_BYTES(Type.GAUGE, "Size of the last serialised weight snapshot"),
  CLUSTER_SENT_BYTES_TOTAL(Type.COUNTER, "Snapshot bytes the trainer sent to the cluster"),
  CLUSTER_SNAPSHOTS_SENT_TOTAL(Type.COUNTER, "Snapshots the trainer sent to the cluster"),
  CLUSTER_SNAPSHOTS_ANALYSED_TOTAL(Type.COUNTER, "Snapshots this node's analyzers analysed", "node"),
  LAYER_WEIGHT_NORM(Type.GAUGE, "Frobenius norm of the layer's weights", "layer"),
  LAYER_UPDATE_RATIO(Type.GAUGE, "Update-to-weight ratio of the layer between consecutive snapshots:"
      + " ||W_t - W_(t-1)|| / ||W_t||", "layer"),
  LAYER_UPDATE_NORM(Type.GAUGE, "Frobenius norm of the layer's update between consecutive snapshots", "layer"),
  LOCAL_COMPLEXITY(Type.GAUGE, "Local complexity: mean number of neurons whose sign changes over a cross-polytope of"
      + " the given radius around each point (regions.md 6; layer: hidden layer or all)", "layer", "radius", "points"),
  LOCAL_COMPLEXITY_RATIO(Type.GAUGE, "Local complexity of a layer divided by the layer's width", "layer", "radius",
      "points"),
  LOCAL_COMPLEXITY_QUANTILE(Type.GAUGE, "Quantile over the point set of the local complexity summed over the layers",
      "radius", "points", "quantile"),

  // Micrometer meters registered directly (not samples)
  ANALYSIS_FAILURES_TOTAL(Origin.RUN_METER, Type.COUNTER, "Analyses that failed (the next snapshot gets a fresh analysis)",
      "analyzer"),
  RUN_INFO(Origin.RUN_METER, Type.GAUGE, "A run's configuration as labels (value always 1); join on run or instance",
      "encoder", "hidden", "batch_size", "learning_rate", "seed", "git_commit", "git_dirty", "tags"),
  MEMORY_PEAK_BYTES(Origin.RUN_METER, Type.GAUGE, "Peak memory of this process so far, by area (heap, heap_committed,"
      + " off_heap, resident)", "area", "node"),
  JAVACPP_ALLOCATED_BYTES(Origin.PROCESS_METER, Type.GAUGE, "Native memory allocated through JavaCPP (ND4J arrays and"
      + " workspaces) and not yet freed"),
  JAVACPP_MAX_BYTES(Origin.PROCESS_METER, Type.GAUGE, "Limit on JavaCPP's native allocations"
      + " (org.bytedeco.javacpp.maxBytes)"),
  PROCESS_RESIDENT_BYTES(Origin.PROCESS_METER, Type.GAUGE, "Resident set size of the process (physical memory in"
      + " use), as JavaCPP reads it"),
  CLUSTER_REJECTED_TOTAL(Origin.PROCESS_METER, Type.COUNTER, "Messages a cluster role refused, by role and reason",
      "role", "reason"),
  CLUSTER_TLS_REFUSED_TOTAL(Origin.PROCESS_METER, Type.COUNTER, "peer certificates the cluster's TLS refused"),
  INGEST_IN_FLIGHT_BYTES(Origin.PROCESS_METER, Type.GAUGE, "Request body bytes the HTTP ingestion holds now, while"
      + " bodies are read and parsed (bounded by splinewatch.ingest.max-bytes-in-flight)"),
  INGEST_BUSY_TOTAL(Origin.PROCESS_METER, Type.COUNTER, "Ingestion requests answered 503 with Retry-After because"
      + " their body did not fit in splinewatch.ingest.max-bytes-in-flight"),
  INGEST_STALLED_TOTAL(Origin.PROCESS_METER, Type.COUNTER, "Ingestion requests answered 408 because no byte of their"
      + " body arrived for splinewatch.ingest.body-stall-timeout (a client that stopped sending mid-body)");

  /** How the family reaches {@code /metrics}. */
  public enum Origin {
    /** A {@link Sample} through the run's metrics actor, which adds the run labels. */
    SAMPLE,
    /** A Micrometer meter registered with the run labels (the memory gauges: with {@code node} on a monitor node). */
    RUN_METER,
    /** A process-wide Micrometer meter without run labels (joined to runs on {@code instance}). */
    PROCESS_METER
  }

  /** The Prometheus type. */
  public enum Type {
    GAUGE, COUNTER,
    /** A Micrometer timer: {@code _count}, {@code _sum} and {@code _max} series. */
    SUMMARY;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** The labels every run-scoped family carries besides its own. */
  public static final List<String> RUN_LABELS = List.of("run", "method", "dataset");

  private static final Map<String, MetricFamily> BY_ID = Stream.of(values())
      .collect(Collectors.toUnmodifiableMap(MetricFamily::id, Function.identity()));
  private static final Set<String> SAMPLE_IDS = Stream.of(values()).filter(f -> f.origin == Origin.SAMPLE)
      .map(MetricFamily::id).collect(Collectors.toUnmodifiableSet());

  private final Origin origin;
  private final Type type;
  private final String help;
  private final List<String> labels;

  MetricFamily(Type type, String help, String... labels) {
    this(Origin.SAMPLE, type, help, labels);
  }

  MetricFamily(Origin origin, Type type, String help, String... labels) {
    this.origin = origin;
    this.type = type;
    this.help = help;
    this.labels = List.of(labels);
  }

  /** The Prometheus family name, e.g. {@code splinewatch_regions}. */
  public String id() {
    return "splinewatch_" + name().toLowerCase(Locale.ROOT);
  }

  /**
   * The Micrometer name of a directly registered meter: dotted, without the suffix Micrometer's Prometheus naming
   * adds back ({@code _total} of a counter, {@code _seconds} of a timer), e.g. {@code splinewatch.analysis.failures}.
   */
  public String meterName() {
    String n = id();
    if (type == Type.COUNTER && n.endsWith("_total")) {
      n = n.substring(0, n.length() - 6);
    } else if (type == Type.SUMMARY && n.endsWith("_seconds")) {
      n = n.substring(0, n.length() - 8);
    }
    return n.replace('_', '.');
  }

  /** The HELP text. */
  public String help() {
    return help;
  }

  /** The Prometheus type. */
  public Type type() {
    return type;
  }

  /** How the family is published. */
  public Origin origin() {
    return origin;
  }

  /** The family's own label names (not the run labels, see {@link #runScoped()}). */
  public List<String> labels() {
    return labels;
  }

  /** Whether the series carry the run labels {@link #RUN_LABELS}. */
  public boolean runScoped() {
    return origin != Origin.PROCESS_METER;
  }

  /** Every label name a series of the family may carry: its own and, if run-scoped, the run labels. */
  public Set<String> allowedLabels() {
    return Stream.concat(labels.stream(), runScoped() ? RUN_LABELS.stream() : Stream.empty())
        .collect(Collectors.toUnmodifiableSet());
  }

  /** The base unit from the name's suffix ({@code seconds}, {@code bytes}, {@code ratio}), or null. */
  public String unit() {
    return unitOf(id());
  }

  /** The family with this Prometheus name, or null. */
  public static MetricFamily byId(String id) {
    return BY_ID.get(id);
  }

  /** The HELP text of a family, or a generic one naming it for families not listed. */
  public static String helpOf(String id) {
    MetricFamily f = BY_ID.get(id);
    return f != null ? f.help : "splinewatch metric " + id;
  }

  /** The base unit of any family name from its suffix, or null. */
  public static String unitOf(String id) {
    String n = id.endsWith("_total") ? id.substring(0, id.length() - 6) : id;
    if (n.endsWith("_seconds")) {
      return "seconds";
    }
    if (n.endsWith("_bytes")) {
      return "bytes";
    }
    return n.endsWith("_ratio") ? "ratio" : null;
  }

  /**
   * The Prometheus names of the families published as {@link Sample}s ({@link Origin#SAMPLE}): the only ones a cluster
   * peer may publish to a run ({@code cluster.MetricFamilies.NAMES}). Every declared family: {@link #values()}.
   */
  public static Set<String> ids() {
    return SAMPLE_IDS;
  }

  /** {@code docs/metrics.md}: a Markdown table of every family (regenerate with MetricFamilyTest, see there). */
  public static String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("# Metric families\n\n")
        .append("<!-- Generated from src/main/java/org/splinewatch/snapshot/MetricFamily.java; do not edit by hand.\n")
        .append("     Regenerate: mvn -B -o test -Dtest=MetricFamilyTest -Dsplinewatch.regenerateDocs=true -->\n\n")
        .append("Every `splinewatch_` family `/metrics` can show, from the catalogue `MetricFamily`. Families")
        .append(" published per run carry the run labels `run`, `method`, `dataset` besides the labels listed;")
        .append(" process-wide ones (origin `process`) carry none and are joined to runs through")
        .append(" `splinewatch_run_info` on `instance`. Counters end in `_total`; a summary (Micrometer timer)")
        .append(" shows as `_count`, `_sum` and `_max`. Micrometer's own JVM and process families (`jvm_*`,")
        .append(" `process_*`, `system_*`) are not listed.\n\n")
        .append("| family | type | unit | labels | origin | description |\n")
        .append("|---|---|---|---|---|---|\n");
    for (MetricFamily f : values()) {
      String labels = f.labels.isEmpty() ? "" : f.labels.stream().map(l -> "`" + l + "`")
          .collect(Collectors.joining(", "));
      String origin = switch (f.origin) {
        case SAMPLE -> "sample";
        case RUN_METER -> "run meter";
        case PROCESS_METER -> "process";
      };
      b.append("| `").append(f.id()).append("` | ").append(f.type).append(" | ")
          .append(f.unit() == null ? "" : f.unit()).append(" | ").append(labels).append(" | ").append(origin)
          .append(" | ").append(f.help.replace("|", "\\|")).append(" |\n");
    }
    return b.toString();
  }
}
