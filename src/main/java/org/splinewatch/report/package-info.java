/**
 * Run reports: reads run directories ({@code metrics.jsonl}, {@code events.jsonl}, {@code config.json},
 * {@code planes/}) and writes one self-contained HTML file with uPlot charts and the partition pictures as a timeline;
 * the same data feeds the monitor's live page. {@link org.splinewatch.report.Detection} measures when the collapse
 * rules fired against the kNN accuracy drop ({@code ./monitor detection}).
 */
package org.splinewatch.report;
