package org.splinewatch.analysis;

import org.apache.pekko.actor.typed.ActorRef;
import org.splinewatch.snapshot.WeightSnapshot;

/** Analyze one snapshot and reply when done (the common command of every analyzer). */
public record Analyze(WeightSnapshot snapshot, ActorRef<Analyzed> replyTo) {
}
