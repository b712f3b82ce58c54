package org.splinewatch.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.snapshot.NpzArchive.Array;
import org.splinewatch.snapshot.NpzArchive.FormatException;

/**
 * A network of any layer kind of the ingestion format and one plane, as one {@code .npz} file for
 * {@code ./monitor regions} (docs/snapshot-format.md, "Region files"): {@code network.json} holds the snapshot's
 * {@code layers} list (arrays named in it, as in a snapshot body) and the plane is either three {@code anchors}
 * (shape {@code (3, …input shape)}, the SplineCam plane of regions.md §2.1 with domain {@code |s| + |t| ≤ pad},
 * {@code "pad"} in {@code network.json}, default 1.5× the anchors' extent, as the live analyzers draw) or
 * {@code origin}, {@code u}, {@code v} (shape of one input, the chart {@code o + a·u + b·v} on {@code [−1,1]²}). The
 * shape of the plane arrays is the network's input shape: {@code (d)} or {@code (c, h, w)}.
 *
 * <p>The region analyzer writes one when a live plane overflows its cap, so that the plane can be counted exactly
 * offline ({@code --tiled}); the Python client writes one from a PyTorch model.
 */
public final class RegionFile {
  /** The JSON document's entry name. */
  public static final String DOC = "network";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_LAYERS = 256;
  private static final int MAX_WIDTH = 1 << 24;

  private RegionFile() {
  }

  /**
   * What a region file holds: the network to partition (up to a marked projector) and its plane; {@code warnings}:
   * one line per {@code <f8} array with nonzero values that float32 rounded to 0 ({@link NpzArchive#warnings}).
   */
  public record Model(PiecewiseLinearNet net, Plane plane, int[] inputShape, List<String> architecture,
      List<String> warnings) {
  }

  /** The names of {@link #overflowFile}s (group 1: the plane). */
  public static final Pattern OVERFLOW_FILE = Pattern.compile("plane-(\\d{1,4})-overflow\\.npz");

  /** Where the region analyzer writes plane {@code k}'s network of an overflowed snapshot, under a run's planes/. */
  public static Path overflowFile(Path planesDir, int k) {
    return planesDir.resolve("plane-" + k + "-overflow.npz");
  }

  /** Whether {@code file} is a region file (holds {@code network.json}) rather than the benchmark format's MLP. */
  public static boolean isRegionFile(Path file) {
    try (ZipFile zip = new ZipFile(file.toFile())) {
      return zip.getEntry(DOC + ".json") != null;
    } catch (IOException e) {
      return false; // not a zip: the benchmark reader names what is wrong
    }
  }

