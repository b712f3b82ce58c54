package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.regions.Partition;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.regions.Plane;
import org.splinewatch.regions.TiledRegionCount;
import org.splinewatch.snapshot.RegionFile;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/** The region and boundary-change analyses on synthetic snapshots (no actors). */
class RegionAnalyzerTest {
  private static final RegionSettings SETTINGS = new RegionSettings(2, 100_000, 0, true, 200, 32, 30);

  static double value(List<Sample> samples, String name, Map<String, String> labels) {
    return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).mapToDouble(Sample::value)
        .findFirst().orElseThrow(() -> new AssertionError(name + labels + " missing from " + samples));
  }

  @Test
  void runsAnalysedOneAfterAnotherShareOneWorkspace() throws Exception {
    // a monitor serve node analyses many runs: their region analyzers draw on one pool of vertex-value buffers
    RegionSettings oneThread = new RegionSettings(1, 100_000, 0, false, 200, 32, 30);
    new RegionAnalyzer(TestSnapshots.run(), oneThread, null).analyze(TestSnapshots.classifier(1, 100));
    int pooled = RegionAnalyzer.pooledWorkspaces();
    assertTrue(pooled >= 1);
    for (int run = 0; run < 3; run++) {
      new RegionAnalyzer(TestSnapshots.run(), oneThread, null).analyze(TestSnapshots.classifier(2 + run, 100));
    }
    assertEquals(pooled, RegionAnalyzer.pooledWorkspaces(), "each run allocated its own workspace");
  }

  @Test
  void regionCountsMatchTheEngineAndPicturesAreWritten(@TempDir Path runDir) throws Exception {
    RunInfo run = TestSnapshots.run();
    WeightSnapshot s = TestSnapshots.classifier(1, 100);
    try (RegionAnalyzer analyzer = new RegionAnalyzer(run, SETTINGS, runDir)) {
      List<Sample> samples = analyzer.analyze(s);
      Plane plane = Plane.throughAnchors(run.probe(0), run.probe(1), run.probe(2), 0);
      Partition p = Partition.compute(s.network(), plane);
      assertEquals(p.regionCount(), value(samples, "splinewatch_regions", Map.of("plane", "0", "layer", "all")));
      assertEquals(p.regionsAfterLayer()[0], value(samples, "splinewatch_regions", Map.of("plane", "0", "layer", "1")));
      assertTrue(value(samples, "splinewatch_decision_boundary_length", Map.of("plane", "0", "layer", "all")) >= 0);
      assertEquals(0, value(samples, "splinewatch_region_inconsistent_faces", Map.of("plane", "0", "layer", "all")));
      // the scale-free versions: the regions tile the domain, so mean area / domain area = 1 / regions; the boundary
      // and area ratios agree with the plane-unit values divided by the domain's own size
      Map<String, String> all = Map.of("plane", "0", "layer", "all");
      double regions = p.regionCount();
      assertEquals(1 / regions, value(samples, "splinewatch_region_area_mean_ratio", all), 1e-9 / regions);
      double domainArea = value(samples, "splinewatch_region_area_mean", all) * regions;
      assertEquals(value(samples, "splinewatch_region_area_median", all) / domainArea,
          value(samples, "splinewatch_region_area_median_ratio", all), 1e-9);
      // the domain |s| + |t| <= pad is a square of side pad·sqrt(2): perimeter 4·side = 4·sqrt(area)
      assertEquals(value(samples, "splinewatch_boundary_length", all) / (4 * Math.sqrt(domainArea)),
          value(samples, "splinewatch_boundary_length_ratio", all), 1e-6);
      assertTrue(value(samples, "splinewatch_decision_boundary_length_ratio", all) >= 0);
      assertTrue(value(samples, "splinewatch_region_density_far_ratio", all) > 0);
      try (Stream<Path> files = Files.list(runDir.resolve("planes"))) {
        assertEquals(List.of("plane-0-step-00000100.svg"), files.map(f -> f.getFileName().toString()).toList());
      }
      // the same weights again: no relative change
      List<Sample> again = analyzer.analyze(s);
      assertEquals(0, value(again, "splinewatch_regions_relative_change", Map.of("plane", "0", "layer", "all")));
    }
  }

  /**
   * A partition picture is written as the run's other files are (DurableFiles: forced to disk, renamed into place):
   * whole, with no temporary left; a write that fails leaves what was there and no temporary (it left
   * {@code plane-0-step-….svg.tmp} behind, for no reader to remove).
   */
  @Test
  void aPictureIsWrittenWholeAndAFailedWriteLeavesNoTemporary(@TempDir Path runDir) throws Exception {
    RunInfo run = TestSnapshots.run();
    Path planes = runDir.resolve("planes");
    try (RegionAnalyzer analyzer = new RegionAnalyzer(run, SETTINGS, runDir)) {
      analyzer.analyze(TestSnapshots.classifier(1, 100));
      String svg = Files.readString(planes.resolve("plane-0-step-00000100.svg"));
      assertTrue(svg.startsWith("<svg") && svg.strip().endsWith("</svg>"), svg);
      // where the next picture goes, a directory that holds a file: the rename over it fails
      Path blocked = Files.createDirectories(planes.resolve("plane-0-step-00000200.svg"));
      Files.writeString(blocked.resolve("keep"), "mine");
      var e = assertThrows(java.io.UncheckedIOException.class,
          () -> analyzer.analyze(TestSnapshots.classifier(1, 200)));
      assertTrue(e.getMessage().startsWith("cannot write the partition picture to " + planes), e.getMessage());
      assertEquals("mine", Files.readString(blocked.resolve("keep")));
      assertEquals(svg, Files.readString(planes.resolve("plane-0-step-00000100.svg")));
      try (Stream<Path> files = Files.list(planes)) {
        assertEquals(List.of("plane-0-step-00000100.svg", "plane-0-step-00000200.svg"),
            files.map(f -> f.getFileName().toString()).sorted().toList(), "no temporary left");
      }
    }
  }

  @Test
  void anOverflowedPlaneExportsTheOverflowAndNoGeometry() throws Exception {
    RunInfo run = TestSnapshots.run();
    WeightSnapshot s = TestSnapshots.classifier(1, 100);
    Plane plane = Plane.throughAnchors(run.probe(0), run.probe(1), run.probe(2), 0);
    Partition full = Partition.compute(s.network(), plane);
    int[] exact = full.regionsAfterLayer();
    assertTrue(exact.length >= 2 && exact[0] < exact[exact.length - 1], java.util.Arrays.toString(exact));
    // a cap between the first layer's count and the total: the first layer is finished, a later one is cut
    int cap = exact[0] + 1;
    RegionSettings capped = new RegionSettings(1, cap, 0, false, 200, 32, 30);
    try (RegionAnalyzer analyzer = new RegionAnalyzer(run, capped, null)) {
      List<Sample> samples = analyzer.analyze(s);
      Map<String, String> all = Map.of("plane", "0", "layer", "all");
      assertEquals(1, value(samples, "splinewatch_region_overflow", all));
      assertEquals(exact[0], value(samples, "splinewatch_regions", Map.of("plane", "0", "layer", "1")));
      for (String family : List.of("splinewatch_regions", "splinewatch_region_area_mean",
          "splinewatch_region_eccentricity_mean", "splinewatch_boundary_length", "splinewatch_region_density_far_ratio",
          "splinewatch_decision_boundary_length")) {
        assertTrue(samples.stream().noneMatch(x -> x.name().equals(family) && x.labels().equals(all)),
            family + " of an incomplete partition was exported: " + samples);
      }
      assertTrue(samples.stream().noneMatch(x -> x.name().equals("splinewatch_regions")
          && x.labels().get("layer").equals(Integer.toString(exact.length))), samples.toString());
      // no relative change against the incomplete partition
      assertTrue(analyzer.analyze(s).stream().noneMatch(x -> x.name().equals("splinewatch_regions_relative_change")));
    }
  }

  @Test
  void anOverflowedPlaneIsWrittenAsARegionFileThatCountsExactlyOffline(@TempDir Path runDir) throws Exception {
    RunInfo run = TestSnapshots.run();
    WeightSnapshot first = TestSnapshots.classifier(1, 100);
    WeightSnapshot last = TestSnapshots.classifier(2, 200);
    Plane plane = Plane.throughAnchors(run.probe(0), run.probe(1), run.probe(2), 0);
    RegionSettings capped = new RegionSettings(1, 8, 0, false, 200, 32, 30);
    Path file = runDir.resolve("planes").resolve("plane-0-overflow.npz");
    try (RegionAnalyzer analyzer = new RegionAnalyzer(run, capped, runDir)) {
      analyzer.analyze(first);
      assertTrue(Files.isRegularFile(file), "no region file after the first overflow");
      assertExact(file, first.regionNetwork(), plane);
      analyzer.analyze(last); // not rewritten at every snapshot: the file still holds the first overflowed one
      assertExact(file, first.regionNetwork(), plane);
    }
    // closed at the end of the run: the last overflowed snapshot's network
    assertExact(file, last.regionNetwork(), plane);
    try (Stream<Path> files = Files.list(runDir.resolve("planes"))) {
      assertEquals(List.of("plane-0-overflow.npz"), files.map(f -> f.getFileName().toString()).toList(),
          "a temporary file was left");
    }
  }

  /**
   * A 2-4-4-1 network whose second layer has a neuron {@code delta - |x| - |y|}: a diamond of radius {@code delta}
   * around the input origin, which the first layer's lines x = 0 and y = 0 cut into 4 triangles (as in
   * PartitionMergedByToleranceTest). With {@code delta} 1e-11 the engine's zero tolerance merges them.
   */
  private static WeightSnapshot diamond(float delta) {
    List<org.splinewatch.regions.Layer> layers = List.of(
        new org.splinewatch.regions.Layer.Dense(2, 4, new float[] {1, -1, 0, 0, 0, 0, 1, -1}, new float[4]),
        org.splinewatch.regions.Layer.Activation.relu(),
        new org.splinewatch.regions.Layer.Dense(4, 4, new float[] {-1, 1, 0, 1, -1, 0, 1, 0, -1, 1, 0, 0, -1, 0, 0, 1},
            new float[] {delta, -0.5f, -0.4f, -0.6f}),
        org.splinewatch.regions.Layer.Activation.relu(),
        new org.splinewatch.regions.Layer.Dense(4, 1, new float[] {1, 1, 1, 1}, new float[1]));
    return new WeightSnapshot("diamond", 100, 0, 0, 2, layers, 1, true, 1.0, 1e-3, 10);
  }

  /** Three 2-d probes whose plane holds the input origin off its centre. */
  private static RunInfo diamondRun() {
    float[] x = {0.7f, 0.1f, -0.6f, 0.7f, -0.4f, -0.9f};
    return new RunInfo("diamond", "supervised", "synthetic", 2, 3, x, x.clone(), new int[] {0, 1, 2}, 3,
        List.of(new int[] {0, 1, 2}));
  }

  @Test
  void regionsMergedByTheToleranceAreExported() throws Exception {
    RunInfo run = diamondRun();
    Plane plane = RegionAnalyzer.planes(run, 0).get(0);
    WeightSnapshot fine = diamond(1e-11f);
    Partition p = Partition.compute(fine.regionNetwork(), plane);
    assertEquals(null, plane.unresolvedNearCentre(fine.regionNetwork()), "the first layer is well resolved");
    assertTrue(p.mergedByTolerance() > 0, "the construction merges no region");
    Map<String, String> all = Map.of("plane", "0", "layer", "all");
    RegionSettings oneThread = new RegionSettings(1, 100_000, 0, false, 200, 32, 30);
    try (RegionAnalyzer analyzer = new RegionAnalyzer(run, oneThread, null)) {
      assertEquals(p.mergedByTolerance(), value(analyzer.analyze(fine), "splinewatch_region_merged_by_tolerance", all));
      // the same network with a diamond the engine resolves: nothing merged, and its 4 regions more counted
      List<Sample> resolved = analyzer.analyze(diamond(1e-3f));
      assertEquals(0, value(resolved, "splinewatch_region_merged_by_tolerance", all));
      assertEquals(p.regionCount() + 4, value(resolved, "splinewatch_regions", all));
    }
  }

  /** The file's plane is the analyzer's, bit for bit, and its tiled count is the whole partition's. */
  private static void assertExact(Path file, PiecewiseLinearNet net, Plane plane) {
    RegionFile.Model m = RegionFile.read(file, 1 << 26);
    Partition expected = Partition.compute(net, plane);
    Partition read = Partition.compute(m.net(), m.plane());
    assertEquals(expected.regionCount(), read.regionCount());
    assertTrue(java.util.Arrays.equals(expected.regionsAfterLayer(), read.regionsAfterLayer()));
    assertEquals(plane.domainArea(), m.plane().domainArea(), 0.0);
    TiledRegionCount.Result tiled = TiledRegionCount.count(m.net(), m.plane(), 8,
        new Partition.Workspace[] {new Partition.Workspace(64L << 20)}, null);
    assertEquals(expected.regionCount(), tiled.regions());
    assertTrue(tiled.tiles() > 1, "the cap of 8 should split the plane into tiles");
  }

  @Test
  void encoderRegionsForSelfSupervisedSnapshots() {
    WeightSnapshot c = TestSnapshots.classifier(2, 0);
    // same layers, read as an SSL snapshot whose representation is block 0: only the first hidden layer counts
    WeightSnapshot ssl = new WeightSnapshot(c.runId(), 0, 0, 0, c.inputDim(), c.layers(), 0, false, 1, 1e-3, 1);
    PiecewiseLinearNet encoder = ssl.regionNetwork();
    assertEquals(1, encoder.hiddenBlocks().size());
    List<Sample> samples = new RegionAnalyzer(TestSnapshots.run(), SETTINGS, null).analyze(ssl);
    assertTrue(samples.stream().noneMatch(x -> x.name().equals("splinewatch_decision_boundary_length")));
    assertTrue(samples.stream().noneMatch(x -> x.labels().getOrDefault("layer", "").equals("2")));
  }

  @Test
  void nonFiniteWeightsAreRejectedWithTheLayerNamed() {
    WeightSnapshot bad = TestSnapshots.withWeight(TestSnapshots.classifier(1, 0), Float.NaN);
    var e = assertThrows(IllegalArgumentException.class,
        () -> new RegionAnalyzer(TestSnapshots.run(), SETTINGS, null).analyze(bad));
    assertTrue(e.getMessage().contains("layer 0") && e.getMessage().contains("non-finite"), e.getMessage());
  }

  @Test
  void boundaryChangeIsZeroForSameWeightsAndPositiveAfterAChange() {
    BoundaryChangeAnalyzer b = new BoundaryChangeAnalyzer(TestSnapshots.run(), SETTINGS);
    WeightSnapshot s0 = TestSnapshots.classifier(1, 0);
    assertEquals(List.of(), b.analyze(s0), "no reference for the first snapshot");
    List<Sample> same = b.analyze(s0);
    assertEquals(0, value(same, "splinewatch_boundary_flip_ratio", Map.of("plane", "0", "layer", "all")));
    assertEquals(0, value(same, "splinewatch_region_change_ratio", Map.of("plane", "data")));
    assertEquals(0, value(same, "splinewatch_decision_change_ratio", Map.of("plane", "0")));
    List<Sample> changed = b.analyze(TestSnapshots.classifier(2, 100));
    double flips = value(changed, "splinewatch_boundary_flip_ratio", Map.of("plane", "0", "layer", "all"));
    assertTrue(flips > 0.05 && flips < 1, "independent weights flip many neurons: " + flips);
    double l1 = value(changed, "splinewatch_boundary_flip_ratio", Map.of("plane", "0", "layer", "1"));
    double l2 = value(changed, "splinewatch_boundary_flip_ratio", Map.of("plane", "0", "layer", "2"));
    assertEquals(flips, (l1 + l2) / 2, 1e-12, "equal widths: the total is the mean of the layers");
    assertTrue(value(changed, "splinewatch_region_change_ratio", Map.of("plane", "data")) > 0);
  }

  @Test
  void layerGeometryCoversEveryLayerAndTheRepresentation() {
    List<Sample> samples = new LayerGeometryAnalyzer(TestSnapshots.run()).analyze(TestSnapshots.classifier(3, 5));
    for (String layer : List.of("1", "2", "out")) {
      double id = value(samples, "splinewatch_intrinsic_dimension", Map.of("layer", layer));
      assertTrue(id > 0 && id < TestSnapshots.DIM, "TwoNN of layer " + layer + ": " + id);
      double pc = value(samples, "splinewatch_pca_dimension", Map.of("layer", layer));
      assertTrue(pc >= 1 && pc <= 12, "PC-ID of layer " + layer + ": " + pc);
    }
    double nc1 = value(samples, "splinewatch_neural_collapse_nc1", Map.of("layer", "repr"));
    assertTrue(nc1 > 0 && Double.isFinite(nc1), "NC1 " + nc1);
    double mismatch = value(samples, "splinewatch_neural_collapse_ncc_mismatch_ratio", Map.of("layer", "repr"));
    assertTrue(mismatch >= 0 && mismatch <= 1);
  }

  /**
   * The TwoNN block analysis (metrics.md §5.1) of every layer, per {@code block_size} = ⌊30/b⌋ for the default
   * b = 1, 2, 4, 8, 16, 20: 30 (the whole set: the TwoNN value, std 0), 15, 7, 3 and 1 (b = 16 and 20 share it: one
   * series), NaN below 20 points a block; none with {@code twonn-blocks = []}.
   */
  @Test
  void layerGeometryExportsTheTwoNnBlockAnalysis() {
    List<Sample> samples = new LayerGeometryAnalyzer(TestSnapshots.run()).analyze(TestSnapshots.classifier(3, 5));
    for (String layer : List.of("1", "2", "out")) {
      double id = value(samples, "splinewatch_intrinsic_dimension", Map.of("layer", layer));
      assertEquals(id, value(samples, "splinewatch_intrinsic_dimension_block_mean",
          Map.of("layer", layer, "block_size", "30")), 1e-12, "one block: the TwoNN of layer " + layer);
      assertEquals(0, value(samples, "splinewatch_intrinsic_dimension_block_std",
          Map.of("layer", layer, "block_size", "30")));
      for (String size : List.of("15", "7", "3", "1")) {
        for (String family : List.of("splinewatch_intrinsic_dimension_block_mean",
            "splinewatch_intrinsic_dimension_block_std")) {
          assertTrue(Double.isNaN(value(samples, family, Map.of("layer", layer, "block_size", size))),
              family + " " + layer + " " + size);
        }
      }
      assertEquals(5, samples.stream().filter(s -> s.name().equals("splinewatch_intrinsic_dimension_block_mean")
          && s.labels().get("layer").equals(layer)).count(), "one series per block size");
    }
    List<Sample> off = new LayerGeometryAnalyzer(TestSnapshots.run(), new GeometrySettings(List.of(), 1, 5))
        .analyze(TestSnapshots.classifier(3, 5));
    assertTrue(off.stream().noneMatch(s -> s.name().startsWith("splinewatch_intrinsic_dimension_block")));
    assertEquals(samples.size() - 30, off.size());
    // every 5th analysed snapshot, from the first: snapshots 1 and 6 of an analyzer, not 2 to 5
    LayerGeometryAnalyzer fifth = new LayerGeometryAnalyzer(TestSnapshots.run());
    for (int k = 1; k <= 6; k++) {
      boolean blocks = fifth.analyze(TestSnapshots.classifier(3, 5L * k)).stream()
          .anyMatch(s -> s.name().equals("splinewatch_intrinsic_dimension_block_mean"));
      assertEquals(k == 1 || k == 6, blocks, "snapshot " + k);
    }
  }

  @Test
  void linearProbeRunsOncePerEpoch() {
    RunInfo base = TestSnapshots.run();
    // fit on the probes themselves (a test shortcut): the labels are separable by construction of TestSnapshots
    RunInfo run = new RunInfo(base.runId(), base.method(), base.dataset(), base.inputDim(), base.probeCount(),
        base.probeInputs(), base.probePairInputs(), base.probeLabels(), base.classes(), base.planeAnchors(),
        base.probeInputs(), base.probeLabels());
    ProbeAnalyzer probe = new ProbeAnalyzer(run);
    List<Sample> first = probe.analyze(TestSnapshots.classifier(1, 0));
    double acc = value(first, "splinewatch_linear_probe_accuracy_ratio", Map.of("layer", "repr"));
    assertTrue(acc > 0.6 && acc <= 1, "probe accuracy " + acc);
    assertEquals(List.of(), probe.analyze(TestSnapshots.classifier(1, 10)), "same epoch: not again");
  }
}
