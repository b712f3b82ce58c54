package org.splinewatch.wire;

/**
 * Marker for messages that may cross JVMs: bound to Pekko's {@code jackson-cbor} serializer in
 * {@code reference.conf}. Snapshots and run descriptions do not use it; they travel as compact binary chunks
 * ({@link org.splinewatch.snapshot.SnapshotCodec}).
 */
public interface CborSerializable {
}
