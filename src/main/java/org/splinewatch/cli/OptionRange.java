package org.splinewatch.cli;

/**
 * The refusal of a numeric option outside its range, in the words the bench commands print: the option, its value,
 * the range and why it is bounded ({@code --steps 3000000000 is out of range; expected 100 to 10000000 (...)}).
 */
final class OptionRange {
  private OptionRange() {
  }

  /** Why {@code value} of {@code option} is refused, or null when it lies in {@code [min, max]}. */
  static String outside(String option, long value, long min, long max, String why) {
    return value >= min && value <= max ? null : option + " " + value + " is out of range; expected " + min + " to "
        + max + " (" + why + ")";
  }

  /** As {@link #outside(String, long, long, long, String)} for a number with a fraction; NaN is refused. */
  static String outside(String option, double value, double min, double max, String why) {
    return value >= min && value <= max ? null : option + " " + number(value) + " is out of range; expected "
        + number(min) + " to " + number(max) + " (" + why + ")";
  }

  /** Why {@code value} is refused, or null when it lies in {@code (above, max]}: a bound it may not reach. */
  static String above(String option, double value, double above, double max, String why) {
    return value > above && value <= max ? null : option + " " + number(value) + " is out of range; expected more"
        + " than " + number(above) + ", at most " + number(max) + " (" + why + ")";
  }

  /** The first refusal of {@code checks} that is not null, or null when every option is in range. */
  static String first(String... checks) {
    for (String c : checks) {
      if (c != null) {
        return c;
      }
    }
    return null;
  }

  /** {@code 2} rather than {@code 2.0}; {@code 0.5}, {@code Infinity} and {@code NaN} as Java writes them. */
  private static String number(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
