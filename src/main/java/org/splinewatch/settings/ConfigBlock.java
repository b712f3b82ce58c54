package org.splinewatch.settings;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.List;

/**
 * One block of the configuration ({@code splinewatch.regions}, ...) read with range checks Typesafe Config does not
 * make. A bad value is an {@link IllegalArgumentException} with one line naming the full key, e.g.
 * {@code splinewatch.run.batch-size 12.7: expected a whole number}; the commands turn it into exit code 2. Missing keys
 * and wrong types stay Config's own errors.
 *
 * @param config the block
 * @param path   its path from the root, which prefixes the keys in messages
 */
public record ConfigBlock(Config config, String path) {

  public static ConfigBlock of(Config root, String path) {
    return new ConfigBlock(root.getConfig(path), path);
  }

  /** The full key of {@code key} in this block, as messages name it. */
  public String name(String key) {
    return path + "." + key;
  }

  /** A whole number that fits an int (Config's getInt would truncate 12.7 to 12). */
  public int integer(String key) {
    return toInt(key, config.getNumber(key));
  }

  /** A whole number (Config's getLong would truncate). */
  public long longInteger(String key) {
    return whole(key, config.getNumber(key));
  }

  /** A list of whole numbers that fit an int. */
  public List<Integer> integers(String key) {
    List<Number> values = config.getNumberList(key);
    for (Number n : values) {
      if (!isWhole(n) || n.doubleValue() < Integer.MIN_VALUE || n.doubleValue() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(name(key) + " " + values + ": expected whole numbers");
      }
    }
    return values.stream().map(Number::intValue).toList();
  }

  /** A size in bytes: with a unit (64MiB) as Config reads it, as a bare number it must be whole. */
  public long bytes(String key) {
    if (config.getValue(key).valueType() == ConfigValueType.NUMBER) {
      whole(key, config.getNumber(key));
    }
    return config.getBytes(key);
  }

  /** A number that is not NaN or infinite (Config reads "NaN" and "Infinity" as numbers). */
  public double finite(String key) {
    double v = config.getDouble(key);
    if (!Double.isFinite(v)) {
      throw new IllegalArgumentException(name(key) + " " + v + ": expected a finite number");
    }
    return v;
  }

  /** A duration longer than zero. */
  public Duration positiveDuration(String key) {
    Duration d = config.getDuration(key);
    requirePositive(name(key), d);
    return d;
  }

  /**
   * Refuses a duration {@code d} of the setting {@code fullKey} that is not longer than zero (or missing), in the
   * words of {@link #positiveDuration}: for a setting checked where its block is not at hand.
   */
  public static void requirePositive(String fullKey, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(fullKey + " " + (d == null ? "null" : describe(d)) + ": expected a duration"
          + " > 0, e.g. 30s");
    }
  }

  /** A duration of at least {@code min}; {@code why} says what the minimum is for. */
  public Duration durationAtLeast(String key, Duration min, String why) {
    Duration d = config.getDuration(key);
    if (d.compareTo(min) < 0) {
      throw new IllegalArgumentException(name(key) + " " + describe(d) + ": expected at least " + describe(min)
          + " (" + why + ")");
    }
    return d;
  }

  /**
   * Refuses {@code value} of the setting {@code fullKey} below {@code min}, in the options' common words
   * ({@code splinewatch.ingest.max-runs 0: expected at least 1}): for a setting checked where its block is not at hand
   * (a settings record's constructor).
   */
  public static void requireAtLeast(String fullKey, long value, long min) {
    if (value < min) {
      throw new IllegalArgumentException(fullKey + " " + value + ": expected at least " + min);
    }
  }

  /** A duration as HOCON writes it: 25s, 500ms, -5s. */
  public static String describe(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }

  private int toInt(String key, Number n) {
    long v = whole(key, n);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(name(key) + " " + v + ": expected a whole number between "
          + Integer.MIN_VALUE + " and " + Integer.MAX_VALUE);
    }
    return (int) v;
  }

  private long whole(String key, Number n) {
    if (!isWhole(n)) {
      throw new IllegalArgumentException(name(key) + " " + n + ": expected a whole number");
    }
    return n.longValue();
  }

  private static boolean isWhole(Number n) {
    if (n instanceof Integer || n instanceof Long) {
      return true;
    }
    double d = n.doubleValue();
    // 12.0 is whole; beyond 2^63 a double no longer maps to a long
    return Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) < 0x1p63;
  }
}
