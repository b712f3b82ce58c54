package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** What Typesafe Config accepts without a word (12.7 read as 12, NaN, 0s) is refused with the full key. */
class ConfigBlockTest {
  private static ConfigBlock block(String hocon) {
    return ConfigBlock.of(ConfigFactory.parseString("splinewatch.b { " + hocon + " }"), "splinewatch.b");
  }

  private static void refused(String message, Executable read) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, read).getMessage());
  }

  @Test
  void wholeNumbersAreReadAndFractionsRefused() {
    ConfigBlock b = block("n = 12, whole = 12.0, frac = 12.7, quoted = \"3.5\", nan = NaN, big = 3000000000,"
        + " list = [8, 16], bad-list = [8, 16.5]");
    assertEquals(12, b.integer("n"));
    assertEquals(12, b.integer("whole"));
    assertEquals(3_000_000_000L, b.longInteger("big"));
    assertEquals(List.of(8, 16), b.integers("list"));
    refused("splinewatch.b.frac 12.7: expected a whole number", () -> b.integer("frac"));
    refused("splinewatch.b.frac 12.7: expected a whole number", () -> b.longInteger("frac"));
    refused("splinewatch.b.quoted 3.5: expected a whole number", () -> b.integer("quoted"));
    refused("splinewatch.b.nan NaN: expected a whole number", () -> b.integer("nan"));
    refused("splinewatch.b.big 3000000000: expected a whole number between -2147483648 and 2147483647",
        () -> b.integer("big"));
    refused("splinewatch.b.bad-list [8, 16.5]: expected whole numbers", () -> b.integers("bad-list"));
  }

  @Test
  void bytesTakeUnitsButNoFractionOfAByte() {
    ConfigBlock b = block("unit = 1.5KiB, plain = 4096, frac = 4096.5");
    assertEquals(1536, b.bytes("unit"));
    assertEquals(4096, b.bytes("plain"));
    refused("splinewatch.b.frac 4096.5: expected a whole number", () -> b.bytes("frac"));
  }

  @Test
  void numbersMustBeFinite() {
    ConfigBlock b = block("x = 0.5, nan = NaN, inf = Infinity, minus-inf = -Infinity");
    assertEquals(0.5, b.finite("x"));
    refused("splinewatch.b.nan NaN: expected a finite number", () -> b.finite("nan"));
    refused("splinewatch.b.inf Infinity: expected a finite number", () -> b.finite("inf"));
    refused("splinewatch.b.minus-inf -Infinity: expected a finite number", () -> b.finite("minus-inf"));
  }

  @Test
  void durationsAtOrBelowTheirMinimumAreRefused() {
    ConfigBlock b = block("ok = 250ms, zero = 0s, negative = -5s");
    assertEquals(Duration.ofMillis(250), b.positiveDuration("ok"));
    refused("splinewatch.b.zero 0s: expected a duration > 0, e.g. 30s", () -> b.positiveDuration("zero"));
    refused("splinewatch.b.negative -5s: expected a duration > 0, e.g. 30s", () -> b.positiveDuration("negative"));
    assertEquals(Duration.ZERO, b.durationAtLeast("zero", Duration.ZERO, "0: at once"));
    refused("splinewatch.b.ok 250ms: expected at least 1s (time to finish)",
        () -> b.durationAtLeast("ok", Duration.ofSeconds(1), "time to finish"));
  }
}
