package org.splinewatch.cli;

/**
 * The refusal of a whole-number option outside its range, in the words the bench commands print: the option, its
 * value, the range and why it is bounded ({@code --steps 3000000000 is out of range; expected 100 to 10000000
 * (...)}).
 */
final class OptionRange {
  private OptionRange() {
  }

  /** Why {@code value} of {@code option} is refused, or null when it lies in {@code [min, max]}. */
  static String outside(String option, long value, long min, long max, String why) {
    return value >= min && value <= max ? null : option + " " + value + " is out of range; expected " + min + " to "
        + max + " (" + why + ")";
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
}
