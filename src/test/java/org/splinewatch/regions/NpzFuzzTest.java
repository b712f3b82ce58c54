package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Crafted and random {@code .npz} files: {@link NpzModel#read} either returns a model or throws a
 * {@link NpzModel.ModelFileException} with a one-line message naming the file; never another exception, never an
 * {@link OutOfMemoryError}. The pom runs this class in its own JVM with {@code -Xmx256m} (execution
 * {@code npz-fuzz-256m}), so a parser that allocates what a header declares fails here.
 */
@net.jqwik.api.Tag("npz-fuzz-256m") // run by that execution only, -Xmx256m (pom.xml)
class NpzFuzzTest {

  private static Path tmp() {
    try {
      return Files.createTempFile("npz-fuzz", ".npz");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A .npy: magic, version, header (as given), then {@code data} bytes. */
  static byte[] npy(int major, String header, byte[] data) {
    byte[] h = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    int pre = major == 1 ? 10 : 12;
    ByteBuffer bb = ByteBuffer.allocate(pre + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
    if (major == 1) {
      bb.putShort((short) h.length);
    } else {
      bb.putInt(h.length);
    }
    return bb.put(h).put(data).array();
  }

  static String header(String descr, String shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }\n";
  }

  /** Writes entries; {@code stored} entries keep their exact size in the archive, others are deflated. */
  static void zip(Path file, Map<String, byte[]> entries, boolean stored) throws IOException {
    try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(file))) {
      for (var e : entries.entrySet()) {
        ZipEntry z = new ZipEntry(e.getKey());
        if (stored) {
          CRC32 crc = new CRC32();
          crc.update(e.getValue());
          z.setMethod(ZipEntry.STORED);
          z.setSize(e.getValue().length);
          z.setCompressedSize(e.getValue().length);
          z.setCrc(crc.getValue());
        }
        out.putNextEntry(z);
        out.write(e.getValue());
        out.closeEntry();
      }
    }
  }

  /** Reads the file; only a model or a one-line {@link NpzModel.ModelFileException} naming the file pass. */
  static NpzModel.ModelFileException readExpectingAtMostAOneLineError(Path file) {
    try {
      NpzModel.read(file);
      return null;
    } catch (NpzModel.ModelFileException e) {
      String m = e.getMessage();
      assertFalse(m.lines().count() > 1 || m.contains("\u2028") || m.contains("\u2029"), "multi-line error: " + m);
      assertTrue(m.startsWith(file.toString() + ": "), "the error names the file: " + m);
      assertTrue(m.length() < 400, "a short error: " + m);
      return e;
    } catch (Throwable t) {
      fail("NpzModel.read threw " + t + " instead of a one-line ModelFileException", t);
      return null;
    }
  }

  /** A valid 2-2-1 model whose {@code W1.npy} entry is {@code w1}. */
  static Map<String, byte[]> twoLayerModel(byte[] w1) {
    return Map.of("W0.npy", npy(1, header("<f4", "2, 2"), floats(1, 0, 0, 1)),
        "b0.npy", npy(1, header("<f4", "2,"), floats(0, 0)), "W1.npy", w1,
        "b1.npy", npy(1, header("<f4", "1,"), floats(0)), "origin.npy", npy(1, header("<f4", "2,"), floats(0, 0)),
        "u.npy", npy(1, header("<f4", "2,"), floats(1, 0)), "v.npy", npy(1, header("<f4", "2,"), floats(0, 1)));
  }

  private static final List<String> DESCRS = List.of("<f4", "<f8", "<i4", "|u1", ">f4", "<f4'", "");

  @Provide
  Arbitrary<String> dims() {
    return Arbitraries.oneOf(Arbitraries.integers().between(0, 9).map(String::valueOf),
        Arbitraries.longs().map(String::valueOf), Arbitraries.integers().between(-5, -1).map(String::valueOf),
        Arbitraries.of("2147483647", "4294967296", "99999999999999999999", "1e9", "x", "", " 3 ", "0x10"));
  }

  @Property(tries = 300)
  void randomHeadersAndShapesGiveAModelOrAOneLineError(
      @ForAll @IntRange(min = 0, max = 4) int major,
      @ForAll("descr") String descr,
      @ForAll @Size(max = 5) List<@From("dims") String> shape,
      @ForAll @IntRange(min = -8, max = 8) int dataDelta,
      @ForAll boolean stored,
      @ForAll boolean wholeModel) throws IOException {
    String dims = String.join(", ", shape) + (shape.size() == 1 ? "," : "");
    long declared = 1;
    for (String d : shape) {
      try {
        declared = Math.multiplyExact(declared, Math.max(0, Long.parseLong(d.trim())));
      } catch (NumberFormatException | ArithmeticException e) {
        declared = Long.MAX_VALUE / 16;
      }
    }
    // never more data than a few KB: the header decides how much the parser would allocate
    int elem = descr.equals("<f8") ? 8 : 4;
    int n = (int) Math.max(0, Math.min(4096, declared * elem + dataDelta));
    byte[] array = npy(major, header(descr, dims), new byte[n]);
    Path f = tmp();
    try {
      if (wholeModel) {
        zip(f, twoLayerModel(array), stored);
      } else {
        zip(f, Map.of("W0.npy", array), stored);
      }
      readExpectingAtMostAOneLineError(f);
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Provide
  Arbitrary<String> descr() {
    return Arbitraries.of(DESCRS);
  }

  @Property(tries = 200)
  void randomBytesGiveAOneLineError(@ForAll @Size(max = 2048) byte[] bytes, @ForAll boolean asEntry)
      throws IOException {
    Path f = tmp();
    try {
      if (asEntry) {
        zip(f, Map.of("W0.npy", bytes, "origin.npy", bytes), false);
      } else {
        Files.write(f, bytes);
      }
      assertTrue(readExpectingAtMostAOneLineError(f) != null, "random bytes are no model");
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Property(tries = 100)
  void mutatedValidModelsGiveAModelOrAOneLineError(@ForAll @IntRange(min = 0, max = 100_000) int position,
      @ForAll byte value) throws IOException {
    Path f = tmp();
    try {
      zip(f, twoLayerModel(npy(1, header("<f4", "2, 1"), floats(1, 1))), true);
      byte[] b = Files.readAllBytes(f);
      b[position % b.length] = value;
      Files.write(f, b);
      readExpectingAtMostAOneLineError(f);
    } finally {
      Files.deleteIfExists(f);
    }
  }

  /** Writes {@code entries} (deflated) to {@code f} and expects a one-line error containing {@code fragment}. */
  private static void refused(Path f, Map<String, byte[]> entries, String fragment) throws IOException {
    zip(f, entries, false);
    NpzModel.ModelFileException e = readExpectingAtMostAOneLineError(f);
    assertTrue(e != null && e.getMessage().contains(fragment), fragment + ": " + e);
  }

  @Example
  void aShapeWhoseByteCountOverflowsIsRefusedBeforeAnyAllocation() throws IOException {
    // the 1.8 KB file: count*itemsize overflows int; before, 8 GiB were allocated
    Path f = tmp();
    try {
      refused(f, Map.of("W0.npy", npy(1, header("<f4", "65536, 65536"), new byte[1700])), "more than the");
      refused(f, Map.of("W0.npy", npy(1, header("<f8", "2147483647, 2147483647, 2147483647"), new byte[16])),
          "overflows");
      refused(f, Map.of("W0.npy", npy(1, header("<f4", "-4, 2"), new byte[16])), "dimension -4");
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Example
  void controlCharactersFromAHeaderDoNotBreakTheErrorLine() throws IOException {
    // found by mutatedValidModels...: a dtype holding a newline made a two-line message
    Path f = tmp();
    try {
      refused(f, Map.of("W0.npy", npy(1, header("\n<f4\r", "2, 2"), new byte[16])), "dtype ?<f4?");
      refused(f, Map.of("W0.npy", npy(3, "{'descr': '<f4\u2028', 'shape': (2, 2), }", new byte[16])), "dtype");
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Example
  void aZipBombIsRefusedWithoutInflatingIt() throws IOException {
    // just over the cap (64 MiB at -Xmx256m) of zeros deflate to a few hundred KB; the header claims all of it
    Path f = tmp();
    try {
      long n = NpzModel.inflatedCap() / 4 + 1;
      try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(f))) {
        out.putNextEntry(new ZipEntry("W0.npy"));
        out.write(npy(1, header("<f4", n + ", 1"), new byte[0]));
        zeros(out, 4 * n);
        out.closeEntry();
      }
      assertTrue(Files.size(f) < 4 << 20, "a small file: " + Files.size(f));
      // the reading thread's own CPU time, not wall time: inflating costs this thread CPU, while a loaded machine
      // (CI: 2 cores, busy) only makes it wait longer for a core
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      boolean cpu = threads.isCurrentThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled();
      long t0 = cpu ? threads.getCurrentThreadCpuTime() : System.nanoTime();
      NpzModel.ModelFileException e = readExpectingAtMostAOneLineError(f);
      long spent = (cpu ? threads.getCurrentThreadCpuTime() : System.nanoTime()) - t0;
      assertTrue(e != null && e.getMessage().contains("more than the"), String.valueOf(e));
      assertTrue(spent < 2_000_000_000L, "refused from the header, not after inflating: " + spent / 1_000_000
          + " ms" + (cpu ? " of CPU" : ""));
      // a small declared shape followed by the same zeros: the entry size disagrees with the header
      try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(f))) {
        out.putNextEntry(new ZipEntry("W0.npy"));
        out.write(npy(1, header("<f4", "2, 2"), new byte[0]));
        zeros(out, 4 * n);
        out.closeEntry();
      }
      e = readExpectingAtMostAOneLineError(f);
      assertTrue(e != null && e.getMessage().contains("header declares"), String.valueOf(e));
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Example
  void aLayerAfterAGapOrABiasWithoutWeightsIsRefusedNotDropped() throws IOException {
    // W0, W1 and W3 (no W2): the network used to end at W1 without a word, so its regions were another network's
    Path f = tmp();
    try {
      Map<String, byte[]> gap = new java.util.HashMap<>(twoLayerModel(npy(1, header("<f4", "2, 1"), floats(1, 1))));
      gap.put("W3.npy", npy(1, header("<f4", "1, 1"), floats(1)));
      refused(f, gap, "array W3 does not belong to layers W0..W1 (no W2); expected consecutive W0..W{L-1}");
      Map<String, byte[]> bias = new java.util.HashMap<>(twoLayerModel(npy(1, header("<f4", "2, 1"), floats(1, 1))));
      bias.put("b2.npy", npy(1, header("<f4", "1,"), floats(0)));
      refused(f, bias, "array b2 does not belong to layers W0..W1 (no W2)");
      Map<String, byte[]> padded = new java.util.HashMap<>(twoLayerModel(npy(1, header("<f4", "2, 1"), floats(1, 1))));
      padded.put("W01.npy", npy(1, header("<f4", "2, 1"), floats(1, 1)));
      refused(f, padded, "array W01 does not belong to layers W0..W1");
      zip(f, twoLayerModel(npy(1, header("<f4", "2, 1"), floats(1, 1))), false);
      assertEquals(3, NpzModel.read(f).widths().length, "the same model without the stray arrays reads");
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Example
  void aFloat64ValueBeyondFloat32IsNamedAsItIsInTheFile() throws IOException {
    // 1e300 in a <f8 array became Infinity when narrowed, and the error said the file held Infinity
    Path f = tmp();
    try {
      ByteBuffer w1 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1e300).putDouble(1);
      refused(f, twoLayerModel(npy(1, header("<f8", "2, 1"), w1.array())), "array W1 holds 1.0E300 at flat index 0, "
          + "beyond float32's range; expected values within ±3.4028235E38");
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @Example
  void entriesTheFormatDoesNotUseAreNotRead() throws IOException {
    // a valid model beside a huge unrelated entry whose header would be refused: it is skipped unread
    Path f = tmp();
    try {
      zip(f, Map.of("W0.npy", npy(1, header("<f4", "2, 1"), floats(1, 1)), "b0.npy", npy(1, header("<f4", "1,"),
          floats(0)), "origin.npy", npy(1, header("<f4", "2,"), floats(0, 0)), "u.npy", npy(1, header("<f4", "2,"),
          floats(1, 0)), "v.npy", npy(1, header("<f4", "2,"), floats(0, 1)), "optimizer_state.npy",
          npy(1, header("<f4", "2147483647, 2147483647"), new byte[8])), false);
      NpzModel m = NpzModel.read(f);
      assertEquals(2, m.widths()[0]);
      assertEquals(1, m.widths()[1]);
      zip(f, Map.of("W0.npy", npy(1, header("<f4", "0, 1"), new byte[0])), true);
      assertThrows(NpzModel.ModelFileException.class, () -> NpzModel.read(f));
    } finally {
      Files.deleteIfExists(f);
    }
  }

  private static void zeros(OutputStream out, long n) throws IOException {
    byte[] z = new byte[1 << 20];
    for (long w = 0; w < n; w += z.length) {
      out.write(z, 0, (int) Math.min(z.length, n - w));
    }
  }

  static byte[] floats(float... v) {
    ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      bb.putFloat(x);
    }
    return bb.array();
  }
}
