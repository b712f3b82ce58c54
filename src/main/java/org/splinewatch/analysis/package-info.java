/**
 * Analyzer actors and their catalogue. Each analyzer wraps a plain library (embedding metrics, region engine), runs on
 * the analysis dispatcher, answers {@link org.splinewatch.analysis.Analyze} with {@link
 * org.splinewatch.analysis.Analyzed} and publishes its samples to the {@link org.splinewatch.metrics.MetricsActor}. A
 * failure is reported, then the actor is restarted by supervision ({@link org.splinewatch.analysis.AnalyzerSpec});
 * the trainer never notices. {@link org.splinewatch.analysis.AnalyzerCatalogue} names every analyzer a run can start,
 * for a local run and an analyzer node alike; {@link org.splinewatch.analysis.PlaneAnchors} fixes a run's planes.
 */
package org.splinewatch.analysis;
