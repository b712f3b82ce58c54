/**
 * In-process collapse detection (shared/reference/metrics.md §7–8.1): rules with fire/clear thresholds and
 * hysteresis over consecutive snapshots, evaluated on the samples the analyzers publish. A plain library: no actor,
 * Pekko or DL4J imports (enforced by an ArchUnit test); the metrics actor runs it.
 */
package org.splinewatch.alerts;
