package org.splinewatch.snapshot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;

/** Region files: every layer kind written and read back unchanged, both plane forms, and one-line refusals. */
public class RegionFileTest {
  @TempDir
  Path dir;

  /** conv → batch norm (folded) → leaky ReLU → pool → batch norm on the image → flatten → dense → ReLU → dense. */
  public static PiecewiseLinearNet smallCnn(long seed) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    layers.add(new Layer.Conv2D(1, 6, 6, 3, 3, 3, 1, 1, randn(r, 27), randn(r, 3)));
    layers.add(new Layer.BatchNorm(uniform(r, 3, 0.5, 1.5), randn(r, 3), randn(r, 3), uniform(r, 3, 0.5, 2), 1e-5));
    layers.add(Layer.Activation.leakyRelu(0.1));
    layers.add(new Layer.AvgPool2D(3, 6, 6, 2, 2));
    float[][] bn = {uniform(r, 3, 0.5, 1.5), randn(r, 3), randn(r, 3), uniform(r, 3, 0.5, 2)};
    float[][] repeated = new float[4][27]; // a batch norm over an image not after a convolution: per position
    for (int k = 0; k < 4; k++) {
      for (int i = 0; i < 27; i++) {
        repeated[k][i] = bn[k][i / 9];
      }
    }
    layers.add(new Layer.BatchNorm(repeated[0], repeated[1], repeated[2], repeated[3], 1e-3));
    layers.add(new Layer.Flatten(27));
    layers.add(new Layer.Dense(27, 6, randn(r, 27 * 6), randn(r, 6)));
    layers.add(Layer.Activation.relu());
    layers.add(new Layer.Dense(6, 4, randn(r, 24), randn(r, 4)));
    return new PiecewiseLinearNet(36, layers);
  }

  private static float[] randn(Random r, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * 0.5);
    }
    return a;
  }

  private static float[] uniform(Random r, int n, double lo, double hi) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (lo + (hi - lo) * r.nextDouble());
    }
    return a;
  }

  /** Three inputs of float32 values, as a run's probes are. */
  public static double[][] anchors(long seed, int dim) {
    Random r = new Random(seed);
    double[][] a = new double[3][dim];
    for (double[] x : a) {
      for (int i = 0; i < dim; i++) {
        x[i] = (float) r.nextDouble();
      }
    }
    return a;
  }

  @Test
  void everyLayerKindAndTheAnchorPlaneComeBackUnchanged() throws IOException {
    PiecewiseLinearNet net = smallCnn(3);
    double[][] a = anchors(4, 36);
    for (double pad : new double[] {0, 2.5}) {
      Path file = dir.resolve("cnn-" + pad + ".npz");
      RegionFile.write(file, net, a, pad);
      assertTrue(RegionFile.isRegionFile(file));
      RegionFile.Model m = RegionFile.read(file, 1 << 24);
      assertArrayEquals(new int[] {1, 6, 6}, m.inputShape());
      assertEquals(SnapshotFormat.architecture(net.layers()), m.architecture());
      double[] x = new double[5 * 36];
      Random r = new Random(5);
      for (int i = 0; i < x.length; i++) {
        x[i] = r.nextGaussian();
      }
      assertArrayEquals(net.forward(x, 5), m.net().forward(x, 5), 0.0, "the network read back computes otherwise");
      Plane plane = Plane.throughAnchors(a[0], a[1], a[2], pad);
      assertArrayEquals(plane.domain(), m.plane().domain(), 0.0);
      Partition expected = Partition.compute(net, plane);
      Partition read = Partition.compute(m.net(), m.plane());
      assertTrue(expected.regionCount() > 10, "a trivial plane: " + expected.regionCount());
      assertEquals(expected.regionCount(), read.regionCount());
      assertArrayEquals(expected.regionsAfterLayer(), read.regionsAfterLayer());
    }
  }

  @Test
  void aFailedWriteLeavesNoTemporary() throws IOException {
    Path file = dir.resolve("plane.npz");
    Files.createDirectories(file.resolve("blocked")); // a non-empty directory of that name: the rename fails
    assertThrows(IOException.class, () -> RegionFile.write(file, smallCnn(3), anchors(4, 36), 0));
    try (var left = Files.list(dir)) {
      assertEquals(List.of(file), left.toList(), "a failed write left a temporary beside the file it meant");
    }
  }

  @Test
  void aBenchmarkFileIsNotARegionFile() throws IOException {
    Path file = dir.resolve("mlp.npz");
    write(file, null, Map.of("W0", new float[] {1, 2}), Map.of("W0", new int[] {2, 1}));
    assertFalse(RegionFile.isRegionFile(file));
    Path text = Files.writeString(dir.resolve("text.npz"), "not a zip");
    assertFalse(RegionFile.isRegionFile(text));
  }

  /** A dense 4 → 5 ReLU network with a projector 5 → 3 after it, in the snapshot format's layer list. */
  private static final String LAYERS = "\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"dense\", \"weight\": \"w0\","
      + " \"bias\": \"b0\"}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"weight\": \"w1\", \"bias\": \"b1\","
      + " \"projector\": true}, {\"type\": \"relu\"}]";

  private Map<String, float[]> arrays = new LinkedHashMap<>();
  private Map<String, int[]> shapes = new LinkedHashMap<>();

  private void put(String name, float[] v, int... shape) {
    arrays.put(name, v);
    shapes.put(name, shape);
  }

  private void network() {
    Random r = new Random(9);
    put("w0", randn(r, 20), 4, 5);
    put("b0", randn(r, 5), 5);
    put("w1", randn(r, 15), 5, 3);
    put("b1", randn(r, 3), 3);
  }

  @Test
  void anExplicitPlaneOfAnImageShapeAndAProjectorMark() throws IOException {
    network();
    Random r = new Random(11);
    for (String n : List.of("origin", "u", "v")) {
      put(n, randn(r, 4), 1, 2, 2);
    }
    Path file = dir.resolve("explicit.npz");
    write(file, "{" + LAYERS + "}", arrays, shapes);
    RegionFile.Model m = RegionFile.read(file, 1 << 20);
    assertArrayEquals(new int[] {1, 2, 2}, m.inputShape());
    // the projector is a training device: the encoder up to the representation is partitioned
    assertEquals(List.of("flatten (4)", "dense (4 -> 5)", "relu"), m.architecture());
    Plane expected = Plane.explicit(widen(arrays.get("origin")), widen(arrays.get("u")), widen(arrays.get("v")));
    List<Layer> encoder = List.of(new Layer.Flatten(4), new Layer.Dense(4, 5, arrays.get("w0"), arrays.get("b0")),
        Layer.Activation.relu());
    assertEquals(Partition.compute(new PiecewiseLinearNet(4, encoder), expected).regionCount(),
        Partition.compute(m.net(), m.plane()).regionCount());
  }

  private static double[] widen(float[] a) {
    return Layer.widen(a);
  }

  @Test
  void aBadFileIsOneLineNamingWhatWasWrongAndWhatWasExpected() throws IOException {
    network();
    refused("{" + LAYERS + "}", "no plane; expected either anchors");
    Random r = new Random(1);
    put("anchors", randn(r, 12), 3, 4);
    refused("{" + LAYERS + ", \"pad\": -1}", "pad is -1; expected a positive number");
    refused("{\"layers\": [{\"type\": \"dense\", \"weight\": \"w0\", \"bias\": \"b0\"}]}", "no ReLU or LeakyReLU");
    refused("{\"layers\": [{\"type\": \"dense\", \"weight\": \"w1\", \"bias\": \"b1\"}]}",
        "has shape [5, 3], a layer of 5 inputs and 3 outputs (PyTorch: nn.Linear(in_features=5, out_features=3),"
        + " weight of shape (3, 5)), but receives 4 values; expected shape [4, 3]");
    refused("{\"layers\": [{\"type\": \"pool\"}]}", "has type 'pool'; expected one of dense, conv2d");
    put("origin", randn(r, 4), 4);
    refused("{" + LAYERS + "}", "two planes; expected either anchors");
    arrays.remove("origin");
    put("anchors", randn(r, 8), 2, 4);
    refused("{" + LAYERS + "}", "expected anchors of shape (3, d) or (3, c, h, w)");
    float[] nan = randn(r, 12);
    nan[7] = Float.NaN;
    put("anchors", nan, 3, 4);
    refused("{" + LAYERS + "}", "anchors holds NaN at flat index 7; expected finite numbers");
    float[] same = new float[12];
    put("anchors", same, 3, 4);
    refused("{" + LAYERS + "}", "anchors coincide");
    arrays.remove("anchors");
    put("origin", randn(r, 4), 4);
    put("u", randn(r, 4), 4);
    put("v", randn(r, 3), 3);
    refused("{" + LAYERS + "}", "v has shape [3]; expected the shape of origin, [4]");
    refused("[1, 2]", "network.json is not a JSON object");
    // two padded 1x1 convolutions widen a (1, 1, 2) image to 255 x 257 x 258 values, past the region-file limit
    arrays.keySet().removeAll(List.of("origin", "u", "v"));
    shapes.keySet().removeAll(List.of("origin", "u", "v"));
    put("anchors", new float[] {0, 0, 1, 0, 0, 1}, 3, 1, 1, 2);
    put("c0", randn(r, 255), 255, 1, 1, 1);
    put("c1", randn(r, 255 * 255), 255, 255, 1, 1);
    put("cb", randn(r, 255), 255);
    refused("{\"layers\": [{\"type\": \"conv2d\", \"weight\": \"c0\", \"bias\": \"cb\", \"padding\": 64},"
        + " {\"type\": \"conv2d\", \"weight\": \"c1\", \"bias\": \"cb\", \"padding\": 64}]}",
        "layer 1 (conv2d) outputs 16908030 values; expected at most 16777216 (the most a region file's layer may output)");
  }

  @Test
  void aDegeneratePlaneSaysWhatWasWrongAndWhatWasExpected() throws IOException {
    network();
    Random r = new Random(4);
    put("anchors", randn(r, 12), 3, 4);
    // a pad whose domain has area 0 or infinity was computed: every area 0.0 or Infinity
    refused("{" + LAYERS + ", \"pad\": 1e-300}", "pad 1.0E-300 gives a domain of area 0.0; expected a pad whose domain"
        + " |s| + |t| <= pad has a positive finite area");
    refused("{" + LAYERS + ", \"pad\": 1e300}", "gives a domain of area Infinity; expected a pad whose domain");
    float[] line = new float[12];
    for (int i = 0; i < 4; i++) {
      line[i] = 1;
      line[4 + i] = 2;
      line[8 + i] = 3;
    }
    put("anchors", line, 3, 4);
    refused("{" + LAYERS + "}", "anchors are collinear: cannot span a plane; expected three inputs not on one line");
    arrays.remove("anchors");
    put("origin", randn(r, 4), 4);
    put("u", randn(r, 4), 4);
    put("v", new float[4], 4);
    // a zero v was called parallel to u
    refused("{" + LAYERS + "}", "plane direction v is zero; expected two directions that span a plane");
    float[] u = randn(r, 4);
    float[] twice = u.clone();
    for (int i = 0; i < 4; i++) {
      twice[i] *= 2;
    }
    put("u", u, 4);
    put("v", twice, 4);
    refused("{" + LAYERS + "}", "plane directions u and v are parallel; expected two directions that span a plane");
  }

  @Test
  void aMisspeltOrMistypedLayerKeyIsRefusedNotIgnored() throws IOException {
    // "negative_slop": 0.2 computed a slope of 0.01 and "projecter": true partitioned the projector too, silently
    network();
    put("anchors", randn(new Random(3), 12), 3, 4);
    String dense = "{\"type\": \"dense\", \"weight\": \"w0\", \"bias\": \"b0\"}";
    refused("{\"layers\": [" + dense + ", {\"type\": \"leaky_relu\", \"negative_slop\": 0.2}]}",
        ": layer 1 (leaky_relu) has key \"negative_slop\"; expected only type, projector, negative_slope");
    refused("{\"layers\": [" + dense + ", {\"type\": \"relu\"}, {\"type\": \"dense\", \"weight\": \"w1\", \"bias\":"
        + " \"b1\", \"projecter\": true}, {\"type\": \"relu\"}]}",
        ": layer 2 (dense) has key \"projecter\"; expected only type, projector, weight, bias");
    refused("{\"layers\": [" + dense + ", {\"type\": \"leaky_relu\", \"negative_slope\": \"0,2\"}]}",
        ": layer 1: \"negative_slope\" is \"0,2\"; expected a number");
    refused("{\"layers\": [" + dense + ", {\"type\": \"relu\", \"projector\": \"yes\"}]}",
        ": layer 1: \"projector\" is \"yes\"; expected true or false");
    refused("{\"layers\": [" + dense + ", 1]}", ": layer 1 is 1; expected an object with a \"type\"");
    // the documented keys, a null and an explicit false are fine
    Path ok = dir.resolve("ok.npz");
    write(ok, "{\"layers\": [{\"type\": \"dense\", \"weight\": \"w0\", \"bias\": \"b0\", \"projector\": false},"
        + " {\"type\": \"leaky_relu\", \"negative_slope\": 0.2, \"projector\": null}]}", arrays, shapes);
    assertEquals(List.of("dense (4 -> 5)", "leaky_relu"), RegionFile.read(ok, 1 << 20).architecture());
  }

  @Test
  void anActivationWithoutAnAffineLayerBeforeItIsNamedAsItIs() throws IOException {
    // was "layer 0 (Activation) follows another activation" for a list that starts with relu or flatten, relu
    network();
    put("anchors", randn(new Random(2), 12), 3, 4);
    String dense = "{\"type\": \"dense\", \"weight\": \"w0\", \"bias\": \"b0\"}";
    refused("{\"layers\": [{\"type\": \"relu\"}, " + dense + ", {\"type\": \"relu\"}]}",
        ": layer 0 (relu) comes before any affine layer; expected a dense, conv2d, avgpool2d or batchnorm layer before"
            + " each activation");
    refused("{\"layers\": [{\"type\": \"flatten\"}, {\"type\": \"leaky_relu\"}, " + dense
        + ", {\"type\": \"relu\"}]}",
        ": layer 1 (leaky_relu) comes before any affine layer;");
    refused("{\"layers\": [" + dense + ", {\"type\": \"relu\"}, {\"type\": \"relu\"}]}",
        ": layer 2 (relu) follows another activation; expected a dense, conv2d");
    refused("{\"layers\": [" + dense + ", {\"type\": \"relu\"}, {\"type\": \"flatten\"},"
        + " {\"type\": \"relu\"}]}",
        ": layer 3 (relu) has no affine layer after the previous activation; expected a dense, conv2d");
  }

  private void refused(String doc, String fragment) throws IOException {
    Path file = dir.resolve("bad.npz");
    write(file, doc, arrays, shapes);
    NpzArchive.FormatException e = assertThrows(NpzArchive.FormatException.class, () -> RegionFile.read(file, 1 << 20));
    assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(fragment), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  static void write(Path file, String doc, Map<String, float[]> arrays, Map<String, int[]> shapes) throws IOException {
    NpzModel.write(file, doc == null ? Map.of() : Map.of("network", doc.getBytes(StandardCharsets.UTF_8)), arrays,
        shapes);
  }

  /**
   * A region file of {@code <f8} arrays: nonzero values that float32 rounds to 0 are named once per array, by the
   * reader and as one {@code warning:} line each by {@code ./monitor regions} (they vanished without a word).
   */
  @Test
  void float64ValuesThatFloat32RoundsToZeroAreWarnedOfOncePerArray() throws Exception {
    var entries = new LinkedHashMap<String, byte[]>();
    entries.put("w0.npy", NpzArchiveTest.f8(new int[] {2, 3}, 0.5, 1e-50, -1e-300, 1, -1, 0.25));
    entries.put("b0.npy", NpzArchiveTest.f8(new int[] {3}, 0.1, -0.2, 1e-60));
    entries.put("w1.npy", NpzArchiveTest.f8(new int[] {3, 1}, 1, 1, 1));
    entries.put("b1.npy", NpzArchiveTest.f8(new int[] {1}, 0));
    entries.put("origin.npy", NpzArchiveTest.f8(new int[] {2}, 0, 0));
    entries.put("u.npy", NpzArchiveTest.f8(new int[] {2}, 1, 0));
    entries.put("v.npy", NpzArchiveTest.f8(new int[] {2}, 0, 1));
    entries.put(RegionFile.DOC + ".json", ("{\"layers\": [{\"type\": \"dense\", \"weight\": \"w0\", \"bias\":"
        + " \"b0\"}, {\"type\": \"relu\"}, {\"type\": \"dense\", \"weight\": \"w1\", \"bias\": \"b1\"}]}")
        .getBytes(StandardCharsets.UTF_8));
    Path file = dir.resolve("f8.npz");
    try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(file))) {
      for (var e : entries.entrySet()) {
        zip.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
        zip.write(e.getValue());
        zip.closeEntry();
      }
    }
    RegionFile.Model m = RegionFile.read(file, 1 << 20);
    String least = "; float32's least is " + Float.MIN_VALUE + "): arrays are read as float32";
    assertEquals(List.of(file + ": array w0: 2 nonzero values below float32's range read as 0 (the first 1.0E-50 at"
        + " flat index 1" + least, file + ": array b0: 1 nonzero value below float32's range read as 0 (the first"
        + " 1.0E-60 at flat index 2" + least), m.warnings());
    String out = org.splinewatch.TestTools.cli(0, "monitor", "regions", "--model", file.toString());
    for (String w : m.warnings()) {
      assertTrue(out.contains("warning: " + w + "\n"), out);
    }
    assertEquals(2, out.lines().filter(l -> l.startsWith("warning:")).count(), out);
    assertTrue(out.contains("\noverflow: false\n"), out);
  }
}
