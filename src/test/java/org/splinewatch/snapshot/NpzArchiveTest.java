package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.splinewatch.regions.NpyHeader;

/**
 * {@link NpzArchive#parseNpy} on the shared header parser ({@link NpyHeader}) with the archive's own bounds (4 KiB of
 * header, 8 dimensions) and one-line messages; every numeric little-endian dtype widened to float32.
 */
class NpzArchiveTest {
  private static final String WHERE = "snapshot: array w";

  private static byte[] npy(int version, String descr, boolean fortran, byte[] data, int... shape) {
    byte[] h = NpyHeader.encode(version, descr, fortran, shape);
    byte[] out = Arrays.copyOf(h, h.length + data.length);
    System.arraycopy(data, 0, out, h.length, data.length);
    return out;
  }

  /** A version-1 .npy with a raw header dictionary and no data. */
  private static byte[] raw(String header) {
    byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer bb = ByteBuffer.allocate(10 + h.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
    return bb.putShort((short) h.length).put(h).array();
  }

  private static NpzArchive.FormatException refused(byte[] npy, String fragment) {
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class,
        () -> NpzArchive.parseNpy(WHERE, "w", npy));
    assertTrue(e.getMessage().startsWith(WHERE + " ") && e.getMessage().contains(fragment), e.getMessage());
    assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
    return e;
  }

