package org.splinewatch.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.splinewatch.regions.Layer;
import org.splinewatch.snapshot.RunInfo;
import org.splinewatch.snapshot.WeightSnapshot;

/** Small synthetic runs and snapshots for analyzer tests. */
public final class TestSnapshots {
  static final int DIM = 16;

  private TestSnapshots() {
  }

  /** 30 probes of 3 classes in [0,1]^16, one plane through probes 0, 1, 2 (classes 0, 1, 2). */
  public static RunInfo run() {
    Random r = new Random(1);
    int n = 30;
    float[] x = new float[n * DIM];
    float[] pairs = new float[n * DIM];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 3;
      for (int k = 0; k < DIM; k++) {
        x[i * DIM + k] = (float) (0.2 * labels[i] + 0.3 * r.nextDouble());
        pairs[i * DIM + k] = x[i * DIM + k] + (float) (0.01 * r.nextGaussian());
      }
    }
    return new RunInfo("test-run", "supervised", "synthetic", DIM, n, x, pairs, labels, 3,
        List.of(new int[] {0, 1, 2}));
  }

  /** A 16 → 12 → 12 → 3 classifier with weights drawn from {@code seed}. */
  public static WeightSnapshot classifier(long seed, long step) {
    Random r = new Random(seed);
    List<Layer> layers = new ArrayList<>();
    int in = DIM;
    for (int width : new int[] {12, 12}) {
      layers.add(new Layer.Dense(in, width, randn(r, in * width, Math.sqrt(2.0 / in)), randn(r, width, 0.3)));
      layers.add(Layer.Activation.relu());
      in = width;
    }
    layers.add(new Layer.Dense(in, 3, randn(r, in * 3, 1), randn(r, 3, 0.1)));
    return new WeightSnapshot("test-run", step, 0, 0, DIM, layers, 1, true, 1.0, 1e-3, 10);
  }

  /** The same network with one weight replaced by {@code value} (e.g. NaN). */
  static WeightSnapshot withWeight(WeightSnapshot s, float value) {
    List<Layer> layers = new ArrayList<>(s.layers());
    Layer.Dense d = (Layer.Dense) layers.get(0);
    float[] w = d.weights().clone();
    w[0] = value;
    layers.set(0, new Layer.Dense(d.in(), d.out(), w, d.bias()));
    return new WeightSnapshot(s.runId(), s.step() + 1, s.epoch(), s.wallTimeMillis(), s.inputDim(), layers,
        s.reprBlock(), s.classifierHead(), s.loss(), s.learningRate(), s.stepsPerSecond());
  }

  static float[] randn(Random r, int n, double std) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (r.nextGaussian() * std);
    }
    return a;
  }
}
