/**
 * Immutable messages that leave the trainer: {@link org.splinewatch.snapshot.RunInfo} once per run and a
 * {@link org.splinewatch.snapshot.WeightSnapshot} every {@code --snapshot-every} steps. Framework-agnostic (region
 * engine layers, plain arrays) and serializable, so trainers and analyzers can later live on different JVMs.
 */
package org.splinewatch.snapshot;
