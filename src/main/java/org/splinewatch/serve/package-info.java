/**
 * The HTTP side of a monitor: the standalone {@code ./monitor serve} node ({@link
 * org.splinewatch.serve.MonitorServer}: cluster roles, metrics node, analyzer node, HTTP ingestion), and the pages a
 * local run mounts as well: the live page ({@link org.splinewatch.serve.LivePage}, with the embedding views) and
 * Prometheus service discovery ({@link
 * org.splinewatch.serve.ServiceDiscovery}). Wiring; never imports the local run.
 */
package org.splinewatch.serve;
