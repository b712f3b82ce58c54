package org.splinewatch.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.splinewatch.snapshot.IoErrors;

/** The IDX format of MNIST: big-endian magic {@code 0x0000 08 NN} (unsigned bytes, NN dimensions), sizes, data. */
public final class Idx {
  public static final int IMAGES_MAGIC = 0x00000803;
  public static final int LABELS_MAGIC = 0x00000801;

  private Idx() {
  }

  /** Reads an images file and a labels file (plain or {@code .gz}) into one data set. */
  public static LabeledImages read(Path images, Path labels) {
    int[] imgHeader = new int[3];
    byte[] px = readFile(images, IMAGES_MAGIC, imgHeader);
    int[] labHeader = new int[1];
    byte[] lb = readFile(labels, LABELS_MAGIC, labHeader);
    if (imgHeader[0] != labHeader[0]) {
      throw new DataException(images.getFileName() + " holds " + imgHeader[0] + " images but "
          + labels.getFileName() + " holds " + labHeader[0] + " labels; expected the same count");
    }
    int[] lab = new int[lb.length];
    for (int i = 0; i < lb.length; i++) {
      lab[i] = lb[i] & 0xff;
      if (lab[i] > 9) {
        throw new DataException(labels + ": label " + lab[i] + " at index " + i + "; expected 0-9");
      }
    }
    return new LabeledImages(imgHeader[1], imgHeader[2], px, lab);
  }

  private static byte[] readFile(Path file, int magic, int[] dims) {
    try (InputStream raw = Files.newInputStream(file);
        InputStream in = new BufferedInputStream(file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw)) {
      int m = readInt(in, file);
      if (m != magic) {
        throw new DataException(String.format(java.util.Locale.ROOT,
            "%s: wrong magic number 0x%08x; expected 0x%08x (IDX %s file)", file, m, magic,
            magic == IMAGES_MAGIC ? "images" : "labels"));
      }
      long total = 1;
      for (int k = 0; k < dims.length; k++) {
        dims[k] = readInt(in, file);
        if (dims[k] < 0) {
          throw new DataException(file + ": negative dimension " + dims[k] + " in the header");
        }
        total *= dims[k];
      }
      if (total > Integer.MAX_VALUE - 16) {
        throw new DataException(file + ": header declares " + total + " bytes; too large");
      }
      byte[] data = in.readNBytes((int) total);
      if (data.length < total) {
        throw new DataException(file + ": truncated: " + data.length + " data bytes, header promises " + total);
      }
      return data;
    } catch (NoSuchFileException e) {
      throw new DataException(file + ": file not found");
    } catch (IOException e) {
      throw new DataException(file + ": cannot read (" + IoErrors.reason(e) + ")", e);
    }
  }

  private static int readInt(InputStream in, Path file) throws IOException {
    byte[] b = in.readNBytes(4);
    if (b.length < 4) {
      throw new DataException(file + ": truncated header; expected an IDX file");
    }
    return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
  }

  /** Writes images and labels as uncompressed IDX files. */
  public static void write(LabeledImages data, Path images, Path labels) throws IOException {
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(images)))) {
      out.writeInt(IMAGES_MAGIC);
      out.writeInt(data.count());
      out.writeInt(data.rows());
      out.writeInt(data.cols());
      out.write(data.pixels());
    }
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(labels)))) {
      out.writeInt(LABELS_MAGIC);
      out.writeInt(data.count());
      for (int l : data.labels()) {
        out.writeByte(l);
      }
    }
  }


}
