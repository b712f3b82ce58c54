/** What lets a message travel between cluster nodes: the Jackson-CBOR marker interface. */
package org.splinewatch.wire;
