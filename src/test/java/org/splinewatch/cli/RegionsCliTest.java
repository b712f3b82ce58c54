package org.splinewatch.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.TestTools;
import org.splinewatch.regions.NpzModel;
import org.splinewatch.snapshot.DurableFiles;
import org.splinewatch.snapshot.RegionFile;
import org.splinewatch.snapshot.RegionFileTest;

/** {@code ./monitor regions} on inputs it cannot compute as asked: one line that says why, a documented exit code. */
class RegionsCliTest {
  /** The line a bad argument's error is followed by. */
  private static final String HELP = System.lineSeparator() + "(./monitor regions --help lists the options)";

  @TempDir
  Path tmp;

  /** A {@code 2 → width → 1} network on the plane {@code [−1,1]²}, lines at random angles and offsets. */
  static Path oneLayer(Path file, int width, long seed) throws Exception {
    Random r = new Random(seed);
    float[] w0 = new float[2 * width];
    float[] b0 = new float[width];
    for (int i = 0; i < w0.length; i++) {
      w0[i] = (float) r.nextGaussian();
    }
    for (int j = 0; j < width; j++) {
      b0[j] = (float) (0.5 * r.nextGaussian());
    }
    float[] w1 = new float[width];
    java.util.Arrays.fill(w1, 1);
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    arrays.put("W0", w0);
    shapes.put("W0", new int[] {2, width});
    arrays.put("b0", b0);
    shapes.put("b0", new int[] {width});
    arrays.put("W1", w1);
    shapes.put("W1", new int[] {width, 1});
    arrays.put("b1", new float[1]);
    shapes.put("b1", new int[] {1});
    return withUnitPlane(file, arrays, shapes);
  }

  /** Writes {@code arrays} with the plane through the origin along the first two axes into {@code file}. */
  private static Path withUnitPlane(Path file, Map<String, float[]> arrays, Map<String, int[]> shapes)
      throws Exception {
    return withPlane(file, arrays, shapes, new float[2], new float[] {1, 0}, new float[] {0, 1});
  }

  /** Writes {@code arrays} with the plane {@code origin + a·u + b·v} of a 2-d input into {@code file}. */
  private static Path withPlane(Path file, Map<String, float[]> arrays, Map<String, int[]> shapes, float[] origin,
      float[] u, float[] v) throws Exception {
    arrays.put("origin", origin);
    shapes.put("origin", new int[] {2});
    arrays.put("u", u);
    shapes.put("u", new int[] {2});
    arrays.put("v", v);
    shapes.put("v", new int[] {2});
    NpzModel.write(file, arrays, shapes);
    return file;
  }

