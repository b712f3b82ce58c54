package org.splinewatch.analysis;

/** Reply to {@link Analyze}: the step, the time it took, and an error message or null. */
public record Analyzed(String analyzer, long step, double seconds, String error) {
}
