package org.splinewatch.snapshot;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.splinewatch.regions.Layer;

/**
 * Compact binary form of {@link WeightSnapshot} and {@link RunInfo} for the wire: a magic number and version, then
 * the fields in declaration order, float arrays as raw little-endian IEEE-754 (4 bytes a weight, no per-element
 * overhead). Plain code; the cluster transport chunks the bytes.
 *
 * <p>Over 300 lines because the encoder and the decoder of the binary format stand side by side, so that each field
 * is written and checked in one place.
 */
public final class SnapshotCodec {
  private static final int SNAPSHOT_MAGIC = 0x53575331; // "SWS1"
  private static final int RUN_MAGIC = 0x53575231; // "SWR1"

  private SnapshotCodec() {
  }

  /** Encodes a snapshot. */
  public static byte[] encode(WeightSnapshot s) {
    return write(out -> {
      out.writeInt(SNAPSHOT_MAGIC);
      out.writeUTF(s.runId());
      out.writeLong(s.step());
      out.writeInt(s.epoch());
      out.writeLong(s.wallTimeMillis());
      out.writeInt(s.inputDim());
      out.writeInt(s.reprBlock());
      out.writeBoolean(s.classifierHead());
      out.writeDouble(s.loss());
      out.writeDouble(s.learningRate());
      out.writeDouble(s.stepsPerSecond());
      out.writeInt(s.layers().size());
      for (Layer l : s.layers()) {
        writeLayer(out, l);
      }
    });
  }