  @Test
  void aNetworkTooWideForTheHeapStopsWithOverflowNotOutOfMemory() throws Exception {
    // 150,000 hidden neurons: a region's pattern alone is 18.75 KB, so the default cap of 2 million regions would need
    // 37.5 GB. In a JVM of 256 MiB the engine must stop and say why, not die of OutOfMemoryError: the patterns reach
    // the largest array it may take (16 MiB, about 900 regions) before the workspace's budget (it said the budget)
    Path f = oneLayer(tmp.resolve("wide.npz"), 150_000, 1);
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "monitor", "regions", "--model",
        f.toString()).redirectErrorStream(true).start();
    String m = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), m);
    assertTrue(m.contains("overflow: true") && !m.contains("OutOfMemoryError"), m);
    assertTrue(m.contains("warning: " + f + ": stopped at ") && m.contains(" regions, at the largest array of region"
        + " patterns the heap allows (") && m.contains(" MiB, a sixteenth of the heap; a pattern holds a bit for each"
        + " of the network's 150000 hidden neurons)")
        && m.contains("; the partition is incomplete (overflow: true); --tiled counts it exactly"), m);
  }

  @Test
  void tiledCountsEqualTheWholePartitionAndRefuseAPicture() throws Exception {
    Path f = oneLayer(tmp.resolve("lines.npz"), 60, 4);
    String whole = TestTools.cli(0, "monitor", "regions", "--model", f.toString());
    String regions = whole.lines().filter(l -> l.startsWith("regions: ")).findFirst().orElseThrow();
    for (String threads : new String[] {"1", "2"}) {
      String tiled = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--tiled", "--max-regions", "40",
          "--threads", threads);
      assertTrue(tiled.contains("\n" + regions + "\n") && tiled.contains("overflow: false"), whole + "\n" + tiled);
      int tiles = Integer.parseInt(tiled.lines().filter(l -> l.startsWith("tiles: ")).findFirst().orElseThrow()
          .substring(7));
      assertTrue(tiles > 10, tiled);
    }
    String svg = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--tiled", "--svg",
        tmp.resolve("x.svg").toString());
    assertTrue(svg.contains("error: --svg needs the whole partition, which --tiled does not keep")
        && svg.strip().endsWith(HELP) && svg.strip().lines().count() == 2, svg);
  }

  /** Writes a small CNN's region file (network {@code seed}, anchors {@code seed + 1}); returns its exact count. */
  private static int smallCnnRegionFile(Path f, long seed) throws Exception {
    org.splinewatch.regions.PiecewiseLinearNet net = RegionFileTest.smallCnn(seed);
    double[][] a = RegionFileTest.anchors(seed + 1, 36);
    RegionFile.write(f, net, a, 0);
    return org.splinewatch.regions.Partition.compute(net,
        org.splinewatch.regions.Plane.throughAnchors(a[0], a[1], a[2], 0)).regionCount();
  }

  @Test
  void aRegionFileOfAConvolutionalNetworkCountsAsTheEngineDoesWholeAndTiled() throws Exception {
    Path f = tmp.resolve("cnn.npz");
    int exact = smallCnnRegionFile(f, 7);
    String whole = TestTools.cli(0, "monitor", "regions", "--model", f.toString());
    assertTrue(whole.contains("\nregions: " + exact + "\n") && whole.contains("input_shape: [1, 6, 6]")
        && whole.contains("layers: [conv2d (1x6x6 -> 3x6x6, kernel 3x3, stride 1, padding 1), batchnorm (3), leaky_relu,")
        && whole.contains("overflow: false"), whole);
    String tiled = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--tiled", "--max-regions",
        Integer.toString(Math.max(8, exact / 10)));
    assertTrue(tiled.contains("\nregions: " + exact + "\n") && !tiled.contains("tiles: 1\n"), whole + "\n" + tiled);
    // a broken region file: one line, exit 1
    java.nio.file.Files.write(f, java.util.Arrays.copyOf(java.nio.file.Files.readAllBytes(f), 200));
    String broken = TestTools.cli(1, "monitor", "regions", "--model", f.toString());
    assertTrue(broken.startsWith("error: ") && broken.strip().lines().count() == 1, broken);
  }

  @Test
  void benchRegionsTimesARegionFileAsARunWritesIt() throws Exception {
    // a run's planes/plane-<k>-overflow.npz is a region file: bench-regions times it, on 1 and 2 threads (the second
    // plane of the two-plane column is the mirrored one, which must have the same count)
    Path f = tmp.resolve("plane-0-overflow.npz");
    int exact = smallCnnRegionFile(f, 3);
    String m = TestTools.cli(0, "monitor", "bench-regions", "--repeat", "1", "--measure-seconds", "0",
        "--min-warmup-seconds", "0", "--warmup-seconds", "0.1", f.toString());
    assertTrue(m.lines().anyMatch(l -> l.matches("plane-0-overflow +" + exact + " .*x +[0-9.]+x")), m);
  }

  @Test
  void benchRegionsMarksAStoppedCountAsALowerBound() throws Exception {
    var nets = new java.util.ArrayList<MonitorCommand.Regions.Network>();
    assertEquals(0, MonitorCommand.Regions.Network.readInto(oneLayer(tmp.resolve("bench.npz"), 20, 2), nets));
    var net = nets.get(0);
    var stopped = org.splinewatch.regions.Partition.compute(net.net(), net.plane(), 5, null, 1,
        new org.splinewatch.regions.Partition.Workspace());
    assertEquals(">=" + stopped.regionCount(), BenchRegionsCommand.countColumn(stopped)); // was the bare count
    var whole = org.splinewatch.regions.Partition.compute(net.net(), net.plane());
    assertEquals("119", BenchRegionsCommand.countColumn(whole));
  }

  @Test
  void theRegionCapIsNamedWhenItStopsThePartition() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 20, 2);
    Path svg = tmp.resolve("stopped.svg");
    String m = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--max-regions", "5", "--svg",
        svg.toString());
    assertTrue(m.contains("overflow: true") && m.contains("over --max-regions 5; the partition is incomplete"), m);
    // one hidden layer, stopped in it: no count is complete (was [6], the partial count)
    assertTrue(m.contains("\nregions_after_layer: [null]\n"), m);
    // and no geometry of the incomplete partition (regions.md 3.6), as the live analyzer exports none
    assertTrue(m.contains("\narea_mean: null\n") && m.contains("\neccentricity_mean: null\n")
        && m.contains("\nboundary_length: null\n") && m.contains("\ndomain_area: "), m);
    // the picture of a stopped partition was titled "small.npz: 6 regions", as if that were the network's partition
    String picture = java.nio.file.Files.readString(svg);
    assertTrue(picture.contains(">small.npz: stopped at 6 regions, incomplete (overflow: true)</text>")
        && picture.contains(">incomplete: stopped at 6 regions (overflow); "), picture);
    String full = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", svg.toString());
    assertTrue(full.contains("overflow: false") && !full.contains("warning:"), full);
    assertTrue(java.nio.file.Files.readString(svg).contains(">small.npz: 119 regions</text>"), full);
  }

  @Test
  void anOverflowedPartitionGivesTheCountsOfTheLayersItCompletedOnly() throws Exception {
    // mlp-l style stop in the second of four layers printed [32588, 65081, 0, 0]: a partial count and zeros
    assertEquals(java.util.Arrays.asList(32588, null, null, null),
        MonitorCommand.Regions.completedLayers(new int[] {32588, 65081, 0, 0}));
    assertEquals(java.util.Arrays.asList(10, 20, null), MonitorCommand.Regions.completedLayers(new int[] {10, 20, 25}));
    assertEquals(java.util.Arrays.asList(null, null), MonitorCommand.Regions.completedLayers(new int[] {7, 0}));
    Path f = wide(tmp.resolve("deep.npz"), 64, 6); // 2 -> 8 -> 64 -> 1: at most 37 regions after the first layer
    String json = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--max-regions", "50", "--json");
    var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.substring(json.indexOf('{')));
    assertTrue(tree.get("overflow").asBoolean(), json);
    assertEquals(2, tree.get("regions_after_layer").size(), json);
    assertTrue(tree.get("regions_after_layer").get(0).asInt() > 0 && tree.get("regions_after_layer").get(1).isNull(),
        json);
  }

  @Test
  void badOptionsAreNamedBeforeTheModelIsReadAndAnSvgPathOutsideADirectoryIsRefused() throws Exception {
    // a model that would fail to load: the bad option must still be what is reported (exit 2, not 1)
    String threads = TestTools.cli(2, "monitor", "regions", "--model", tmp.resolve("absent.npz").toString(),
        "--threads", "0");
    assertEquals("error: --threads 0: expected at least 1" + HELP, threads.strip()); // it had no --help line
    // it was taken and printed as used, and the products ran on one thread (too few rows to split that many ways)
    String many = TestTools.cli(2, "monitor", "regions", "--model", tmp.resolve("absent.npz").toString(),
        "--threads", "100000");
    assertTrue(many.startsWith("error: --threads 100000 is out of range; expected 1 to 256 (this machine has "), many);
    String cap = TestTools.cli(2, "monitor", "regions", "--model", tmp.resolve("absent.npz").toString(),
        "--max-regions", "-1");
    assertEquals("error: --max-regions -1: expected at least 1" + HELP, cap.strip());
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    Path nowhere = tmp.resolve("no-such-dir").resolve("x.svg");
    String svg = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", nowhere.toString());
    assertTrue(svg.contains("error: --svg " + nowhere + ": directory " + nowhere.getParent() + " does not exist; "
        + "expected a file in an existing directory" + HELP) && svg.strip().lines().count() == 2, svg);
    Path dir = java.nio.file.Files.createDirectory(tmp.resolve("a-directory"));
    String isDir = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", dir.toString());
    assertTrue(isDir.contains("error: --svg " + dir + ": is a directory; expected a file")
        && isDir.strip().endsWith(HELP) && isDir.strip().lines().count() == 2, isDir);
    // as report --out "" (it was named as the working directory: "--svg : is a directory")
    String blank = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", "");
    assertEquals("error: --svg is empty; expected a file, e.g. regions.svg" + HELP, blank.strip());
    // a directory this process cannot write, also as root: the partition was computed and printed, then exit 1
    Path readOnly = Path.of("/proc/self");
    if (Files.isDirectory(readOnly) && !Files.isWritable(readOnly)) {
      String ro = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg",
          readOnly.resolve("r.svg").toString());
      assertEquals("error: --svg " + readOnly.resolve("r.svg") + ": cannot write in " + readOnly + " (read-only or"
          + " not this user's); expected a file in a directory this user can write" + HELP, ro.strip());
      String report = TestTools.cli(2, "monitor", "report", "--out", readOnly.resolve("r.html").toString(),
          tmp.toString());
      assertTrue(report.startsWith("error: --out " + readOnly.resolve("r.html") + ": cannot write in " + readOnly),
          report);
    }
    // and --model "" (it was named as the working directory: " is a directory; expected a .npz network file")
    String noModel = TestTools.cli(2, "monitor", "regions", "--model", "");
    assertEquals("error: --model is empty; expected a .npz network file" + HELP, noModel.strip());
  }

  @Test
  void aTiledCountStoppedByItsRegionCapSaysSo() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    // a tile around a point where boundaries cross keeps their regions however small: a cap below them is a bad
    // argument (it was exit 1, whose line asked for a larger heap too, which could not help)
    String m = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--tiled", "--max-regions", "1");
    assertTrue(m.startsWith("error: --max-regions 1 is too low for --tiled: " + f + ": a tile of width ")
        && m.contains("still overflows") && m.contains("over the cap of 1 regions per tile; expected a larger"
        + " --max-regions, e.g. 4 (where two region boundaries cross, 4 regions meet in any tile around the point)")
        && !m.contains("too wide") && !m.contains("SPLINEWATCH_HEAP") && m.strip().endsWith(HELP)
        && m.strip().lines().count() == 2, m);
    // the cap it names counts the plane
    String four = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--tiled", "--max-regions", "4");
    assertTrue(four.contains("overflow: false"), four);
  }

  @Test
  void aTiledCountWithTooManyThreadsForItsBudgetNamesTheThreads() throws Exception {
    // the threads share the budget: each workspace (about 48 MiB here) is too small for a 4,096-wide layer's values
    // (128 MiB for a block of 4,096 vertices) whatever the tile, and the message only suggested a larger
    // --max-regions or heap
    Path f = wide(tmp.resolve("wide2.npz"), 4096, 5);
    String threads = Long.toString(Math.max(2, MonitorCommand.Regions.workspaceBudget() / (48L << 20)));
    String m = TestTools.cli(1, "monitor", "regions", "--model", f.toString(), "--tiled", "--threads", threads);
    assertTrue(m.contains("still overflows") && m.contains("the network is too wide for it")
        && m.contains("; expected fewer --threads (each of the " + threads + " has a workspace of ")
        && m.strip().endsWith(" MiB) or a larger SPLINEWATCH_HEAP") && !m.contains("--max-regions")
        && m.strip().lines().count() == 1, m);
  }

  @Test
  void aTiledCountRefusesMoreThreadsThanItsBudgetHoldsWorkspacesOf16MiB() throws Exception {
    // each thread's workspace was 16 MiB at least, whatever the budget: --threads 8 in a 160 MiB heap (a 28 MiB
    // budget) took 128 MiB and ended in OutOfMemoryError stack traces; 10,000 threads on this small network took
    // half a minute and counted it
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    long most = MonitorCommand.Regions.workspaceBudget() / (16L << 20);
    org.junit.jupiter.api.Assumptions.assumeTrue(most < 200, "a heap whose budget holds 200 workspaces");
    String m = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--tiled", "--threads", "200");
    assertTrue(m.startsWith("error: --threads 200 with --tiled: each thread computes its tiles in a workspace of"
        + " at least 16 MiB, and the budget of ") && m.contains("; expected --threads 1")
        && m.strip().endsWith(", or a larger SPLINEWATCH_HEAP" + HELP) && m.strip().lines().count() == 2, m);
    long named = Long.parseLong(m.replaceAll("(?s).*expected --threads (?:1 to )?(\\d+),.*", "$1"));
    assertTrue(Math.abs(named - most) <= most / 4 + 1, most + " " + m); // the budget is measured again
    // as many as the budget holds are taken, each with its share
    String two = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--tiled", "--threads", "2");
    assertTrue(two.contains("overflow: false") && two.contains("threads: 2"), two);
  }

  /**
   * {@code 2 → 8 → width → 1}, Gaussian weights and biases, on {@code [−1,1]²}. Such a network at width 4,096
   * counted in tiles on one thread (millions of regions, minutes) and failed at once on two in a 640 MiB heap.
   */
  private static Path wide(Path file, int width, long seed) throws Exception {
    Random r = new Random(seed);
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    int[][] dims = {{2, 8}, {8, width}, {width, 1}};
    for (int l = 0; l < dims.length; l++) {
      float[] w = new float[dims[l][0] * dims[l][1]];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) (r.nextGaussian() / Math.sqrt(dims[l][0]));
      }
      arrays.put("W" + l, w);
      shapes.put("W" + l, dims[l]);
      float[] b = new float[dims[l][1]];
      for (int j = 0; j < b.length; j++) {
        b[j] = (float) (0.1 * r.nextGaussian()); // zero biases would put every zero set through the origin
      }
      arrays.put("b" + l, b);
      shapes.put("b" + l, new int[] {dims[l][1]});
    }
    return withUnitPlane(file, arrays, shapes);
  }

  @Test
  void aPlaneVectorOfTheWrongSizeIsNamedItself() throws Exception {
    // origin, u and v were checked in Map.of's order, which varies: a 3-value origin could be reported as v
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    arrays.put("W0", new float[8]);
    shapes.put("W0", new int[] {2, 4});
    arrays.put("b0", new float[4]);
    shapes.put("b0", new int[] {4});
    for (String name : new String[] {"origin", "u", "v"}) {
      for (String k : new String[] {"origin", "u", "v"}) {
        arrays.put(k, new float[k.equals(name) ? 3 : 2]);
        shapes.put(k, new int[] {k.equals(name) ? 3 : 2});
      }
      Path bad = tmp.resolve("bad-" + name + ".npz");
      NpzModel.write(bad, arrays, shapes);
      String m = TestTools.cli(1, "monitor", "regions", "--model", bad.toString());
      assertEquals("error: " + bad + ": " + name + " has 3 values; expected the input dimension 2 (the rows of W0)",
          m.strip());
    }
    Map<String, float[]> rows = new LinkedHashMap<>(arrays);
    rows.put("v", new float[2]);
    shapes.put("v", new int[] {2});
    rows.put("W1", new float[3]);
    shapes.put("W1", new int[] {3, 1});
    rows.put("b1", new float[1]);
    shapes.put("b1", new int[] {1});
    Path w1 = tmp.resolve("w1.npz");
    NpzModel.write(w1, rows, shapes);
    assertEquals("error: " + w1 + ": W1 has 3 rows but layer 0 has 4 outputs; expected 4 rows",
        TestTools.cli(1, "monitor", "regions", "--model", w1.toString()).strip());
  }

  @Test
  void theSvgPictureNeverReplacesTheModelOrAnotherKindOfFile() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    byte[] model = java.nio.file.Files.readAllBytes(f);
    String self = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", f.toString());
    assertTrue(self.contains("error: --svg " + f + ": is the --model file itself")
        && self.strip().endsWith(HELP) && self.strip().lines().count() == 2, self);
    assertArrayEquals(model, java.nio.file.Files.readAllBytes(f), "the model must be untouched");
    Path notes = java.nio.file.Files.writeString(tmp.resolve("notes.txt"), "keep me");
    String other = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", notes.toString());
    assertTrue(other.contains("error: --svg " + notes + ": exists and is not an SVG file"), other);
    assertEquals("keep me", java.nio.file.Files.readString(notes));
    // an earlier picture is replaced
    Path old = java.nio.file.Files.writeString(tmp.resolve("old.svg"), "<svg/>");
    String replaced = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", old.toString());
    assertTrue(replaced.contains("regions: 7") && java.nio.file.Files.readString(old).contains("<svg")
        && java.nio.file.Files.size(old) > 100, replaced);
  }

  @Test
  void theSvgPictureGoesToDevNullAndAFifoAsWithOtherUnixTools() throws Exception {
    // --svg /dev/null was refused ("exists and is not an SVG file"), as a file the picture would replace
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    Path devNull = Path.of("/dev/null");
    Assumptions.assumeTrue("a character device".equals(DurableFiles.specialKind(devNull)), "no /dev/null");
    String m = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", devNull.toString());
    assertTrue(m.contains("regions: 7") && !m.contains("error"), m);
    assertEquals("a character device", DurableFiles.specialKind(devNull), "written to, not replaced");
    // a FIFO: the picture is written into it (a rename would have replaced it with a file)
    Path fifo = tmp.resolve("picture.fifo");
    Assumptions.assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo");
    var read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return java.nio.file.Files.readString(fifo);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    String viaFifo = TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", fifo.toString());
    String picture = read.get(60, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(viaFifo.contains("regions: 7") && picture.startsWith("<svg") && picture.contains(">small.npz: 7 regions<"),
        viaFifo + picture);
    assertEquals("a FIFO", DurableFiles.specialKind(fifo));
  }

  @Test
  void aSocketIsRefusedAndALinkToAPictureStaysALink() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    Path socket = tmp.resolve("s.sock");
    try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
      server.bind(java.net.UnixDomainSocketAddress.of(socket));
      String m = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", socket.toString());
      assertEquals("error: --svg " + socket + ": is a socket; expected a file, a FIFO or a character device such as"
          + " /dev/null" + HELP, m.strip());
    }
    // a regular picture is replaced atomically: through a link, the file it names is replaced and the link kept
    Path old = java.nio.file.Files.writeString(tmp.resolve("old.svg"), "<svg/>");
    Path link = java.nio.file.Files.createSymbolicLink(tmp.resolve("link.svg"), old.getFileName());
    TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", link.toString());
    assertTrue(java.nio.file.Files.isSymbolicLink(link), "the link is kept");
    assertTrue(java.nio.file.Files.readString(old).contains(">small.npz: 7 regions<"));
    try (var left = java.nio.file.Files.list(tmp)) {
      assertEquals(java.util.List.of(), left.filter(p -> p.toString().endsWith(".tmp")).toList(), "no temporary left");
    }
  }

  /** A dangling link is written through and kept, as a shell's {@code >} does (it was replaced); as report --out. */
  @Test
  void aDanglingLinkIsWrittenThroughAndKept() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    java.nio.file.Files.createDirectories(tmp.resolve("pics"));
    Path link = java.nio.file.Files.createSymbolicLink(tmp.resolve("latest.svg"), Path.of("pics", "p.svg"));
    TestTools.cli(0, "monitor", "regions", "--model", f.toString(), "--svg", link.toString());
    assertTrue(java.nio.file.Files.isSymbolicLink(link), "the link is kept");
    assertTrue(java.nio.file.Files.readString(tmp.resolve("pics/p.svg")).contains(">small.npz: 7 regions<"));
    Path nowhere = java.nio.file.Files.createSymbolicLink(tmp.resolve("gone.svg"), tmp.resolve("missing/p.svg"));
    String m = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", nowhere.toString());
    assertEquals("error: --svg " + nowhere + ": is a link to " + tmp.resolve("missing/p.svg") + ", whose directory "
        + tmp.resolve("missing") + " does not exist; expected a link to a file in an existing directory" + HELP,
        m.strip());
    assertTrue(java.nio.file.Files.isSymbolicLink(nowhere), "the link is kept");
  }

  /**
   * A link named like a picture to a file that is not one is refused as that file is: the picture would replace the
   * file the link names (notes.txt was overwritten with the SVG).
   */
  @Test
  void aLinkToAFileThatIsNotAPictureIsRefused() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 3);
    Path notes = java.nio.file.Files.writeString(tmp.resolve("notes.txt"), "keep me\n");
    Path link = java.nio.file.Files.createSymbolicLink(tmp.resolve("pic.svg"), notes.getFileName());
    String m = TestTools.cli(2, "monitor", "regions", "--model", f.toString(), "--svg", link.toString());
    assertEquals("error: --svg " + link + ": is a link to " + notes.toRealPath() + ", which is not an SVG file;"
        + " expected a new file or an .svg picture to replace" + HELP, m.strip());
    assertEquals("keep me\n", java.nio.file.Files.readString(notes));
    assertTrue(java.nio.file.Files.isSymbolicLink(link));
  }

  /**
   * Every numeric option in the words of the other bench commands, then the line every bad argument ends with; the
   * refusals had no --help line, and --max-warmup, --stable, --widths and --depths no upper bound.
   */
  @Test
  void benchRegionsNamesTheBadOptionAndExitsTwo() {
    String widths = " (each a hidden width of the generated network, no wider than the layers the analyzers take,"
        + " splinewatch.cluster.max-layer-width)";
    String depths = " (each a number of hidden layers, a dense layer and a ReLU each: with the output layer at most a"
        + " snapshot's 128 layers, splinewatch.ingest.max-layers)";
    String[][] cases = {
        {"--threads", "3", "--threads 3 is out of range; expected 1 to 2 (1: the single-thread column only; 2: also"
            + " the two-thread columns)"},
        // --repeat is the fewest timed runs (the help's "at least"), not the most, as this line used to say
        {"--repeat", "0", "--repeat 0 is out of range; expected 1 to 1000000 (the fewest timed runs per mode;"
            + " 1000000 is the most a mode takes)"},
        // beyond a million, the timing loop's own cap was lifted: the runs' times filled the heap
        {"--repeat", "2000000000", "--repeat 2000000000 is out of range; expected 1 to 1000000 (the fewest timed"
            + " runs per mode; 1000000 is the most a mode takes)"},
        {"--max-warmup", "4", "--max-warmup 4 is out of range; expected 5 to 1000000 (warm-up runs per workload, at"
            + " least the 5 whose median is watched)"},
        {"--max-warmup", "2000000", "--max-warmup 2000000 is out of range; expected 5 to 1000000 (warm-up runs per"
            + " workload, at least the 5 whose median is watched)"},
        {"--stable", "-1", "--stable -1 is out of range; expected more than 0, at most 1 (the fraction by which two"
            + " medians may differ)"},
        {"--stable", "1.5", "--stable 1.5 is out of range; expected more than 0, at most 1 (the fraction by which two"
            + " medians may differ)"},
        {"--measure-seconds", "-1", "--measure-seconds -1 is out of range; expected 0 to 86400 (how long a mode is"
            + " repeated, a day at most)"},
        {"--min-warmup-seconds", "NaN", "--min-warmup-seconds NaN is out of range; expected 0 to 86400 (the shortest"
            + " warm-up, a day at most)"},
        // Infinity (or 1e400) was taken: no time cap at all
        {"--warmup-seconds", "1e400", "--warmup-seconds Infinity is out of range; expected more than 0, at most 86400"
            + " (the longest warm-up, a day at most)"},
        {"--measure-seconds", "Infinity", "--measure-seconds Infinity is out of range; expected 0 to 86400 (how long a"
            + " mode is repeated, a day at most)"},
        {"--widths", "32,0", "--widths 32,0: width 0 is out of range; expected 1 to 65536" + widths},
        {"--widths", "70000", "--widths 70000: width 70000 is out of range; expected 1 to 65536" + widths},
        {"--depths", "0", "--depths 0: depth 0 is out of range; expected 1 to 63" + depths},
        {"--depths", "1,64", "--depths 1,64: depth 64 is out of range; expected 1 to 63" + depths}};
    for (String[] c : cases) {
      String m = TestTools.cli(2, "monitor", "bench-regions", "--scaling", c[0], c[1]);
      assertEquals("error: " + c[2] + "\n(./monitor bench-regions --help lists the options)", m.strip(),
          c[0] + " " + c[1]);
    }
  }

  /**
   * The two forms, workloads and --scaling, take their own options: the other form's were ignored without a word
   * (--scaling with a MODEL.npz timed only generated networks, --dir with a MODEL.npz did not look for it in --dir).
   */
  @Test
  void benchRegionsRefusesTheOptionsOfItsOtherForm() throws Exception {
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 1);
    String[] quick = {"--repeat", "1", "--measure-seconds", "0", "--min-warmup-seconds", "0", "--warmup-seconds",
        "0.01"};
    String[][] cases = {
        {"MODEL.npz " + f + " is a workload, and --scaling times generated networks instead; expected either --scaling"
            + " or MODEL.npz files", "--scaling", "--widths", "4", "--depths", "1", f.toString()},
        {"--dir is for the workloads' table, which --scaling does not print (it times generated networks on one"
            + " thread); expected either --scaling or --dir", "--scaling", "--widths", "4", "--depths", "1", "--dir",
            tmp.toString()},
        {"--threads is for the workloads' table, which --scaling does not print (it times generated networks on one"
            + " thread); expected either --scaling or --threads", "--scaling", "--widths", "4", "--depths", "1",
            "--threads", "1"},
        {"--widths sizes the generated networks of --scaling; expected --scaling --widths ..., or no --widths to time"
            + " the workloads", "--widths", "4", "--threads", "1", f.toString()},
        {"--depths sizes the generated networks of --scaling; expected --scaling --depths ..., or no --depths to time"
            + " the workloads", "--depths", "1", "--threads", "1", f.toString()},
        {"--dir is where the workloads are found when no MODEL.npz is named, and MODEL.npz small.npz is named;"
            + " expected either --dir DIR or MODEL.npz files (as paths, e.g. DIR/small.npz)", "--dir", tmp.toString(),
            "--threads", "1", "small.npz"}};
    for (String[] c : cases) {
      List<String> args = new java.util.ArrayList<>(List.of("monitor", "bench-regions"));
      args.addAll(List.of(c).subList(1, c.length));
      args.addAll(List.of(quick));
      String m = TestTools.cli(2, args.toArray(String[]::new));
      assertEquals("error: " + c[0] + "\n(./monitor bench-regions --help lists the options)", m.strip(), c[0]);
    }
    // each form with its own options still runs
    TestTools.cli(0, "monitor", "bench-regions", "--scaling", "--widths", "4", "--depths", "1", quick[0], quick[1],
        quick[2], quick[3], quick[4], quick[5], quick[6], quick[7]);
    String workloads = TestTools.cli(0, "monitor", "bench-regions", "--dir", tmp.toString(), "--threads", "1",
        quick[0], quick[1], quick[2], quick[3], quick[4], quick[5], quick[6], quick[7]);
    assertTrue(workloads.lines().anyMatch(l -> l.startsWith("small ")), workloads);
  }

  /**
   * {@code regions --json > result.json} on a full disk: System.out swallowed the write error, so it exited 0 with
   * nothing written. Now one line on stderr and exit 1.
   */
  @Test
  void resultsThatCannotBeWrittenToStandardOutputAreExitOne() throws Exception {
    java.io.File full = new java.io.File("/dev/full");
    Assumptions.assumeTrue(full.exists(), "no /dev/full here");
    Path f = oneLayer(tmp.resolve("small.npz"), 4, 1);
    Path err = tmp.resolve("err.txt");
    Process p = new ProcessBuilder(TestTools.mainCommand("-Xmx256m", "monitor", "regions", "--model", f.toString(),
        "--json")).redirectOutput(full).redirectError(err.toFile()).start();
    assertEquals(1, p.waitFor());
    String line = Files.readString(err).lines().filter(l -> !l.startsWith("WARNING: Using incubator"))
        .collect(java.util.stream.Collectors.joining("\n"));
    assertEquals("error: cannot write standard output (No space left on device): what the command printed there is"
        + " lost or cut short; expected room for it, e.g. a redirect to a file system that is not full", line);
  }

  @Test
  void benchRegionsOnADirectoryWithoutWorkloadsIsAnError() throws Exception {
    // printed the header of an empty table and exited 0
    Path empty = java.nio.file.Files.createDirectory(tmp.resolve("no-workloads"));
    java.nio.file.Files.writeString(empty.resolve("notes.txt"), "not a workload");
    String m = TestTools.cli(2, "monitor", "bench-regions", "--threads", "1", "--dir", empty.toString());
    assertEquals("error: workload directory " + empty + " holds no .npz files; pass --dir DIR of .npz workloads or"
        + " MODEL.npz files\n(./monitor bench-regions --help lists the options)", m.strip());
  }

  @Test
  void benchRegionsOnAWorkloadTooWideForTheHeapIsAOneLineError() throws Exception {
    Path f = oneLayer(tmp.resolve("wide.npz"), 150_000, 1);
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), Main.class.getName(), "monitor", "bench-regions", "--threads",
        "1", f.toString()).redirectErrorStream(true).start();
    String m = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(1, p.waitFor(), m);
    // its first run stops where its arrays (patterns of 2,344 words a region) reach what the heap has free: refused
    // there in one line, where it ran out of memory until session 57
    assertTrue(m.contains("error: " + f + " (a network of widths [2, 150000, 1]): the engine's arrays outgrew the ")
        && m.contains(" MiB the heap has room for (the 256 MiB heap less ") && m.contains(" regions, where the"
        + " partition stopped; expected a SPLINEWATCH_HEAP larger than 256m (-Xmx with java), or ./monitor regions"
        + " --tiled to count it in tiles; the rows above are complete"), m);
    assertTrue(!m.contains("out of memory") && !m.contains("OutOfMemoryError") && !m.contains("\tat "), m);
  }

  @Test
  void benchRegionsWhoseTwoPlanesDoNotFitTheHeapKeepsTheSingleThreadColumnsAndSaysSoInOneLine() throws Exception {
    // one plane of 600 lines fits a 160 MiB heap, two at once (the 2-thread columns) do not, with the launchers' G1
    // regions of 32 MiB: refused before they run, by the first run's count of all a plane holds (until session 57
    // they ran until an OutOfMemoryError, whose line came from the middle of the runs, or not at all)
    Path f = oneLayer(tmp.resolve("lines.npz"), 600, 3);
    String m = benchInSmallHeap(f, "2", "160m");
    assertEquals(1, exitCode, m);
    assertTrue(m.contains("error: " + f + " (a network of widths [2, 600, 1], ") && m.contains(" regions): two"
        + " planes at once on two threads need about ") && m.contains(" more than the 160 MiB heap; expected"
        + " SPLINEWATCH_HEAP=") && m.contains("m or more (-Xmx with java), or --threads 1 (one plane at a time); the"
        + " rows above are complete"), m);
    assertTrue(m.lines().anyMatch(l -> l.startsWith("lines ") && l.endsWith(" -         -         -")), m);
    assertTrue(!m.contains("out of memory") && !m.contains("OutOfMemoryError") && !m.contains("\tat "), m);
    // the heap it names does hold the two planes
    String heap = m.replaceAll("(?s).*expected SPLINEWATCH_HEAP=([0-9]+m) or more.*", "$1");
    String fits = benchInSmallHeap(f, "2", heap);
    assertEquals(0, exitCode, fits);
    assertTrue(fits.lines().anyMatch(l -> l.startsWith("lines ") && !l.contains(" - ")), fits);
  }

  /** How bench-regions sizes two planes at once: what is in use, two planes, and two G1 regions of working room. */
  @Test
  void theHeapTwoPlanesNeedIsTwoPlanesBesideWhatIsInUse() {
    BenchRegionsCommand.HeapRoom room = new BenchRegionsCommand.HeapRoom(256L << 20, 46L << 20, 64L << 20);
    assertEquals((46L + 2 * 97 + 64) << 20, room.needed(2, 97L << 20));
    assertEquals((256L - 46 - 64) << 20, room.forOnePlane());
    String line = room.refusal(Path.of("mlp-m-wide.npz"), "a network", "two planes at once on two threads", 2,
        97L << 20, ", or --threads 1 (one plane at a time)");
    assertEquals("error: mlp-m-wide.npz (a network): two planes at once on two threads need about 304 MiB of heap (2"
        + " planes of 97.0 MiB each, the engine's arrays and its result's copies; 46 MiB in use before them; 64 MiB"
        + " of working room for the collector), more than the 256 MiB heap; expected SPLINEWATCH_HEAP=320m or more"
        + " (-Xmx with java), or --threads 1 (one plane at a time); the rows above are complete", line);
    assertNull(room.refusal(Path.of("mlp-m.npz"), "a network", "two planes at once on two threads", 2, 70L << 20,
        ""), "2 · 70 + 46 + 64 = 250 MiB fit");
  }

  private int exitCode;

  /** bench-regions, briefly, on {@code model} in a heap of {@code heap} with the launchers' G1 regions of 32 MiB. */
  private String benchInSmallHeap(Path model, String threads, String heap) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
        "-XX:G1HeapRegionSize=32m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "monitor",
        "bench-regions", "--threads", threads, "--repeat", "1", "--measure-seconds", "0", "--max-warmup", "5",
        "--min-warmup-seconds", "0", "--warmup-seconds", "1", model.toString()).redirectErrorStream(true).start();
    String m = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    exitCode = p.waitFor();
    return m;
  }

  /** A model file whose plane leaves float32 is a failure about the file's contents: one line, exit 1, no count. */
  @Test
  void aPlaneBeyondFloat32IsRefusedInOneLine() throws Exception {
    Path f = tmp.resolve("huge.npz");
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    arrays.put("W0", new float[] {1, 0, 0, 1});
    shapes.put("W0", new int[] {2, 2});
    arrays.put("b0", new float[] {0.5f, -0.5f});
    shapes.put("b0", new int[] {2});
    arrays.put("W1", new float[] {1, 1});
    shapes.put("W1", new int[] {2, 1});
    arrays.put("b1", new float[1]);
    shapes.put("b1", new int[] {1});
    withPlane(f, arrays, shapes, new float[] {3e38f, 0}, new float[] {1e38f, 0}, new float[] {0, 1e38f});
    String m = TestTools.cli(1, "monitor", "regions", "--model", f.toString());
    assertTrue(m.strip().startsWith("error: " + f + ": plane corner origin ± u ± v reaches ") && m.contains(
        " in input coordinate 0, beyond float32's range; expected |origin| + |u| + |v| within 3.4028235E38 in every"
        + " coordinate") && m.strip().lines().count() == 1 && !m.contains("regions:"), m);
  }

  /**
   * A plane 1e30 wide on a network whose structure is about 1 across: its first layer's lines pass the centre within
   * 1e-30 of the plane's extent, finer than the engine resolves: it counts 4 concurrent lines (8 regions) where the
   * plane holds 4 lines in general position (1 + 4 + 6 = 11), and a warning line says so. The same network on a plane
   * of its own scale (11), and a bias-free one whose lines all pass exactly through the centre (8), are counted without
   * it.
   */
  @Test
  void aPlaneFarWiderThanTheNetworkIsCountedWithAWarning() throws Exception {
    String wide = TestTools.cli(0, "monitor", "regions", "--model", scaledPlane("wide.npz", 1e30f, 0.5f).toString());
    assertTrue(wide.contains("warning: " + tmp.resolve("wide.npz") + ": 4 of the first layer's 4 boundaries pass the"
        + " plane's centre within ") && wide.contains(" of its extent, finer than the engine resolves (about 1e-10 of"
        + " a plane's extent): regions there merge and the count is low; expected a plane on the scale of the"
        + " network's inputs (smaller u and v, or pad)") && wide.contains("\nregions: 8\n"), wide);
    // that line says it all: no second warning of merged regions on the same plane
    assertEquals(1, wide.lines().filter(l -> l.startsWith("warning")).count(), wide);
    String unit = TestTools.cli(0, "monitor", "regions", "--model", scaledPlane("unit.npz", 3f, 0.5f).toString());
    assertTrue(!unit.contains("warning") && unit.contains("\nregions: 11\n"), unit);
    String exact = TestTools.cli(0, "monitor", "regions", "--model", scaledPlane("nobias.npz", 1e30f, 0f).toString());
    assertTrue(!exact.contains("warning") && exact.contains("\nregions: 8\n"), exact);
  }

  /**
   * The first-layer line is found once, when the model is read, and the merged-regions warning reads it from there
   * (it was computed again for every partition): left out where that line was printed, given otherwise.
   */
  @Test
  void theMergedWarningUsesTheUnresolvedLineFoundWhenTheModelWasRead() throws Exception {
    Path wide = scaledPlane("wide.npz", 1e30f, 0.5f);
    var nets = new java.util.ArrayList<MonitorCommand.Regions.Network>();
    assertEquals(0, MonitorCommand.Regions.Network.readInto(wide, nets));
    MonitorCommand.Regions.Network n = nets.get(0);
    assertEquals(n.plane().unresolvedNearCentre(n.net()), n.unresolved());
    assertTrue(n.unresolved() != null);
    assertEquals(null, n.mergedWarning(wide, 4, 1));
    MonitorCommand.Regions.Network resolved = new MonitorCommand.Regions.Network(n.net(), n.plane(), n.widths(),
        null, null);
    assertTrue(resolved.mergedWarning(wide, 4, 1).contains("4 regions merged"));
  }

  /** A 2-4-1 network, biases {@code ±bias} (0: none), on the plane {@code u = (scale, 0)}, {@code v = (0, scale)}. */
  private Path scaledPlane(String name, float scale, float bias) throws Exception {
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    arrays.put("W0", new float[] {1, 0, 1, 1, 0, 1, 1, -1});
    shapes.put("W0", new int[] {2, 4});
    arrays.put("b0", new float[] {bias, -bias, bias, -bias});
    shapes.put("b0", new int[] {4});
    arrays.put("W1", new float[] {1, 1, 1, 1});
    shapes.put("W1", new int[] {4, 1});
    arrays.put("b1", new float[1]);
    shapes.put("b1", new int[] {1});
    return withPlane(tmp.resolve(name), arrays, shapes, new float[2], new float[] {scale, 0}, new float[] {0, scale});
  }

  /**
   * A 2-4-4-1 network whose first layer is well resolved on its plane but whose second layer bends within 1e-11 of the
   * plane's extent (PartitionMergedByToleranceTest.diamond: 4 regions the engine merges): regions, regions --tiled
   * and bench-regions say so in one warning line each; with a diamond the engine resolves, the 4 regions are counted
   * and nothing is said. Its count lost them without a word.
   */
  @Test
  void aDeeperLayerFinerThanTheEngineResolvesIsCountedWithAWarning() throws Exception {
    Path fine = diamond("fine.npz", 1e-11f);
    Path resolved = diamond("resolved.npz", 1e-3f);
    String line = "warning: " + fine + ": hidden layer 2 has boundaries closer to the partition's vertices than the"
        + " engine resolves at this plane's scale (within 1e-10 of a neuron's largest value on the plane): 4 regions"
        + " merged, so the count is not exact (usually low; counted in tiles, sometimes high); expected a plane on the"
        + " scale of that structure (smaller u and v, or pad, around it)";
    String[] bench = {"monitor", "bench-regions", "--threads", "1", "--repeat", "1", "--measure-seconds", "0",
        "--min-warmup-seconds", "0", "--warmup-seconds", "0.1"};
    java.util.function.Function<String, Integer> regions = out -> Integer.parseInt(out.lines()
        .filter(l -> l.startsWith("regions: ")).findFirst().orElseThrow().substring(9));
    int counted = -1;
    for (String[] cmd : new String[][] {{"monitor", "regions", "--model", fine.toString()},
        {"monitor", "regions", "--model", fine.toString(), "--tiled"}, concat(bench, fine.toString())}) {
      String m = TestTools.cli(0, cmd);
      assertEquals(List.of(line), m.lines().filter(l -> l.startsWith("warning")).toList(), m);
      if (cmd[1].equals("regions")) {
        counted = regions.apply(m);
      }
    }
    // --json carries the count too, for a script that reads no warning lines
    String[] jsonCommand = {"monitor", "regions", "--json", "--model", fine.toString()};
    for (String[] cmd : new String[][] {jsonCommand, concat(jsonCommand, "--tiled")}) {
      String json = TestTools.cli(0, cmd);
      assertTrue(java.util.regex.Pattern.compile("\"merged_by_tolerance\"\\s*:\\s*4\\b").matcher(json).find(), json);
    }
    for (String[] cmd : new String[][] {{"monitor", "regions", "--model", resolved.toString()},
        {"monitor", "regions", "--model", resolved.toString(), "--tiled"}, concat(bench, resolved.toString())}) {
      String m = TestTools.cli(0, cmd);
      assertTrue(!m.contains("warning"), m);
      assertTrue(cmd[1].equals("bench-regions") || m.contains("merged_by_tolerance: 0"), m);
      if (cmd[1].equals("regions")) {
        assertEquals(counted + 4, regions.apply(m), m);
      }
    }
  }

  private static String[] concat(String[] a, String last) {
    String[] out = java.util.Arrays.copyOf(a, a.length + 1);
    out[a.length] = last;
    return out;
  }

  /** PartitionMergedByToleranceTest.diamond's network, diamond of radius {@code delta}, on its plane. */
  private Path diamond(String name, float delta) throws Exception {
    Map<String, float[]> arrays = new LinkedHashMap<>();
    Map<String, int[]> shapes = new LinkedHashMap<>();
    arrays.put("W0", new float[] {1, -1, 0, 0, 0, 0, 1, -1});
    shapes.put("W0", new int[] {2, 4});
    arrays.put("b0", new float[4]);
    shapes.put("b0", new int[] {4});
    arrays.put("W1", new float[] {-1, 1, 0, 1, -1, 0, 1, 0, -1, 1, 0, 0, -1, 0, 0, 1});
    shapes.put("W1", new int[] {4, 4});
    arrays.put("b1", new float[] {delta, -0.5f, -0.4f, -0.6f});
    shapes.put("b1", new int[] {4});
    arrays.put("W2", new float[] {1, 1, 1, 1});
    shapes.put("W2", new int[] {4, 1});
    arrays.put("b2", new float[1]);
    shapes.put("b2", new int[] {1});
    return withPlane(tmp.resolve(name), arrays, shapes, new float[] {-0.3f, -0.2f}, new float[] {1, 0},
        new float[] {0, 1});
  }
}
