/**
 * Layer geometry of representations (shared/reference/metrics.md §5–6): TwoNN intrinsic dimension and PC-ID per
 * layer, and neural-collapse metrics (NC1–NC4) for labelled probes. A plain library: no actor, Pekko or DL4J imports
 * (enforced by an ArchUnit test).
 */
package org.splinewatch.geometry;
