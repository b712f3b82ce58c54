package org.splinewatch.report;

import com.fasterxml.jackson.core.io.NumberInput;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import org.splinewatch.report.RunData.Series;

/**
 * Adds {@code metrics.jsonl} lines to a run's series. A line as the trainer writes it, {@code {"name":N,"labels":{…},
 * "step":S,"value":V,"time":T}}, starts with the same text for every sample of its series; once a line has been parsed
 * whole, that start (when it is exactly the name and the labels object, re-serialised) names its series, and the next
 * lines that start so have only their three numbers read, with a strict grammar. Anything else (a field order of its
 * own, a negative step, a value the grammar does not take) is parsed whole as before, so a line reads the same either
 * way. A million-step run's metrics.jsonl (2.6 million lines, 0.5 GB) was 15 s of JSON trees, most of the live page's
 * first answer.
 */
final class SampleLines {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String STEP = ",\"step\":";

  private final Map<String, Series> series;
  private final long[] order;
  /** A series' line start, {@code {"name":N,"labels":{…}}, and its points. */
  private final Map<String, Points> byStart = new HashMap<>();
  /** Lines read by their numbers only. */
  private long numbersOnly;
  /** Lines cut off before their end ({@link Torn}), in the order read. */
  private final List<Torn> torn = new java.util.ArrayList<>();
  /** The {@link #torn} line waiting for the time of the sample after it, or -1. */
  private int awaiting = -1;
  /** The step and time of the last sample added. */
  private long lastStep = -1;
  private double lastTime = Double.NaN;

  /**
   * A line that ends before its JSON value does (a writer killed while it wrote it): its file, its line number, the
   * step its text still shows (-1 where the cut came before it), the step and time of the whole sample written before
   * it and after it (-1 and NaN where there is none), and whether it was the last line read.
   */
  record Torn(String label, int line, long step, long stepBefore, double timeBefore, double timeAfter, boolean last,
      String problem) {
    Torn followed(double after) {
      return new Torn(label, line, step, stepBefore, timeBefore, after, false, problem);
    }
  }

  /** Adds to {@code series}, numbering samples with {@code order[0]++} (shared with the caller). */
  SampleLines(Map<String, Series> series, long[] order) {
    this.series = series;
    this.order = order;
  }

  /**
   * What reads the lines of {@code label} (a file) into this: {@link #add} for each line, numbered from {@code base}
   * + 1, and {@link #addCutCharacter} for one cut inside a multi-byte character.
   */
  JsonLines.Handler reader(String label, int base, List<String> problems) {
    return new JsonLines.CutCharacterHandler() {
      @Override
      public void line(int number, String text, boolean last) {
        add(label, base + number, text, last, problems);
      }

      @Override
      public void cutCharacter(int number, String text, boolean last) {
        addCutCharacter(label, base + number, text, last, problems);
      }
    };
  }

  /**
   * A line cut inside a multi-byte character, {@code before} being its text before that character: named as not
   * valid UTF-8, and, where that text is the start of a sample cut off ({@link #cutOff}), a {@link Torn} line as one
   * cut elsewhere is, for a crash to explain. Any other line that is not UTF-8 is damage.
   */
  void addCutCharacter(String label, int lineNo, String before, boolean last, List<String> problems) {
    followedBy(before);
    problems.add(label + " line " + lineNo + (last ? " is half-written (not valid UTF-8)" : " is not valid UTF-8"));
    if (cutOff(before)) {
      torn(label, lineNo, before, label + " line " + lineNo + " is not valid UTF-8");
    }
  }

  /** Marks the last {@link Torn} line as followed by another where {@code line} is not blank. */
  private void followedBy(String line) {
    int n = torn.size();
    if (n > 0 && torn.get(n - 1).last() && !line.isBlank()) {
      torn.set(n - 1, torn.get(n - 1).followed(torn.get(n - 1).timeAfter()));
    }
  }

  /** Notes a line cut off; {@code problem} is what names it when it has a newline (a crash may explain it). */
  private void torn(String label, int lineNo, String line, String problem) {
    Matcher step = TORN_STEP.matcher(line);
    torn.add(new Torn(label, lineNo, step.find() ? Long.parseLong(step.group(1)) : -1, lastStep, lastTime,
        Double.NaN, true, problem));
    awaiting = torn.size() - 1;
  }

