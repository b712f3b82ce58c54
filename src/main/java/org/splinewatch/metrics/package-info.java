/**
 * Metrics out of the process: {@link org.splinewatch.snapshot.Sample}s become Micrometer gauges in a Prometheus
 * registry (served at {@code /metrics} by {@link org.splinewatch.metrics.MetricsHttpServer}) and lines of
 * {@code runs/<run-id>/metrics.jsonl} ({@link org.splinewatch.metrics.RunLog}); the
 * {@link org.splinewatch.metrics.MetricsActor} is the single writer of both.
 */
package org.splinewatch.metrics;
