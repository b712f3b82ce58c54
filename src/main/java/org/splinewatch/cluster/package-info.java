/**
 * Scale-out over Pekko Cluster: trainer, analyzer and metrics nodes ({@link org.splinewatch.cluster.ClusterNode},
 * {@link org.splinewatch.cluster.ClusterSettings}, TLS). A trainer's {@link org.splinewatch.cluster.MonitorLink}
 * registers its run with the {@link org.splinewatch.cluster.MetricsNode}, its {@link
 * org.splinewatch.cluster.SnapshotPublisher} sends snapshots to {@link org.splinewatch.cluster.AnalyzerWorker}s, which
 * run the analyzers of the catalogue in {@code analysis}; the metrics node evaluates the alert rules and relays alerts
 * and stop requests back. Wiring; never imports the local run ({@code run}).
 */
package org.splinewatch.cluster;
