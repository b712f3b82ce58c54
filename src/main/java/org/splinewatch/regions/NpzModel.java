package org.splinewatch.regions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A fully connected ReLU network and its plane read from a {@code .npz} file in the benchmark format
 * ({@code shared/benchmarks/regions/FORMAT.md}): {@code W0..W{L-1}} of shape {@code (in, out)}, {@code b0..b{L-1}},
 * and {@code origin}, {@code u}, {@code v}; ReLU after every layer but the last; plane {@code o + a·u + b·v} on
 * {@code [-1,1]²}. Networks trained in PyTorch or JAX can be exported this way with {@code numpy.savez}.
 *
 * <p>Over 300 lines because it validates every entry of an untrusted .npz (shapes, dtypes, sizes) with a one-line
 * error each.
 */
public record NpzModel(PiecewiseLinearNet net, Plane plane, int[] widths, double[] origin, double[] u, double[] v) {

  /** The same network on the plane with {@code u} and {@code v} exchanged: the mirrored partition (benchmarks). */
  public NpzModel withPlaneAxesSwapped() {
    return new NpzModel(net, Plane.explicit(origin, v, u), widths, origin, v, u);
  }


  /** A malformed model file; the message names the file and what was wrong. */
  public static final class ModelFileException extends RuntimeException {
    public ModelFileException(String message) {
      super(message);
    }
  }

