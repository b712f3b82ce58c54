/**
 * The {@link org.splinewatch.hub.SnapshotHub}: Pekko Streams between the trainer and the analyzers, one bounded,
 * drop-oldest stream per analyzer, so that publishing never blocks training and one slow analyzer never delays
 * another; {@link org.splinewatch.hub.DropOldestStage}, the stage that holds each stream's buffer and hands on one
 * snapshot at a time; and {@link org.splinewatch.hub.DropOldestBuffer}, the one drop-oldest policy, which the
 * cluster's {@code SnapshotPublisher} uses too.
 */
package org.splinewatch.hub;
