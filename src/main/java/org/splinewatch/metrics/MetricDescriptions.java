package org.splinewatch.metrics;

import java.util.Map;

/**
 * HELP text and base unit of every splinewatch metric family published through {@link MetricsActor} (Prometheus and
 * OpenMetrics show both). The unit follows the name's suffix ({@code _seconds}, {@code _bytes}, {@code _ratio});
 * counts and dimensionless values have none.
 */
public final class MetricDescriptions {
  private static final Map<String, String> HELP = Map.ofEntries(
      Map.entry("splinewatch_training_loss", "Training loss at the current step"),
      Map.entry("splinewatch_training_step", "Current training step"),
      Map.entry("splinewatch_training_epoch", "Current training epoch"),
      Map.entry("splinewatch_training_steps_per_second", "Training throughput in steps per second"),
      Map.entry("splinewatch_training_learning_rate", "Current learning rate of the optimiser"),
      Map.entry("splinewatch_embedding_alignment", "Mean squared distance of positive pairs of l2-normalised"
          + " probe embeddings"),
      Map.entry("splinewatch_embedding_uniformity", "Log of the mean Gaussian potential between l2-normalised probe"
          + " embeddings"),
      Map.entry("splinewatch_embedding_std_normalized", "Mean per-dimension std of l2-normalised probe embeddings"
          + " (collapse: towards 0; healthy: about 1/sqrt(d))"),
      Map.entry("splinewatch_embedding_rankme", "RankMe: effective rank of the probe embeddings"),
      Map.entry("splinewatch_embedding_rankme_ratio", "RankMe divided by the embedding dimension"),
      Map.entry("splinewatch_embedding_zero_rows", "Probe embeddings that are exactly zero"),
      Map.entry("splinewatch_embedding_zero_rows_ratio", "Fraction of probe embeddings that are exactly zero"),
      Map.entry("splinewatch_knn_accuracy_ratio", "kNN accuracy on the fixed probe images"),
      Map.entry("splinewatch_linear_probe_accuracy_ratio", "Accuracy of the ridge linear probe on the held-out probe"
          + " images"),
      Map.entry("splinewatch_linear_probe_lambda", "Ridge penalty chosen for the linear probe"),
      Map.entry("splinewatch_regions", "Exact number of linear regions on the plane (layer: after layer l, or all)"),
      Map.entry("splinewatch_region_area_mean", "Mean region area, in the plane's coordinates (input units squared)"),
      Map.entry("splinewatch_region_area_median", "Median region area, in the plane's coordinates (input units"
          + " squared)"),
      Map.entry("splinewatch_region_eccentricity_mean", "Mean eccentricity of the regions (max over min pairwise"
          + " vertex distance)"),
      Map.entry("splinewatch_region_eccentricity_median", "Median eccentricity of the regions"),
      Map.entry("splinewatch_region_log_eccentricity_mean", "Mean logarithm of the regions' eccentricity"),
      Map.entry("splinewatch_region_vertices_mean", "Mean number of vertices per region"),
      Map.entry("splinewatch_region_density_near", "Regions per unit area near the plane's anchor images"),
      Map.entry("splinewatch_region_density_far", "Regions per unit area away from the anchor images"),
      Map.entry("splinewatch_region_slivers", "Regions below the sliver area threshold"),
      Map.entry("splinewatch_region_inconsistent_faces", "Regions left unsplit because of numerical inconsistency"
          + " (should be 0)"),
      Map.entry("splinewatch_region_overflow", "1 when the region engine stopped at its region cap"),
      Map.entry("splinewatch_boundary_length", "Total length of the region boundaries, in the plane's coordinates"),
      Map.entry("splinewatch_boundary_density", "Boundary length per unit area of the plane's domain"),
      Map.entry("splinewatch_boundary_edges", "Internal edges of the partition"),
      Map.entry("splinewatch_decision_boundary_length", "Length of the classifier's decision boundary on the plane"),
      Map.entry("splinewatch_region_area_mean_ratio", "Mean region area as a fraction of the plane's domain"),
      Map.entry("splinewatch_region_area_median_ratio", "Median region area as a fraction of the plane's domain"),
      Map.entry("splinewatch_boundary_length_ratio", "Total region-boundary length in units of the domain's"
          + " perimeter"),
      Map.entry("splinewatch_decision_boundary_length_ratio", "Decision-boundary length in units of the domain's"
          + " perimeter"),
      Map.entry("splinewatch_region_density_near_ratio", "Region density near the anchor images relative to the"
          + " plane's mean density (1 = average)"),
      Map.entry("splinewatch_region_density_far_ratio", "Region density away from the anchors relative to the"
          + " plane's mean density"),
      Map.entry("splinewatch_regions_relative_change", "Relative change of the region count since the previous"
          + " snapshot"),
      Map.entry("splinewatch_boundary_flip_ratio", "Fraction of probe points whose activation pattern changed since"
          + " the previous snapshot"),
      Map.entry("splinewatch_region_change_ratio", "Fraction of the plane whose region changed since the previous"
          + " snapshot"),
      Map.entry("splinewatch_decision_change_ratio", "Fraction of the plane whose predicted class changed since the"
          + " previous snapshot"),
      Map.entry("splinewatch_intrinsic_dimension", "TwoNN intrinsic dimension of the probe activations"),
      Map.entry("splinewatch_pca_dimension", "Principal components explaining 90 % of the activations' variance"),
      Map.entry("splinewatch_twonn_duplicate_ratio", "Fraction of probe activations with a duplicate (TwoNN)"),
      Map.entry("splinewatch_neural_collapse_nc1", "Neural collapse NC1: within- over between-class variability"),
      Map.entry("splinewatch_neural_collapse_equinorm_cov", "Coefficient of variation of the class-mean norms"),
      Map.entry("splinewatch_neural_collapse_equiangularity_std", "Std of the cosines between class means"),
      Map.entry("splinewatch_neural_collapse_equiangularity_gap", "Mean gap of the class-mean cosines to the simplex"
          + " value -1/(K-1)"),
      Map.entry("splinewatch_neural_collapse_ncc_accuracy_ratio", "Accuracy of the nearest class-centre classifier"),
      Map.entry("splinewatch_neural_collapse_weight_equinorm_cov", "Coefficient of variation of the classifier"
          + " weight norms"),
      Map.entry("splinewatch_neural_collapse_self_duality", "Distance between normalised class means and classifier"
          + " weights (NC3)"),
      Map.entry("splinewatch_neural_collapse_ncc_mismatch_ratio", "Fraction where the classifier and the nearest"
          + " class centre disagree (NC4)"),
      Map.entry("splinewatch_collapse_alert", "1 while the in-process collapse rule fires"),
      Map.entry("splinewatch_run_active", "1 while the run trains, 0 once it has finished (every Prometheus rule is"
          + " gated on it)"),
      Map.entry("splinewatch_alert_consecutive_breaches", "Snapshots in a row that breached the rule's fire level"),
      Map.entry("splinewatch_analysis_seconds", "Time to analyse one snapshot"),
      Map.entry("splinewatch_snapshots_dropped_total", "Snapshots an analyzer skipped because it lagged"),
      Map.entry("splinewatch_analysis_step", "Step of the snapshot the analyzer last analysed"),
      Map.entry("splinewatch_snapshot_bytes", "Size of the last serialised weight snapshot"),
      Map.entry("splinewatch_cluster_sent_bytes_total", "Snapshot bytes the trainer sent to the cluster"),
      Map.entry("splinewatch_cluster_snapshots_sent_total", "Snapshots the trainer sent to the cluster"),
      Map.entry("splinewatch_cluster_snapshots_analysed_total", "Snapshots this node's analyzers analysed"),
      Map.entry("splinewatch_layer_weight_norm", "Frobenius norm of the layer's weights"),
      Map.entry("splinewatch_layer_update_ratio", "Update-to-weight ratio of the layer between consecutive"
          + " snapshots: ||W_t - W_(t-1)|| / ||W_t||"),
      Map.entry("splinewatch_layer_update_norm", "Frobenius norm of the layer's update between consecutive"
          + " snapshots"));

  private MetricDescriptions() {
  }

  /** The HELP text of a family, or a generic one naming it for families not listed. */
  public static String help(String name) {
    return HELP.getOrDefault(name, "splinewatch metric " + name);
  }

  /** Every listed family. */
  public static java.util.Set<String> families() {
    return HELP.keySet();
  }

  /** Whether the family is listed. */
  public static boolean known(String name) {
    return HELP.containsKey(name);
  }

  /** The base unit of a family from its name's suffix, or null. */
  public static String unit(String name) {
    String n = name.endsWith("_total") ? name.substring(0, name.length() - 6) : name;
    if (n.endsWith("_seconds")) {
      return "seconds";
    }
    if (n.endsWith("_bytes")) {
      return "bytes";
    }
    return n.endsWith("_ratio") ? "ratio" : null;
  }
}