  /** Decodes a snapshot; a malformed payload is an {@link IllegalArgumentException} saying what was wrong. */
  public static WeightSnapshot decodeSnapshot(byte[] bytes) {
    return read(bytes, "snapshot", in -> {
      expectMagic(in, SNAPSHOT_MAGIC, "snapshot");
      String runId = in.readUTF();
      long step = in.readLong();
      int epoch = in.readInt();
      long wall = in.readLong();
      int inputDim = in.readInt();
      int repr = in.readInt();
      boolean head = in.readBoolean();
      double loss = in.readDouble();
      double lr = in.readDouble();
      double sps = in.readDouble();
      int n = count(in, "layers");
      List<Layer> layers = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        layers.add(readLayer(in));
      }
      return new WeightSnapshot(runId, step, epoch, wall, inputDim, layers, repr, head, loss, lr, sps);
    });
  }

  /** Encodes what is fixed for a run (probes, planes, the linear-probe subset). */
  public static byte[] encode(RunInfo r) {
    return write(out -> {
      out.writeInt(RUN_MAGIC);
      out.writeUTF(r.runId());
      out.writeUTF(r.method());
      out.writeUTF(r.dataset());
      out.writeInt(r.inputDim());
      out.writeInt(r.probeCount());
      writeFloats(out, r.probeInputs());
      writeFloats(out, r.probePairInputs());
      writeInts(out, r.probeLabels());
      out.writeInt(r.classes());
      out.writeInt(r.planeAnchors().size());
      for (int[] a : r.planeAnchors()) {
        writeInts(out, a);
      }
      writeFloats(out, r.fitInputs());
      writeInts(out, r.fitLabels());
    });
  }

  /** Decodes a run description. */
  public static RunInfo decodeRun(byte[] bytes) {
    return read(bytes, "run description", in -> {
      expectMagic(in, RUN_MAGIC, "run description");
      String runId = in.readUTF();
      String method = in.readUTF();
      String dataset = in.readUTF();
      int inputDim = in.readInt();
      int probeCount = in.readInt();
      float[] probes = readFloats(in);
      float[] pairs = readFloats(in);
      int[] labels = readInts(in);
      int classes = in.readInt();
      int planes = count(in, "planes");
      List<int[]> anchors = new ArrayList<>(planes);
      for (int i = 0; i < planes; i++) {
        anchors.add(readInts(in));
      }
      float[] fit = readFloats(in);
      int[] fitLabels = readInts(in);
      return new RunInfo(runId, method, dataset, inputDim, probeCount, probes, pairs, labels, classes, anchors, fit,
          fitLabels);
    });
  }

  private static void writeLayer(DataOutputStream out, Layer l) throws IOException {
    if (l instanceof Layer.Dense d) {
      out.writeByte(1);
      out.writeInt(d.in());
      out.writeInt(d.out());
      writeFloats(out, d.weights());
      writeFloats(out, d.bias());
    } else if (l instanceof Layer.Conv2D c) {
      out.writeByte(2);
      for (int v : new int[] {c.inChannels(), c.inHeight(), c.inWidth(), c.outChannels(), c.kernelH(), c.kernelW(),
          c.stride(), c.padding()}) {
        out.writeInt(v);
      }
      writeFloats(out, c.weights());
      writeFloats(out, c.bias());
    } else if (l instanceof Layer.AvgPool2D p) {
      out.writeByte(3);
      for (int v : new int[] {p.channels(), p.inHeight(), p.inWidth(), p.kernel(), p.stride()}) {
        out.writeInt(v);
      }
    } else if (l instanceof Layer.Flatten f) {
      out.writeByte(4);
      out.writeInt(f.size());
    } else if (l instanceof Layer.BatchNorm b) {
      out.writeByte(5);
      writeFloats(out, b.gamma());
      writeFloats(out, b.beta());
      writeFloats(out, b.mean());
      writeFloats(out, b.variance());
      out.writeDouble(b.epsilon());
    } else if (l instanceof Layer.Activation a) {
      out.writeByte(6);
      out.writeByte(a.kind().ordinal());
      out.writeDouble(a.alpha());
    } else {
      throw new IllegalArgumentException("no wire form for layer " + l);
    }
  }

  /**
   * Reads a layer, checking its shape with exact arithmetic before the layer's constructor multiplies (in int) and
   * before anything is sized by it.
   */
  private static Layer readLayer(DataInputStream in) throws IOException {
    int tag = in.readByte();
    switch (tag) {
      case 1: {
        int inSize = positive(in.readInt(), "Dense input size");
        int outSize = positive(in.readInt(), "Dense output size");
        long weights = (long) inSize * outSize;
        if (weights > in.available() / 4) {
          throw new IllegalArgumentException("Dense layer " + inSize + "x" + outSize + " needs " + weights
              + " weights; only " + in.available() + " bytes are left");
        }
        return new Layer.Dense(inSize, outSize, readFloats(in), readFloats(in));
      }
      case 2: {
        int[] v = new int[8];
        String[] names = {"in channels", "in height", "in width", "out channels", "kernel height", "kernel width",
            "stride", "padding"};
        for (int i = 0; i < 8; i++) {
          v[i] = i == 7 ? in.readInt() : positive(in.readInt(), "Conv2D " + names[i]);
        }
        if (v[7] < 0 || v[7] >= Math.min(v[4], v[5])) {
          throw new IllegalArgumentException("Conv2D padding " + v[7] + " must be >= 0 and below the kernel size");
        }
        Math.multiplyExact(Math.multiplyExact(v[0], v[1]), v[2]);
        long weights = Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(v[3], v[0]), v[4]), v[5]);
        if (weights > in.available() / 4) {
          throw new IllegalArgumentException("Conv2D layer needs " + weights + " weights; only " + in.available()
              + " bytes are left");
        }
        return new Layer.Conv2D(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], readFloats(in), readFloats(in));
      }
      case 3: {
        int[] v = new int[5];
        for (int i = 0; i < 5; i++) {
          v[i] = positive(in.readInt(), "AvgPool2D size");
        }
        Math.multiplyExact(Math.multiplyExact(v[0], v[1]), v[2]);
        return new Layer.AvgPool2D(v[0], v[1], v[2], v[3], v[4]);
      }
      case 4:
        return new Layer.Flatten(positive(in.readInt(), "Flatten size"));
      case 5:
        return new Layer.BatchNorm(readFloats(in), readFloats(in), readFloats(in), readFloats(in), in.readDouble());
      case 6: {
        int kind = in.readByte();
        Layer.Activation.Kind[] kinds = Layer.Activation.Kind.values();
        if (kind < 0 || kind >= kinds.length) {
          throw new IllegalArgumentException("unknown activation kind " + kind);
        }
        return new Layer.Activation(kinds[kind], in.readDouble());
      }
      default:
        throw new IllegalArgumentException("unknown layer tag " + tag + " (expected 1-6)");
    }
  }

  private static int positive(int v, String what) {
    if (v < 1) {
      throw new IllegalArgumentException(what + " " + v + " must be positive");
    }
    return v;
  }

  /**
   * Checks that the layers of a received snapshot chain: the first takes {@code inputDim} values, each takes what
   * the previous one gives (exact arithmetic), and none is wider than {@code maxWidth} units, since analyzers
   * allocate per unit and probe. A violation is an {@link IllegalArgumentException} naming the layer.
   */
  public static void checkShapes(WeightSnapshot s, int inputDim, int maxWidth) {
    if (s.inputDim() != inputDim) {
      throw new IllegalArgumentException("snapshot input size " + s.inputDim() + " differs from the run's " + inputDim);
    }
    if (s.layers().isEmpty() || s.layers().size() > 1024) {
      throw new IllegalArgumentException("snapshot has " + s.layers().size() + " layers; expected 1 to 1024");
    }
    if (s.reprBlock() < 0 || s.reprBlock() >= s.layers().size()) {
      throw new IllegalArgumentException("snapshot representation block " + s.reprBlock() + " is not a layer index");
    }
    long width = inputDim; // values flowing into layer i
    for (int i = 0; i < s.layers().size(); i++) {
      Layer l = s.layers().get(i);
      long takes = width;
      long gives = width;
      if (l instanceof Layer.Dense d) {
        takes = d.in();
        gives = d.out();
      } else if (l instanceof Layer.Conv2D c) {
        takes = (long) c.inChannels() * c.inHeight() * c.inWidth();
        gives = (long) c.outChannels() * c.outHeight() * c.outWidth();
      } else if (l instanceof Layer.AvgPool2D p) {
        takes = (long) p.channels() * p.inHeight() * p.inWidth();
        gives = (long) p.channels() * p.outHeight() * p.outWidth();
      } else if (l instanceof Layer.Flatten f) {
        takes = f.size();
        gives = f.size();
      } else if (l instanceof Layer.BatchNorm b) {
        // per feature, or per channel after a convolution (then it spans the channel's whole feature map)
        int n = b.gamma().length;
        takes = n > 0 && width % n == 0 ? width : n;
        gives = takes;
      }
      if (takes != width) {
        throw new IllegalArgumentException("layer " + i + " (" + l.getClass().getSimpleName() + ") takes " + takes
            + " values but receives " + width);
      }
      if (gives < 1 || gives > maxWidth) {
        throw new IllegalArgumentException("layer " + i + " (" + l.getClass().getSimpleName() + ") is " + gives
            + " units wide; expected 1 to " + maxWidth + " (splinewatch.cluster.max-layer-width)");
      }
      width = gives;
    }
  }

  private static void writeFloats(DataOutputStream out, float[] a) throws IOException {
    out.writeInt(a.length);
    ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(a);
    out.write(b.array());
  }

  private static float[] readFloats(DataInputStream in) throws IOException {
    int n = count(in, "floats");
    if (n > in.available() / 4) {
      throw new IllegalArgumentException("bad floats count " + n + " (" + in.available() + " bytes left)");
    }
    byte[] raw = new byte[n * 4];
    in.readFully(raw);
    float[] a = new float[n];
    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a);
    return a;
  }

  private static void writeInts(DataOutputStream out, int[] a) throws IOException {
    out.writeInt(a.length);
    for (int v : a) {
      out.writeInt(v);
    }
  }

  private static int[] readInts(DataInputStream in) throws IOException {
    int n = count(in, "ints");
    if (n > in.available() / 4) {
      throw new IllegalArgumentException("bad ints count " + n + " (" + in.available() + " bytes left)");
    }
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = in.readInt();
    }
    return a;
  }

  /** A length prefix, checked against what is left so a corrupt length cannot allocate gigabytes. */
  private static int count(DataInputStream in, String what) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > in.available()) {
      throw new IllegalArgumentException("bad " + what + " count " + n + " (" + in.available() + " bytes left)");
    }
    return n;
  }

  private static void expectMagic(DataInputStream in, int magic, String what) throws IOException {
    int m = in.readInt();
    if (m != magic) {
      throw new IllegalArgumentException("not a splinewatch " + what + ": magic 0x" + Integer.toHexString(m)
          + ", expected 0x" + Integer.toHexString(magic));
    }
  }

  private interface Writer {
    void write(DataOutputStream out) throws IOException;
  }

  private interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  private static byte[] write(Writer w) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      w.write(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static <T> T read(byte[] bytes, String what, Reader<T> r) {
    if (bytes == null) {
      throw new IllegalArgumentException("no " + what + " bytes");
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      T value = r.read(in);
      if (in.available() > 0) {
        throw new IllegalArgumentException("malformed " + what + ": " + in.available() + " trailing bytes");
      }
      return value;
    } catch (EOFException e) {
      throw new IllegalArgumentException("truncated " + what + " (" + bytes.length + " bytes)", e);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("malformed " + what + ": a layer shape overflows", e);
    } catch (NullPointerException e) {
      throw new IllegalArgumentException("malformed " + what + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
