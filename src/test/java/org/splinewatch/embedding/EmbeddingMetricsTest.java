package org.splinewatch.embedding;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Known answers of metrics.md §1–4. */
class EmbeddingMetricsTest {

  @Test
  void identicalEmbeddingsHaveZeroSpreadAndRankOne() {
    int n = 50;
    int d = 8;
    double[] z = new double[n * d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        z[i * d + k] = k + 1;
      }
    }
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    assertEquals(0, EmbeddingMetrics.stdNormalized(zh, n, d), 1e-12);
    assertEquals(1, EmbeddingMetrics.rankMe(z, n, d), 1e-3);
    assertEquals(0, EmbeddingMetrics.uniformity(zh, n, d, 2), 1e-12); // complete collapse: log(1) = 0
  }

  /**
   * Isotropic embeddings have std_normalized about 1 (it is sqrt(d) times the mean per-dimension std, metrics.md 2),
   * and the family's HELP text, which /metrics and docs/metrics.md show, says so.
   */
  @Test
  void isotropicEmbeddingsHaveSpreadAboutOneAsTheHelpSays() {
    int n = 4000;
    int d = 128;
    java.util.Random rnd = new java.util.Random(7);
    double[] z = new double[n * d];
    for (int i = 0; i < z.length; i++) {
      z[i] = rnd.nextGaussian();
    }
    double spread = EmbeddingMetrics.stdNormalized(EmbeddingMetrics.normalizeRows(z, n, d), n, d);
    assertEquals(1, spread, 0.02);
    String help = org.splinewatch.snapshot.MetricFamily.EMBEDDING_STD_NORMALIZED.help();
    assertTrue(help.startsWith("sqrt(d) times") && help.contains("healthy: about 1)"), help);
  }

  @Test
  void crossImageCosineIsOneForOneDirectionAndZeroForOrthonormalRows() {
    int n = 6;
    double[] same = new double[n * 3];
    double[] identity = new double[n * n];
    for (int i = 0; i < n; i++) {
      same[i * 3] = 2 + i; // (2 + i)·(1, -1, 0.5): one direction, different lengths
      same[i * 3 + 1] = -(2 + i);
      same[i * 3 + 2] = 0.5 * (2 + i);
      identity[i * n + i] = 1;
    }
    assertEquals(1, EmbeddingMetrics.crossImageCosine(EmbeddingMetrics.normalizeRows(same, n, 3), n, 3), 1e-12);
    assertEquals(0, EmbeddingMetrics.crossImageCosine(identity, n, n), 1e-12);
    // the views of each image agree exactly with themselves, and not at all with an orthogonal copy
    assertEquals(1, EmbeddingMetrics.crossViewCosine(same, same, n, 3), 1e-12);
    double[] shifted = new double[n * n];
    for (int i = 0; i < n; i++) {
      shifted[i * n + (i + 1) % n] = 3;
    }
    assertEquals(0, EmbeddingMetrics.crossViewCosine(identity, shifted, n, n), 1e-12);
  }

  @Test
  void orthonormalSetHasRankMeD() {
    int d = 6;
    double[] z = new double[d * d];
    for (int i = 0; i < d; i++) {
      z[i * d + i] = 1;
    }
    // p_k = 1/d + eps for every k: RankMe = exp(-d (1/d+eps) log(1/d+eps)) ≈ d
    assertEquals(d, EmbeddingMetrics.rankMe(z, d, d), 1e-4);
  }

  @Test
  void alignmentAndUniformityOnThreePointsByHand() {
    // unit vectors at angles 0, 90, 180 degrees in 2D
    double[] z = {1, 0, 0, 1, -1, 0};
    // squared distances: (0,1) 2, (0,2) 4, (1,2) 2 -> unif(2) = log((e^-4 + e^-8 + e^-4) / 3)
    double expected = Math.log((2 * Math.exp(-4) + Math.exp(-8)) / 3);
    assertEquals(expected, EmbeddingMetrics.uniformity(z, 3, 2, 2), 1e-12);
    // pairs rotated by 90 degrees: every squared distance is 2
    double[] p = {0, 1, -1, 0, 0, -1};
    assertEquals(2, EmbeddingMetrics.alignment(z, p, 3, 2), 1e-12);
  }

  @Test
  void uniformityMatchesTheDefinitionSummedDirectly() {
    // the one-pass log-sum-exp against log(mean exp(−t‖ẑ_i − ẑ_k‖²)) summed plainly (no overflow at these scales)
    java.util.Random r = new java.util.Random(3);
    int n = 120;
    int d = 5;
    double[] z = new double[n * d];
    for (int i = 0; i < z.length; i++) {
      z[i] = r.nextGaussian();
    }
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    for (double t : new double[] {0.5, 2, 7}) {
      double sum = 0;
      for (int i = 0; i < n; i++) {
        for (int k = i + 1; k < n; k++) {
          double sq = 0;
          for (int q = 0; q < d; q++) {
            double diff = zh[i * d + q] - zh[k * d + q];
            sq += diff * diff;
          }
          sum += Math.exp(-t * sq);
        }
      }
      double expected = Math.log(sum / (n * (n - 1) / 2.0));
      assertEquals(expected, EmbeddingMetrics.uniformity(zh, n, d, t), 1e-10 * Math.abs(expected));
    }
  }

  @Test
  void knnSeparatesTwoClusters() {
    int n = 40;
    double[] z = new double[n * 2];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 2;
      double a = (labels[i] == 0 ? 0 : Math.PI / 2) + 0.05 * Math.sin(i);
      z[2 * i] = Math.cos(a);
      z[2 * i + 1] = Math.sin(a);
    }
    assertEquals(1.0, EmbeddingMetrics.knnAccuracy(z, n, 2, labels, 2, 5, 0.07), 1e-12);
  }

  @Test
  void gramEqualsPlainDotProductsBitForBit() {
    java.util.Random r = new java.util.Random(11);
    for (int n : new int[] {1, 3, 4, 7, 33}) {
      int d = 1 + r.nextInt(40);
      double[] x = new double[n * d];
      for (int i = 0; i < x.length; i++) {
        x[i] = r.nextGaussian();
      }
      double[] g = EmbeddingMetrics.gram(x, n, d);
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < n; k++) {
          double s = 0;
          for (int q = 0; q < d; q++) {
            s += x[i * d + q] * x[k * d + q];
          }
          assertEquals(Double.doubleToLongBits(s), Double.doubleToLongBits(g[i * n + k]), "n=" + n + " (" + i + ","
              + k + ")");
        }
      }
    }
  }

  @Test
  void uniformityFromTheGramMatchesItsDefinition() {
    // unif(t) = log(mean_{i<k} exp(-t ||z_i - z_k||^2)) on normalised rows, summed here the plain way
    java.util.Random r = new java.util.Random(5);
    int n = 37;
    int d = 6;
    double[] z = new double[n * d];
    for (int i = 0; i < z.length; i++) {
      z[i] = r.nextGaussian();
    }
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    double sum = 0;
    for (int i = 0; i < n; i++) {
      for (int k = i + 1; k < n; k++) {
        double dist = 0;
        for (int q = 0; q < d; q++) {
          double diff = zh[i * d + q] - zh[k * d + q];
          dist += diff * diff;
        }
        sum += Math.exp(-2 * dist);
      }
    }
    assertEquals(Math.log(sum / (n * (n - 1) / 2.0)), EmbeddingMetrics.uniformity(zh, n, d, 2), 1e-12);
  }

  /** The trainer's batch statistic: identical rows (of any length) have no spread at all. */
  @Test
  void batchStdOfIdenticalRowsIsZero() {
    int n = 256;
    int d = 16;
    double[] z = new double[n * d];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        z[i * d + k] = (i + 1) * (k - 3.5); // each row a positive multiple of the same direction
      }
    }
    assertEquals(0, EmbeddingMetrics.stdOfNormalizedRows(z, n, d), 1e-12);
    assertEquals(1, EmbeddingMetrics.participationRatio(z, n, d), 1e-9, "one direction: one effective dimension");
    var both = EmbeddingMetrics.batchCollapse(z, n, d);
    assertEquals(0, both.stdNormalized(), 1e-12);
    assertEquals(1, both.effectiveRank(), 1e-9);
  }

  /**
   * {@code d} orthonormal rows (of different lengths): after normalisation every column holds one 1 and d − 1 zeros,
   * unbiased variance 1/d, so sqrt(d)·mean σ = 1 exactly.
   */
  @Test
  void batchStdOfOrthonormalRowsIsOne() {
    int d = 8;
    double[] z = new double[d * d];
    for (int i = 0; i < d; i++) {
      z[i * d + i] = 3 + i; // lengths do not matter: rows are normalised first
    }
    assertEquals(1, EmbeddingMetrics.stdOfNormalizedRows(z, d, d), 1e-12);
    // second moments: the identity, eigenvalues all 1, so (Σλ)²/Σλ² = d²/d = d
    assertEquals(d, EmbeddingMetrics.participationRatio(z, d, d), 1e-9);
    // rows spread equally over k = 2 of the d directions (half along e0, half along -e1): eigenvalues n/2, n/2
    double[] two = new double[4 * d];
    two[0] = 1;
    two[d] = 5;
    two[2 * d + 1] = -1;
    two[3 * d + 1] = -2;
    assertEquals(2, EmbeddingMetrics.participationRatio(two, 4, d), 1e-9);
    // two antipodal rows in d dimensions: each column holds ±1/sqrt(d), unbiased variance 2/d, so sqrt(d)·sqrt(2/d)
    double[] pair = new double[2 * d];
    for (int k = 0; k < d; k++) {
      pair[k] = 1;
      pair[d + k] = -1;
    }
    assertEquals(Math.sqrt(2), EmbeddingMetrics.stdOfNormalizedRows(pair, 2, d), 1e-12);
  }

  /**
   * The centred RankMe and the scale on batches whose spectrum is known: rows {@code e_k} each repeated m times have,
   * once centred, the covariance {@code m(I − J/d)}: d − 1 equal eigenvalues and a zero one, so RankMe = d − 1 (up to
   * the ε of metrics.md §3.1); two antipodal points ±v lie on one line through their mean: RankMe 1. The scale is the
   * mean unbiased column std of the raw rows.
   */
  @Test
  void batchRankMeAndScaleOfKnownSpectra() {
    int d = 8;
    int m = 4;
    double[] z = new double[d * m * d];
    for (int i = 0; i < d * m; i++) {
      z[i * d + i % d] = 2.5; // the length does not matter to RankMe: rows are normalised first
    }
    var spread = EmbeddingMetrics.batchCollapse(z, d * m, d);
    assertEquals(d - 1, spread.rankMe(), 1e-4);
    // each column: m values 2.5 among d·m, mean 2.5/d; unbiased variance (m·2.5²·(1 − 1/d)) / (d·m − 1)
    double column = Math.sqrt(m * 2.5 * 2.5 * (1 - 1.0 / d) / (d * m - 1));
    assertEquals(column, spread.scale(), 1e-12);
    // the cheap statistics alone: the same std and scale, no spectral ones
    var cheap = EmbeddingMetrics.batchCollapse(z, d * m, d, false);
    assertEquals(spread.stdNormalized(), cheap.stdNormalized(), 0);
    assertEquals(spread.scale(), cheap.scale(), 0);
    assertTrue(Double.isNaN(cheap.rankMe()) && Double.isNaN(cheap.effectiveRank()));
    // ±v, 8 rows of each: one direction through the mean; scale |v_k|·sqrt(n/(n−1)) averaged over the columns
    int n = 16;
    double[] line = new double[n * d];
    double meanAbs = 0;
    for (int k = 0; k < d; k++) {
      meanAbs += (k + 1) / (double) d;
    }
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < d; k++) {
        line[i * d + k] = (i % 2 == 0 ? 1 : -1) * (k + 1);
      }
    }
    var one = EmbeddingMetrics.batchCollapse(line, n, d);
    assertEquals(1, one.rankMe(), 1e-4);
    assertEquals(meanAbs * Math.sqrt(n / (n - 1.0)), one.scale(), 1e-12);
    // one point: no spread at all
    double[] point = new double[n * d];
    java.util.Arrays.fill(point, 0.3);
    assertEquals(0, EmbeddingMetrics.batchCollapse(point, n, d).scale(), 1e-15);
    // non-finite outputs: no statistics rather than numbers from a broken batch
    line[5] = Double.NaN;
    assertTrue(Double.isNaN(EmbeddingMetrics.batchCollapse(line, n, d).scale()));
  }

  @Test
  void batchStdRejectsAWrongShape() {
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> EmbeddingMetrics.stdOfNormalizedRows(new double[10], 3, 4));
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> EmbeddingMetrics.batchCollapse(new double[10], 3, 4));
  }

  /**
   * One scratch through shapes that grow and shrink (its arrays then hold stale values past what a call uses), wide
   * ({@code n < d}) and tall, with and without pairs and labels, with zero rows: every metric is bit for bit what the
   * allocating definitions give (records compare their doubles with {@link Double#compare}: bits, not tolerances).
   */
  @Test
  void computeInAKeptScratchEqualsTheAllocatingDefinitionsBitForBit() {
    java.util.Random r = new java.util.Random(17);
    EmbeddingMetrics.Scratch scratch = new EmbeddingMetrics.Scratch();
    int[][] shapes = {{41, 9}, {7, 20}, {64, 12}, {5, 3}, {30, 30}, {13, 2}, {64, 12}};
    for (int trial = 0; trial < shapes.length; trial++) {
      int n = shapes[trial][0];
      int d = shapes[trial][1];
      int classes = 1 + r.nextInt(4);
      double[] z = gaussian(r, n * d);
      double[] pairs = trial % 3 == 1 ? null : gaussian(r, n * d);
      int[] labels = trial % 3 == 2 ? null : new int[n];
      if (labels != null) {
        for (int i = 0; i < n; i++) {
          labels[i] = r.nextInt(classes);
        }
      }
      java.util.Arrays.fill(z, 0, d, 0); // a zero row
      String shape = "n=" + n + " d=" + d;
      assertEquals(allocating(z, pairs, n, d, labels, classes),
          EmbeddingMetrics.compute(z, pairs, n, d, labels, classes, scratch), shape);
      assertEquals(EmbeddingMetrics.compute(z, pairs, n, d, labels, classes),
          EmbeddingMetrics.compute(z, pairs, n, d, labels, classes, scratch), shape);
      assertArrayEquals(EmbeddingMetrics.singularValues(z, n, d),
          EmbeddingMetrics.singularValues(z, n, d, scratch), shape);
    }
  }

  /** {@link EmbeddingMetrics#compute} as it was written before it kept its arrays: each metric on fresh arrays. */
  private static EmbeddingMetrics.Result allocating(double[] z, double[] pairs, int n, int d, int[] labels,
      int classes) {
    double[] zh = EmbeddingMetrics.normalizeRows(z, n, d);
    double align = Double.NaN;
    double unif = EmbeddingMetrics.uniformity(zh, n, d, 2);
    if (pairs != null) {
      double[] ph = EmbeddingMetrics.normalizeRows(pairs, n, d);
      align = EmbeddingMetrics.alignment(zh, ph, n, d);
      unif = (unif + EmbeddingMetrics.uniformity(ph, n, d, 2)) / 2;
    }
    double rank = EmbeddingMetrics.rankMe(z, n, d);
    double knn = labels == null ? Double.NaN : EmbeddingMetrics.knnAccuracy(zh, n, d, labels, classes, 20, 0.07);
    return new EmbeddingMetrics.Result(align, unif, EmbeddingMetrics.stdNormalized(zh, n, d), rank,
        rank / Math.min(n, d), knn, EmbeddingMetrics.zeroRows(z, n, d));
  }

  @Test
  void gramIntoAStaleLongerArrayEqualsTheFreshGram() {
    java.util.Random r = new java.util.Random(19);
    double[] stale = gaussian(r, 40 * 40);
    for (int n : new int[] {33, 7, 40, 2}) {
      int d = 1 + r.nextInt(20);
      double[] x = gaussian(r, n * d);
      double[] fresh = EmbeddingMetrics.gram(x, n, d);
      assertArrayEquals(fresh, java.util.Arrays.copyOf(EmbeddingMetrics.gram(x, n, d, stale), n * n), "n=" + n);
      assertArrayEquals(EmbeddingMetrics.columnGram(x, n, d), java.util.Arrays.copyOf(
          EmbeddingMetrics.columnGram(x, n, d, gaussian(r, d * n + 5), gaussian(r, d * d + 3)), d * d), "n=" + n);
    }
  }

  private static double[] gaussian(java.util.Random r, int size) {
    double[] a = new double[size];
    for (int i = 0; i < size; i++) {
      a[i] = r.nextGaussian();
    }
    return a;
  }

  /**
   * A 256-square Gram matrix with 24 live rows and a known spectrum 1..24 in a random basis (the shape a collapsing
   * VICReg's 256-wide layer gave): EJML 0.44's symmetric QR does not converge on this one (seed 10) with its 232 zero
   * rows in place, so the embedding analyzer failed on such snapshots.
   */
  @Test
  void aGramMatrixWithManyDeadRowsHasItsKnownEigenvalues() {
    int m = 256;
    int live = 24;
    java.util.Random r = new java.util.Random(10);
    int[] rows = liveRows(r, m, live);
    double[][] q = org.splinewatch.TestTools.orthonormal(r, live, live);
    double[] a = new double[m * m];
    for (int i = 0; i < live; i++) {
      for (int j = i; j < live; j++) {
        double s = 0;
        for (int c = 0; c < live; c++) {
          s += q[c][i] * (c + 1) * q[c][j];
        }
        a[rows[i] * m + rows[j]] = s;
        a[rows[j] * m + rows[i]] = s;
      }
    }
    double[] ev = EmbeddingMetrics.descendingEigenvalues(a, m);
    for (int k = 0; k < m; k++) {
      assertEquals(k < live ? live - k : 0, ev[k], 1e-9, "eigenvalue " + k);
    }
  }

  /**
   * The covariance spectrum of embeddings whose 232 of 256 dimensions are dead (exactly 0): rows {@code ±s_c v_c},
   * each pair repeated, have covariance eigenvalues proportional to {@code s_c²} along the orthonormal {@code v_c}
   * and 0 elsewhere, so every exported ratio is the floor (k = 32 and on are dead directions) and 232 directions are
   * collapsed at each τ. Before, this threw "eigen-decomposition of the 256x256 Gram matrix failed".
   */
  @Test
  void theSpectrumOfALayerWithManyDeadUnitsIsDefined() {
    int d = 256;
    int live = 24;
    int repeats = 6;
    java.util.Random r = new java.util.Random(SPECTRUM_SEED);
    int[] cols = liveRows(r, d, live);
    double[][] v = org.splinewatch.TestTools.orthonormal(r, live, live);
    int n = 2 * live * repeats;
    double[] z = new double[n * d];
    int row = 0;
    for (int t = 0; t < repeats; t++) {
      for (int c = 0; c < live; c++) {
        for (int sign = -1; sign <= 1; sign += 2) {
          for (int i = 0; i < live; i++) {
            z[row * d + cols[i]] = sign * Math.sqrt(c + 1.0) * v[c][i];
          }
          row++;
        }
      }
    }
    EmbeddingMetrics.Spectrum spectrum = EmbeddingMetrics.spectrum(z, n, d);
    assertEquals(d, spectrum.dims());
    for (double ratio : spectrum.log10Ratios()) {
      assertEquals(-30, ratio, 1e-12);
    }
    assertArrayEquals(new double[] {d - live, d - live}, spectrum.collapsedDims(), 0);
  }

  /** A seed for which the spectrum's 256-square Gram matrix made EJML 0.44 fail before its dead rows were removed. */
  private static final long SPECTRUM_SEED = 0;

  /** {@code live} distinct row indices below {@code m}, in increasing order. */
  private static int[] liveRows(java.util.Random r, int m, int live) {
    java.util.List<Integer> all = new java.util.ArrayList<>();
    for (int i = 0; i < m; i++) {
      all.add(i);
    }
    java.util.Collections.shuffle(all, r);
    return all.subList(0, live).stream().mapToInt(Integer::intValue).sorted().toArray();
  }
}
