package org.splinewatch.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.splinewatch.embedding.EmbeddingMetrics;
import org.splinewatch.embedding.LinearProbe;
import org.splinewatch.geometry.NeuralCollapse;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.regions.Layer;
import org.splinewatch.regions.PiecewiseLinearNet;
import org.splinewatch.snapshot.MetricFamily;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.Sample;
import org.splinewatch.snapshot.WeightSnapshot;

/**
 * The embedding, geometry and probe analyzers keep their arrays from one snapshot to the next; what they export is,
 * bit for bit, what the allocating computation gives (the network's own forward passes, the metrics' allocating
 * calls) on every snapshot of a sequence.
 */
class KeptBuffersAnalyzerTest {
  private static final int N = 40;
  /** More than two of the probe analyzer's chunks, the last one partial. */
  private static final int FIT = 2 * ProbeAnalyzer.FIT_CHUNK + 88;

  /** 40 probes and 600 fit rows of 3 classes in [0,1]^16. */
  private static RunInfo run() {
    Random r = new Random(2);
    float[] x = new float[N * TestSnapshots.DIM];
    float[] pairs = new float[x.length];
    int[] labels = new int[N];
    for (int i = 0; i < N; i++) {
      labels[i] = i % 3;
      for (int k = 0; k < TestSnapshots.DIM; k++) {
        x[i * TestSnapshots.DIM + k] = (float) (0.2 * labels[i] + 0.3 * r.nextDouble());
        pairs[i * TestSnapshots.DIM + k] = x[i * TestSnapshots.DIM + k] + (float) (0.01 * r.nextGaussian());
      }
    }
    float[] fit = new float[FIT * TestSnapshots.DIM];
    int[] fitLabels = new int[FIT];
    for (int i = 0; i < FIT; i++) {
      fitLabels[i] = i % 3;
      for (int k = 0; k < TestSnapshots.DIM; k++) {
        fit[i * TestSnapshots.DIM + k] = (float) (0.2 * fitLabels[i] + 0.3 * r.nextDouble());
      }
    }
    return new RunInfo("test-run", "simclr", "synthetic", TestSnapshots.DIM, N, x, pairs, labels, 3,
        List.of(new int[] {0, 1, 2}), fit, fitLabels);
  }

