/**
 * The exact linear-region engine: a piecewise-linear network ({@link org.splinewatch.regions.PiecewiseLinearNet}),
 * a 2D plane in its input space ({@link org.splinewatch.regions.Plane}), the exact planar subdivision of the plane
 * into activation regions ({@link org.splinewatch.regions.Partition}) and its statistics
 * ({@link org.splinewatch.regions.PartitionStats}); networks from {@code .npz} files
 * ({@link org.splinewatch.regions.NpzModel}) and the one {@code .npy} header parser
 * ({@link org.splinewatch.regions.NpyHeader}) that {@code snapshot.NpzArchive} shares.
 *
 * <p>A plain Java library: no actor, Pekko or DL4J imports (enforced by an ArchUnit test). The algorithm and its
 * oracles are those of {@code shared/reference/regions.md} (sections cited in the code as "regions.md §n").
 */
package org.splinewatch.regions;
