package org.splinewatch.snapshot;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipInputStream;
import org.splinewatch.regions.Float32Underflow;
import org.splinewatch.regions.NpyHeader;

/**
 * A {@code .npz} archive received over the network, read with every size checked before it is trusted: at most
 * {@link Limits#maxEntries()} entries, {@link Limits#maxBytes()} uncompressed bytes in all (so a small compressed
 * body cannot inflate without bound), shapes multiplied with overflow checks, and data lengths that must match the
 * header exactly. Entries are {@code NAME.npy} arrays (numeric dtypes, C or Fortran order, widened to float32) or
 * {@code NAME.json} documents (kept as bytes). Anything else is a {@link FormatException}.
 */
public final class NpzArchive {
  /** What a body may hold at most. */
  public record Limits(long maxBytes, int maxEntries) {
  }

  /** A malformed or oversized archive; {@code tooLarge} marks a size limit (HTTP 413) as opposed to bad content. */
  public static class FormatException extends RuntimeException {
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
  /** Header bytes of one array at most: numpy writes a few hundred. */
  private static final int MAX_HEADER = 4096;
  private static final int MAX_DIMS = 8;
  /** The dtypes an array may have, as a refusal names them. */
  private static final String DTYPES = "a little-endian numeric dtype: <f2, <f4, <f8, <i2, <i4, <i8, <u2, <u4, <u8,"
      + " |i1, |u1 or |b1";
  private static final NpyHeader.Bounds BOUNDS = new NpyHeader.Bounds(MAX_HEADER, MAX_DIMS);

  private final Map<String, Array> arrays;
  private final Map<String, byte[]> documents;
  private final Map<String, String> warnings;

  private NpzArchive(Map<String, Array> arrays, Map<String, byte[]> documents, Map<String, String> warnings) {
    this.arrays = Collections.unmodifiableMap(arrays);
    this.documents = Collections.unmodifiableMap(documents);
    this.warnings = Collections.unmodifiableMap(warnings);
  }

  public Map<String, Array> arrays() {
    return arrays;
  }

  /** The array {@code name}, or null. */
  public Array array(String name) {
    return arrays.get(name);
  }

  /** The names of the {@code NAME.json} documents, in entry order. */
  public java.util.Set<String> documentNames() {
    return documents.keySet();
  }

  /** The bytes of {@code name.json}, or null. */
  public byte[] document(String name) {
    return documents.get(name);
  }

  /**
   * By array name, in entry order, the one-line warning of each {@code <f8} array with nonzero values that float32
   * rounded to 0 ({@link Float32Underflow}: "snapshot: array l0.weight: 2 nonzero values below float32's range read
   * as 0 (...)"); empty when none.
   */
  public Map<String, String> warnings() {
    return warnings;
  }

