package org.splinewatch.settings;

/**
 * How a command-line value reads in a one-line error. A value is printed as given ({@code --layer proj: ...}), but an
 * empty one printed so vanished ({@code --layer : ...}, {@code --drop-reference  is unknown}), and one of blanks only
 * read as a stray double space: those are quoted and said to be so ({@code --layer '' (empty): ...}, {@code
 * --drop-reference ' ' (only whitespace) is unknown}).
 */
public final class OptionValues {
  private OptionValues() {
  }

  /** {@code option} and its {@code value}, as {@link #shown}: {@code --layer proj}, {@code --layer '' (empty)}. */
  public static String named(String option, Object value) {
    return option + " " + shown(value);
  }

  /** {@code value} as given, or quoted with {@code (empty)} or {@code (only whitespace)} where it would not show. */
  public static String shown(Object value) {
    String s = String.valueOf(value);
    if (s.isEmpty()) {
      return "'' (empty)";
    }
    return s.isBlank() ? "'" + s + "' (only whitespace)" : s;
  }
}
