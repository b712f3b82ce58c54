package org.splinewatch.snapshot;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The one catalogue of splinewatch's metric families: every {@code splinewatch_} family is declared here once, with
 * its HELP text; its Prometheus name is {@code splinewatch_} plus the constant's name in lower case, and its base unit
 * follows the name's suffix ({@code _seconds}, {@code _bytes}, {@code _ratio}; counts and dimensionless values have
 * none). Analyzers build {@link Sample}s from these constants, the exporter takes HELP and unit from here, and the
 * dashboards test and the docs read the same list.
 */
public enum MetricFamily {
  TRAINING_LOSS("Training loss at the current step"),
  TRAINING_STEP("Current training step"),
  TRAINING_EPOCH("Current training epoch"),
  TRAINING_STEPS_PER_SECOND("Training throughput in steps per second"),
  TRAINING_LEARNING_RATE("Current learning rate of the optimiser"),
  EMBEDDING_ALIGNMENT("Mean squared distance of positive pairs of l2-normalised probe embeddings"),
  EMBEDDING_UNIFORMITY("Log of the mean Gaussian potential between l2-normalised probe embeddings"),
  EMBEDDING_STD_NORMALIZED("Mean per-dimension std of l2-normalised probe embeddings (collapse: towards 0; healthy:"
      + " about 1/sqrt(d))"),
  EMBEDDING_RANKME("RankMe: effective rank of the probe embeddings"),
  EMBEDDING_RANKME_RATIO("RankMe divided by the embedding dimension"),
  EMBEDDING_ZERO_ROWS("Probe embeddings that are exactly zero"),
  EMBEDDING_ZERO_ROWS_RATIO("Fraction of probe embeddings that are exactly zero"),
  KNN_ACCURACY_RATIO("kNN accuracy on the fixed probe images"),
  LINEAR_PROBE_ACCURACY_RATIO("Accuracy of the ridge linear probe on the held-out probe images"),
  LINEAR_PROBE_LAMBDA("Ridge penalty chosen for the linear probe"),
  REGIONS("Exact number of linear regions on the plane (layer: after layer l, or all)"),
  REGION_AREA_MEAN("Mean region area, in the plane's coordinates (input units squared)"),
  REGION_AREA_MEDIAN("Median region area, in the plane's coordinates (input units squared)"),
  REGION_ECCENTRICITY_MEAN("Mean eccentricity of the regions (max over min pairwise vertex distance)"),
  REGION_ECCENTRICITY_MEDIAN("Median eccentricity of the regions"),
  REGION_LOG_ECCENTRICITY_MEAN("Mean logarithm of the regions' eccentricity"),
  REGION_VERTICES_MEAN("Mean number of vertices per region"),
  REGION_DENSITY_NEAR("Regions per unit area near the plane's anchor images"),
  REGION_DENSITY_FAR("Regions per unit area away from the anchor images"),
  REGION_SLIVERS("Regions below the sliver area threshold"),
  REGION_INCONSISTENT_FACES("Regions left unsplit because of numerical inconsistency (should be 0)"),
  REGION_OVERFLOW("1 when the region engine stopped at its region cap"),
  BOUNDARY_LENGTH("Total length of the region boundaries, in the plane's coordinates"),
  BOUNDARY_DENSITY("Boundary length per unit area of the plane's domain"),
  BOUNDARY_EDGES("Internal edges of the partition"),
  DECISION_BOUNDARY_LENGTH("Length of the classifier's decision boundary on the plane"),
  REGION_AREA_MEAN_RATIO("Mean region area as a fraction of the plane's domain"),
  REGION_AREA_MEDIAN_RATIO("Median region area as a fraction of the plane's domain"),
  BOUNDARY_LENGTH_RATIO("Total region-boundary length in units of the domain's perimeter"),
  DECISION_BOUNDARY_LENGTH_RATIO("Decision-boundary length in units of the domain's perimeter"),
  REGION_DENSITY_NEAR_RATIO("Region density near the anchor images relative to the plane's mean density (1 ="
      + " average)"),
  REGION_DENSITY_FAR_RATIO("Region density away from the anchors relative to the plane's mean density"),
  REGIONS_RELATIVE_CHANGE("Relative change of the region count since the previous snapshot"),
  BOUNDARY_FLIP_RATIO("Fraction of probe points whose activation pattern changed since the previous snapshot"),
  REGION_CHANGE_RATIO("Fraction of the plane whose region changed since the previous snapshot"),
  DECISION_CHANGE_RATIO("Fraction of the plane whose predicted class changed since the previous snapshot"),
  INTRINSIC_DIMENSION("TwoNN intrinsic dimension of the probe activations"),
  PCA_DIMENSION("Principal components explaining 90 % of the activations' variance"),
  TWONN_DUPLICATE_RATIO("Fraction of probe activations with a duplicate (TwoNN)"),
  NEURAL_COLLAPSE_NC1("Neural collapse NC1: within- over between-class variability"),
  NEURAL_COLLAPSE_EQUINORM_COV("Coefficient of variation of the class-mean norms"),
  NEURAL_COLLAPSE_EQUIANGULARITY_STD("Std of the cosines between class means"),
  NEURAL_COLLAPSE_EQUIANGULARITY_GAP("Mean gap of the class-mean cosines to the simplex value -1/(K-1)"),
  NEURAL_COLLAPSE_NCC_ACCURACY_RATIO("Accuracy of the nearest class-centre classifier"),
  NEURAL_COLLAPSE_WEIGHT_EQUINORM_COV("Coefficient of variation of the classifier weight norms"),
  NEURAL_COLLAPSE_SELF_DUALITY("Distance between normalised class means and classifier weights (NC3)"),
  NEURAL_COLLAPSE_NCC_MISMATCH_RATIO("Fraction where the classifier and the nearest class centre disagree (NC4)"),
  COLLAPSE_ALERT("1 while the in-process collapse rule fires"),
  RUN_ACTIVE("1 while the run trains, 0 once it has finished (every Prometheus rule is gated on it)"),
  ALERT_CONSECUTIVE_BREACHES("Snapshots in a row that breached the rule's fire level"),
  ANALYSIS_SECONDS("Time to analyse one snapshot"),
  SNAPSHOTS_DROPPED_TOTAL("Snapshots an analyzer skipped because it lagged"),
  ANALYSIS_STEP("Step of the snapshot the analyzer last analysed"),
  SNAPSHOT_BYTES("Size of the last serialised weight snapshot"),
  CLUSTER_SENT_BYTES_TOTAL("Snapshot bytes the trainer sent to the cluster"),
  CLUSTER_SNAPSHOTS_SENT_TOTAL("Snapshots the trainer sent to the cluster"),
  CLUSTER_SNAPSHOTS_ANALYSED_TOTAL("Snapshots this node's analyzers analysed"),
  LAYER_WEIGHT_NORM("Frobenius norm of the layer's weights"),
  LAYER_UPDATE_RATIO("Update-to-weight ratio of the layer between consecutive snapshots: ||W_t - W_(t-1)|| /"
      + " ||W_t||"),
  LAYER_UPDATE_NORM("Frobenius norm of the layer's update between consecutive snapshots"),
  LOCAL_COMPLEXITY("Local complexity: mean number of neurons whose sign changes over a cross-polytope of the given"
      + " radius around each point (regions.md 6; layer: hidden layer or all)"),
  LOCAL_COMPLEXITY_RATIO("Local complexity of a layer divided by the layer's width"),
  LOCAL_COMPLEXITY_QUANTILE("Quantile over the point set of the local complexity summed over the layers");

  private static final Map<String, MetricFamily> BY_ID = Stream.of(values())
      .collect(Collectors.toUnmodifiableMap(MetricFamily::id, Function.identity()));

  private final String help;

  MetricFamily(String help) {
    this.help = help;
  }

  /** The Prometheus family name, e.g. {@code splinewatch_regions}. */
  public String id() {
    return "splinewatch_" + name().toLowerCase(Locale.ROOT);
  }

  /** The HELP text. */
  public String help() {
    return help;
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

  /** Every declared family's Prometheus name. */
  public static Set<String> ids() {
    return BY_ID.keySet();
  }
}