  @Test
  void everyVersionAndNumericDtype() {
    ByteBuffer f8 = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.5).putDouble(-2);
    NpzArchive.Array a = NpzArchive.parseNpy(WHERE, "w", npy(2, "<f8", false, f8.array(), 2));
    assertArrayEquals(new float[] {1.5f, -2f}, a.values());
    assertFalse(a.integral());
    NpzArchive.Array u = NpzArchive.parseNpy(WHERE, "w", npy(3, "|u1", false, new byte[] {(byte) 255, 3}, 1, 2));
    assertArrayEquals(new float[] {255, 3}, u.values());
    assertArrayEquals(new int[] {1, 2}, u.shape());
    assertTrue(u.integral());
    ByteBuffer i2 = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) -7).putShort((short) 9);
    assertArrayEquals(new float[] {-7, 9}, NpzArchive.parseNpy(WHERE, "w", npy(1, "<i2", false, i2.array(), 2))
        .values());
  }

  @Test
  void halfPrecisionIsReadExactly() {
    // IEEE 754 binary16 bit patterns and their values: 1, -2, the largest finite, the least subnormal, -0
    short[] bits = {0x3c00, (short) 0xc000, 0x7bff, 0x0001, (short) 0x8000, 0x3555};
    ByteBuffer f2 = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
    for (short b : bits) {
      f2.putShort(b);
    }
    NpzArchive.Array a = NpzArchive.parseNpy(WHERE, "w", npy(1, "<f2", false, f2.array(), bits.length));
    assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f, -0f, 0x1.554p-2f}, a.values());
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(a.values()[4]), "the sign of zero is kept");
    assertFalse(a.integral());
    assertEquals(Float.POSITIVE_INFINITY, NpzArchive.halfToFloat((short) 0x7c00));
    assertTrue(Float.isNaN(NpzArchive.halfToFloat((short) 0x7e00)));
    assertEquals(0x1.ff8p-15f, NpzArchive.halfToFloat((short) 0x03ff), "the largest subnormal");
  }

  @Test
  void unsignedEightByteIntegersAreNotReadAsNegative() {
    ByteBuffer u8 = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(7).putLong(Long.MIN_VALUE)
        .putLong(-1L);
    NpzArchive.Array a = NpzArchive.parseNpy(WHERE, "w", npy(1, "<u8", false, u8.array(), 3));
    assertArrayEquals(new float[] {7f, 0x1p63f, 0x1p64f}, a.values());
    assertTrue(a.integral());
  }

  @Test
  void aRefusedDtypeIsToldWhichAreRead() {
    refused(npy(1, "<c8", false, new byte[8], 1), "has dtype <c8; expected a little-endian numeric dtype: <f2, <f4,"
        + " <f8, <i2, <i4, <i8, <u2, <u4, <u8, |i1, |u1 or |b1");
  }

  @Test
  void fortranOrderArraysAreReadInCOrder() {
    // numpy.save(W.T) writes 'fortran_order': True; numpy.load reads it as the (2, 3) matrix [[1, 3, 5], [2, 4, 6]]
    ByteBuffer f4 = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 1; i <= 6; i++) {
      f4.putFloat(i);
    }
    NpzArchive.Array a = NpzArchive.parseNpy(WHERE, "w", npy(1, "<f4", true, f4.array(), 2, 3));
    assertArrayEquals(new int[] {2, 3}, a.shape());
    assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, a.values());
    ByteBuffer i8 = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putLong(1).putLong(2).putLong(3).putLong(4);
    assertArrayEquals(new float[] {1, 3, 2, 4}, NpzArchive.parseNpy(WHERE, "w", npy(3, "<i8", true, i8.array(), 2, 2))
        .values());
  }

  @Test
  void theArchiveKeepsItsBoundsAndMessages() {
    refused(new byte[] {1, 2, 3}, "is not a .npy array (bad magic); expected \\x93NUMPY");
    byte[] v5 = npy(1, "<f4", false, new byte[4], 1);
    v5[6] = 5;
    refused(v5, "has .npy version 5; expected 1, 2 or 3");
    // 5 KB of header: the model reader's 64 KiB would take it, the archive's 4 KiB does not
    refused(raw("{'descr': '<f4', 'shape': (1,)}" + " ".repeat(5000)), "has a header of 5031 bytes; expected at most"
        + " 4096 within the entry");
    refused(Arrays.copyOf(npy(1, "<f4", false, new byte[0], 1), 40), "has a header of 118 bytes; expected at most"
        + " 4096 within the entry");
    refused(Arrays.copyOf(npy(2, "<f4", false, new byte[0], 1), 11), "has a truncated header");
    refused(raw("{'shape': (1,)}"), "has an unreadable header; expected {'descr': ..., 'shape': (...)}");
    refused(npy(1, ">f4", false, new byte[4], 1), "has dtype >f4; expected a little-endian numeric dtype");
    refused(raw("{'descr': '<f4\n', 'shape': (1,)}"), "has dtype <f4?; expected a little-endian numeric dtype");
    refused(raw("{'descr': '<f4', 'shape': (-1,)}"), "has shape (-1,); expected non-negative dimensions below 2^31");
    refused(npy(1, "<f4", false, new byte[4], 1, 1, 1, 1, 1, 1, 1, 1, 1), "has more than 8 dimensions");
    assertEquals(8, NpzArchive.parseNpy(WHERE, "w", npy(1, "<f4", false, new byte[4], 1, 1, 1, 1, 1, 1, 1, 1))
        .shape().length);
    NpzArchive.FormatException overflow = refused(npy(1, "<f8", false, new byte[8], 1 << 30, 1 << 30, 4),
        "has shape [1073741824, 1073741824, 4] whose size overflows");
    assertTrue(overflow.tooLarge(), "a size overflow is too large (413)");
    refused(npy(1, "<f4", false, new byte[12], 2, 2), "has 12 data bytes; expected 16 for shape [2, 2] and dtype <f4");
  }

  /** A {@code .npz} of {@code entries} (name → .npy bytes). */
  static byte[] zip(java.util.Map<String, byte[]> entries) throws java.io.IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(out)) {
      for (var e : entries.entrySet()) {
        zip.putNextEntry(new java.util.zip.ZipEntry(e.getKey() + ".npy"));
        zip.write(e.getValue());
        zip.closeEntry();
      }
    }
    return out.toByteArray();
  }

  /** A version-1 {@code <f8} .npy of {@code values}. */
  static byte[] f8(int[] shape, double... values) {
    ByteBuffer bb = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      bb.putDouble(v);
    }
    return npy(1, "<f8", false, bb.array(), shape);
  }

  @Test
  void float64ValuesThatFloat32RoundsToZeroAreWarnedOfOncePerArray() throws Exception {
    // 1e-50 and -1e-300 became 0 without a word; 1e-45 rounds to float32's least subnormal and is kept
    var entries = new java.util.LinkedHashMap<String, byte[]>();
    entries.put("w", f8(new int[] {2, 3}, 0.5, 1e-50, -1e-300, 1e-45, 0, 1));
    entries.put("clean", f8(new int[] {2}, 1e-40, 2));
    entries.put("b", f8(new int[] {1}, 5e-324));
    NpzArchive npz = NpzArchive.read(zip(entries), new NpzArchive.Limits(1 << 20, 16), "snapshot");
    assertArrayEquals(new float[] {0.5f, 0, -0f, Float.MIN_VALUE, 0, 1}, npz.array("w").values());
    assertArrayEquals(new float[] {1e-40f, 2}, npz.array("clean").values());
    assertEquals(java.util.List.of("w", "b"), java.util.List.copyOf(npz.warnings().keySet()));
    assertEquals("snapshot: array w: 2 nonzero values below float32's range read as 0 (the first 1.0E-50 at flat index"
        + " 1; float32's least is " + Float.MIN_VALUE + "): arrays are read as float32", npz.warnings().get("w"));
    assertEquals("snapshot: array b: 1 nonzero value below float32's range read as 0 (the first 4.9E-324 at flat index"
        + " 0; float32's least is " + Float.MIN_VALUE + "): arrays are read as float32", npz.warnings().get("b"));
    // a value beyond float32's range is still read as an infinity (refused later as a non-finite weight)
    entries.put("w", f8(new int[] {1}, 1e300));
    NpzArchive big = NpzArchive.read(zip(entries), new NpzArchive.Limits(1 << 20, 16), "snapshot");
    assertEquals(Float.POSITIVE_INFINITY, big.array("w").values()[0]);
    assertFalse(big.warnings().containsKey("w"));
  }
}
