/**
 * Stopping runs from outside: the runs this process may stop and the rules allowed to ({@link
 * org.splinewatch.control.RunControl}), the bearer-token control endpoint that Alertmanager's webhook calls ({@link
 * org.splinewatch.control.AlertWebhook}, {@link org.splinewatch.control.ControlRoutes}, which also serves the plane
 * pictures), the token and its settings, and the relay that forwards one receiver's alerts to every run ({@link
 * org.splinewatch.control.AlertRelay}). Wiring: used by the local run, the monitor server and the cluster.
 */
package org.splinewatch.control;
