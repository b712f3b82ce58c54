/**
 * Wiring of a monitored run: {@link org.splinewatch.run.EmbeddedRun} prepares data, probes and planes and
 * starts an actor system whose {@link org.splinewatch.run.RunGuardian} spawns the metrics actor, the analyzers
 * (supervised, on the analysis dispatcher), the snapshot hub and the trainer (on its pinned dispatcher).
 */
package org.splinewatch.run;