  /**
   * The most bytes the arrays of one file may take once inflated: a quarter of the heap, at most 1 GiB. A header
   * that declares more (an absurd shape, a zip bomb) is refused before anything is allocated.
   */
  static long inflatedCap() {
    return Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4);
  }

  /** The entries the format uses; any other entry is skipped unread. */
  private static final Pattern NEEDED = Pattern.compile("(?:W|b)\\d{1,4}|origin|u|v");

  public static NpzModel read(Path file) {
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    if (!Files.isRegularFile(file)) {
      throw new ModelFileException(file + ": no such file; expected a .npz network file");
    }
    long budget = inflatedCap();
    try (ZipFile zip = new ZipFile(file.toFile())) {
      var entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String name = e.getName();
        if (!name.endsWith(".npy")) {
          continue;
        }
        String key = name.substring(0, name.length() - 4);
        if (!NEEDED.matcher(key).matches()) {
          continue;
        }
        if (arrays.containsKey(key)) {
          throw new ModelFileException(file + ": array " + key + " appears twice; expected one entry per name");
        }
        try (InputStream in = zip.getInputStream(e)) {
          float[] a = readNpy(file, key, in, e.getSize(), budget, shapes);
          budget -= 4L * a.length;
          arrays.put(key, a);
        }
      }
    } catch (ZipException e) {
      throw new ModelFileException(file + ": not a .npz (zip) archive or a corrupt one (" + oneLine(e.getMessage())
          + "); expected numpy.savez output");
    } catch (IOException | RuntimeException e) {
      if (e instanceof ModelFileException m) {
        throw m;
      }
      throw new ModelFileException(file + ": cannot read (" + e.getClass().getSimpleName() + ": "
          + oneLine(e.getMessage()) + "); expected numpy.savez output");
    }
    List<Layer> layers = new ArrayList<>();
    List<Integer> widths = new ArrayList<>();
    int count = 0;
    while (arrays.containsKey("W" + count)) {
      count++;
    }
    if (count == 0) {
      throw new ModelFileException(file + ": missing array W0; expected W0..W{L-1}, b0..b{L-1}, origin, u, v");
    }
    int inputDim = -1;
    for (int i = 0; i < count; i++) {
      int[] ws = shapes.get("W" + i);
      float[] b = require(file, arrays, "b" + i);
      if (ws.length != 2) {
        throw new ModelFileException(file + ": W" + i + " has shape " + Arrays.toString(ws) + "; expected (in, out)");
      }
      if (ws[0] < 1 || ws[1] < 1) {
        throw new ModelFileException(file + ": W" + i + " has shape " + Arrays.toString(ws) + "; expected at least "
            + "one row and one column");
      }
      if (i == 0) {
        inputDim = ws[0];
        widths.add(ws[0]);
      } else if (ws[0] != widths.get(widths.size() - 1)) {
        throw new ModelFileException(file + ": W" + i + " has " + ws[0] + " rows but layer " + (i - 1) + " has "
            + widths.get(widths.size() - 1) + " outputs");
      }
      if (b.length != ws[1]) {
        throw new ModelFileException(file + ": b" + i + " has " + b.length + " values; expected " + ws[1]);
      }
      requireFinite(file, "W" + i, arrays.get("W" + i));
      requireFinite(file, "b" + i, b);
      layers.add(new Layer.Dense(ws[0], ws[1], arrays.get("W" + i), b));
      if (i < count - 1) {
        layers.add(Layer.Activation.relu());
      }
      widths.add(ws[1]);
    }
    double[] origin = Layer.widen(require(file, arrays, "origin"));
    double[] u = Layer.widen(require(file, arrays, "u"));
    double[] v = Layer.widen(require(file, arrays, "v"));
    for (var e : Map.of("origin", origin, "u", u, "v", v).entrySet()) {
      if (e.getValue().length != inputDim) {
        throw new ModelFileException(file + ": " + e.getKey() + " has " + e.getValue().length
            + " values; expected the input dimension " + inputDim);
      }
    }
    requireFinite(file, "origin", arrays.get("origin"));
    requireFinite(file, "u", arrays.get("u"));
    requireFinite(file, "v", arrays.get("v"));
    Plane plane;
    try {
      plane = Plane.explicit(origin, u, v);
    } catch (IllegalArgumentException e) {
      throw new ModelFileException(file + ": " + e.getMessage());
    }
    return new NpzModel(new PiecewiseLinearNet(inputDim, layers), plane,
        widths.stream().mapToInt(Integer::intValue).toArray(), origin, u, v);
  }

  private static float[] require(Path file, Map<String, float[]> arrays, String name) {
    float[] a = arrays.get(name);
    if (a == null) {
      throw new ModelFileException(file + ": missing array " + name + "; expected W0..W{L-1}, b0..b{L-1}, origin, u, v");
    }
    return a;
  }

  private static void requireFinite(Path file, String name, float[] a) {
    for (int i = 0; i < a.length; i++) {
      if (!Float.isFinite(a[i])) {
        throw new ModelFileException(file + ": array " + name + " holds " + a[i] + " at flat index " + i
            + "; expected finite weights");
      }
    }
  }

  /** A message on one line: whitespace runs as one space, then {@link #printable}. */
  private static String oneLine(String s) {
    return s == null ? "no detail" : printable(s.replaceAll("\\s+", " ").trim());
  }

  /** Control and line-separator characters as '?': text from a file quoted in a one-line error. */
  private static String printable(String s) {
    return s.codePoints()
        .map(c -> Character.isISOControl(c) || Character.getType(c) == Character.LINE_SEPARATOR
            || Character.getType(c) == Character.PARAGRAPH_SEPARATOR ? '?' : c)
        .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
  }

  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
  /** numpy writes headers of a few hundred bytes; anything longer than this is not one of ours. */
  static final int MAX_HEADER = 64 * 1024;

  /**
   * Parses one {@code .npy} (version 1.0/2.0/3.0) holding little-endian float32 or float64 data in C order from a
   * stream, reading no more than its header declares: the element count is computed with checked arithmetic, every
   * dimension must be non-negative, the data must fit in {@code budget} bytes (as float32) and, where the zip entry
   * states its size ({@code entrySize >= 0}), header and data must take exactly that many bytes.
   */
  static float[] readNpy(Path file, String name, InputStream in, long entrySize, long budget,
      Map<String, int[]> shapes) throws IOException {
    String where = file + ": array " + name;
    byte[] pre = in.readNBytes(10);
    if (pre.length < 10 || (pre[0] & 0xff) != 0x93 || pre[1] != 'N' || pre[2] != 'U' || pre[3] != 'M'
        || pre[4] != 'P' || pre[5] != 'Y') {
      throw new ModelFileException(where + " is not a .npy array (bad magic); expected \\x93NUMPY");
    }
    int major = pre[6];
    long headerLen;
    int start;
    if (major == 1) {
      headerLen = ByteBuffer.wrap(pre, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
      start = 10;
    } else if (major == 2 || major == 3) {
      byte[] two = in.readNBytes(2);
      if (two.length < 2) {
        throw new ModelFileException(where + " has a truncated header");
      }
      headerLen = ByteBuffer.wrap(new byte[] {pre[8], pre[9], two[0], two[1]}).order(ByteOrder.LITTLE_ENDIAN)
          .getInt() & 0xffffffffL;
      start = 12;
    } else {
      throw new ModelFileException(where + " has .npy format version " + major + "; expected 1, 2 or 3");
    }
    if (headerLen > MAX_HEADER) {
      throw new ModelFileException(where + " declares a header of " + headerLen + " bytes; expected at most "
          + MAX_HEADER);
    }
    byte[] headerBytes = in.readNBytes((int) headerLen);
    if (headerBytes.length < headerLen) {
      throw new ModelFileException(where + " has a truncated header");
    }
    String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !s.find()) {
      throw new ModelFileException(where + " has an unreadable header (no 'descr' or 'shape'): "
          + abbreviate(header));
    }
    if (f.find() && f.group(1).equals("True")) {
      throw new ModelFileException(where + " is in Fortran order; expected C order");
    }
    String descr = d.group(1);
    int elem = switch (descr) {
      case "<f4" -> 4;
      case "<f8" -> 8;
      default -> throw new ModelFileException(where + " has dtype " + abbreviate(descr) + "; expected <f4 or <f8");
    };
    String[] parts = s.group(1).split(",", -1);
    List<Integer> dims = new ArrayList<>();
    for (int i = 0; i < parts.length; i++) {
      String t = parts[i].trim();
      if (t.isEmpty() && i == parts.length - 1) {
        continue; // the trailing comma of a 1-tuple
      }
      long dim;
      try {
        dim = Long.parseLong(t);
      } catch (NumberFormatException e) {
        throw new ModelFileException(where + " has shape (" + abbreviate(s.group(1)) + "); expected non-negative "
            + "integers");
      }
      if (dim < 0 || dim > Integer.MAX_VALUE) {
        throw new ModelFileException(where + " has dimension " + dim + " in its shape; expected 0 to "
            + Integer.MAX_VALUE);
      }
      dims.add((int) dim);
    }
    if (dims.size() > 32) {
      throw new ModelFileException(where + " has " + dims.size() + " dimensions; expected at most 32");
    }
    int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
    long count = 1;
    long dataBytes;
    try {
      for (int x : shape) {
        count = Math.multiplyExact(count, x);
      }
      dataBytes = Math.multiplyExact(count, elem);
    } catch (ArithmeticException e) {
      throw new ModelFileException(where + " has shape " + Arrays.toString(shape) + " whose size overflows; expected "
          + "at most " + budget + " bytes of arrays per file");
    }
    // float32 in memory: the allocation this array needs, against what the file's earlier arrays left
    if (Math.multiplyExact(count, 4L) > budget || count > Integer.MAX_VALUE - 8) {
      throw new ModelFileException(where + " has shape " + Arrays.toString(shape) + " (" + count + " values): more "
          + "than the " + inflatedCap() + " bytes of arrays one file may hold (a quarter of the heap, at most 1 GiB)");
    }
    if (entrySize >= 0 && entrySize != start + headerLen + dataBytes) {
      throw new ModelFileException(where + " is " + entrySize + " bytes but its header declares "
          + (start + headerLen + dataBytes) + " (" + Arrays.toString(shape) + " of " + descr + ")");
    }
    float[] out = new float[(int) count];
    byte[] chunk = new byte[8192];
    int filled = 0;
    while (filled < count) {
      int want = (int) Math.min(chunk.length / elem, count - filled) * elem;
      int got = in.readNBytes(chunk, 0, want);
      if (got < want) {
        throw new ModelFileException(where + " is truncated: " + ((long) filled * elem + got) + " data bytes, "
            + "expected " + dataBytes);
      }
      ByteBuffer bb = ByteBuffer.wrap(chunk, 0, want).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < want / elem; i++) {
        out[filled++] = elem == 4 ? bb.getFloat() : (float) bb.getDouble();
      }
    }
    if (in.read() >= 0) {
      throw new ModelFileException(where + " holds more data than its header declares (" + dataBytes + " bytes for "
          + Arrays.toString(shape) + " of " + descr + ")");
    }
    shapes.put(name, shape);
    return out;
  }

  /** Text from a file for an error message: {@link #printable}, at most 80 characters. */
  private static String abbreviate(String s) {
    String printable = printable(s);
    return printable.length() <= 80 ? printable : printable.substring(0, 77) + "...";
  }

  /** Writes arrays as an uncompressed {@code .npz} in the benchmark format (used by tests and exporters). */
  public static void write(Path file, Map<String, float[]> arrays, Map<String, int[]> shapes) throws IOException {
    try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
      for (var e : arrays.entrySet()) {
        int[] shape = shapes.get(e.getKey());
        String dims = shape.length == 1 ? shape[0] + "," : Arrays.stream(shape).mapToObj(Integer::toString)
            .reduce((a, b) -> a + ", " + b).orElse("");
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteBuffer bb = ByteBuffer.allocate(10 + header.length() + 4 * e.getValue().length)
            .order(ByteOrder.LITTLE_ENDIAN);
        bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        bb.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
        for (float v : e.getValue()) {
          bb.putFloat(v);
        }
        out.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
        out.write(bb.array());
        out.closeEntry();
      }
    }
  }
}