  /** Parses {@code body}; {@code what} names it in errors (e.g. "snapshot"). */
  public static NpzArchive read(byte[] body, Limits limits, String what) {
    Map<String, Array> arrays = new LinkedHashMap<>();
    Map<String, byte[]> documents = new LinkedHashMap<>();
    Map<String, String> warnings = new LinkedHashMap<>();
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
          Float32Underflow vanished = new Float32Underflow();
          arrays.put(name, parseNpy(what + ": array " + name, name, bytes, vanished));
          if (vanished.count() > 0) {
            warnings.put(name, vanished.warning(what + ": array " + name));
          }
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
    return new NpzArchive(arrays, documents, warnings);
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

  /**
   * Parses one {@code .npy} (versions 1 to 3, header by {@link NpyHeader} with at most {@value #MAX_HEADER} header
   * bytes and {@value #MAX_DIMS} dimensions) of a numeric little-endian dtype, in C order (Fortran-order data is
   * reordered).
   */
  static Array parseNpy(String where, String name, byte[] bytes) {
    return parseNpy(where, name, bytes, new Float32Underflow());
  }

  /** As above; {@code <f8} values that float32 rounds to 0 are counted in {@code vanished}. */
  static Array parseNpy(String where, String name, byte[] bytes, Float32Underflow vanished) {
    NpyHeader h;
    try {
      h = NpyHeader.read(new ByteArrayInputStream(bytes), BOUNDS);
    } catch (NpyHeader.Malformed e) {
      throw refusal(where, e);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayInputStream does not fail
    }
    int[] shape = h.shape();
    long count = h.count();
    String descr = h.descr();
    int elem = switch (descr) {
      case "<f4", "<i4", "<u4" -> 4;
      case "<f8", "<i8", "<u8" -> 8;
      case "<f2", "<i2", "<u2" -> 2;
      case "|u1", "|i1", "|b1" -> 1;
      default -> throw new FormatException(where + " has dtype " + descr + "; expected " + DTYPES);
    };
    long dataStart = h.dataOffset();
    long expected = h.dataBytes();
    if (bytes.length - dataStart != expected) {
      throw new FormatException(where + " has " + (bytes.length - dataStart) + " data bytes; expected " + expected
          + " for shape " + Arrays.toString(shape) + " and dtype " + descr);
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new FormatException(where + " has " + count + " values; too many", true);
    }
    float[] out = new float[(int) count];
    ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    bb.position((int) dataStart);
    boolean integral = descr.charAt(1) != 'f';
    for (int i = 0; i < out.length; i++) {
      double v = switch (descr) {
        case "<f4" -> bb.getFloat();
        case "<f8" -> bb.getDouble(); // a finite value beyond float32's range becomes infinite: refused as non-finite
        case "<i4" -> bb.getInt();
        case "<u4" -> bb.getInt() & 0xffffffffL;
        case "<f2" -> halfToFloat(bb.getShort());
        case "<i8" -> bb.getLong();
        case "<u8" -> unsigned(bb.getLong());
        case "<i2" -> bb.getShort();
        case "<u2" -> bb.getShort() & 0xffff;
        case "|i1" -> bb.get();
        default -> bb.get() & 0xff;
      };
      out[i] = vanished.round(v, i); // only a <f8 value can be nonzero and round to 0
    }
    return new Array(name, shape, h.fortranOrder() ? NpyHeader.toCOrder(out, shape) : out, integral);
  }

  /** The one-line error for a header {@link NpyHeader} refused; size overflows are too large (413). */
  private static FormatException refusal(String where, NpyHeader.Malformed e) {
    return switch (e.problem()) {
      case BAD_MAGIC -> new FormatException(where + " is not a .npy array (bad magic); expected \\x93NUMPY");
      case UNSUPPORTED_VERSION -> new FormatException(where + " has .npy version " + e.number()
          + "; expected 1, 2 or 3");
      case TRUNCATED_HEADER, HEADER_TOO_LONG -> new FormatException(e.number() < 0 ? where + " has a truncated header"
          : where + " has a header of " + e.number() + " bytes; expected at most " + MAX_HEADER + " within the entry");
      case UNREADABLE_HEADER -> new FormatException(where + " has an unreadable header; expected {'descr': ...,"
          + " 'shape': (...)}");
      case UNSUPPORTED_DTYPE -> new FormatException(where + " has dtype " + NpyHeader.printable(e.text())
          + "; expected " + DTYPES);
      case BAD_DIMENSION -> new FormatException(where + " has shape (" + shorten(NpyHeader.printable(e.text()))
          + "); expected non-negative dimensions below 2^31");
      case TOO_MANY_DIMENSIONS -> new FormatException(where + " has more than " + MAX_DIMS + " dimensions");
      case SIZE_OVERFLOW -> new FormatException(where + " has shape " + e.text() + " whose size overflows", true);
    };
  }

  /** The value of an IEEE 754 half-precision number (numpy's {@code float16}); float32 holds every one exactly. */
  static float halfToFloat(short bits) {
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) { // infinite or NaN (refused later as a non-finite value)
      return Float.intBitsToFloat(sign | 0x7f800000 | mantissa << 13);
    }
    if (exponent == 0) { // zero or subnormal: mantissa × 2^-24
      float magnitude = mantissa * 0x1p-24f;
      return sign == 0 ? magnitude : -magnitude;
    }
    return Float.intBitsToFloat(sign | (exponent + 127 - 15) << 23 | mantissa << 13);
  }

  /** {@code bits} read as an unsigned 64-bit integer. */
  private static double unsigned(long bits) {
    return bits >= 0 ? bits : ((bits >>> 1) | (bits & 1)) * 2.0; // halved with the low bit kept for rounding
  }

  private static String shorten(String s) {
    return s.length() > 60 ? s.substring(0, 60) + "…" : s;
  }
}
