package org.splinewatch.snapshot;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;

/**
 * A {@code .npz} archive received over the network, read with every size checked before it is trusted: at most
 * {@link Limits#maxEntries()} entries, {@link Limits#maxBytes()} uncompressed bytes in all (so a small compressed
 * body cannot inflate without bound), shapes multiplied with overflow checks, and data lengths that must match the
 * header exactly. Entries are {@code NAME.npy} arrays (numeric dtypes, C order, widened to float32) or
 * {@code NAME.json} documents (kept as bytes). Anything else is a {@link FormatException}.
 */
public final class NpzArchive {
  /** What a body may hold at most. */
  public record Limits(long maxBytes, int maxEntries) {
  }

  /** A malformed or oversized archive; {@code tooLarge} marks a size limit (HTTP 413) as opposed to bad content. */
  public static final class FormatException extends RuntimeException {
    private final boolean tooLarge;

    public FormatException(String message, boolean tooLarge) {
      super(message);
      this.tooLarge = tooLarge;
    }

    public FormatException(String message) {
      this(message, false);
    }

    public boolean tooLarge() {
      return tooLarge;
    }
  }

  /** One array: its shape and its values in C order (integer dtypes are exact in float32 up to 2^24). */
  public record Array(String name, int[] shape, float[] values, boolean integral) {
    public long size() {
      return values.length;
    }

    @Override
    public String toString() {
      return name + Arrays.toString(shape);
    }
  }

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
  private static final int MAX_HEADER = 4096;
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final int MAX_DIMS = 8;

  private final Map<String, Array> arrays;
  private final Map<String, byte[]> documents;

  private NpzArchive(Map<String, Array> arrays, Map<String, byte[]> documents) {
    this.arrays = Collections.unmodifiableMap(arrays);
    this.documents = Collections.unmodifiableMap(documents);
  }

  public Map<String, Array> arrays() {
    return arrays;
  }

  /** The array {@code name}, or null. */
  public Array array(String name) {
    return arrays.get(name);
  }

  /** The bytes of {@code name.json}, or null. */
  public byte[] document(String name) {
    return documents.get(name);
  }

