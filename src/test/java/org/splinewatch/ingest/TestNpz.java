package org.splinewatch.ingest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.splinewatch.regions.Layer;

/** Builds .npz request bodies for the ingestion tests, as a client in another language would (float32 .npy). */
final class TestNpz {
  private final Map<String, byte[]> entries = new LinkedHashMap<>();

  TestNpz array(String name, float[] values, int... shape) {
    String dims = shape.length == 1 ? shape[0] + "," : String.join(", ",
        Arrays.stream(shape).mapToObj(Integer::toString).toList());
    String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    int pad = (64 - (10 + header.length() + 1) % 64) % 64;
    header = header + " ".repeat(pad) + "\n";
    ByteBuffer bb = ByteBuffer.allocate(10 + header.length() + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
    bb.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII));
    for (float v : values) {
      bb.putFloat(v);
    }
    entries.put(name + ".npy", bb.array());
    return this;
  }

  /** A {@code <f8} (float64) array, as numpy writes one by default. */
  TestNpz array64(String name, double[] values, int... shape) {
    byte[] header = org.splinewatch.regions.NpyHeader.encode(1, "<f8", false, shape);
    ByteBuffer bb = ByteBuffer.allocate(header.length + 8 * values.length).order(ByteOrder.LITTLE_ENDIAN).put(header);
    for (double v : values) {
      bb.putDouble(v);
    }
    entries.put(name + ".npy", bb.array());
    return this;
  }

  /** Rewrites {@code from} to {@code to} in the header of array {@code name} (a lying or oversized header). */
  TestNpz patch(String name, String from, String to) {
    String npy = new String(entries.get(name + ".npy"), StandardCharsets.ISO_8859_1);
    int end = npy.indexOf('\n') + 1;
    String header = npy.substring(10, end).replace(from, to);
    int pad = (64 - (10 + header.trim().length() + 1) % 64) % 64;
    header = header.trim() + " ".repeat(pad) + "\n";
    ByteBuffer bb = ByteBuffer.allocate(10 + header.length() + npy.length() - end).order(ByteOrder.LITTLE_ENDIAN);
    bb.put(npy.substring(0, 8).getBytes(StandardCharsets.ISO_8859_1)).putShort((short) header.length())
        .put(header.getBytes(StandardCharsets.ISO_8859_1)).put(npy.substring(end).getBytes(StandardCharsets.ISO_8859_1));
    entries.put(name + ".npy", bb.array());
    return this;
  }

  TestNpz json(String name, String json) {
    entries.put(name + ".json", json.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  byte[] bytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      for (var e : entries.entrySet()) {
        zip.putNextEntry(new ZipEntry(e.getKey()));
        zip.write(e.getValue());
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  static float[] randn(Random r, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * std);
    }
    return a;
  }

  /** A registration of {@code n} probes of shape {@code (1, side, side)} with labels {@code i % classes}. */
  static byte[] run(String id, int n, int side, int classes, String extraJson) {
    Random r = new Random(id.hashCode());
    float[] probes = new float[n * side * side];
    for (int i = 0; i < probes.length; i++) {
      probes[i] = r.nextFloat();
    }
    float[] labels = new float[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % classes;
    }
    return new TestNpz().json("run", "{\"run_id\": \"" + id + "\", \"method\": \"supervised\", \"dataset\": \"toy\","
            + " \"classes\": " + classes + ", \"tags\": {\"framework\": \"test\"}" + extraJson + "}")
        .array("probes", probes, n, 1, side, side).array("probe_labels", labels, n).bytes();
  }

  /**
   * The layers in the extended format: one {@code l<i>.<key>} array per parameter and a snapshot.json layer list;
   * {@code projectorAt} marks the projector's first layer (-1: none).
   */
  static TestNpz snapshot(List<Layer> layers, long step, double loss, int projectorAt) {
    TestNpz npz = new TestNpz();
    StringBuilder list = new StringBuilder();
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      String p = "l" + i + ".";
      String spec;
      if (l instanceof Layer.Dense d) {
        npz.array(p + "weight", d.weights(), d.in(), d.out()).array(p + "bias", d.bias(), d.out());
        spec = "{\"type\": \"dense\", \"weight\": \"" + p + "weight\", \"bias\": \"" + p + "bias\"";
      } else if (l instanceof Layer.Conv2D c) {
        npz.array(p + "weight", c.weights(), c.outChannels(), c.inChannels(), c.kernelH(), c.kernelW())
            .array(p + "bias", c.bias(), c.outChannels());
        spec = "{\"type\": \"conv2d\", \"weight\": \"" + p + "weight\", \"bias\": \"" + p + "bias\", \"stride\": "
            + c.stride() + ", \"padding\": " + c.padding();
      } else if (l instanceof Layer.AvgPool2D a) {
        spec = "{\"type\": \"avgpool2d\", \"kernel\": " + a.kernel() + ", \"stride\": " + a.stride();
      } else if (l instanceof Layer.Flatten) {
        spec = "{\"type\": \"flatten\"";
      } else if (l instanceof Layer.BatchNorm bn) {
        int n = bn.gamma().length;
        npz.array(p + "gamma", bn.gamma(), n).array(p + "beta", bn.beta(), n).array(p + "mean", bn.mean(), n)
            .array(p + "var", bn.variance(), n);
        spec = "{\"type\": \"batchnorm\", \"gamma\": \"" + p + "gamma\", \"beta\": \"" + p + "beta\", \"mean\": \""
            + p + "mean\", \"var\": \"" + p + "var\", \"eps\": " + bn.epsilon();
      } else if (l instanceof Layer.Activation a && a.kind() == Layer.Activation.Kind.LEAKY_RELU) {
        spec = "{\"type\": \"leaky_relu\", \"negative_slope\": " + a.alpha();
      } else {
        spec = "{\"type\": \"relu\"";
      }
      list.append(i == 0 ? "" : ", ").append(spec).append(i == projectorAt ? ", \"projector\": true}" : "}");
    }
    return npz.json("snapshot", "{\"step\": " + step + ", \"epoch\": 0, \"loss\": " + loss
        + ", \"learning_rate\": 0.01, \"layers\": [" + list + "]}");
  }

  /** A classifier on {@code (1, side, side)} inputs: conv 3x3 (pad 1) + BN + ReLU + avgpool 2 + flatten + dense. */
  static List<Layer> cnn(long seed, int side, int classes) {
    Random r = new Random(seed);
    int ch = 3;
    int pooled = side / 2;
    int flat = ch * pooled * pooled;
    return List.of(
        new Layer.Conv2D(1, side, side, ch, 3, 3, 1, 1, randn(r, ch * 9, 0.6), randn(r, ch, 0.1)),
        new Layer.BatchNorm(new float[] {1.2f, 0.8f, 1f}, new float[] {0.1f, -0.1f, 0f},
            new float[] {0.05f, 0f, -0.05f}, new float[] {1.5f, 0.7f, 1f}, 1e-5),
        Layer.Activation.relu(),
        new Layer.AvgPool2D(ch, side, side, 2, 2),
        new Layer.Flatten(flat),
        new Layer.Dense(flat, 12, randn(r, flat * 12, Math.sqrt(2.0 / flat)), randn(r, 12, 0.05)),
        Layer.Activation.leakyRelu(0.1),
        new Layer.Dense(12, classes, randn(r, 12 * classes, 0.4), randn(r, classes, 0.05)));
  }
}
