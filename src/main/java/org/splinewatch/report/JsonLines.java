package org.splinewatch.report;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads a JSON-lines file (plain or {@code .gz}) one line at a time, decoding each line on its own: a line that is
 * not UTF-8 (a multi-byte character cut by a crash), longer than {@link #MAX_LINE} or, at the end, without its
 * newline and not a whole JSON value is skipped and named in {@code problems}; the lines around it still count.
 */
final class JsonLines {
  /** No line this project writes comes near this; a longer one is skipped. */
  static final int MAX_LINE = 1 << 20;

  /** Receives each decoded line; {@code last} is true for a final line that has no newline (possibly half-written). */
  interface Handler {
    void line(int number, String text, boolean last);
  }

  /**
   * A {@link Handler} that also takes a line cut inside a multi-byte character (a writer killed in the middle of
   * one): {@code text} is the line before that character, and the handler names it as a problem itself. Other
   * handlers get such a line named as not valid UTF-8, as any other.
   */
  interface CutCharacterHandler extends Handler {
    void cutCharacter(int number, String text, boolean last);
  }

  private JsonLines() {
  }

  /** Reads {@code file}; an unreadable file (or a broken gzip stream) is one problem, lines read until then count. */
  static int read(Path file, String label, Handler handler, List<String> problems) {
    try (InputStream raw = Files.newInputStream(file);
        InputStream in = new BufferedInputStream(file.getFileName().toString().endsWith(".gz")
            ? new GZIPInputStream(raw, 64 * 1024) : raw, 64 * 1024)) {
      return read(in, label, handler, problems);
    } catch (IOException e) {
      problems.add(label + " is unreadable after the lines read (" + e.getClass().getSimpleName() + ": "
          + String.valueOf(e.getMessage()).lines().findFirst().orElse("") + ")");
      return 0;
    }
  }

  /** Reads lines from {@code in}; returns how many there were (a final line without newline included). */
  static int read(InputStream in, String label, Handler handler, List<String> problems) throws IOException {
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteArrayOutputStream line = new ByteArrayOutputStream(512);
    byte[] buf = new byte[64 * 1024];
    int number = 0;
    boolean tooLong = false;
    while (true) {
      int n = in.read(buf);
      int from = 0;
      for (int i = newline(buf, 0, n); i >= 0; i = newline(buf, i + 1, n)) {
        number++;
        if (line.size() == 0 && !tooLong) { // the whole line is in buf: decoded from there, not copied first
          deliver(buf, from, i - from, number, false, label, utf8, handler, problems);
        } else {
          append(line, buf, from, i - from);
          tooLong |= line.size() > MAX_LINE;
          deliver(line, tooLong, number, false, label, utf8, handler, problems);
          line.reset();
          tooLong = false;
        }
        from = i + 1;
      }
      if (n < 0) {
        if (line.size() > 0 || tooLong) {
          deliver(line, tooLong, ++number, true, label, utf8, handler, problems);
        }
        return number;
      }
      if (!tooLong && line.size() + (n - from) > MAX_LINE) {
        tooLong = true; // keep counting the line's bytes out, but not in memory
        line.reset();
      } else if (!tooLong) {
        append(line, buf, from, n - from);
      }
    }
  }

  private static final VarHandle WORDS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;

  /**
   * The index of the first {@code '\n'} in {@code b[from, end)}, or -1; eight bytes at a time: a byte of
   * {@code w = word ^ 0x0A…0A} is zero where the newline is, and {@code (w - 0x01…01) & ~w & 0x80…80} flags the
   * first zero byte exactly (a borrow can only wrongly flag bytes above it).
   */
  static int newline(byte[] b, int from, int end) {
    int i = from;
    for (; i + Long.BYTES <= end; i += Long.BYTES) {
      long w = (long) WORDS.get(b, i) ^ (ONES * '\n');
      long zero = (w - ONES) & ~w & (ONES << 7);
      if (zero != 0) {
        return i + (Long.numberOfTrailingZeros(zero) >>> 3);
      }
    }
    for (; i < end; i++) {
      if (b[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private static void append(ByteArrayOutputStream line, byte[] buf, int from, int len) {
    if (len > 0) {
      line.write(buf, from, len);
    }
  }

  private static void deliver(ByteArrayOutputStream line, boolean tooLong, int number, boolean last, String label,
      CharsetDecoder utf8, Handler handler, List<String> problems) {
    if (tooLong) {
      problems.add(label + " line " + number + " is longer than " + MAX_LINE + " bytes");
      return;
    }
    byte[] bytes = line.toByteArray();
    deliver(bytes, 0, bytes.length, number, last, label, utf8, handler, problems);
  }

  private static void deliver(byte[] bytes, int from, int len, int number, boolean last, String label,
      CharsetDecoder utf8, Handler handler, List<String> problems) {
    int high = 0;
    for (int i = from; i < from + len; i++) {
      high |= bytes[i]; // negative once a byte is 0x80 or above
    }
    String text;
    if (high >= 0) { // every byte below 0x80 is valid UTF-8 and that character
      text = new String(bytes, from, len, StandardCharsets.ISO_8859_1);
    } else {
      try {
        text = utf8.decode(ByteBuffer.wrap(bytes, from, len)).toString();
      } catch (CharacterCodingException e) {
        int whole = withoutCutCharacter(bytes, from, len);
        if (whole >= 0 && handler instanceof CutCharacterHandler cut) {
          try {
            cut.cutCharacter(number, utf8.decode(ByteBuffer.wrap(bytes, from, whole)).toString(), last);
            return;
          } catch (CharacterCodingException before) {
            // not valid before the cut either: damage, not only a cut
          }
        }
        problems.add(label + " line " + number + (last ? " is half-written (not valid UTF-8)"
            : " is not valid UTF-8"));
        return;
      }
    }
    handler.line(number, text, last);
  }

  /**
   * The length of {@code b[from, from + len)} before an incomplete multi-byte UTF-8 character at its end (its lead
   * byte and fewer continuation bytes than the lead announces: a write cut inside the character), or -1 where it does
   * not end in one.
   */
  static int withoutCutCharacter(byte[] b, int from, int len) {
    for (int k = 1; k <= 3 && k <= len; k++) {
      int lead = b[from + len - k] & 0xFF;
      if (lead >= 0x80 && lead < 0xC0) {
        continue; // a continuation byte: the lead is further back
      }
      int size = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4
          ? 4 : 0;
      return size > k ? len - k : -1;
    }
    return -1;
  }
}
