/**
 * Analyzer actors. Each wraps a plain library (embedding metrics, region engine), runs on the analysis dispatcher,
 * answers {@link org.splinewatch.analysis.Analyze} with {@link org.splinewatch.analysis.Analyzed} and publishes its
 * samples to the {@link org.splinewatch.metrics.MetricsActor}. A failure is reported, then the actor is restarted by
 * supervision; the trainer never notices.
 */
package org.splinewatch.analysis;