  /**
   * Reads {@code file}, at most {@code maxBytes} of arrays once inflated. Every problem is one
   * {@link FormatException} line naming the file, what was wrong and what was expected.
   */
  public static Model read(Path file, long maxBytes) {
    String what = file.toString();
    byte[] body;
    try {
      long size = Files.size(file);
      if (size > maxBytes) {
        throw new FormatException(what + " is " + size + " bytes; expected at most " + maxBytes
            + " (a quarter of the heap; raise SPLINEWATCH_HEAP)", true);
      }
      body = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new FormatException(what + ": cannot read (" + IoErrors.reason(e) + ")");
    }
    NpzArchive npz = NpzArchive.read(body, new NpzArchive.Limits(maxBytes, 4096), what);
    JsonNode doc = SnapshotFormat.json(npz, DOC, what);
    Array anchors = npz.array("anchors");
    Array origin = npz.array("origin");
    if ((anchors == null) == (origin == null)) {
      throw new FormatException(what + ": " + (anchors == null ? "no plane" : "two planes") + "; expected either"
          + " anchors (3, ...input shape) or origin, u and v (each of the input shape)");
    }
    int[] inputShape = anchors != null ? Arrays.copyOfRange(anchors.shape(), 1, anchors.shape().length)
        : origin.shape();
    if (inputShape.length != 1 && inputShape.length != 3
        || anchors != null && (anchors.shape().length < 2 || anchors.shape()[0] != 3)) {
      throw new FormatException(what + ": " + (anchors != null ? anchors : origin) + " does not give an input shape;"
          + " expected " + (anchors != null ? "anchors of shape (3, d) or (3, c, h, w)" : "origin of shape (d,) or"
          + " (c, h, w)"));
    }
    SnapshotFormat.LayerList parsed = SnapshotFormat.layerList(npz, doc.path("layers"), inputShape, MAX_LAYERS,
        MAX_WIDTH, "the most a region file's layer may output", what);
    int dim = Math.toIntExact(Arrays.stream(inputShape).asLongStream().reduce(1, Math::multiplyExact));
    PiecewiseLinearNet net;
    try {
      net = new PiecewiseLinearNet(dim, parsed.layers());
    } catch (IllegalArgumentException e) {
      throw new FormatException(what + ": " + e.getMessage());
    }
    List<Layer> layers = parsed.layers();
    if (parsed.projectorAt() >= 0) { // as the live analyzer: the encoder up to the representation
      int hidden = 0;
      for (Layer l : layers.subList(0, parsed.projectorAt())) {
        hidden += l instanceof Layer.Activation a && a.kind() != Layer.Activation.Kind.IDENTITY ? 1 : 0;
      }
      if (hidden == 0) {
        throw new FormatException(what + ": the projector starts before any activation; expected it after the"
            + " encoder's last activation");
      }
      net = net.prefix(hidden);
      layers = net.layers();
    }
    if (net.hiddenBlocks().isEmpty()) {
      throw new FormatException(what + ": the network has no ReLU or LeakyReLU layer, so no regions; expected at"
          + " least one");
    }
    Plane plane;
    try {
      if (anchors != null) {
        JsonNode pad = doc.path("pad");
        if (!pad.isMissingNode() && !pad.isNull() && !(pad.isNumber() && pad.asDouble() > 0)) {
          throw new FormatException(what + ": pad is " + pad + "; expected a positive number (or none for 1.5x the"
              + " anchors' extent)");
        }
        plane = Plane.throughAnchors(row(what, anchors, 0, dim), row(what, anchors, 1, dim),
            row(what, anchors, 2, dim), pad.isNumber() ? pad.asDouble() : 0);
      } else {
        double[][] chart = new double[3][];
        String[] names = {"origin", "u", "v"};
        for (int i = 0; i < 3; i++) {
          Array a = npz.array(names[i]);
          if (a == null || !Arrays.equals(a.shape(), inputShape)) {
            throw new FormatException(what + ": " + (a == null ? "missing array " + names[i] : names[i] + " has shape "
                + Arrays.toString(a.shape())) + "; expected the shape of origin, " + Arrays.toString(inputShape));
          }
          chart[i] = row(what, a, 0, dim);
        }
        plane = Plane.explicit(chart[0], chart[1], chart[2]);
      }
    } catch (IllegalArgumentException e) {
      throw new FormatException(what + ": " + e.getMessage());
    }
    return new Model(net, plane, inputShape, SnapshotFormat.architecture(layers), List.copyOf(npz.warnings().values()));
  }

  /** Input vector {@code row} of {@code a}, whose values must all be finite (one line naming the first that is not). */
  private static double[] row(String what, Array a, int row, int dim) {
    SnapshotFormat.finite(what, a);
    return Layer.widen(Arrays.copyOfRange(a.values(), row * dim, (row + 1) * dim));
  }

