package org.splinewatch.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link JsonLines} finds newlines eight bytes at a time and decodes a line in place when it lies in one read: the
 * lines, their numbers and the problems must be those of splitting the bytes at every newline and decoding each piece
 * on its own, whatever the bytes and however the stream hands them out.
 */
class JsonLinesTest {
  private static final byte[][] PIECES = {"{\"name\":\"a\",\"value\":1}".getBytes(StandardCharsets.UTF_8),
      "é€😀".getBytes(StandardCharsets.UTF_8), {(byte) 0xC3}, {(byte) 0xFF, (byte) 0x80}, {'\n'}, {'\n', '\n'},
      {'\r', '\n'}, {0x0A - 1, 0x0A + 1, (byte) 0x8A}, "x".repeat(70_000).getBytes(StandardCharsets.UTF_8)};

  /** Hands out at most a random number of bytes a read, as a pipe or a slow disk can. */
  private static InputStream choppy(byte[] bytes, Random random) {
    return new InputStream() {
      private int at;

      @Override
      public int read() {
        return at < bytes.length ? bytes[at++] & 0xFF : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (at >= bytes.length) {
          return -1;
        }
        int n = Math.min(Math.min(len, bytes.length - at), 1 + random.nextInt(random.nextBoolean() ? 9 : 90_000));
        System.arraycopy(bytes, at, b, off, n);
        at += n;
        return n;
      }
    };
  }

  private static String viaJsonLines(byte[] bytes, Random random) throws IOException {
    List<String> out = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    int n = JsonLines.read(choppy(bytes, random), "f", (number, text, last) -> out.add(number + (last ? "$" : ":")
        + text), problems);
    return n + " " + out + " " + problems;
  }

  private static String reference(byte[] bytes) {
    List<String> out = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    int number = 0;
    int from = 0;
    for (int i = 0; i <= bytes.length; i++) {
      boolean end = i == bytes.length;
      if (!end && bytes[i] != '\n') {
        continue;
      }
      if (end && i == from) {
        break;
      }
      number++;
      byte[] line = Arrays.copyOfRange(bytes, from, i);
      if (line.length > JsonLines.MAX_LINE) {
        problems.add("f line " + number + " is longer than " + JsonLines.MAX_LINE + " bytes");
      } else {
        try {
          out.add(number + (end ? "$" : ":") + StandardCharsets.UTF_8.newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(line)));
        } catch (CharacterCodingException e) {
          problems.add("f line " + number + (end ? " is half-written (not valid UTF-8)" : " is not valid UTF-8"));
        }
      }
      from = i + 1;
    }
    return number + " " + out + " " + problems;
  }

  @Property(tries = 300)
  void linesAreThoseOfSplittingAtEveryNewline(@ForAll long seed, @ForAll @IntRange(min = 0, max = 60) int pieces)
      throws IOException {
    Random random = new Random(seed);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < pieces; i++) {
      byte[] piece = PIECES[random.nextInt(PIECES.length)];
      bytes.write(piece, 0, random.nextInt(3) == 0 ? random.nextInt(piece.length + 1) : piece.length);
    }
    if (random.nextInt(20) == 0) {
      bytes.write(new byte[JsonLines.MAX_LINE + 1 + random.nextInt(5)], 0, JsonLines.MAX_LINE + 1);
    }
    assertEquals(reference(bytes.toByteArray()), viaJsonLines(bytes.toByteArray(), random));
  }
}