  /** A self-supervised encoder 16 → 12 → 12 (the representation) and a projector to 8, from {@code seed}. */
  private static WeightSnapshot encoder(long seed, int epoch) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    int in = TestSnapshots.DIM;
    for (int width : new int[] {12, 12}) {
      layers.add(new Layer.Dense(in, width, TestSnapshots.randn(r, in * width, Math.sqrt(2.0 / in)),
          TestSnapshots.randn(r, width, 0.3)));
      layers.add(Layer.Activation.relu());
      in = width;
    }
    layers.add(new Layer.Dense(in, 8, TestSnapshots.randn(r, in * 8, 0.5), TestSnapshots.randn(r, 8, 0.1)));
    return new WeightSnapshot("test-run", 100 * seed, epoch, 0, TestSnapshots.DIM, layers, 1, false, 1.0, 1e-3, 10);
  }

  /** Every sample's value by metric and labels; {@link Double#equals} compares the bits. */
  private static Map<String, Double> values(List<Sample> samples) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (Sample s : samples) {
      out.put(s.name() + new TreeMap<>(s.labels()), s.value());
    }
    return out;
  }

  private static void putEmbedding(Map<String, Double> out, String layer, EmbeddingMetrics.Result r,
      EmbeddingMetrics.Spectrum sp) {
    String at = "{layer=" + layer + "}";
    out.put(MetricFamily.EMBEDDING_ALIGNMENT.id() + at, r.alignment());
    out.put(MetricFamily.EMBEDDING_UNIFORMITY.id() + at, r.uniformity());
    out.put(MetricFamily.EMBEDDING_STD_NORMALIZED.id() + at, r.stdNormalized());
    out.put(MetricFamily.EMBEDDING_RANKME.id() + at, r.rankMe());
    out.put(MetricFamily.EMBEDDING_RANKME_RATIO.id() + at, r.rankMeRatio());
    out.put(MetricFamily.KNN_ACCURACY_RATIO.id() + at, r.knnAccuracy());
    out.put(MetricFamily.EMBEDDING_ZERO_ROWS.id() + at, (double) r.zeroRows());
    out.put(MetricFamily.EMBEDDING_ZERO_ROWS_RATIO.id() + at, r.zeroRows() / (double) N);
    for (int j = 0; j < EmbeddingMetrics.SPECTRUM_Q_LABELS.size(); j++) {
      out.put(MetricFamily.EMBEDDING_SPECTRUM_LOG10.id() + "{layer=" + layer + ", q="
          + EmbeddingMetrics.SPECTRUM_Q_LABELS.get(j) + "}", sp.log10Ratios()[j]);
    }
    for (int j = 0; j < EmbeddingMetrics.COLLAPSE_TAU_LABELS.size(); j++) {
      out.put(MetricFamily.EMBEDDING_COLLAPSED_DIMS.id() + "{layer=" + layer + ", tau="
          + EmbeddingMetrics.COLLAPSE_TAU_LABELS.get(j) + "}", sp.collapsedDims()[j]);
    }
  }

  /**
   * A long run's embedding views are thinned as its partition pictures are (splinewatch.retention.planes-keep-last
   * and planes-keep-every), per layer: until this release every analysed snapshot left about 20 KB per layer, 400 MB
   * and 20,000 files for a run of a million steps with a snapshot every 100.
   */
  @Test
  void embeddingViewsOfALongRunAreThinnedAsItsPictures(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    RunInfo run = run();
    EmbeddingAnalyzer analyzer = new EmbeddingAnalyzer(run, dir, new RetentionSettings(0, 0, 3, 4));
    for (long seed = 1; seed <= 10; seed++) {
      analyzer.analyze(encoder(seed, 0));
    }
    // views 0..9 of each layer (steps 100..1000): every 4th (0, 4, 8) and the newest 3 (7, 8, 9)
    List<String> kept;
    try (var files = java.nio.file.Files.list(dir.resolve(EmbeddingViews.DIR))) {
      kept = files.map(f -> f.getFileName().toString()).sorted().toList();
    }
    List<String> expected = new ArrayList<>();
    for (String layer : List.of("proj", "repr")) {
      for (long step : new long[] {100, 500, 800, 900, 1000}) {
        expected.add(EmbeddingViews.fileName(layer, step));
      }
    }
    assertEquals(expected, kept);
    // a restarted analyzer (or a resumed run) thins the newest keep-last (here 1) of the views already there with its
    // own, and leaves the older ones, already thinned, alone
    EmbeddingAnalyzer again = new EmbeddingAnalyzer(run, dir, new RetentionSettings(0, 0, 1, 0));
    again.analyze(encoder(11, 0));
    again.analyze(encoder(12, 0));
    try (var files = java.nio.file.Files.list(dir.resolve(EmbeddingViews.DIR))) {
      assertEquals(10, files.count(), "4 + 1 per layer");
    }
    assertFalse(java.nio.file.Files.exists(dir.resolve(EmbeddingViews.DIR).resolve(EmbeddingViews.fileName("proj",
        1000))));
    assertTrue(java.nio.file.Files.exists(dir.resolve(EmbeddingViews.DIR).resolve(EmbeddingViews.fileName("repr",
        1200))) && !java.nio.file.Files.exists(dir.resolve(EmbeddingViews.DIR).resolve(EmbeddingViews.fileName(
        "repr", 1100))));
  }

  @Test
  void embeddingAnalyzerEqualsTheAllocatingComputationOnEverySnapshot() {
    RunInfo run = run();
    EmbeddingAnalyzer analyzer = new EmbeddingAnalyzer(run);
    double[] probes = run.probeInputsAsDouble();
    double[] pairs = run.probePairInputsAsDouble();
    for (WeightSnapshot s : List.of(encoder(1, 0), TestSnapshots.classifier(7, 200), encoder(2, 0),
        encoder(3, 0))) {
      PiecewiseLinearNet net = s.network();
      int repr = s.reprBlock() + 1;
      double[] z = net.forwardTo(probes, N, repr);
      double[] zp = net.forwardTo(pairs, N, repr);
      Map<String, Double> expected = new LinkedHashMap<>();
      putEmbedding(expected, "repr", EmbeddingMetrics.compute(z, zp, N, z.length / N, run.probeLabels(), 3),
          EmbeddingMetrics.spectrum(z, N, z.length / N));
      if (!s.classifierHead()) {
        double[] proj = net.forward(probes, N);
        double[] projPairs = net.forward(pairs, N);
        putEmbedding(expected, "proj",
            EmbeddingMetrics.compute(proj, projPairs, N, proj.length / N, run.probeLabels(), 3),
            EmbeddingMetrics.spectrum(proj, N, proj.length / N));
      }
      assertEquals(expected, values(analyzer.analyze(s)), "step " + s.step());
    }
  }

  /**
   * A dead representation (second layer's weights 0, biases −1: every probe's repr is 0 after the ReLU, and the
   * projector output is its bias for every probe) exports the covariance spectrum of equal rows (metrics.md §3.2):
   * NaN log10 ratios at every q, and every one of the m = min(n − 1, d) dimensions collapsed at both τ (12 at repr,
   * 8 at proj); the same analyzer then gives finite values for a live encoder.
   */
  @Test
  void embeddingAnalyzerExportsTheSpectrumOfADeadRepresentation() {
    RunInfo run = run();
    EmbeddingAnalyzer analyzer = new EmbeddingAnalyzer(run);
    Random r = new Random(5);
    float[] minusOne = new float[12];
    java.util.Arrays.fill(minusOne, -1f);
    List<Layer> layers = List.of(
        new Layer.Dense(TestSnapshots.DIM, 12, TestSnapshots.randn(r, TestSnapshots.DIM * 12, 0.5),
            TestSnapshots.randn(r, 12, 0.3)), Layer.Activation.relu(),
        new Layer.Dense(12, 12, new float[12 * 12], minusOne), Layer.Activation.relu(),
        new Layer.Dense(12, 8, TestSnapshots.randn(r, 12 * 8, 0.5), TestSnapshots.randn(r, 8, 0.1)));
    WeightSnapshot dead = new WeightSnapshot("test-run", 500, 0, 0, TestSnapshots.DIM, layers, 1, false, 1.0, 1e-3,
        10);
    Map<String, Double> got = values(analyzer.analyze(dead));
    for (String layer : List.of("repr", "proj")) {
      for (String q : EmbeddingMetrics.SPECTRUM_Q_LABELS) {
        assertEquals(Double.NaN, got.get(MetricFamily.EMBEDDING_SPECTRUM_LOG10.id() + "{layer=" + layer + ", q=" + q
            + "}"), layer + " q=" + q);
      }
      for (String tau : EmbeddingMetrics.COLLAPSE_TAU_LABELS) {
        assertEquals(layer.equals("repr") ? 12.0 : 8.0, got.get(MetricFamily.EMBEDDING_COLLAPSED_DIMS.id() + "{layer="
            + layer + ", tau=" + tau + "}"), layer + " tau=" + tau);
      }
    }
    Map<String, Double> live = values(analyzer.analyze(encoder(4, 0)));
    assertEquals(0.0, live.get(MetricFamily.EMBEDDING_SPECTRUM_LOG10.id() + "{layer=proj, q=0.125}"));
    assertTrue(Double.isFinite(live.get(MetricFamily.EMBEDDING_SPECTRUM_LOG10.id() + "{layer=repr, q=1}")));
  }

  @Test
  void geometryAnalyzerEqualsAFreshOneOnEverySnapshot() {
    RunInfo run = run();
    GeometrySettings d = GeometrySettings.defaults();
    GeometrySettings every = new GeometrySettings(d.twonnBlocks(), d.twonnBlockSeed(), 1); // blocks on each one
    LayerGeometryAnalyzer kept = new LayerGeometryAnalyzer(run, every);
    for (WeightSnapshot s : List.of(TestSnapshots.classifier(1, 100), encoder(4, 0), TestSnapshots.classifier(2, 300),
        TestSnapshots.classifier(3, 400))) {
      Map<String, Double> expected = values(new LayerGeometryAnalyzer(run, every).analyze(s));
      assertFalse(expected.values().stream().allMatch(v -> v.isNaN()), "some defined values");
      assertEquals(expected, values(kept.analyze(s)), "step " + s.step());
    }
  }

  @Test
  void probeAnalyzerEqualsTheAllocatingFitEveryEpoch() {
    RunInfo run = run();
    ProbeAnalyzer analyzer = new ProbeAnalyzer(run);
    double[] fit = Layer.widen(run.fitInputs());
    double lambda = Double.NaN;
    for (int epoch = 0; epoch < 4; epoch++) {
      WeightSnapshot s = encoder(10 + epoch, epoch);
      PiecewiseLinearNet net = s.network();
      double[] xf = net.forwardTo(fit, FIT, s.reprBlock() + 1);
      int d = xf.length / FIT;
      if (epoch == 0) {
        lambda = LinearProbe.chooseLambda(xf, FIT, d, run.fitLabels(), 3);
      }
      LinearProbe probe = LinearProbe.fit(xf, FIT, d, run.fitLabels(), 3, lambda);
      double[] xp = net.forwardTo(run.probeInputsAsDouble(), N, s.reprBlock() + 1);
      double accuracy = probe.accuracy(xp, N, run.probeLabels());
      Map<String, Double> expected = new LinkedHashMap<>();
      expected.put(MetricFamily.LINEAR_PROBE_ACCURACY_RATIO.id() + "{layer=repr}", accuracy);
      expected.put(MetricFamily.LINEAR_PROBE_LAMBDA.id() + "{layer=repr}", lambda);
      // an encoder without a classifier head: the probe is its classifier for NC3/NC4 (metrics.md §6)
      NeuralCollapse.Result nc = NeuralCollapse.compute(probe.standardise(xp, N), N, d, run.probeLabels(), 3,
          probe.weights(), probe.offsets());
      expected.put(MetricFamily.NEURAL_COLLAPSE_WEIGHT_EQUINORM_COV.id() + "{layer=repr}", nc.weightEquinormCov());
      expected.put(MetricFamily.NEURAL_COLLAPSE_SELF_DUALITY.id() + "{layer=repr}", nc.selfDuality());
      expected.put(MetricFamily.NEURAL_COLLAPSE_NCC_MISMATCH_RATIO.id() + "{layer=repr}", nc.nccMismatch());
      assertFalse(Double.isNaN(nc.selfDuality()), "NC3 defined for the encoder");
      assertEquals(expected, values(analyzer.analyze(s)), "epoch " + epoch);
    }
  }

  @Test
  void probeAnalyzerKeepsItsFitRepresentationBetweenEpochs() {
    // it was a new FIT × d array every epoch (with a new chunk of widened inputs and new block outputs)
    RunInfo run = run();
    ProbeAnalyzer analyzer = new ProbeAnalyzer(run);
    double[] fit = Layer.widen(run.fitInputs());
    double[] first = null;
    for (int epoch = 0; epoch < 3; epoch++) {
      WeightSnapshot s = encoder(10 + epoch, epoch);
      double[] xf = analyzer.fitRepresentation(s.network(), s.reprBlock() + 1);
      assertArrayEquals(s.network().forwardTo(fit, FIT, s.reprBlock() + 1), xf, "epoch " + epoch);
      first = first == null ? xf : first;
      assertTrue(first == xf, "epoch " + epoch + ": a new array instead of the same one rewritten");
    }
  }

  @Test
  void theAnalyzersShareOneFloat64CopyOfTheProbesAndLeaveItUnchanged() {
    RunInfo run = run();
    double[] probes = run.probeInputsAsDouble();
    double[] pairs = run.probePairInputsAsDouble();
    assertSame(probes, run.probeInputsAsDouble(), "one copy per run description");
    assertSame(pairs, run.probePairInputsAsDouble());
    List<SnapshotAnalysis> analyzers = List.of(new EmbeddingAnalyzer(run), new LayerGeometryAnalyzer(run),
        new ProbeAnalyzer(run), new BoundaryChangeAnalyzer(run, new RegionSettings(1, 10_000, 0, false, 100, 16, N)));
    for (int epoch = 0; epoch < 3; epoch++) {
      WeightSnapshot s = encoder(20 + epoch, epoch);
      for (SnapshotAnalysis a : analyzers) {
        a.analyze(s);
      }
    }
    assertArrayEquals(Layer.widen(run.probeInputs()), probes, "the probes as widened, after every analyzer ran");
    assertArrayEquals(Layer.widen(run.probePairInputs()), pairs);
  }
}
