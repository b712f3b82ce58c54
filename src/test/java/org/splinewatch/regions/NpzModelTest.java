package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;

/**
 * {@code <f8} arrays of the benchmark format, written as numpy writes them: read as float32 (rounded), a value beyond
 * float32's range refused, and nonzero values that float32 rounds to 0 counted in a warning, not dropped silently.
 */
class NpzModelTest {
  @TempDir
  Path tmp;

  /** One {@code .npy} entry: a version 1.0 header and little-endian float64 data. */
  static byte[] f8(int[] shape, double... values) {
    byte[] header = NpyHeader.encode(1, "<f8", false, shape);
    ByteBuffer bb = ByteBuffer.allocate(header.length + 8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(header);
    for (double v : values) {
      bb.putDouble(v);
    }
    return bb.array();
  }

  /** A {@code 2 → 3 → 1} network on the plane through the origin along the axes, every array float64. */
  private Path model(String name, double[] w0) throws IOException {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("W0", f8(new int[] {2, 3}, w0));
    entries.put("b0", f8(new int[] {3}, 0.1, -0.2, 0.3));
    entries.put("W1", f8(new int[] {3, 1}, 1, 1, 1));
    entries.put("b1", f8(new int[] {1}, 0));
    entries.put("origin", f8(new int[] {2}, 0, 0));
    entries.put("u", f8(new int[] {2}, 1, 0));
    entries.put("v", f8(new int[] {2}, 0, 1));
    Path file = tmp.resolve(name);
    try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(file))) {
      for (var e : entries.entrySet()) {
        out.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
        out.write(e.getValue());
        out.closeEntry();
      }
    }
    return file;
  }

  @Test
  void float64ArraysAreRoundedToFloat32() throws IOException {
    NpzModel m = NpzModel.read(model("f8.npz", new double[] {0.1, 1.0 / 3, -2.5, 1e-40, 1 + 1e-12, 3.4e38}));
    Layer.Dense d = (Layer.Dense) m.net().layers().get(0);
    assertArrayEquals(new float[] {0.1f, (float) (1.0 / 3), -2.5f, 1e-40f, 1f, 3.4e38f}, d.weights());
    assertEquals(List.of(), m.warnings(), "a subnormal float32 (1e-40) is not 0: no warning");
    assertArrayEquals(new int[] {2, 3, 1}, m.widths());
  }

  @Test
  void aFiniteValueBeyondFloat32IsRefusedNamingTheArray() throws IOException {
    Path f = model("big.npz", new double[] {0.5, 1e39, 0, 0, 0, 1});
    var e = assertThrows(NpzModel.ModelFileException.class, () -> NpzModel.read(f));
    assertEquals(f + ": array W0 holds 1.0E39 at flat index 1, beyond float32's range; expected values within ±"
        + Float.MAX_VALUE + " (arrays are read as float32)", e.getMessage());
  }

  @Test
  void nonzeroValuesThatFloat32RoundsToZeroAreCountedNotDroppedSilently() throws IOException {
    // 1e-50 and -1e-300 became 0 without a word; 1e-45 rounds to float32's least subnormal and is kept
    Path f = model("tiny.npz", new double[] {0.5, 1e-50, -1e-300, 1e-45, 0, 1});
    NpzModel m = NpzModel.read(f);
    Layer.Dense d = (Layer.Dense) m.net().layers().get(0);
    assertArrayEquals(new float[] {0.5f, 0, -0f, Float.MIN_VALUE, 0, 1}, d.weights());
    assertEquals(List.of(f + ": array W0: 2 nonzero values below float32's range read as 0 (the first 1.0E-50 at"
        + " flat index 1; float32's least is " + Float.MIN_VALUE + "): arrays are read as float32"), m.warnings());
    // ./monitor regions prints it as one warning line on stderr and still computes the partition
    String out = TestTools.cli(0, "monitor", "regions", "--model", f.toString());
    assertTrue(out.contains("warning: " + m.warnings().get(0) + "\n") && out.contains("\noverflow: false\n"), out);
    assertEquals(1, out.lines().filter(l -> l.startsWith("warning:")).count(), out);
  }
}
