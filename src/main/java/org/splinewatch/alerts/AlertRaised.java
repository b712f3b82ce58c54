package org.splinewatch.alerts;

import org.splinewatch.wire.CborSerializable;

/**
 * A collapse alert changed state: the message a run's owner receives from the metrics actor that evaluates its rules,
 * in this process or on the metrics node of a cluster (hence serializable).
 */
public record AlertRaised(Alert alert) implements CborSerializable {
}
