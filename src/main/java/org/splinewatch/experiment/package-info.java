/**
 * The findings experiment ({@code ./monitor experiment}): {@link org.splinewatch.experiment.ExperimentPlan} lists its
 * runs (every method on every data set per seed, the collapse ablations with a known onset, long supervised runs),
 * {@link org.splinewatch.experiment.Findings} decides the six findings from their run directories by rules fixed
 * before any run, and {@link org.splinewatch.experiment.FindingsReport} writes them as {@code results.json},
 * {@code results.md} and {@code report.html} (docs/findings.md). A plain library: it reads run directories and does no
 * training itself.
 */
package org.splinewatch.experiment;
