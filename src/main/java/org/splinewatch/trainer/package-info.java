/**
 * Training with DL4J/ND4J, driven step by step on one thread by the {@link TrainerActor}, which publishes
 * {@link org.splinewatch.snapshot.WeightSnapshot}s and writes checkpoints.
 *
 * <ul>
 *   <li>Settings and entry: {@link RunSettings} (the {@code splinewatch.run} block; creates the trainer),
 *       {@link EncoderSpec} ({@code --encoder mlp|cnn}), {@link Backend} (starts ND4J's CPU or CUDA backend),
 *       {@link TrainingProgress} (what the console shows).</li>
 *   <li>The methods, behind {@link Trainer}: {@link SupervisedTrainer} (DL4J {@code MultiLayerNetwork},
 *       cross-entropy) and the two-view self-supervised ones on {@link TwoViewTrainer}: {@link SimClrTrainer},
 *       {@link SimSiamTrainer}, {@link ByolTrainer}, {@link VicRegTrainer}, with their losses in
 *       {@link SslLosses}.</li>
 *   <li>The parts of a two-view trainer: {@link EncoderGraph} (the SameDiff graph: encoder, projector, predictor and
 *       the snapshot recipe), {@link ViewPrefetcher} (batches from {@link BatchSampler}, augmented by
 *       {@link Augmenter} on a prefetch thread), {@link RecyclingTrainingSession} (one SameDiff training session kept
 *       for the whole run) and {@link SameDiffCheckpoint} (weights and Adam's state on disk).</li>
 *   <li>Snapshots and checkpoints: {@link WeightCopier} (trained weights into the region engine's layers, without
 *       per-snapshot allocation) and {@link Checkpoints} ({@code latest}/{@code best} directories with
 *       {@code meta.json}).</li>
 * </ul>
 */
package org.splinewatch.trainer;
