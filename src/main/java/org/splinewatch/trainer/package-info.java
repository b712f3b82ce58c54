/**
 * Training with DL4J/ND4J: the supervised MLP ({@code MultiLayerNetwork}, cross-entropy), SimCLR (SameDiff encoder +
 * projection head, NT-Xent), two-view augmentation off the training thread, conversion of the trained weights into
 * the region engine's layers, and the {@link org.splinewatch.trainer.TrainerActor} that drives a run.
 */
package org.splinewatch.trainer;
