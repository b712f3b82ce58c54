/**
 * Runs from any training loop (the PyTorch client first): HTTP endpoints of {@code ./monitor serve} that take a run's
 * spec and its snapshots in the extended {@code .npz} format ({@link org.splinewatch.ingest.IngestRoutes}, {@link
 * org.splinewatch.ingest.HttpIngestion}), one {@link org.splinewatch.ingest.IngestedRun} actor per run that publishes
 * them to the cluster's analyzers and answers whether to stop. Wiring, on top of {@code cluster}.
 */
package org.splinewatch.ingest;
