/**
 * Wiring of one run in this process ({@code ./trainer}): {@link org.splinewatch.run.EmbeddedRun} reads its settings
 * ({@link org.splinewatch.run.WiringSettings}), prepares data, probes and planes ({@link
 * org.splinewatch.run.ProbeSampler}) and the run directory, and starts an actor system whose {@link
 * org.splinewatch.run.RunGuardian} starts a {@link org.splinewatch.run.SnapshotSink} (the local hub, metrics actor and
 * analyzers, or a cluster's publisher) and the trainer, relays alerts and stops, and ends the run ({@link
 * org.splinewatch.run.RunOutcome}). Above the actors, beside {@code control}, {@code serve} and {@code cluster}; the
 * cluster never imports this package.
 */
package org.splinewatch.run;