  /**
   * Writes {@code net} and the plane through {@code anchors} (three inputs, float32 values: the run's probes) with
   * domain {@code pad} ({@code ≤ 0}: the default) to {@code file}, atomically (a temporary file, then a move). The
   * input shape is the first convolution's or pooling's input when one comes before any dense layer, else flat.
   */
  public static void write(Path file, PiecewiseLinearNet net, double[][] anchors, double pad) throws IOException {
    int[] shape = inputShape(net);
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    ObjectNode doc = JSON.createObjectNode();
    doc.put("format", "splinewatch-regions");
    doc.put("version", 1);
    if (pad > 0) {
      doc.put("pad", pad);
    }
    ArrayNode list = doc.putArray("layers");
    int[] current = shape.clone();
    Layer previous = null;
    for (Layer l : net.layers()) {
      ObjectNode e = JSON.createObjectNode();
      String p = "l" + list.size() + ".";
      if (l instanceof Layer.Dense d) {
        e.put("type", "dense").put("weight", p + "weight").put("bias", p + "bias");
        put(arrays, shapes, p + "weight", d.weights(), d.in(), d.out());
        put(arrays, shapes, p + "bias", d.bias(), d.out());
        current = new int[] {d.out()};
      } else if (l instanceof Layer.Conv2D c) {
        e.put("type", "conv2d").put("weight", p + "weight").put("bias", p + "bias").put("stride", c.stride())
            .put("padding", c.padding());
        put(arrays, shapes, p + "weight", c.weights(), c.outChannels(), c.inChannels(), c.kernelH(), c.kernelW());
        put(arrays, shapes, p + "bias", c.bias(), c.outChannels());
        current = new int[] {c.outChannels(), c.outHeight(), c.outWidth()};
      } else if (l instanceof Layer.AvgPool2D a) {
        e.put("type", "avgpool2d").put("kernel", a.kernel()).put("stride", a.stride());
        current = new int[] {a.channels(), a.outHeight(), a.outWidth()};
      } else if (l instanceof Layer.Flatten f) {
        e.put("type", "flatten");
        current = new int[] {f.size()};
      } else if (l instanceof Layer.BatchNorm b) {
        e.put("type", "batchnorm").put("gamma", p + "gamma").put("beta", p + "beta").put("mean", p + "mean")
            .put("var", p + "var").put("eps", b.epsilon());
        float[][] v = {b.gamma(), b.beta(), b.mean(), b.variance()};
        String[] keys = {"gamma", "beta", "mean", "var"};
        for (int k = 0; k < 4; k++) {
          float[] perFeature = current.length == 3 && !(previous instanceof Layer.Conv2D)
              ? perChannel(v[k], current) : v[k];
          put(arrays, shapes, p + keys[k], perFeature, perFeature.length);
        }
      } else if (l instanceof Layer.Activation a) {
        if (a.kind() == Layer.Activation.Kind.IDENTITY) {
          continue;
        }
        e.put("type", a.kind() == Layer.Activation.Kind.RELU ? "relu" : "leaky_relu");
        if (a.kind() == Layer.Activation.Kind.LEAKY_RELU) {
          e.put("negative_slope", a.alpha());
        }
      }
      list.add(e);
      previous = l;
    }
    int dim = net.inputDim();
    float[] a = new float[3 * dim];
    for (int i = 0; i < 3; i++) {
      if (anchors[i].length != dim) {
        throw new IllegalArgumentException("anchor " + i + " has " + anchors[i].length + " values; expected " + dim);
      }
      for (int k = 0; k < dim; k++) {
        a[i * dim + k] = (float) anchors[i][k];
      }
    }
    int[] anchorShape = new int[shape.length + 1];
    anchorShape[0] = 3;
    System.arraycopy(shape, 0, anchorShape, 1, shape.length);
    put(arrays, shapes, "anchors", a, anchorShape);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      NpzModel.write(tmp, Map.of(DOC, JSON.writeValueAsBytes(doc)), arrays, shapes);
      DurableFiles.sync(tmp); // on disk before the rename makes it the file (durability.md)
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      DurableFiles.syncDirectory(file.toAbsolutePath().getParent());
    } finally {
      Files.deleteIfExists(tmp); // a failed write leaves the old file and no temporary
    }
  }

  /** The input shape the layer list needs: (c, h, w) when an image layer comes before any dense layer. */
  private static int[] inputShape(PiecewiseLinearNet net) {
    for (Layer l : net.layers()) {
      if (l instanceof Layer.Conv2D c) {
        return new int[] {c.inChannels(), c.inHeight(), c.inWidth()};
      } else if (l instanceof Layer.AvgPool2D p) {
        return new int[] {p.channels(), p.inHeight(), p.inWidth()};
      } else if (l instanceof Layer.Dense || l instanceof Layer.Flatten) {
        break;
      }
    }
    return new int[] {net.inputDim()};
  }

  /** A batch norm over an image that is not after a convolution holds its parameters repeated per position. */
  private static float[] perChannel(float[] v, int[] shape) {
    int hw = shape[1] * shape[2];
    if (v.length == shape[0]) {
      return v;
    }
    float[] out = new float[shape[0]];
    for (int c = 0; c < shape[0]; c++) {
      out[c] = v[c * hw];
      for (int k = 1; k < hw; k++) {
        if (v[c * hw + k] != out[c]) {
          throw new IllegalArgumentException("a batch norm over an image varies within channel " + c
              + "; the region file format holds one value per channel");
        }
      }
    }
    return out;
  }

  private static void put(Map<String, float[]> arrays, Map<String, int[]> shapes, String name, float[] values,
      int... shape) {
    arrays.put(name, values);
    shapes.put(name, shape);
  }
}