  /** Adds one line of {@code label} (a file); a bad line is a problem. */
  void add(String label, int lineNo, String line, boolean last, List<String> problems) {
    followedBy(line);
    int cut = line.startsWith("{\"name\":") ? line.indexOf(STEP) : -1;
    if (cut > 0) {
      Points points = byStart.get(line.substring(0, cut));
      if (points != null && tail(line, cut + STEP.length(), points)) {
        numbersOnly++;
        return;
      }
    }
    if (line.isBlank()) {
      return;
    }
    try {
      JsonNode j = JSON.readTree(line);
      String name = j.get("name").asText();
      Map<String, String> all = new HashMap<>();
      j.path("labels").fields().forEachRemaining(e -> all.put(e.getKey(), e.getValue().asText()));
      Map<String, String> labels = RunData.ownLabels(all);
      if (!j.get("step").isIntegralNumber()) { // asLong() would read "abc" or true as step 0
        throw new IllegalArgumentException("step is not an integer");
      }
      long step = j.get("step").asLong();
      JsonNode v = j.get("value");
      Double nonFinite = v.isTextual() ? nonFinite(v.asText()) : null;
      if (!v.isNumber() && nonFinite == null) {
        throw new IllegalArgumentException("value is not a number");
      }
      double value = v.isNumber() ? v.asDouble() : nonFinite;
      if (step < 0) {
        return; // counters logged without a step
      }
      String key = RunData.seriesKey(name, labels);
      // the order (as written) tells a resumed run's samples from those of the trajectory it abandoned
      Points points = (Points) series.computeIfAbsent(key, k -> new Series(name, labels, new Points())).points();
      double time = j.path("time").isNumber() ? j.path("time").asDouble() : Double.NaN;
      points.add(step, value, time, order[0]++);
      added(step, time);
      if (cut > 0 && isStartOf(j, line, cut)) {
        byStart.put(line.substring(0, cut), points);
      }
    } catch (Exception e) {
      problems.add(label + " line " + lineNo + (last ? " is half-written" : " is malformed"));
      if (cutOff(line)) {
        torn(label, lineNo, line, label + " line " + lineNo + " is malformed");
      }
    }
  }

  private static final java.util.regex.Pattern TORN_STEP = java.util.regex.Pattern.compile(",\"step\":(\\d{1,18})[,}]");

  /**
   * Whether {@code line} is the start of a JSON value cut off before its end: its tokens are well-formed up to the
   * end of the text, which comes inside an object or array (or inside a token): the parser's error, if any, is at the
   * end. Garbage, or a whole value of the wrong shape, is not.
   */
  static boolean cutOff(String line) {
    // a number cut after its decimal point is refused at the point, not at the end
    return endsInside(line) || line.endsWith(".") && endsInside(line + "0");
  }

