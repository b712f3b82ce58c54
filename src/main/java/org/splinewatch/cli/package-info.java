/**
 * Command line: {@code ./trainer} ({@link org.splinewatch.cli.TrainCommand}) and {@code ./monitor}
 * ({@link org.splinewatch.cli.MonitorCommand}: {@code regions}, {@code bench-overhead}). Exit codes: 0 done,
 * 1 failure (bad data, port in use, …), 2 bad arguments, 3 stopped early.
 */
package org.splinewatch.cli;
