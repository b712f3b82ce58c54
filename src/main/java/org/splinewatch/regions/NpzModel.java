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

  public static NpzModel read(Path file) {
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    if (!Files.isRegularFile(file)) {
      throw new ModelFileException(file + ": no such file; expected a .npz network file");
    }
    try (ZipFile zip = new ZipFile(file.toFile())) {
      var entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String name = e.getName();
        if (!name.endsWith(".npy")) {
          continue;
        }
        String key = name.substring(0, name.length() - 4);
        try (InputStream in = zip.getInputStream(e)) {
          arrays.put(key, readNpy(file, key, in.readAllBytes(), shapes));
        }
      }
    } catch (ZipException e) {
      throw new ModelFileException(file + ": not a .npz (zip) archive; expected numpy.savez output");
    } catch (IOException e) {
      throw new ModelFileException(file + ": cannot read (" + e.getMessage() + ")");
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

  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /** Parses one {@code .npy} (version 1.0/2.0) holding little-endian float32 or float64 data in C order. */
  static float[] readNpy(Path file, String name, byte[] bytes, Map<String, int[]> shapes) {
    String where = file + ": array " + name;
    if (bytes.length < 10 || (bytes[0] & 0xff) != 0x93 || bytes[1] != 'N' || bytes[2] != 'U' || bytes[3] != 'M'
        || bytes[4] != 'P' || bytes[5] != 'Y') {
      throw new ModelFileException(where + " is not a .npy array (bad magic)");
    }
    int major = bytes[6];
    ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int headerLen;
    int start;
    if (major == 1) {
      headerLen = bb.getShort(8) & 0xffff;
      start = 10;
    } else {
      headerLen = bb.getInt(8);
      start = 12;
    }
    if (start + headerLen > bytes.length) {
      throw new ModelFileException(where + " has a truncated header");
    }
    String header = new String(bytes, start, headerLen, StandardCharsets.US_ASCII);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !s.find()) {
      throw new ModelFileException(where + " has an unreadable header: " + header.trim());
    }
    if (f.find() && f.group(1).equals("True")) {
      throw new ModelFileException(where + " is in Fortran order; expected C order");
    }
    String descr = d.group(1);
    int[] shape = Arrays.stream(s.group(1).split(",")).map(String::trim).filter(t -> !t.isEmpty())
        .mapToInt(Integer::parseInt).toArray();
    shapes.put(name, shape);
    long count = 1;
    for (int x : shape) {
      count *= x;
    }
    int dataStart = start + headerLen;
    bb.position(dataStart);
    int elem = switch (descr) {
      case "<f4" -> 4;
      case "<f8" -> 8;
      default -> throw new ModelFileException(where + " has dtype " + descr + "; expected <f4 or <f8");
    };
    if (bytes.length - dataStart < count * elem) {
      throw new ModelFileException(where + " is truncated: " + (bytes.length - dataStart) + " data bytes, expected "
          + count * elem);
    }
    float[] out = new float[(int) count];
    for (int i = 0; i < count; i++) {
      out[i] = elem == 4 ? bb.getFloat() : (float) bb.getDouble();
    }
    return out;
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
