package org.splinewatch.regions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The header of one {@code .npy} array (numpy's format, versions 1.0, 2.0 and 3.0), read from untrusted bytes with
 * every size checked before it is trusted: the magic {@code \x93NUMPY}, the version, the header length (2 bytes in
 * version 1, 4 in versions 2 and 3; at most {@link Bounds#maxHeaderBytes()}), then the header dictionary's
 * {@code 'descr'} (byte order, kind and item size), {@code 'fortran_order'} (either: numpy writes a transposed array
 * such as {@code W.T} in Fortran order, and {@code numpy.load} reads it back; {@link #toCOrder} reorders its data) and
 * {@code 'shape'} (at most {@link Bounds#maxDimensions()} non-negative dimensions below 2^31, whose element and byte
 * counts are multiplied with overflow checks).
 *
 * <p>The one parser of {@link NpzModel} (network files) and {@code snapshot.NpzArchive} (request bodies): each passes
 * its own bounds, decides which dtypes it accepts and turns a {@link Malformed} into its own one-line error from
 * {@link Malformed#problem()} and the values it carries.
 *
 * @param version the major version, 1 to 3
 * @param descr the dtype string as written, e.g. {@code <f4} or {@code |u1}
 * @param byteOrder big-endian for a {@code >} descr, little-endian for {@code <} and {@code |} (single bytes)
 * @param kind numpy's kind character: {@code f} float, {@code i} signed, {@code u} unsigned, {@code b} bool, ...
 * @param itemSize bytes per element
 * @param shape the dimensions in C order; empty for a scalar
 * @param count the number of elements (1 for a scalar)
 * @param dataOffset bytes from the start of the array to its data: the preamble and the header
 * @param dataBytes {@code count · itemSize}
 * @param fortranOrder {@code 'fortran_order': True}: the data lists the first index fastest ({@link #toCOrder})
 */
public record NpyHeader(int version, String descr, ByteOrder byteOrder, char kind, int itemSize, int[] shape,
    long count, long dataOffset, long dataBytes, boolean fortranOrder) {

  /** What a caller allows at most: header bytes (after the preamble) and dimensions. */
  public record Bounds(int maxHeaderBytes, int maxDimensions) {
    public Bounds {
      if (maxHeaderBytes < 1 || maxDimensions < 0) {
        throw new IllegalArgumentException("npy bounds " + maxHeaderBytes + " header bytes, " + maxDimensions
            + " dimensions; expected at least 1 and 0");
      }
    }
  }

  /** Why a header was refused. */
  public enum Problem {
    /** Fewer than 10 bytes, or no {@code \x93NUMPY}. */
    BAD_MAGIC,
    /** A major version other than 1, 2, 3: {@link Malformed#number()} is it. */
    UNSUPPORTED_VERSION,
    /** The bytes end inside the header: {@link Malformed#number()} is the declared length, -1 if cut before it. */
    TRUNCATED_HEADER,
    /** A declared header length above {@link Bounds#maxHeaderBytes()}: {@link Malformed#number()} is it. */
    HEADER_TOO_LONG,
    /** No {@code 'descr'} or no {@code 'shape'}: {@link Malformed#text()} is the header text. */
    UNREADABLE_HEADER,
    /** A descr that is not byte order, kind and item size: {@link Malformed#text()} is it. */
    UNSUPPORTED_DTYPE,
    /**
     * A dimension that is not a non-negative integer below 2^31: {@link Malformed#text()} is the shape text,
     * {@link Malformed#number()} the dimension where it is an integer (negative or too large), else null.
     */
    BAD_DIMENSION,
    /** More than {@link Bounds#maxDimensions()} dimensions: {@link Malformed#number()} is how many. */
    TOO_MANY_DIMENSIONS,
    /** The element or byte count overflows a long: {@link Malformed#text()} is the shape as {@code [a, b, ...]}. */
    SIZE_OVERFLOW
  }

  /** A refused header; callers word the message ({@link #getMessage()} is a generic one-line description). */
  public static final class Malformed extends RuntimeException {
    private final Problem problem;
    private final Long number;
    private final String text;

    Malformed(Problem problem, Long number, String text) {
      super(problem + (number == null ? "" : " " + number) + (text == null ? "" : " " + printable(text)),
          null, false, false);
      this.problem = problem;
      this.number = number;
      this.text = text;
    }

    public Problem problem() {
      return problem;
    }

    /** The number the {@link Problem} names, or null. */
    public Long number() {
      return number;
    }

    /** The text from the header the {@link Problem} names (unescaped: callers make it printable), or null. */
    public String text() {
      return text;
    }
  }

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
  /** Byte order, kind, item size: numpy's simple dtypes ({@code <f4}, {@code >i8}, {@code |u1}, {@code <c16}). */
  private static final Pattern DTYPE = Pattern.compile("([<>|])([biufc])(\\d{1,3})");

  /**
   * Reads the preamble and the header from {@code in}, leaving it at the first data byte ({@link #dataOffset()} bytes
   * read); reads nothing beyond what the preamble declares, and at most {@code bounds.maxHeaderBytes()} header bytes.
   *
   * @throws Malformed when the header is refused
   * @throws IOException when {@code in} fails
   */
  public static NpyHeader read(InputStream in, Bounds bounds) throws IOException {
    byte[] pre = in.readNBytes(10);
    if (pre.length < 10 || !Arrays.equals(pre, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new Malformed(Problem.BAD_MAGIC, null, null);
    }
    int major = pre[6];
    long headerLength;
    int preamble;
    if (major == 1) {
      headerLength = ByteBuffer.wrap(pre, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
      preamble = 10;
    } else if (major == 2 || major == 3) {
      byte[] two = in.readNBytes(2);
      if (two.length < 2) {
        throw new Malformed(Problem.TRUNCATED_HEADER, -1L, null);
      }
      headerLength = ByteBuffer.wrap(new byte[] {pre[8], pre[9], two[0], two[1]}).order(ByteOrder.LITTLE_ENDIAN)
          .getInt() & 0xffffffffL;
      preamble = 12;
    } else {
      throw new Malformed(Problem.UNSUPPORTED_VERSION, (long) major, null);
    }
    if (headerLength > bounds.maxHeaderBytes()) {
      throw new Malformed(Problem.HEADER_TOO_LONG, headerLength, null);
    }
    byte[] headerBytes = in.readNBytes((int) headerLength);
    if (headerBytes.length < headerLength) {
      throw new Malformed(Problem.TRUNCATED_HEADER, headerLength, null);
    }
    // version 3 allows UTF-8 in the header (field names); 1 and 2 are latin-1
    String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    return parse(header, major, preamble + headerLength, bounds);
  }

  /** The header dictionary {@code header} of a version-{@code major} array whose data starts at {@code dataOffset}. */
  static NpyHeader parse(String header, int major, long dataOffset, Bounds bounds) {
    Matcher d = DESCR.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !s.find()) {
      throw new Malformed(Problem.UNREADABLE_HEADER, null, header);
    }
    Matcher f = FORTRAN.matcher(header);
    boolean fortran = f.find() && f.group(1).equals("True");
    String descr = d.group(1);
    Matcher t = DTYPE.matcher(descr);
    if (!t.matches() || Integer.parseInt(t.group(3)) == 0) {
      throw new Malformed(Problem.UNSUPPORTED_DTYPE, null, descr);
    }
    ByteOrder order = t.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
    int itemSize = Integer.parseInt(t.group(3));
    int[] shape = shape(s.group(1), bounds.maxDimensions());
    long count = 1;
    long dataBytes;
    try {
      for (int dim : shape) {
        count = Math.multiplyExact(count, dim);
      }
      dataBytes = Math.multiplyExact(count, itemSize);
    } catch (ArithmeticException e) {
      throw new Malformed(Problem.SIZE_OVERFLOW, null, Arrays.toString(shape));
    }
    return new NpyHeader(major, descr, order, t.group(2).charAt(0), itemSize, shape, count, dataOffset, dataBytes,
        fortran);
  }

  /**
   * The values of an array of {@code shape} stored in Fortran order (the first index varying fastest), in C order
   * (the last index fastest), as every reader here indexes them: element {@code (i_0, …, i_{k−1})} is at
   * {@code i_0 + d_0·(i_1 + d_1·(i_2 + …))} in {@code values}. One or no dimension needs no reordering.
   */
  public static float[] toCOrder(float[] values, int[] shape) {
    int k = shape.length;
    if (k < 2 || values.length == 0) {
      return values;
    }
    long[] stride = new long[k]; // Fortran strides, in elements
    stride[0] = 1;
    for (int j = 1; j < k; j++) {
      stride[j] = stride[j - 1] * shape[j - 1];
    }
    float[] out = new float[values.length];
    int[] index = new int[k];
    long offset = 0;
    for (int c = 0; c < out.length; c++) {
      out[c] = values[(int) offset];
      int j = k - 1; // the odometer of C order: the last index first
      index[j]++;
      offset += stride[j];
      while (j > 0 && index[j] == shape[j]) {
        offset -= stride[j] * shape[j];
        index[j] = 0;
        j--;
        index[j]++;
        offset += stride[j];
      }
    }
    return out;
  }

  /**
   * The dimensions of a shape tuple's inside, as Python writes it: {@code ""} (scalar), {@code "3,"}, {@code "2, 3"};
   * a trailing comma is allowed, an empty dimension elsewhere is not.
   */
  private static int[] shape(String tuple, int maxDimensions) {
    String[] parts = tuple.split(",", -1);
    int[] shape = new int[parts.length];
    int n = 0;
    for (int i = 0; i < parts.length; i++) {
      String token = parts[i].trim();
      if (token.isEmpty() && i == parts.length - 1) {
        continue; // "3," or ""
      }
      if (!token.matches("-?\\d{1,18}")) {
        throw new Malformed(Problem.BAD_DIMENSION, null, tuple);
      }
      long dim = Long.parseLong(token);
      if (dim < 0 || dim > Integer.MAX_VALUE) {
        throw new Malformed(Problem.BAD_DIMENSION, dim, tuple);
      }
      shape[n++] = (int) dim;
    }
    if (n > maxDimensions) {
      throw new Malformed(Problem.TOO_MANY_DIMENSIONS, (long) n, null);
    }
    return Arrays.copyOf(shape, n);
  }

  /** Control and line-separator characters as '?': text from a header quoted in a one-line error. */
  public static String printable(String s) {
    return s.codePoints()
        .map(c -> Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
            || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
  }

  /** The bytes of a {@code .npy} preamble and header for {@code descr} and {@code shape} (tests, writers). */
  public static byte[] encode(int version, String descr, boolean fortranOrder, int... shape) {
    String dims = shape.length == 1 ? shape[0] + "," : String.join(", ",
        Arrays.stream(shape).mapToObj(Integer::toString).toArray(String[]::new));
    String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortranOrder ? "True" : "False") + ", 'shape': ("
        + dims + "), }";
    int preamble = version == 1 ? 10 : 12;
    // numpy pads with spaces and a final newline so that the data starts at a multiple of 64 bytes
    int pad = (64 - (preamble + dict.length() + 1) % 64) % 64;
    byte[] h = (dict + " ".repeat(pad) + "\n").getBytes(version == 3 ? StandardCharsets.UTF_8
        : StandardCharsets.ISO_8859_1);
    ByteBuffer bb = ByteBuffer.allocate(preamble + h.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(MAGIC).put((byte) version).put((byte) 0);
    if (version == 1) {
      bb.putShort((short) h.length);
    } else {
      bb.putInt(h.length);
    }
    return bb.put(h).array();
  }
}