  /** Parses {@code body}; {@code what} names it in errors (e.g. "snapshot"). */
  public static NpzArchive read(byte[] body, Limits limits, String what) {
    Map<String, Array> arrays = new LinkedHashMap<>();
    Map<String, byte[]> documents = new LinkedHashMap<>();
    long total = 0;
    int entries = 0;
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(body))) {
      ZipEntry e;
      while ((e = zip.getNextEntry()) != null) {
        if (++entries > limits.maxEntries()) {
          throw new FormatException(what + " has more than " + limits.maxEntries() + " entries; expected at most that"
              + " many arrays", true);
        }
        String entry = e.getName();
        boolean npy = entry.endsWith(".npy");
        boolean json = entry.endsWith(".json");
        String name = npy || json ? entry.substring(0, entry.length() - (npy ? 4 : 5)) : entry;
        if (e.isDirectory() || !(npy || json) || !NAME.matcher(name).matches()) {
          throw new FormatException(what + " has an entry '" + shorten(entry) + "'; expected NAME.npy arrays (and"
              + " NAME.json documents) with names of letters, digits, '.', '_' and '-'");
        }
        if (arrays.containsKey(name) || documents.containsKey(name)) {
          throw new FormatException(what + " has two entries named " + name + "; expected each name once");
        }
        byte[] bytes = readCapped(zip, limits.maxBytes() - total, what, limits.maxBytes());
        total += bytes.length;
        if (npy) {
          arrays.put(name, parseNpy(what + ": array " + name, name, bytes));
        } else {
          documents.put(name, bytes);
        }
      }
    } catch (ZipException ex) {
      throw new FormatException(what + " is not a .npz (zip) archive (" + ex.getMessage()
          + "); expected numpy.savez output");
    } catch (IOException ex) {
      throw new FormatException(what + " cannot be read (" + ex.getMessage() + "); expected numpy.savez output");
    }
    if (entries == 0) {
      throw new FormatException(what + " is empty or not a .npz (zip) archive; expected numpy.savez output");
    }
    return new NpzArchive(arrays, documents);
  }

  /** Reads the current entry, failing as soon as more than {@code budget} bytes come out (zip bombs included). */
  private static byte[] readCapped(InputStream in, long budget, String what, long limit) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    long got = 0;
    int n;
    while ((n = in.read(buf)) > 0) {
      got += n;
      if (got > budget) {
        throw new FormatException(what + " unpacks to more than " + limit + " bytes, its limit (splinewatch.ingest"
            + ".max-run-bytes, max-snapshot-bytes); expected a smaller body", true);
      }
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  /** Parses one {@code .npy} (versions 1 to 3) of a numeric little-endian dtype in C order. */
  static Array parseNpy(String where, String name, byte[] bytes) {
    if (bytes.length < 10 || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new FormatException(where + " is not a .npy array (bad magic); expected \\x93NUMPY");
    }
    // version 1 has a 2-byte header length, versions 2 and 3 a 4-byte one (3: UTF-8 header text)
    int major = bytes[6];
    int lengthBytes = major == 1 ? 2 : major == 2 || major == 3 ? 4 : 0;
    if (lengthBytes == 0 || bytes.length < 8 + lengthBytes) {
      throw new FormatException(where + " has .npy version " + major + "; expected 1, 2 or 3");
    }
    ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long headerLen = lengthBytes == 2 ? bb.getShort(8) & 0xffff : bb.getInt(8) & 0xffffffffL;
    int start = 8 + lengthBytes;
    if (headerLen > MAX_HEADER || start + headerLen > bytes.length) {
      throw new FormatException(where + " has a header of " + headerLen + " bytes; expected at most " + MAX_HEADER
          + " within the entry");
    }
    String header = new String(bytes, start, (int) headerLen, StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !s.find()) {
      throw new FormatException(where + " has an unreadable header; expected {'descr': ..., 'shape': (...)}");
    }
    if (f.find() && f.group(1).equals("True")) {
      throw new FormatException(where + " is in Fortran order; expected C order (numpy.ascontiguousarray)");
    }
    String[] dims = s.group(1).split(",");
    int[] shape = new int[0];
    long count = 1;
    for (String dim : dims) {
      String t = dim.trim();
      if (t.isEmpty()) {
        continue;
      }
      if (!t.matches("\\d{1,10}") || Long.parseLong(t) > Integer.MAX_VALUE) {
        throw new FormatException(where + " has shape (" + shorten(s.group(1)) + "); expected non-negative"
            + " dimensions below 2^31");
      }
      if (shape.length == MAX_DIMS) {
        throw new FormatException(where + " has more than " + MAX_DIMS + " dimensions");
      }
      shape = Arrays.copyOf(shape, shape.length + 1);
      shape[shape.length - 1] = Integer.parseInt(t);
      try {
        count = Math.multiplyExact(count, shape[shape.length - 1]);
      } catch (ArithmeticException e) {
        throw new FormatException(where + " has shape " + Arrays.toString(shape) + " whose size overflows", true);
      }
    }
    String descr = d.group(1);
    int elem = switch (descr) {
      case "<f4", "<i4", "<u4" -> 4;
      case "<f8", "<i8", "<u8" -> 8;
      case "<i2", "<u2" -> 2;
      case "|u1", "|i1", "|b1" -> 1;
      default -> throw new FormatException(where + " has dtype " + descr + "; expected a little-endian numeric dtype"
          + " such as <f4, <f8, <i8 or |u1");
    };
    long dataStart = start + headerLen;
    long expected;
    try {
      expected = Math.multiplyExact(count, elem);
    } catch (ArithmeticException e) {
      throw new FormatException(where + " is too large", true);
    }
    if (bytes.length - dataStart != expected) {
      throw new FormatException(where + " has " + (bytes.length - dataStart) + " data bytes; expected " + expected
          + " for shape " + Arrays.toString(shape) + " and dtype " + descr);
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new FormatException(where + " has " + count + " values; too many", true);
    }
    float[] out = new float[(int) count];
    bb.position((int) dataStart);
    boolean integral = descr.charAt(1) != 'f';
    for (int i = 0; i < out.length; i++) {
      double v = switch (descr) {
        case "<f4" -> bb.getFloat();
        case "<f8" -> bb.getDouble();
        case "<i4" -> bb.getInt();
        case "<u4" -> bb.getInt() & 0xffffffffL;
        case "<i8", "<u8" -> bb.getLong();
        case "<i2" -> bb.getShort();
        case "<u2" -> bb.getShort() & 0xffff;
        case "|i1" -> bb.get();
        default -> bb.get() & 0xff;
      };
      out[i] = (float) v;
    }
    return new Array(name, shape, out, integral);
  }

  private static String shorten(String s) {
    return s.length() > 60 ? s.substring(0, 60) + "…" : s;
  }
}
