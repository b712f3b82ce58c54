package org.splinewatch.regions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
public record NpzModel(PiecewiseLinearNet net, Plane plane, int[] widths, double[] origin, double[] u, double[] v,
    List<String> warnings) {


  /** A malformed or missing model file; the message names the file and what was wrong. */
  public static final class ModelFileException extends RuntimeException {
    private final boolean noSuchFile;

    public ModelFileException(String message) {
      this(message, false);
    }

    private ModelFileException(String message, boolean noSuchFile) {
      super(message);
      this.noSuchFile = noSuchFile;
    }

    /** Whether the path names no regular file at all (a bad argument), rather than a file with bad contents. */
    public boolean noSuchFile() {
      return noSuchFile;
    }
  }

  /**
   * The most bytes the arrays of one file may take once inflated: a quarter of the heap, at most 1 GiB. A header
   * that declares more (an absurd shape, a zip bomb) is refused before anything is allocated.
   */
  public static long inflatedCap() {
    return Math.min(1L << 30, Runtime.getRuntime().maxMemory() / 4);
  }

  /** The entries the format uses; any other entry is skipped unread. */
  private static final Pattern NEEDED = Pattern.compile("(?:W|b)\\d{1,4}|origin|u|v");

  /**
   * Reads {@code file}. Arrays are read as float32, the precision of the network's layers: a {@code <f8} value is
   * rounded to the nearest float32; one beyond float32's range is refused (a {@link ModelFileException}), and nonzero
   * values that float32 rounds to 0 are counted in {@link #warnings}, one line per array ("FILE: array W0: ...").
   */
  public static NpzModel read(Path file) {
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    List<String> warnings = new ArrayList<>();
    if (!Files.isRegularFile(file)) {
      throw new ModelFileException(file + (Files.isDirectory(file) ? " is a directory" : ": no such file")
          + "; expected a .npz network file", true);
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
          float[] a = readNpy(file, key, in, e.getSize(), budget, shapes, warnings);
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
    String stray = strayLayerArray(arrays.keySet(), count);
    if (stray != null) {
      throw new ModelFileException(file + ": array " + stray + " does not belong to layers W0..W" + (count - 1)
          + " (no W" + count + "); expected consecutive W0..W{L-1}, b0..b{L-1}");
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
            + widths.get(widths.size() - 1) + " outputs; expected " + widths.get(widths.size() - 1) + " rows");
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
    // in this order: Map.of's order is unspecified, and a wrong origin was reported as a wrong v
    for (var e : List.of(Map.entry("origin", origin), Map.entry("u", u), Map.entry("v", v))) {
      if (e.getValue().length != inputDim) {
        throw new ModelFileException(file + ": " + e.getKey() + " has " + e.getValue().length
            + " values; expected the input dimension " + inputDim + " (the rows of W0)");
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
        widths.stream().mapToInt(Integer::intValue).toArray(), origin, u, v, List.copyOf(warnings));
  }

  private static final Pattern LAYER_ARRAY = Pattern.compile("[Wb][0-9]{1,9}");

  /**
   * The first of {@code names} shaped {@code W<i>} or {@code b<i>} that is not one of {@code W0..W{count−1}},
   * {@code b0..b{count−1}}, or null: a layer after a gap (W0, W1, W3), a bias without its weights or a padded index
   * (W01), which a reader of consecutive layers would otherwise drop without a word. The benchmark format's readers
   * (this one and the HTTP snapshots') share it.
   */
  public static String strayLayerArray(Collection<String> names, int count) {
    for (String name : names) {
      if (LAYER_ARRAY.matcher(name).matches()) {
        int i = Integer.parseInt(name.substring(1));
        if (i >= count || !name.substring(1).equals(Integer.toString(i))) {
          return name;
        }
      }
    }
    return null;
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
            + "; expected finite numbers");
      }
    }
  }

  /** A message on one line: whitespace runs as one space, then {@link NpyHeader#printable}. */
  private static String oneLine(String s) {
    return s == null ? "no detail" : NpyHeader.printable(s.replaceAll("\\s+", " ").trim());
  }

  /** numpy writes headers of a few hundred bytes; anything longer than this is not one of ours. */
  static final int MAX_HEADER = 64 * 1024;
  /** The header bounds of a network file: {@link #MAX_HEADER} bytes, at most 32 dimensions. */
  static final NpyHeader.Bounds BOUNDS = new NpyHeader.Bounds(MAX_HEADER, 32);

  /**
   * Parses one {@code .npy} (version 1.0/2.0/3.0, header by {@link NpyHeader}) holding little-endian float32 or
   * float64 data in C or Fortran order (returned in C order) from a stream, reading no more than its header declares:
   * the element count is computed with checked arithmetic, every dimension must be non-negative, the data must fit in
   * {@code budget} bytes (as float32) and, where the zip entry states its size ({@code entrySize >= 0}), header and
   * data must take exactly that many bytes. float64 values are rounded to float32: a finite one beyond float32's
   * range is refused, and nonzero ones that become 0 are counted in one line added to {@code warnings}.
   */
  static float[] readNpy(Path file, String name, InputStream in, long entrySize, long budget,
      Map<String, int[]> shapes) throws IOException {
    return readNpy(file, name, in, entrySize, budget, shapes, new ArrayList<>());
  }

  static float[] readNpy(Path file, String name, InputStream in, long entrySize, long budget,
      Map<String, int[]> shapes, List<String> warnings) throws IOException {
    String where = file + ": array " + name;
    NpyHeader h;
    try {
      h = NpyHeader.read(in, BOUNDS);
    } catch (NpyHeader.Malformed e) {
      throw new ModelFileException(where + refusal(e, budget));
    }
    String descr = h.descr();
    int elem = switch (descr) {
      case "<f4" -> 4;
      case "<f8" -> 8;
      default -> throw new ModelFileException(where + " has dtype " + abbreviate(descr) + "; expected <f4 or <f8");
    };
    int[] shape = h.shape();
    long count = h.count();
    long dataBytes = h.dataBytes();
    // float32 in memory: the allocation this array needs, against what the file's earlier arrays left
    if (Math.multiplyExact(count, 4L) > budget || count > Integer.MAX_VALUE - 8) {
      throw new ModelFileException(where + " has shape " + Arrays.toString(shape) + " (" + count + " values): more "
          + "than the " + inflatedCap() + " bytes of arrays one file may hold (a quarter of the heap, at most 1 GiB)");
    }
    if (entrySize >= 0 && entrySize != h.dataOffset() + dataBytes) {
      throw new ModelFileException(where + " is " + entrySize + " bytes but its header declares "
          + (h.dataOffset() + dataBytes) + " (" + Arrays.toString(shape) + " of " + descr + ")");
    }
    float[] out = new float[(int) count];
    byte[] chunk = new byte[8192];
    int filled = 0;
    Float32Underflow vanished = new Float32Underflow(); // nonzero float64 values that float32 rounds to 0
    while (filled < count) {
      int want = (int) Math.min(chunk.length / elem, count - filled) * elem;
      int got = in.readNBytes(chunk, 0, want);
      if (got < want) {
        throw new ModelFileException(where + " is truncated: " + ((long) filled * elem + got) + " data bytes, "
            + "expected " + dataBytes);
      }
      ByteBuffer bb = ByteBuffer.wrap(chunk, 0, want).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < want / elem; i++) {
        if (elem == 4) {
          out[filled++] = bb.getFloat();
          continue;
        }
        double d = bb.getDouble();
        float f = vanished.round(d, filled);
        if (Double.isFinite(d) && !Float.isFinite(f)) { // would be reported as Infinity, a value the file lacks
          throw new ModelFileException(where + " holds " + d + " at flat index " + filled + ", beyond float32's range;"
              + " expected values within ±" + Float.MAX_VALUE + " (arrays are read as float32)");
        }
        out[filled++] = f;
      }
    }
    if (in.read() >= 0) {
      throw new ModelFileException(where + " holds more data than its header declares (" + dataBytes + " bytes for "
          + Arrays.toString(shape) + " of " + descr + ")");
    }
    if (vanished.count() > 0) {
      warnings.add(vanished.warning(where));
    }
    shapes.put(name, shape);
    return h.fortranOrder() ? NpyHeader.toCOrder(out, shape) : out;
  }

  /** The rest of the one-line error (after "FILE: array NAME") for a header {@link NpyHeader} refused. */
  private static String refusal(NpyHeader.Malformed e, long budget) {
    return switch (e.problem()) {
      case BAD_MAGIC -> " is not a .npy array (bad magic); expected \\x93NUMPY";
      case UNSUPPORTED_VERSION -> " has .npy format version " + e.number() + "; expected 1, 2 or 3";
      case TRUNCATED_HEADER -> " has a truncated header";
      case HEADER_TOO_LONG -> " declares a header of " + e.number() + " bytes; expected at most " + MAX_HEADER;
      case UNREADABLE_HEADER -> " has an unreadable header (no 'descr' or 'shape'): " + abbreviate(e.text());
      case UNSUPPORTED_DTYPE -> " has dtype " + abbreviate(e.text()) + "; expected <f4 or <f8";
      case BAD_DIMENSION -> e.number() == null
          ? " has shape (" + abbreviate(e.text()) + "); expected non-negative integers"
          : " has dimension " + e.number() + " in its shape; expected 0 to " + Integer.MAX_VALUE;
      case TOO_MANY_DIMENSIONS -> " has " + e.number() + " dimensions; expected at most " + BOUNDS.maxDimensions();
      case SIZE_OVERFLOW -> " has shape " + e.text() + " whose size overflows; expected at most " + budget
          + " bytes of arrays per file";
    };
  }

  /** Text from a file for an error message: {@link NpyHeader#printable}, at most 80 characters. */
  private static String abbreviate(String s) {
    String printable = NpyHeader.printable(s);
    return printable.length() <= 80 ? printable : printable.substring(0, 77) + "...";
  }

  /** Writes arrays as an uncompressed {@code .npz} in the benchmark format (used by tests and exporters). */
  public static void write(Path file, Map<String, float[]> arrays, Map<String, int[]> shapes) throws IOException {
    write(file, Map.of(), arrays, shapes);
  }

  /**
   * Writes {@code documents} as {@code NAME.json} entries, then the arrays as float32 {@code NAME.npy}, as an
   * uncompressed {@code .npz} (a region file's {@code network.json} and its arrays).
   */
  public static void write(Path file, Map<String, byte[]> documents, Map<String, float[]> arrays,
      Map<String, int[]> shapes) throws IOException {
    try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
      for (var d : documents.entrySet()) {
        out.putNextEntry(new ZipEntry(d.getKey() + ".json"));
        out.write(d.getValue());
        out.closeEntry();
      }
      for (var e : arrays.entrySet()) {
        byte[] header = NpyHeader.encode(1, "<f4", false, shapes.get(e.getKey()));
        ByteBuffer bb = ByteBuffer.allocate(header.length + 4 * e.getValue().length).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(header);
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