  private static boolean endsInside(String line) {
    try (com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(line)) {
      while (p.nextToken() != null) {
        // every token up to the end
      }
      return !p.getParsingContext().inRoot();
    } catch (com.fasterxml.jackson.core.io.JsonEOFException e) {
      return true;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) { // "end-of-input within/between Object entries"
      return e.getLocation() != null && e.getLocation().getCharOffset() >= line.length();
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** The lines read so far that were cut off before their end, with the sample written after each where there is. */
  List<Torn> torn() {
    return List.copyOf(torn);
  }

  /** Notes a sample added: the step and time that a cut-off line before it is placed by. */
  private void added(long step, double time) {
    lastStep = step;
    lastTime = time;
    if (awaiting >= 0) {
      torn.set(awaiting, torn.get(awaiting).followed(time));
      awaiting = -1;
    }
  }

  /** How many lines were read by their numbers only (tests). */
  long numbersOnly() {
    return numbersOnly;
  }

  /** Whether {@code line}'s first {@code cut} characters are exactly its name and labels fields, labels all text. */
  private static boolean isStartOf(JsonNode j, String line, int cut) {
    JsonNode labels = j.get("labels");
    if (j.size() < 3 || labels == null || !labels.isObject() || !j.get("name").isTextual()) {
      return false;
    }
    for (JsonNode v : labels) {
      if (!v.isTextual()) {
        return false;
      }
    }
    String start = "{\"name\":" + j.get("name") + ",\"labels\":" + labels;
    return start.length() == cut && line.startsWith(start);
  }

  /**
   * Reads {@code S,"value":V[,"time":T]}} (then only blanks) from {@code at} and adds the sample; false, adding
   * nothing, where the text is anything else (the whole line is then parsed as JSON). S is a non-negative JSON
   * integer of at most 18 digits; V a JSON number or one of the strings the whole parse takes; T a JSON number.
   */
  private boolean tail(String s, int at, Points points) {
    int[] pos = {at};
    long step = 0;
    int digits = integerEnd(s, at) - at;
    if (digits < 1 || digits > 18 || (digits > 1 && s.charAt(at) == '0')) {
      return false;
    }
    for (int i = at; i < at + digits; i++) {
      step = step * 10 + (s.charAt(i) - '0');
    }
    pos[0] = at + digits;
    if (!s.startsWith(",\"value\":", pos[0])) {
      return false;
    }
    pos[0] += 9;
    double value;
    if (pos[0] < s.length() && s.charAt(pos[0]) == '"') {
      int close = s.indexOf('"', pos[0] + 1);
      if (close < 0) {
        return false;
      }
      Double nonFinite = nonFinite(s.substring(pos[0] + 1, close));
      if (nonFinite == null) {
        return false;
      }
      value = nonFinite;
      pos[0] = close + 1;
    } else {
      value = number(s, pos);
      if (pos[0] < 0) {
        return false;
      }
    }
    double time = Double.NaN;
    if (s.startsWith(",\"time\":", pos[0])) {
      pos[0] += 8;
      time = number(s, pos);
      if (pos[0] < 0) {
        return false;
      }
    }
    if (pos[0] >= s.length() || s.charAt(pos[0]) != '}') {
      return false;
    }
    for (int i = pos[0] + 1; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != ' ' && c != '\t' && c != '\r') {
        return false;
      }
    }
    points.add(step, value, time, order[0]++);
    added(step, time);
    return true;
  }

  /**
   * The value a string stands for: RunLog writes a non-finite value as {@code String.valueOf(double)} ("NaN",
   * "Infinity", "-Infinity"), Prometheus as "+Inf"/"-Inf"; null for any other string.
   */
  private static Double nonFinite(String text) {
    return switch (text) {
      case "Infinity", "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Infinity", "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> null;
    };
  }

  /** The end of the digits from {@code i}. */
  private static int integerEnd(String s, int i) {
    while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
      i++;
    }
    return i;
  }

  /**
   * A JSON number ({@code -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?}) from {@code pos[0]}, which moves past it;
   * {@code pos[0]} is -1 where there is none.
   */
  private static double number(String s, int[] pos) {
    int from = pos[0];
    int i = from;
    if (i < s.length() && s.charAt(i) == '-') {
      i++;
    }
    int end = integerEnd(s, i);
    if (end == i || (end - i > 1 && s.charAt(i) == '0')) {
      pos[0] = -1;
      return Double.NaN;
    }
    i = end;
    if (i < s.length() && s.charAt(i) == '.') {
      end = integerEnd(s, i + 1);
      if (end == i + 1) {
        pos[0] = -1;
        return Double.NaN;
      }
      i = end;
    }
    if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
      i++;
      if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
        i++;
      }
      end = integerEnd(s, i);
      if (end == i) {
        pos[0] = -1;
        return Double.NaN;
      }
      i = end;
    }
    if (i - from > 64) { // the whole parse refuses numbers of over 1,000 characters (Jackson's default limit)
      pos[0] = -1;
      return Double.NaN;
    }
    pos[0] = i;
    if (i - from == 2 && s.charAt(from) == '-' && s.charAt(from + 1) == '0') {
      return 0.0; // an integer: the whole parse reads -0 as the int 0, not as the double -0.0
    }
    return NumberInput.parseDouble(s.substring(from, i), true); // FastDoubleParser: the same double, faster
  }
}
