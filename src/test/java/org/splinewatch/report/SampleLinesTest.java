package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.splinewatch.report.RunData.Series;

/**
 * {@link SampleLines} reads a line of a known series by its numbers only; whatever the line, the run must read the
 * same as when every line is parsed whole (a fresh reader knows no series, so it parses its first line whole).
 */
class SampleLinesTest {
  private static final String START = "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"dataset\":\"mnist\","
      + "\"method\":\"simclr\",\"run\":\"r\"}";

  /** Series as text (name, labels, every point) and the problems, reading {@code lines} with one shared reader. */
  private static String read(List<String> lines, boolean shared) {
    Map<String, Series> series = new TreeMap<>();
    long[] order = {0};
    List<String> problems = new ArrayList<>();
    SampleLines reader = new SampleLines(series, order);
    for (int i = 0; i < lines.size(); i++) {
      (shared ? reader : new SampleLines(series, order)).add("metrics.jsonl", i + 1, lines.get(i),
          i == lines.size() - 1, problems);
    }
    StringBuilder b = new StringBuilder();
    series.forEach((k, s) -> {
      b.append(k).append(' ').append(s.name()).append(s.labels()).append('\n');
      s.points().forEach(p -> b.append(Double.doubleToRawLongBits(p[0])).append(',')
          .append(Double.doubleToRawLongBits(p[1])).append(',').append(Double.doubleToRawLongBits(p[2])).append(',')
          .append(Double.doubleToRawLongBits(p[3])).append('\n'));
    });
    return b + "problems " + problems;
  }

  @Test
  void theTrainersLinesReadTheSameByTheirNumbers() {
    List<String> lines = new ArrayList<>();
    for (int step = 0; step < 50; step++) {
      lines.add(START + ",\"step\":" + step + ",\"value\":" + (0.1 * step - 2) + ",\"time\":" + (1796306377354L
          + step) + "}");
    }
    lines.add(START + ",\"step\":50,\"value\":\"NaN\",\"time\":1}");
    lines.add(START + ",\"step\":51,\"value\":\"-Infinity\"}");
    lines.add(START + ",\"step\":52,\"value\":1e-300,\"time\":2}\r");
    String read = read(lines, true);
    assertEquals(read(lines, false), read);
    SampleLines reader = new SampleLines(new TreeMap<>(), new long[] {0});
    lines.forEach(line -> reader.add("metrics.jsonl", 1, line, false, new ArrayList<>()));
    assertEquals(lines.size() - 1, reader.numbersOnly(), "all but the first line by their numbers");
    assertEquals(55, read.lines().count(), read); // a series line, 53 points, the problems
  }

  /** A tail after the series' start: what the trainer writes, and what it does not. */
  @Provide
  Arbitrary<String> tails() {
    Arbitrary<String> step = Arbitraries.oneOf(Arbitraries.longs().between(0, 2_000_000).map(String::valueOf),
        Arbitraries.of("-1", "-0", "0", "00", "01", "1.0", "1e3", "\"7\"", "true", "999999999999999999",
            "9999999999999999999", "", " 3"));
    Arbitrary<String> value = Arbitraries.oneOf(Arbitraries.doubles().map(String::valueOf),
        Arbitraries.doubles().map(d -> String.valueOf(d).replace("E", "e+")),
        Arbitraries.of("\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"+Inf\"", "\"-Inf\"", "\"nan\"", "\"\"", "\"",
            "-", "1.", ".5", "-0", "-0.0", "1E400", "123456789012345678901234567890", "0.1e-2", "1e", "01", "true",
            "null", "[]", "1".repeat(1001), "0." + "1".repeat(2000), "-" + "1".repeat(1001), "1".repeat(65),
            "1".repeat(64)));
    Arbitrary<String> time = Arbitraries.oneOf(Arbitraries.longs().between(0, 1L << 50).map(t -> ",\"time\":" + t),
        Arbitraries.of("", ",\"time\":\"x\"", ",\"time\":1.5e3", ",\"time\":-3", ",\"time\":", ",\"tim\":1",
            ",\"time\":" + "1".repeat(1001)));
    Arbitrary<String> end = Arbitraries.of("}", "} ", "}\t", "}\r", "}x", "}}", "", ",\"extra\":1}",
        ",\"step\":9}", "} {}");
    return Combinators.combine(step, value, time, end).as((s, v, t, e) -> ",\"step\":" + s + ",\"value\":" + v + t
        + e);
  }

  @Property(tries = 400)
  void anyTailReadsAsTheWholeParseReadsIt(@ForAll("tails") String first, @ForAll("tails") String second,
      @ForAll("tails") String third) {
    // the first good line teaches the reader its series; the others then take the short way where they can
    List<String> lines = List.of(START + ",\"step\":1,\"value\":2,\"time\":3}", START + first, START + second,
        START + third);
    assertEquals(read(lines, false), read(lines, true));
  }

  @Test
  void startsThatAreNotExactlyNameAndLabelsAreNotRemembered() {
    List<String> lines = new ArrayList<>();
    for (String start : List.of("{\"name\":\"a\",\"labels\":{\"k\":{\"x\":\"y\"}}",
        "{\"name\":\"a\",\"labels\":{\"k\":\"v\",\"step\":\"2\"}",
        "{\"name\":\"a\",\"labels\":{\"k\":\"v\"},\"extra\":1",
        "{\"name\":\"a\", \"labels\":{\"k\":\"v\"}",
        "{\"name\":\"a\",\"labels\":{\"k\":\"v\"},\"labels\":{\"k\":\"w\"}",
        "{\"name\":7,\"labels\":{}",
        "{\"name\":\"a\",\"labels\":[]",
        "{\"name\":\"a\\u0062\",\"labels\":{}")) {
      for (int step = 0; step < 3; step++) {
        lines.add(start + ",\"step\":" + step + ",\"value\":1.5,\"time\":4}");
        lines.add(start + ",\"step\":" + step + ",\"value\":1.5,\"time\":4");
      }
    }
    assertEquals(read(lines, false), read(lines, true));
  }

  @Test
  void aLineCutOffBeforeItsEndIsToldFromGarbage() {
    String whole = "{\"name\":\"splinewatch_training_loss\",\"labels\":{\"run\":\"r\"},\"step\":10,\"value\":0.5,"
        + "\"time\":1}";
    for (int cut = 1; cut < whole.length(); cut++) {
      org.junit.jupiter.api.Assertions.assertTrue(SampleLines.cutOff(whole.substring(0, cut)), whole.substring(0, cut));
    }
    for (String notCut : java.util.List.of(whole, "{\"name\":]", "garbage", "{\"a\":1}}", "[1,2]", "\"x\"",
        "{\"a\":1 x", "{\"a\":1x")) {
      org.junit.jupiter.api.Assertions.assertFalse(SampleLines.cutOff(notCut), notCut);
    }
  }
}
