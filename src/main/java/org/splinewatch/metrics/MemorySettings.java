package org.splinewatch.metrics;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.splinewatch.settings.ConfigBlock;

/**
 * Settings of the memory watch, from the {@code splinewatch.memory} HOCON block.
 *
 * @param sampleInterval how often heap, off-heap and resident memory are sampled
 * @param maxResident    resident-memory limit in bytes (0: none); a run that stays above it after a GC stops with an
 *                       error instead of being killed by the kernel or the container
 */
public record MemorySettings(Duration sampleInterval, long maxResident) {
  /** The JavaCPP property the launchers set to heap + off-heap budget (docs/memory.md). */
  public static final String JAVACPP_MAX_PHYSICAL = "org.bytedeco.javacpp.maxphysicalbytes";
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmgt]?)b?", Pattern.CASE_INSENSITIVE);

  public MemorySettings {
    ConfigBlock.requirePositive("splinewatch.memory.sample-interval", sampleInterval);
    if (maxResident < 0) {
      throw new IllegalArgumentException("splinewatch.memory.max-resident " + maxResident + ": expected 0 (no limit)"
          + " or a size, e.g. 6GiB");
    }
  }

  /**
   * Reads {@code splinewatch.memory}; {@code max-resident = 0} falls back to the JavaCPP property
   * {@value #JAVACPP_MAX_PHYSICAL} when it is set, so the launchers' one budget bounds both.
   */
  public static MemorySettings fromConfig(Config root) {
    ConfigBlock c = ConfigBlock.of(root, "splinewatch.memory");
    long max = c.bytes("max-resident");
    if (max == 0) {
      String p = System.getProperty(JAVACPP_MAX_PHYSICAL);
      if (p != null && !p.isBlank()) {
        max = parseSize(p, JAVACPP_MAX_PHYSICAL);
      }
    }
    return new MemorySettings(c.positiveDuration("sample-interval"), max);
  }

  /** A size as JavaCPP and the JVM write it: digits with an optional k, m, g or t (powers of 1024). */
  public static long parseSize(String text, String what) {
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(what + " '" + text + "' is not a size; expected e.g. 1536m or 2g");
    }
    long n = Long.parseLong(m.group(1));
    int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
      case "k" -> 10;
      case "m" -> 20;
      case "g" -> 30;
      case "t" -> 40;
      default -> 0;
    };
    return n << shift;
  }
}
