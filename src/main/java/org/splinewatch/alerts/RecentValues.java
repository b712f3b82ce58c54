package org.splinewatch.alerts;

/** The last {@code size} values of a series, for running maxima. */
public final class RecentValues {
  private final double[] v;
  private int n;

  public RecentValues(int size) {
    v = new double[size];
  }

  public void add(double x) {
    v[n % v.length] = x;
    n++;
  }

  /** Whether no value was added yet. */
  public boolean isEmpty() {
    return n == 0;
  }

  /** The maximum of the values held; negative infinity when there are none. */
  public double max() {
    double m = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < Math.min(n, v.length); i++) {
      m = Math.max(m, v[i]);
    }
    return m;
  }
}
