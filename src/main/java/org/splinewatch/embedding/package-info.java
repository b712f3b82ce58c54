/**
 * Representation metrics of embeddings of a fixed probe set (shared/reference/metrics.md): alignment and
 * uniformity (§1), std of l2-normalised embeddings (§2), RankMe (§3.1) and weighted cosine kNN accuracy (§4.1).
 * A plain library: no actor, Pekko or DL4J imports (enforced by an ArchUnit test).
 */
package org.splinewatch.embedding;
