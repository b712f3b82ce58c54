/**
 * Command line, the top layer: {@code ./trainer} ({@link org.splinewatch.cli.TrainCommand}, one run with the monitor
 * embedded, or joining a monitor with {@code --monitor}) and {@code ./monitor} ({@link
 * org.splinewatch.cli.MonitorCommand}) with its subcommands: {@code serve} ({@link org.splinewatch.cli.ServeCommand}),
 * {@code regions}, {@code report} ({@link org.splinewatch.cli.ReportCommand}), {@code detection} ({@link
 * org.splinewatch.cli.DetectionCommand}), {@code relay} ({@link org.splinewatch.cli.RelayCommand}), {@code certs}
 * ({@link org.splinewatch.cli.CertsCommand}) and the benchmarks {@code bench-regions}, {@code bench-overhead}, {@code
 * bench-cluster}, {@code bench-soak}. Commands parse options into configuration, read the settings once (a bad value
 * is exit code 2) and hand them to the wiring. Exit codes: 0 done, 1 failure (bad data, port in use, …), 2 bad
 * arguments, 3 stopped early.
 */
package org.splinewatch.cli;
