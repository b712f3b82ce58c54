/**
 * In-process collapse detection (shared/reference/metrics.md §7–8.1): rules with fire/clear thresholds and
 * hysteresis over consecutive snapshots, evaluated on the samples the analyzers publish. A plain library: no actor,
 * Pekko or DL4J imports (enforced by an ArchUnit test); the metrics actor runs it.
 *
 * <ul>
 *   <li>{@link org.splinewatch.alerts.CollapseDetector}: one per run; hands each sample to the rules of its metric
 *       family and returns {@link org.splinewatch.alerts.Alert}s when a series fires or resolves.</li>
 *   <li>{@link org.splinewatch.alerts.CollapseRule}: the sealed rule interface, one record per rule
 *       ({@code StdCollapse}, {@code DimCollapse}, {@code KnnChance}, {@code RegionDrop},
 *       {@code CollapseWithRegionDrop}, {@code Divergence}, {@code DeadRepresentation}, {@code TrainingBatchCollapse}), each with its settings
 *       record; {@link org.splinewatch.alerts.Hysteresis} is the consecutive-snapshot state machine they share and
 *       {@link org.splinewatch.alerts.RecentValues} their running window.</li>
 *   <li>{@link org.splinewatch.alerts.AlertSettings}: the early-stop mode, {@code stop-on} and the rules' settings,
 *       read once from {@code splinewatch.alerts}.</li>
 * </ul>
 */
package org.splinewatch.alerts;
