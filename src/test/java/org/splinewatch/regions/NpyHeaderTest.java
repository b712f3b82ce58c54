package org.splinewatch.regions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splinewatch.regions.NpyHeader.Malformed;
import org.splinewatch.regions.NpyHeader.Problem;

/**
 * The one {@code .npy} header parser of {@link NpzModel} and {@code snapshot.NpzArchive}: every version, both byte
 * orders, C and Fortran order, and each way a header can lie about its sizes, under the callers' two sets of bounds.
 */
class NpyHeaderTest {
  /** The model reader's bounds and the archive's (snapshot.NpzArchive). */
  private static final NpyHeader.Bounds MODEL = new NpyHeader.Bounds(64 * 1024, 32);
  private static final NpyHeader.Bounds ARCHIVE = new NpyHeader.Bounds(4096, 8);

  /** A preamble for {@code version} with the raw {@code header} text (its length as written), then {@code tail}. */
  private static byte[] raw(int version, String header, byte[] tail) {
    byte[] h = header.getBytes(version == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    int preamble = version == 1 ? 10 : 12;
    ByteBuffer bb = ByteBuffer.allocate(preamble + h.length + tail.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
    if (version == 1) {
      bb.putShort((short) h.length);
    } else {
      bb.putInt(h.length);
    }
    return bb.put(h).put(tail).array();
  }

  private static NpyHeader read(byte[] bytes, NpyHeader.Bounds bounds) throws IOException {
    return NpyHeader.read(new ByteArrayInputStream(bytes), bounds);
  }

  private static Malformed refused(byte[] bytes, NpyHeader.Bounds bounds, Problem expected) {
    Malformed e = assertThrows(Malformed.class, () -> read(bytes, bounds));
    assertEquals(expected, e.problem(), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), "one line: " + e.getMessage());
    return e;
  }

  private static String dict(String descr, String fortran, String shape) {
    return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': (" + shape + "), }\n";
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void everyVersionReadsToTheFirstDataByte(int version) throws IOException {
    byte[] header = NpyHeader.encode(version, "<f4", false, 2, 3);
    assertEquals(0, header.length % 64, "numpy aligns the data to 64 bytes");
    byte[] data = new byte[24];
    Arrays.fill(data, (byte) 7);
    ByteArrayInputStream in = new ByteArrayInputStream(concat(header, data));
    NpyHeader h = NpyHeader.read(in, MODEL);
    assertEquals(version, h.version());
    assertEquals("<f4", h.descr());
    assertEquals('f', h.kind());
    assertEquals(4, h.itemSize());
    assertArrayEquals(new int[] {2, 3}, h.shape());
    assertEquals(6, h.count());
    assertEquals(24, h.dataBytes());
    assertEquals(header.length, h.dataOffset());
    assertEquals(24, in.available(), "the stream is left at the first data byte");
    assertEquals(7, in.read());
  }

  @Test
  void versionThreeHeadersAreUtf8() throws IOException {
    // a non-ASCII key numpy may write in version 3; the two-byte 'é' counts in the header length as bytes
    NpyHeader h = read(raw(3, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), 'é': 1}\n", new byte[0]),
        ARCHIVE);
    assertArrayEquals(new int[] {5}, h.shape());
    assertEquals(12 + "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), 'é': 1}\n"
        .getBytes(StandardCharsets.UTF_8).length, h.dataOffset());
  }

  @Test
  void bothByteOrdersAndSingleBytes() throws IOException {
    NpyHeader little = read(NpyHeader.encode(1, "<f8", false, 4), MODEL);
    assertEquals(ByteOrder.LITTLE_ENDIAN, little.byteOrder());
    assertEquals(32, little.dataBytes());
    NpyHeader big = read(NpyHeader.encode(2, ">i4", false, 4, 2), MODEL);
    assertEquals(ByteOrder.BIG_ENDIAN, big.byteOrder());
    assertEquals('i', big.kind());
    assertEquals(32, big.dataBytes());
    NpyHeader bytes = read(NpyHeader.encode(1, "|u1", false, 3), MODEL);
    assertEquals(1, bytes.itemSize());
    assertEquals('u', bytes.kind());
    // not byte order + kind + size: the caller words the dtype error
    assertEquals("=f4", refused(raw(1, dict("=f4", "False", "2,"), new byte[0]), MODEL, Problem.UNSUPPORTED_DTYPE)
        .text());
    refused(raw(1, dict("<U10x", "False", "2,"), new byte[0]), MODEL, Problem.UNSUPPORTED_DTYPE);
    refused(raw(1, dict("<f0", "False", "2,"), new byte[0]), MODEL, Problem.UNSUPPORTED_DTYPE);
  }

  @Test
  void fortranOrderIsReadAndAMissingFlagMeansC() throws IOException {
    // numpy.save writes a transposed array (W.T, PyTorch's Linear.weight as (in, out)) with 'fortran_order': True
    // and numpy.load reads it back; until this was read, such a file was refused
    assertTrue(read(NpyHeader.encode(1, "<f4", true, 2, 2), MODEL).fortranOrder());
    assertTrue(read(NpyHeader.encode(3, "<f4", true, 2, 2), ARCHIVE).fortranOrder());
    assertFalse(read(NpyHeader.encode(1, "<f4", false, 2, 2), MODEL).fortranOrder());
    NpyHeader missing = read(raw(1, "{'descr': '<f4', 'shape': (2, 2)}", new byte[0]), MODEL);
    assertArrayEquals(new int[] {2, 2}, missing.shape());
    assertFalse(missing.fortranOrder());
  }

  @Test
  void fortranOrderDataIsReorderedToCOrder() {
    // a (2, 3, 4) array a[i][j][k] = 100 i + 10 j + k: in Fortran order i varies fastest, then j, then k
    int[] shape = {2, 3, 4};
    float[] fortran = new float[24];
    float[] c = new float[24];
    for (int i = 0; i < 2; i++) {
      for (int j = 0; j < 3; j++) {
        for (int k = 0; k < 4; k++) {
          fortran[i + 2 * (j + 3 * k)] = 100 * i + 10 * j + k;
          c[(i * 3 + j) * 4 + k] = 100 * i + 10 * j + k;
        }
      }
    }
    assertArrayEquals(c, NpyHeader.toCOrder(fortran, shape));
    // a matrix: the transpose of its Fortran data read as C
    assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6},
        NpyHeader.toCOrder(new float[] {1, 2, 3, 4, 5, 6}, new int[] {2, 3}));
    float[] vector = {1, 2, 3};
    assertSame(vector, NpyHeader.toCOrder(vector, new int[] {3}), "one dimension is the same in both orders");
    assertEquals(0, NpyHeader.toCOrder(new float[0], new int[] {0, 5}).length);
  }

  @Test
  void scalarsAndOneTuples() throws IOException {
    NpyHeader scalar = read(raw(1, dict("<f4", "False", ""), new byte[0]), MODEL);
    assertArrayEquals(new int[0], scalar.shape());
    assertEquals(1, scalar.count());
    assertArrayEquals(new int[] {7}, read(raw(1, dict("<f4", "False", "7,"), new byte[0]), MODEL).shape());
    assertArrayEquals(new int[] {0, 3}, read(raw(1, dict("<f4", "False", "0, 3"), new byte[0]), MODEL).shape());
    assertEquals(0, read(raw(1, dict("<f4", "False", "0, 3"), new byte[0]), MODEL).dataBytes());
  }

  @Test
  void badMagicAndUnknownVersions() {
    byte[] good = NpyHeader.encode(1, "<f4", false, 2);
    byte[] magic = good.clone();
    magic[1] = 'X';
    refused(magic, MODEL, Problem.BAD_MAGIC);
    refused(Arrays.copyOf(good, 9), MODEL, Problem.BAD_MAGIC);
    refused(new byte[0], ARCHIVE, Problem.BAD_MAGIC);
    byte[] v4 = good.clone();
    v4[6] = 4;
    assertEquals(4L, refused(v4, MODEL, Problem.UNSUPPORTED_VERSION).number());
    byte[] v0 = good.clone();
    v0[6] = 0;
    assertEquals(0L, refused(v0, ARCHIVE, Problem.UNSUPPORTED_VERSION).number());
  }

  @Test
  void truncatedHeaders() {
    byte[] v2 = NpyHeader.encode(2, "<f4", false, 2);
    // cut inside the 4-byte length of version 2: the length itself is unknown
    assertEquals(-1L, refused(Arrays.copyOf(v2, 11), MODEL, Problem.TRUNCATED_HEADER).number());
    // cut inside the header text: the declared length is reported
    Malformed cut = refused(Arrays.copyOf(v2, 40), MODEL, Problem.TRUNCATED_HEADER);
    assertEquals(v2.length - 12L, cut.number());
    refused(Arrays.copyOf(NpyHeader.encode(1, "<f4", false, 2), 30), ARCHIVE, Problem.TRUNCATED_HEADER);
  }

  @Test
  void headerLengthsAboveTheCallersBoundAreRefusedBeforeReading() throws IOException {
    String padded = dict("<f4", "False", "2,") + " ".repeat(5000);
    // 5 KB of header: within the model reader's 64 KiB, beyond the archive's 4 KiB
    assertEquals(2, read(raw(2, padded, new byte[0]), MODEL).count());
    assertEquals((long) padded.length(), refused(raw(2, padded, new byte[0]), ARCHIVE, Problem.HEADER_TOO_LONG)
        .number());
    // a version-2 length of 4 GiB − 1 with nothing behind it: refused from the length alone
    byte[] huge = raw(2, "", new byte[0]);
    ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -1);
    assertEquals(0xffffffffL, refused(huge, MODEL, Problem.HEADER_TOO_LONG).number());
  }

  @Test
  void unreadableHeaders() {
    assertEquals("{'shape': (2,)}", refused(raw(1, "{'shape': (2,)}", new byte[0]), MODEL,
        Problem.UNREADABLE_HEADER).text());
    refused(raw(1, "{'descr': '<f4'}", new byte[0]), MODEL, Problem.UNREADABLE_HEADER);
    refused(raw(1, "{'descr': [('a', '<f4')], 'shape': (2,)}", new byte[0]), MODEL, Problem.UNREADABLE_HEADER);
  }

  @Test
  void dimensionsMustBeNonNegativeIntegersBelowTwoToTheThirtyOne() throws IOException {
    Malformed negative = refused(raw(1, dict("<f4", "False", "-4, 2"), new byte[0]), MODEL, Problem.BAD_DIMENSION);
    assertEquals(-4L, negative.number());
    assertEquals("-4, 2", negative.text());
    assertEquals(4294967295L, refused(raw(1, dict("<f4", "False", "4294967295,"), new byte[0]), ARCHIVE,
        Problem.BAD_DIMENSION).number());
    for (String shape : new String[] {"1e9,", "x, 2", "0x10,", "2,, 3", ",", "+3,", "99999999999999999999,"}) {
      assertNull(refused(raw(1, dict("<f4", "False", shape), new byte[0]), MODEL, Problem.BAD_DIMENSION).number(),
          shape);
    }
    assertEquals(Integer.MAX_VALUE, read(raw(1, dict("|u1", "False", "2147483647,"), new byte[0]), MODEL).shape()[0]);
    assertArrayEquals(new int[] {3}, read(raw(1, dict("<f4", "False", " 3 ,"), new byte[0]), MODEL).shape());
  }

  @Test
  void dimensionCountsAboveTheCallersBound() throws IOException {
    String nine = "1, 1, 1, 1, 1, 1, 1, 1, 1";
    assertEquals(9, read(raw(1, dict("<f4", "False", nine), new byte[0]), MODEL).shape().length);
    assertEquals(9L, refused(raw(1, dict("<f4", "False", nine), new byte[0]), ARCHIVE, Problem.TOO_MANY_DIMENSIONS)
        .number());
    String many = String.join(", ", java.util.Collections.nCopies(33, "1"));
    assertEquals(33L, refused(raw(1, dict("<f4", "False", many), new byte[0]), MODEL, Problem.TOO_MANY_DIMENSIONS)
        .number());
  }

  @Test
  void sizeArithmeticIsChecked() throws IOException {
    // (2^31−1)³ overflows the element count
    Malformed count = refused(NpyHeader.encode(1, "<f4", false, Integer.MAX_VALUE, Integer.MAX_VALUE,
        Integer.MAX_VALUE), ARCHIVE, Problem.SIZE_OVERFLOW);
    assertEquals("[2147483647, 2147483647, 2147483647]", count.text());
    // 2^62 elements fit a long, their 8-byte size does not; 2^60 float32 take 2^62 bytes, which fits
    refused(NpyHeader.encode(1, "<f8", false, 1 << 30, 1 << 30, 4), MODEL, Problem.SIZE_OVERFLOW);
    NpyHeader fits = read(NpyHeader.encode(1, "<f4", false, 1 << 30, 1 << 30, 1), MODEL);
    assertEquals(1L << 60, fits.count());
    assertEquals(1L << 62, fits.dataBytes());
    // a zero dimension: nothing to overflow, whatever the others say
    assertEquals(0, read(NpyHeader.encode(1, "<f8", false, Integer.MAX_VALUE, 0, Integer.MAX_VALUE), MODEL)
        .dataBytes());
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** {@link NpzModel#readNpy} on the shared parser: its own bounds (64 KiB, 32 dimensions) and one-line messages. */
  @Test
  void theModelReaderKeepsItsBoundsAndMessages() throws IOException {
    java.nio.file.Path file = java.nio.file.Path.of("net.npz");
    String where = "net.npz: array W0";
    java.util.function.Function<byte[], String> message = npy -> assertThrows(NpzModel.ModelFileException.class,
        () -> NpzModel.readNpy(file, "W0", new ByteArrayInputStream(npy), npy.length, 1 << 20,
            new java.util.HashMap<>())).getMessage();
    ByteBuffer data = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 1; i <= 6; i++) {
      data.putFloat(i); // a (2, 3) matrix in Fortran order: its columns (1, 2), (3, 4), (5, 6)
    }
    byte[] fortran = concat(NpyHeader.encode(2, "<f4", true, 2, 3), data.array());
    java.util.Map<String, int[]> fortranShapes = new java.util.HashMap<>();
    assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, NpzModel.readNpy(file, "W0", new ByteArrayInputStream(fortran),
        fortran.length, 1 << 20, fortranShapes));
    assertArrayEquals(new int[] {2, 3}, fortranShapes.get("W0"));
    byte[] v7 = NpyHeader.encode(1, "<f4", false, 1);
    v7[6] = 7;
    assertEquals(where + " has .npy format version 7; expected 1, 2 or 3", message.apply(v7));
    assertEquals(where + " has dtype <i4; expected <f4 or <f8", message.apply(NpyHeader.encode(1, "<i4", false, 1)));
    assertEquals(where + " has dtype >f4; expected <f4 or <f8", message.apply(NpyHeader.encode(1, ">f4", false, 1)));
    assertEquals(where + " has a truncated header", message.apply(Arrays.copyOf(NpyHeader.encode(3, "<f4", false,
        1), 50)));
    assertEquals(where + " has 33 dimensions; expected at most 32", message.apply(raw(1, dict("<f4", "False",
        String.join(", ", java.util.Collections.nCopies(33, "1"))), new byte[0])));
    assertEquals(where + " has shape (x,); expected non-negative integers", message.apply(raw(1, dict("<f4", "False",
        "x,"), new byte[0])));
    // nine dimensions and a 5 KB header: beyond the archive's bounds, within the model reader's
    byte[] nine = raw(2, dict("<f4", "False", "1, 1, 1, 1, 1, 1, 1, 1, 2") + " ".repeat(5000), new byte[8]);
    java.util.Map<String, int[]> shapes = new java.util.HashMap<>();
    float[] values = NpzModel.readNpy(file, "W0", new ByteArrayInputStream(nine), nine.length, 1 << 20, shapes);
    assertEquals(2, values.length);
    assertEquals(9, shapes.get("W0").length);
  }
}
